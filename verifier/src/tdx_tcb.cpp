// TDX TCB evaluation (specs/tee-reports.md A.2 step 6): the PCK certificate's Intel SGX
// extension, QE identity, platform / TDX module levels, status convergence, TD attributes policy.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "cvmwatch/verifier/tdx.h"
#include "detail/tdx_x509.h"

namespace cvmwatch::verifier {
namespace {

// DER TLV reading for the Intel SGX PCK extension.

struct Tlv {
  std::uint8_t tag = 0;
  ByteView value;
};

bool ReadTlv(ByteView& in, Tlv& out) {
  if (in.size() < 2) return false;
  out.tag = in[0];
  std::size_t len = in[1];
  std::size_t hdr = 2;
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 3 || in.size() < 2 + n) return false;
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | in[2 + i];
    hdr = 2 + n;
  }
  if (in.size() - hdr < len) return false;
  out.value = in.subspan(hdr, len);
  in = in.subspan(hdr + len);
  return true;
}

Result<std::uint64_t> DerUint(const Tlv& t, std::uint64_t max, std::string_view what) {
  if ((t.tag != 0x02 && t.tag != 0x0a) || t.value.empty() || t.value.size() > 9 ||
      (t.value[0] & 0x80)) {
    return MakeError(ErrorCode::kInvalidLength,
                     "PCK extension " + std::string(what) + " is not a small non-negative integer");
  }
  std::uint64_t v = 0;
  for (auto b : t.value) v = (v << 8) | b;
  if (v > max) {
    return MakeError(ErrorCode::kInvalidLength, "PCK extension " + std::string(what) + " value " +
                                                    std::to_string(v) + " out of range");
  }
  return v;
}

// 1.2.840.113741.1.13.1
constexpr std::uint8_t kSgxExtOid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

// Returns the arc after the SGX extension OID (e.g. {2, 17} for ...13.1.2.17), or empty.
std::vector<std::uint8_t> SgxArc(ByteView oid) {
  if (oid.size() <= sizeof kSgxExtOid ||
      !std::equal(std::begin(kSgxExtOid), std::end(kSgxExtOid), oid.begin())) {
    return {};
  }
  std::vector<std::uint8_t> arc;
  for (std::size_t i = sizeof kSgxExtOid; i < oid.size(); ++i) {
    if (oid[i] & 0x80) return {};  // arcs here are all < 128
    arc.push_back(oid[i]);
  }
  return arc;
}

template <std::size_t N>
Status OctetsInto(const Tlv& t, FixedBytes<N>& out, std::string_view what) {
  if (t.tag != 0x04 || t.value.size() != N) {
    return MakeError(ErrorCode::kInvalidLength, "PCK extension " + std::string(what) +
                                                    " is not an OCTET STRING of " +
                                                    std::to_string(N) + " bytes");
  }
  std::memcpy(out.data(), t.value.data(), N);
  return OkStatus();
}

bool IsOutOfDate(TdxTcbStatus s) {
  return s == TdxTcbStatus::kOutOfDate || s == TdxTcbStatus::kOutOfDateConfigurationNeeded;
}

TdxTcbStatus DegradeForOutOfDate(TdxTcbStatus s) {
  switch (s) {
    case TdxTcbStatus::kUpToDate:
    case TdxTcbStatus::kSwHardeningNeeded:
      return TdxTcbStatus::kOutOfDate;
    case TdxTcbStatus::kConfigurationNeeded:
    case TdxTcbStatus::kConfigurationAndSwHardeningNeeded:
      return TdxTcbStatus::kOutOfDateConfigurationNeeded;
    default:
      return s;
  }
}

void AppendUnique(std::vector<std::string>& out, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
}

}  // namespace

Result<PckExtensions> ParsePckSgxExtension(ByteView extension_value) {
  if (extension_value.empty()) {
    return MakeError(ErrorCode::kNotFound, "PCK certificate has no Intel SGX extension");
  }
  ByteView in = extension_value;
  Tlv outer;
  if (!ReadTlv(in, outer) || outer.tag != 0x30) {
    return MakeError(ErrorCode::kInvalidLength, "Intel SGX extension is not a DER SEQUENCE");
  }
  PckExtensions ext;
  bool have_tcb = false, have_pce_id = false, have_fmspc = false;
  ByteView items = outer.value;
  while (!items.empty()) {
    Tlv item, oid, value;
    if (!ReadTlv(items, item) || item.tag != 0x30) {
      return MakeError(ErrorCode::kInvalidLength, "Intel SGX extension entry is malformed");
    }
    ByteView body = item.value;
    if (!ReadTlv(body, oid) || oid.tag != 0x06 || !ReadTlv(body, value)) {
      return MakeError(ErrorCode::kInvalidLength, "Intel SGX extension entry is malformed");
    }
    const auto arc = SgxArc(oid.value);
    if (arc.size() != 1) continue;  // an OID outside the arc: ignore
    switch (arc[0]) {
      case 1:
        CVMW_RETURN_IF_ERROR(OctetsInto(value, ext.ppid, "PPID"));
        break;
      case 2: {
        if (value.tag != 0x30) {
          return MakeError(ErrorCode::kInvalidLength, "PCK extension TCB is not a SEQUENCE");
        }
        std::array<bool, 19> seen{};
        ByteView comps = value.value;
        while (!comps.empty()) {
          Tlv c, coid, cval;
          if (!ReadTlv(comps, c) || c.tag != 0x30) {
            return MakeError(ErrorCode::kInvalidLength, "PCK extension TCB entry is malformed");
          }
          ByteView cb = c.value;
          if (!ReadTlv(cb, coid) || coid.tag != 0x06 || !ReadTlv(cb, cval)) {
            return MakeError(ErrorCode::kInvalidLength, "PCK extension TCB entry is malformed");
          }
          const auto carc = SgxArc(coid.value);
          if (carc.size() != 2 || carc[0] != 2 || carc[1] < 1 || carc[1] > 18) continue;
          const unsigned n = carc[1];
          if (n <= 16) {
            CVMW_ASSIGN_OR_RETURN(std::uint64_t svn, DerUint(cval, 255, "TCB component"));
            ext.tcb_components[n - 1] = static_cast<std::uint8_t>(svn);
          } else if (n == 17) {
            CVMW_ASSIGN_OR_RETURN(std::uint64_t svn, DerUint(cval, 0xffff, "PCESVN"));
            ext.pce_svn = static_cast<std::uint16_t>(svn);
          } else {
            CVMW_RETURN_IF_ERROR(OctetsInto(cval, ext.cpusvn, "CPUSVN"));
          }
          seen[n] = true;
        }
        for (unsigned n = 1; n <= 17; ++n) {
          if (!seen[n]) {
            return MakeError(ErrorCode::kInvalidLength,
                             "PCK extension TCB lacks component " + std::to_string(n));
          }
        }
        have_tcb = true;
        break;
      }
      case 3:
        CVMW_RETURN_IF_ERROR(OctetsInto(value, ext.pce_id, "PCE-ID"));
        have_pce_id = true;
        break;
      case 4:
        CVMW_RETURN_IF_ERROR(OctetsInto(value, ext.fmspc, "FMSPC"));
        have_fmspc = true;
        break;
      case 5: {
        CVMW_ASSIGN_OR_RETURN(std::uint64_t t, DerUint(value, 255, "SGX type"));
        ext.sgx_type = static_cast<std::uint8_t>(t);
        break;
      }
      default:
        break;
    }
  }
  if (!in.empty()) {
    return MakeError(ErrorCode::kInvalidLength, "bytes after the Intel SGX extension");
  }
  if (!have_tcb || !have_pce_id || !have_fmspc) {
    return MakeError(ErrorCode::kInvalidLength,
                     std::string("Intel SGX extension lacks ") + (!have_tcb      ? "TCB"
                                                                  : !have_pce_id ? "PCE-ID"
                                                                                 : "FMSPC"));
  }
  return ext;
}

Result<PckExtensions> ParsePckExtensions(ByteView pck_der) {
  CVMW_ASSIGN_OR_RETURN(auto cert, tdx_detail::ParseDerCert(pck_der));
  return ParsePckSgxExtension(cert->sgx_extension);
}

Status CheckTdxTdAttributes(const TdxQuote& q) {
  const auto& a = q.td_attributes.bytes;
  if (a[0] != 0) {
    return MakeError(ErrorCode::kPrecondition, "TDATTRIBUTES.TUD = 0x" +
                                                   ToHex(ByteView(a.data(), 1), false) +
                                                   " (DEBUG or other debug features enabled)");
  }
  if (a[1] != 0 || a[2] != 0 || (a[3] & 0x0f) != 0 || (a[3] & 0x20) != 0 || a[4] != 0 ||
      a[5] != 0 || a[6] != 0 || (a[7] & 0x7f) != 0) {
    return MakeError(ErrorCode::kPrecondition,
                     "reserved TDATTRIBUTES bits set (" + q.td_attributes.ToHex(false) + ")");
  }
  if (!q.SeptVeDisable()) {
    return MakeError(ErrorCode::kPrecondition, "TDATTRIBUTES.SEPT_VE_DISABLE is not set");
  }
  if (q.body_type == TdxBodyType::kTd15 && !q.mrservicetd.IsZero()) {
    return MakeError(ErrorCode::kPrecondition, "MRSERVICETD is not zero");
  }
  return OkStatus();
}

Result<TdxTcbEvaluation> EvaluateTdxTcb(const TdxQuote& quote, const PckExtensions& pck,
                                        const TdxTcbInfo& info, const TdxQeIdentity& qe) {
  TdxTcbEvaluation ev;
  const SgxReport& r = quote.qe_report;

  // QE identity (6b).
  for (std::size_t i = 0; i < 4; ++i) {
    if ((r.raw.bytes[16 + i] & qe.miscselect_mask.bytes[i]) !=
        (qe.miscselect.bytes[i] & qe.miscselect_mask.bytes[i])) {
      return MakeError(ErrorCode::kPrecondition,
                       "QE MISCSELECT " + ToHex(ByteView(r.raw.data() + 16, 4), false) +
                           " does not match the TD QE identity " + qe.miscselect.ToHex(false) +
                           " under mask " + qe.miscselect_mask.ToHex(false));
    }
  }
  for (std::size_t i = 0; i < 16; ++i) {
    if ((r.attributes.bytes[i] & qe.attributes_mask.bytes[i]) !=
        (qe.attributes.bytes[i] & qe.attributes_mask.bytes[i])) {
      return MakeError(ErrorCode::kPrecondition, "QE ATTRIBUTES " + r.attributes.ToHex(false) +
                                                     " do not match the TD QE identity " +
                                                     qe.attributes.ToHex(false) + " under mask " +
                                                     qe.attributes_mask.ToHex(false));
    }
  }
  if (r.mrsigner != qe.mrsigner) {
    return MakeError(ErrorCode::kPrecondition, "QE MRSIGNER " + r.mrsigner.ToHex(false) +
                                                   " is not the TD QE identity's " +
                                                   qe.mrsigner.ToHex(false));
  }
  if (r.isv_prod_id != qe.isv_prod_id) {
    return MakeError(ErrorCode::kPrecondition, "QE ISVPRODID " + std::to_string(r.isv_prod_id) +
                                                   " is not " + std::to_string(qe.isv_prod_id));
  }
  const TdxQeLevel* qe_level = nullptr;
  for (const auto& l : qe.levels) {
    if (l.isv_svn <= r.isv_svn) {
      qe_level = &l;
      break;
    }
  }
  if (!qe_level) {
    return MakeError(ErrorCode::kPrecondition, "QE ISVSVN " + std::to_string(r.isv_svn) +
                                                   " is below every TD QE identity level "
                                                   "(QE TCB Unrecognized)");
  }
  ev.qe_status = qe_level->status;

  // Platform level (6d): SGX components + PCESVN, then all 16 TEE_TCB_SVN bytes.
  const TdxTcbLevel* tdx_level = nullptr;
  bool sgx_found = false;
  for (const auto& l : info.levels) {
    bool sgx_ok = l.pce_svn <= pck.pce_svn;
    for (std::size_t i = 0; sgx_ok && i < 16; ++i) {
      sgx_ok = l.sgx_components[i] <= pck.tcb_components[i];
    }
    if (!sgx_ok) continue;
    if (!sgx_found) {
      sgx_found = true;
      ev.sgx_status = l.status;
    }
    bool tdx_ok = true;
    for (std::size_t i = 0; tdx_ok && i < 16; ++i) {
      tdx_ok = l.tdx_components[i] <= quote.tee_tcb_svn.bytes[i];
    }
    if (tdx_ok) {
      tdx_level = &l;
      break;
    }
  }
  if (!sgx_found) {
    return MakeError(ErrorCode::kPrecondition,
                     "no TCB level matches the PCK's SGX components / PCESVN " +
                         std::to_string(pck.pce_svn) + " (TCB Unrecognized)");
  }
  if (!tdx_level) {
    return MakeError(ErrorCode::kPrecondition, "no TCB level matches TEE_TCB_SVN " +
                                                   quote.tee_tcb_svn.ToHex(false) +
                                                   " (TCB Unrecognized)");
  }
  ev.platform_status = tdx_level->status;
  AppendUnique(ev.advisory_ids, tdx_level->advisory_ids);

  // TDX module (6e).
  const std::uint8_t module_svn = quote.tee_tcb_svn.bytes[0];
  const std::uint8_t module_version = quote.tee_tcb_svn.bytes[1];
  auto module_matches = [&](const TdxModuleIdentity& m, std::string_view name) -> Status {
    if (quote.mrsignerseam != m.mrsigner) {
      return MakeError(ErrorCode::kPrecondition, "MRSIGNERSEAM " + quote.mrsignerseam.ToHex(false) +
                                                     " is not " + std::string(name) +
                                                     "'s mrsigner " + m.mrsigner.ToHex(false));
    }
    for (std::size_t i = 0; i < 8; ++i) {
      if ((quote.seam_attributes.bytes[i] & m.attributes_mask.bytes[i]) !=
          (m.attributes.bytes[i] & m.attributes_mask.bytes[i])) {
        return MakeError(ErrorCode::kPrecondition,
                         "SEAMATTRIBUTES " + quote.seam_attributes.ToHex(false) + " do not match " +
                             std::string(name) + "'s " + m.attributes.ToHex(false));
      }
    }
    return OkStatus();
  };
  if (module_version == 0 || info.tdx_module_identities.empty()) {
    if (info.tdx_module) CVMW_RETURN_IF_ERROR(module_matches(*info.tdx_module, "tdxModule"));
  } else {
    char id[8];
    std::snprintf(id, sizeof id, "TDX_%02X", module_version);
    const TdxModuleIdentity* mi = nullptr;
    for (const auto& m : info.tdx_module_identities) {
      if (m.id == id) {
        mi = &m;
        break;
      }
    }
    if (!mi) {
      return MakeError(ErrorCode::kPrecondition, std::string("no TDX module identity ") + id +
                                                     " in the TCB info (TCB Unrecognized)");
    }
    CVMW_RETURN_IF_ERROR(module_matches(*mi, id));
    const TdxModuleLevel* ml = nullptr;
    for (const auto& l : mi->levels) {
      if (l.isv_svn <= module_svn) {
        ml = &l;
        break;
      }
    }
    if (!ml) {
      return MakeError(ErrorCode::kPrecondition,
                       std::string("TDX module ISVSVN ") + std::to_string(module_svn) +
                           " is below every " + id + " level (TCB Unrecognized)");
    }
    ev.module_status = ml->status;
    AppendUnique(ev.advisory_ids, ml->advisory_ids);
  }

  // Convergence (6f).
  TdxTcbStatus status = ev.platform_status;
  if (ev.module_status) {
    if (*ev.module_status == TdxTcbStatus::kRevoked) {
      status = TdxTcbStatus::kRevoked;
    } else if (*ev.module_status == TdxTcbStatus::kOutOfDate) {
      status = DegradeForOutOfDate(status);
    }
  }
  if (ev.qe_status == TdxTcbStatus::kRevoked) {
    status = TdxTcbStatus::kRevoked;
  } else if (ev.qe_status == TdxTcbStatus::kOutOfDate) {
    status = DegradeForOutOfDate(status);
  }
  AppendUnique(ev.advisory_ids, qe_level->advisory_ids);

  // TD 1.5 relaunch rule (A.5): the TD could reach the newest level by relaunching.
  if (quote.body_type == TdxBodyType::kTd15 && IsOutOfDate(status) &&
      ev.qe_status != TdxTcbStatus::kOutOfDate && !IsOutOfDate(ev.sgx_status) &&
      (IsOutOfDate(ev.platform_status) ||
       (ev.module_status && *ev.module_status == TdxTcbStatus::kOutOfDate))) {
    const TdxTcbLevel& newest = info.levels.front();
    const auto& svn2 = quote.tee_tcb_svn2.bytes;
    bool latest = svn2[2] >= newest.tdx_components[2];
    if (svn2[1] == 0) {
      latest = latest && svn2[0] >= newest.tdx_components[0];
    } else {
      char id[8];
      std::snprintf(id, sizeof id, "TDX_%02X", svn2[1]);
      const TdxModuleIdentity* mi = nullptr;
      for (const auto& m : info.tdx_module_identities) {
        if (m.id == id) mi = &m;
      }
      latest = latest && mi && !mi->levels.empty() && svn2[0] >= mi->levels.front().isv_svn;
    }
    if (latest) {
      status = status == TdxTcbStatus::kOutOfDateConfigurationNeeded
                   ? TdxTcbStatus::kTdRelaunchAdvisedConfigurationNeeded
                   : TdxTcbStatus::kTdRelaunchAdvised;
    }
  }
  ev.status = status;
  return ev;
}

}  // namespace cvmwatch::verifier
