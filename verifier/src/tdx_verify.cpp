// TDX quote verification (specs/tee-reports.md A.2): PCK chain to a pinned Intel root with CRLs,
// QE report signature and binding, quote signature, collateral signatures and windows, TCB status.
#include <algorithm>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/tdx.h"
#include "detail/lru_cache.h"
#include "detail/tdx_x509.h"

namespace cvmwatch::verifier {
namespace {

using tdx_detail::DerCert;
using tdx_detail::DerCrl;
using CertPtr = std::shared_ptr<const DerCert>;
using CrlPtr = std::shared_ptr<const DerCrl>;

// ---------------------------------------------------------------------------------------------
// Bounded LRU caches, process-wide and thread-safe.

template <typename V>
using Lru = detail::LruCache<V>;

// Verified (signed object, signer) pairs, keyed by SHA-256(tag || object hash || signer DER
// hash [|| signature]). Only successes are stored, so a cache can never turn a failure into a pass.
Lru<bool>& SignatureCache() {
  static Lru<bool> cache(4096);
  return cache;
}
// Parsed certificates / CRLs by SHA-256 of their DER (immutable, shared).
Lru<CertPtr>& CertCache() {
  static Lru<CertPtr> cache(1024);
  return cache;
}
Lru<CrlPtr>& CrlCache() {
  static Lru<CrlPtr> cache(64);
  return cache;
}

Hash32 CacheKey(std::string_view tag, const Hash32& object, const Hash32& signer,
                ByteView extra = {}) {
  std::uint8_t buf[8 + 64 + 64];
  const std::size_t tag_len = std::min<std::size_t>(tag.size(), 8);
  std::memcpy(buf, tag.data(), tag_len);
  std::memcpy(buf + tag_len, object.data(), 32);
  std::memcpy(buf + tag_len + 32, signer.data(), 32);
  const std::size_t extra_len = std::min<std::size_t>(extra.size(), 64);
  if (extra_len) std::memcpy(buf + tag_len + 64, extra.data(), extra_len);
  return Sha256(ByteView(buf, tag_len + 64 + extra_len));
}

Result<CertPtr> ParseCert(ByteView der) {
  const Hash32 h = Sha256(der);
  if (auto hit = CertCache().Get(h)) return *hit;
  CVMW_ASSIGN_OR_RETURN(CertPtr c, tdx_detail::ParseDerCert(der, h));
  CertCache().Put(h, c);
  return c;
}

Result<CrlPtr> ParseCrl(ByteView der) {
  const Hash32 h = Sha256(der);
  if (auto hit = CrlCache().Get(h)) return *hit;
  CVMW_ASSIGN_OR_RETURN(CrlPtr c, tdx_detail::ParseDerCrl(der, h));
  CrlCache().Put(h, c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Chain rules

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out;
}

bool Equal(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

bool HasUsage(const DerCert& c, unsigned bit) {
  return !c.key_usage || ((*c.key_usage >> bit) & 1);
}

// `child` issued by `issuer`: names, CA flag, key usage, path length, key identifiers, and the
// signature (cached). Returns the reason it is not, or nullopt.
std::optional<std::string> IssuedBy(const DerCert& child, const DerCert& issuer) {
  if (!Equal(child.issuer, issuer.subject)) {
    return "issuer name is not " + issuer.subject_cn;
  }
  if (!issuer.is_ca) return issuer.subject_cn + " is not a CA certificate";
  if (!HasUsage(issuer, tdx_detail::kKeyUsageKeyCertSign)) {
    return issuer.subject_cn + " may not sign certificates (keyUsage)";
  }
  if (child.is_ca && issuer.path_len && *issuer.path_len == 0) {
    return issuer.subject_cn + " has pathLenConstraint 0";
  }
  if (!child.authority_key_id.empty() && !issuer.subject_key_id.empty() &&
      !Equal(child.authority_key_id, issuer.subject_key_id)) {
    return "authority key id does not match " + issuer.subject_cn;
  }
  const Hash32 key = CacheKey("x509", child.der_hash, issuer.der_hash);
  if (SignatureCache().Get(key)) return std::nullopt;
  if (!tdx_detail::VerifyP256Der(issuer.Key(), child.tbs_digest, child.signature)) {
    return "signature is not by " + issuer.subject_cn;
  }
  SignatureCache().Put(key, true);
  return std::nullopt;
}

std::optional<std::string> CrlIssuedBy(const DerCrl& crl, const DerCert& issuer) {
  if (!Equal(crl.issuer, issuer.subject)) return "issuer name is not " + issuer.subject_cn;
  if (!HasUsage(issuer, tdx_detail::kKeyUsageCrlSign)) {
    return issuer.subject_cn + " may not sign CRLs (keyUsage)";
  }
  if (!crl.authority_key_id.empty() && !issuer.subject_key_id.empty() &&
      !Equal(crl.authority_key_id, issuer.subject_key_id)) {
    return "authority key id does not match " + issuer.subject_cn;
  }
  const Hash32 key = CacheKey("crl", crl.der_hash, issuer.der_hash);
  if (SignatureCache().Get(key)) return std::nullopt;
  if (!tdx_detail::VerifyP256Der(issuer.Key(), crl.tbs_digest, crl.signature)) {
    return "signature is not by " + issuer.subject_cn;
  }
  SignatureCache().Put(key, true);
  return std::nullopt;
}

bool JsonSignedBy(const Hash32& digest, const FixedBytes<64>& sig, const DerCert& signer) {
  const Hash32 key = CacheKey("json", digest, signer.der_hash, sig.view());
  if (SignatureCache().Get(key)) return true;
  const bool ok = tdx_detail::VerifyP256Raw(signer.Key(), digest, sig);
  if (ok) SignatureCache().Put(key, true);
  return ok;
}

std::optional<std::string> CertWindowProblem(const DerCert& c, TimePoint at,
                                             std::string_view what) {
  if (at < c.not_before) {
    return std::string(what) + " not yet valid (notBefore " + FormatTdxTime(c.not_before) + " > " +
           FormatTdxTime(at) + ")";
  }
  if (at > c.not_after) {
    return std::string(what) + " expired (notAfter " + FormatTdxTime(c.not_after) + " < " +
           FormatTdxTime(at) + ")";
  }
  return std::nullopt;
}

std::optional<std::string> WindowProblem(TimePoint from, TimePoint until, TimePoint at,
                                         std::string_view what, std::string_view from_name,
                                         std::string_view until_name) {
  if (at < from) {
    return "collateral not yet valid: " + std::string(what) + " " + std::string(from_name) + " " +
           FormatTdxTime(from) + " > " + FormatTdxTime(at);
  }
  if (at > until) {
    return "collateral expired: " + std::string(what) + " " + std::string(until_name) + " " +
           FormatTdxTime(until) + " < " + FormatTdxTime(at);
  }
  return std::nullopt;
}

TdxStep Passed(std::string reason) { return TdxStep{true, true, std::move(reason)}; }
TdxStep Failed(std::string reason) { return TdxStep{false, true, std::move(reason)}; }
TdxStep NotChecked(std::string reason) { return TdxStep{false, false, std::move(reason)}; }

}  // namespace

bool TdxVerification::ok() const {
  for (const TdxStep* s : {&parse, &pck_chain, &qe_report, &quote_signature, &collateral}) {
    if (!s->ok || !s->checked) return false;
  }
  return true;
}

std::string TdxVerification::Summary() const {
  std::vector<std::string> parts;
  const std::pair<const char*, const TdxStep*> steps[] = {{"parse", &parse},
                                                          {"pck-chain", &pck_chain},
                                                          {"qe-report", &qe_report},
                                                          {"quote-signature", &quote_signature},
                                                          {"collateral", &collateral}};
  for (const auto& [name, s] : steps) {
    if (!s->ok || !s->checked) {
      parts.push_back(std::string(name) + (s->checked ? "" : " (not checked)") + ": " + s->reason);
    }
  }
  return Join(parts);
}

void ClearTdxSignatureCache() {
  SignatureCache().Clear();
  CertCache().Clear();
  CrlCache().Clear();
}

TdxVerification VerifyTdxQuote(ByteView input, const std::vector<Bytes>& intel_roots,
                               const TdxCollateralSource* collateral_source, TimePoint at) {
  TdxVerification v;
  auto parsed = ParseTdxQuote(input);
  if (!parsed.ok()) {
    v.parse = Failed(parsed.error().ToString());
    const std::string why = "not checked: the quote did not parse";
    v.pck_chain = NotChecked(why);
    v.qe_report = NotChecked(why);
    v.quote_signature = NotChecked(why);
    v.collateral = NotChecked("TCB status not evaluated: the quote did not parse");
    return v;
  }
  v.quote = std::move(*parsed);
  const TdxQuote& q = *v.quote;
  {
    std::string fact = "v" + std::to_string(q.version) + " " +
                       (q.body_type == TdxBodyType::kTd15 ? "TD 1.5" : "TD 1.0") + ", " +
                       std::to_string(q.quote_length) + " bytes";
    if (input.size() > q.quote_length) {
      fact += " (+" + std::to_string(input.size() - q.quote_length) + " trailing bytes ignored)";
    }
    v.parse = Passed(fact);
  }

  // Step 5, quote signature: independent of everything else.
  {
    auto key = tdx_detail::P256PublicKey(q.attestation_key);
    if (!key.ok()) {
      v.quote_signature = Failed("attestation key: " + key.error().message);
    } else if (!tdx_detail::VerifyP256Raw(key->get(), Sha256(q.SignedRegion(input)),
                                          q.quote_signature)) {
      v.quote_signature =
          Failed("quote signature over the signed region [0, " + std::to_string(q.signed_length) +
                 ") is invalid for the attestation key");
    } else {
      v.quote_signature = Passed("ECDSA P-256 by the attestation key over [0, " +
                                 std::to_string(q.signed_length) + ")");
    }
  }

  // The PCK chain in the certification data.
  std::vector<CertPtr> chain;
  std::string chain_error;
  {
    auto ders = TdxPemChainToDer(std::string_view(
        reinterpret_cast<const char*>(q.certification_data.data()), q.certification_data.size()));
    if (!ders.ok()) {
      chain_error = "PCK chain PEM: " + ders.error().message;
    } else if (ders->size() != 3) {
      chain_error = "PCK chain has " + std::to_string(ders->size()) +
                    " certificates, expected 3 (leaf, CA, root)";
    } else {
      for (std::size_t i = 0; i < 3; ++i) {
        auto c = ParseCert((*ders)[i]);
        if (!c.ok()) {
          chain_error = "PCK chain certificate " + std::to_string(i) + ": " + c.error().message;
          chain.clear();
          break;
        }
        chain.push_back(*c);
      }
    }
  }
  const DerCert* leaf = chain.empty() ? nullptr : chain[0].get();
  std::string ext_error;
  if (leaf) {
    v.pck_leaf_serial = leaf->serial;
    auto ext = ParsePckSgxExtension(leaf->sgx_extension);
    if (ext.ok()) {
      v.pck = *ext;
    } else {
      ext_error = "PCK leaf: " + ext.error().message;
    }
  }

  // Steps 3 and 4, QE report: needs the leaf key only.
  if (!leaf) {
    v.qe_report = NotChecked("not checked: no PCK leaf certificate (" + chain_error + ")");
  } else {
    std::vector<std::string> problems;
    if (!tdx_detail::VerifyP256Raw(leaf->Key(), Sha256(q.qe_report.raw.view()),
                                   q.qe_report_signature)) {
      problems.push_back("QE report signature is invalid for the PCK leaf key");
    }
    const Hash32 binding = Sha256(Concat({q.attestation_key.view(), q.qe_auth_data}));
    if (!std::equal(binding.bytes.begin(), binding.bytes.end(),
                    q.qe_report.report_data.bytes.begin())) {
      problems.push_back("QE REPORTDATA[0..32) " +
                         ToHex(ByteView(q.qe_report.report_data.data(), 32), false) +
                         " != SHA-256(attestation key || QE auth data) " + binding.ToHex(false));
    } else if (!std::all_of(q.qe_report.report_data.bytes.begin() + 32,
                            q.qe_report.report_data.bytes.end(),
                            [](std::uint8_t b) { return b == 0; })) {
      problems.push_back("QE REPORTDATA[32..64) is not zero");
    }
    v.qe_report = problems.empty()
                      ? Passed("signed by the PCK leaf; REPORTDATA binds the attestation key")
                      : Failed(Join(problems));
  }

  // Pinned roots: the chain's root must carry one of their keys.
  std::vector<CertPtr> roots;
  for (const auto& der : intel_roots) {
    auto r = ParseCert(der);
    if (r.ok()) roots.push_back(*r);
  }
  const DerCert* pinned = nullptr;
  if (chain.size() == 3) {
    for (const auto& r : roots) {
      if (r->public_key == chain[2]->public_key) {
        pinned = r.get();
        break;
      }
    }
  }

  // The collateral for this platform, and its certificates / CRLs.
  std::optional<TdxCollateral> coll;
  if (collateral_source && v.pck) coll = collateral_source->Find(v.pck->fmspc, v.pck->pce_id);
  std::vector<std::string> coll_problems;
  std::vector<std::string> time_problems;
  CrlPtr root_crl, pck_crl;
  CertPtr tcb_info_signer, qe_identity_signer;
  if (coll) {
    auto rc = ParseCrl(coll->root_ca_crl);
    if (rc.ok()) {
      root_crl = *rc;
    } else {
      coll_problems.push_back("root CA CRL: " + rc.error().message);
    }
    auto pc = ParseCrl(coll->pck_crl);
    if (pc.ok()) {
      pck_crl = *pc;
    } else {
      coll_problems.push_back("PCK CRL: " + pc.error().message);
    }
    auto first_of = [&](const std::vector<Bytes>& ders, std::string_view what) -> CertPtr {
      if (ders.empty()) {
        coll_problems.push_back(std::string(what) + " issuer chain is empty");
        return nullptr;
      }
      auto c = ParseCert(ders.front());
      if (!c.ok()) {
        coll_problems.push_back(std::string(what) + " signing certificate: " + c.error().message);
        return nullptr;
      }
      return *c;
    };
    tcb_info_signer = first_of(coll->tcb_info_issuer_chain_der, "TCB info");
    qe_identity_signer = first_of(coll->qe_identity_issuer_chain_der, "QE identity");
  }

  // Step 2, PCK chain: leaf <- CA <- pinned root, validity at `at`, revocation by the CRLs.
  if (chain.size() != 3) {
    v.pck_chain = Failed(chain_error);
  } else {
    std::vector<std::string> problems;
    std::string revocation = "revocation not checked (no collateral)";
    if (!ext_error.empty()) problems.push_back(ext_error);
    const DerCert& ca = *chain[1];
    if (leaf->is_ca) problems.push_back("PCK leaf certificate is a CA certificate");
    if (auto p = IssuedBy(*leaf, ca)) problems.push_back("PCK leaf certificate: " + *p);
    if (!pinned) {
      problems.push_back("PCK chain root (" + chain[2]->subject_cn +
                         ") does not carry a pinned Intel SGX Root CA key");
    } else {
      if (auto p = IssuedBy(ca, *pinned)) problems.push_back("PCK CA certificate: " + *p);
      if (auto p = CertWindowProblem(*pinned, at, "pinned Intel root")) problems.push_back(*p);
    }
    static const char* const kNames[] = {"PCK leaf certificate", "PCK CA certificate",
                                         "PCK chain root certificate"};
    for (std::size_t i = 0; i < 3; ++i) {
      if (auto p = CertWindowProblem(*chain[i], at, kNames[i])) problems.push_back(*p);
    }
    if (coll && pck_crl && root_crl) {
      std::vector<std::string> unchecked;
      if (auto p = CrlIssuedBy(*pck_crl, ca)) {
        coll_problems.push_back("PCK CRL: " + *p);
        unchecked.push_back("leaf");
      } else if (pck_crl->IsRevoked(leaf->serial)) {
        problems.push_back("PCK leaf certificate (serial " + ToHex(leaf->serial, false) +
                           ") is revoked by the PCK CRL");
      }
      if (!pinned) {
        unchecked.push_back("CA");
      } else if (auto p = CrlIssuedBy(*root_crl, *pinned)) {
        coll_problems.push_back("root CA CRL: " + *p);
        unchecked.push_back("CA");
      } else if (root_crl->IsRevoked(ca.serial)) {
        problems.push_back("PCK CA certificate (serial " + ToHex(ca.serial, false) +
                           ") is revoked by the root CA CRL");
      }
      revocation =
          unchecked.empty() ? "not revoked" : "revocation of " + Join(unchecked) + " not checked";
    } else if (coll) {
      revocation = "revocation not checked (CRL unreadable)";
    }
    if (problems.empty()) {
      v.pck_chain =
          Passed(leaf->subject_cn + " <- " + ca.subject_cn + " <- pinned " + pinned->subject_cn +
                 ", valid at " + FormatTdxTime(at) + ", " + revocation);
    } else {
      v.pck_chain = Failed(Join(problems));
    }
  }

  // Step 6, collateral and TCB status.
  if (!collateral_source) {
    v.collateral = NotChecked("TCB status not evaluated: no collateral source");
    return v;
  }
  if (!v.pck) {
    v.collateral = NotChecked("TCB status not evaluated: no FMSPC / PCE-ID from the PCK leaf");
    return v;
  }
  if (!coll) {
    v.collateral = NotChecked("TCB status not evaluated: no collateral for FMSPC " +
                              v.pck->fmspc.ToHex(false) + " PCE-ID " + v.pck->pce_id.ToHex(false));
    return v;
  }
  const TdxCollateral& c = *coll;
  const DerCert* signing_root = pinned ? pinned : (roots.empty() ? nullptr : roots.front().get());
  // TCB signing certificates: issued by the pinned root, valid, not revoked.
  bool signers_ok = tcb_info_signer && qe_identity_signer;
  std::vector<const DerCert*> signers;
  for (const CertPtr& s : {tcb_info_signer, qe_identity_signer}) {
    if (s && std::none_of(signers.begin(), signers.end(),
                          [&](const DerCert* o) { return o->der_hash == s->der_hash; })) {
      signers.push_back(s.get());
    }
  }
  for (const DerCert* s : signers) {
    if (!signing_root) {
      coll_problems.push_back("no pinned Intel root to check the TCB signing certificate");
      signers_ok = false;
      continue;
    }
    if (auto p = IssuedBy(*s, *signing_root)) {
      coll_problems.push_back("TCB signing certificate (" + s->subject_cn + "): " + *p);
      signers_ok = false;
    }
    if (auto p = CertWindowProblem(*s, at, "TCB signing certificate")) {
      time_problems.push_back("collateral " + *p);
    }
    if (root_crl && root_crl->IsRevoked(s->serial)) {
      coll_problems.push_back("TCB signing certificate is revoked by the root CA CRL");
      signers_ok = false;
    }
  }
  // CRL windows.
  const std::pair<const CrlPtr*, const char*> crls[] = {{&root_crl, "root CA CRL"},
                                                        {&pck_crl, "PCK CRL"}};
  for (const auto& [crl_ptr, what] : crls) {
    const CrlPtr& crl = *crl_ptr;
    if (!crl) continue;
    if (!crl->next_update) {
      coll_problems.push_back(std::string(what) + " has no nextUpdate");
    } else if (auto p = WindowProblem(crl->this_update, *crl->next_update, at, what, "thisUpdate",
                                      "nextUpdate")) {
      time_problems.push_back(*p);
    }
  }
  // Signed JSON.
  bool tcb_info_signed = false, qe_identity_signed = false;
  if (tcb_info_signer) {
    tcb_info_signed = JsonSignedBy(c.tcb_info_digest, c.tcb_info_signature, *tcb_info_signer);
    if (!tcb_info_signed) coll_problems.push_back("TCB info signature is invalid");
  }
  if (qe_identity_signer) {
    qe_identity_signed =
        JsonSignedBy(c.qe_identity_digest, c.qe_identity_signature, *qe_identity_signer);
    if (!qe_identity_signed) coll_problems.push_back("QE identity signature is invalid");
  }
  if (auto p = WindowProblem(c.tcb_info.issue_date, c.tcb_info.next_update, at, "TCB info",
                             "issueDate", "nextUpdate")) {
    time_problems.push_back(*p);
  }
  if (auto p = WindowProblem(c.qe_identity.issue_date, c.qe_identity.next_update, at, "QE identity",
                             "issueDate", "nextUpdate")) {
    time_problems.push_back(*p);
  }
  if (c.tcb_info.fmspc != v.pck->fmspc || c.tcb_info.pce_id != v.pck->pce_id) {
    coll_problems.push_back("TCB info is for FMSPC " + c.tcb_info.fmspc.ToHex(false) + " PCE-ID " +
                            c.tcb_info.pce_id.ToHex(false) + ", the PCK certificate has FMSPC " +
                            v.pck->fmspc.ToHex(false) + " PCE-ID " + v.pck->pce_id.ToHex(false));
  } else if (signers_ok && tcb_info_signed && qe_identity_signed) {
    auto ev = EvaluateTdxTcb(q, *v.pck, c.tcb_info, c.qe_identity);
    if (!ev.ok()) {
      coll_problems.push_back(ev.error().message);
    } else {
      v.tcb_status_code = ev->status;
      v.tcb_status = std::string(TdxTcbStatusName(ev->status));
      v.platform_status = std::string(TdxTcbStatusName(ev->platform_status));
      if (ev->module_status) v.module_status = std::string(TdxTcbStatusName(*ev->module_status));
      v.qe_status = std::string(TdxTcbStatusName(ev->qe_status));
      v.advisory_ids = ev->advisory_ids;
      if (ev->status == TdxTcbStatus::kRevoked) coll_problems.push_back("TCB status Revoked");
    }
  }
  coll_problems.insert(coll_problems.end(), time_problems.begin(), time_problems.end());
  if (!coll_problems.empty() && v.tcb_status) {
    // A status is only reported from collateral that passed every check.
    coll_problems.push_back("TCB status would be " + *v.tcb_status);
    v.tcb_status.reset();
    v.tcb_status_code.reset();
    v.platform_status.reset();
    v.module_status.reset();
    v.qe_status.reset();
    v.advisory_ids.clear();
  }
  if (coll_problems.empty()) {
    v.collateral = Passed("TCB status " + *v.tcb_status + " (TCB info evaluation " +
                          std::to_string(c.tcb_info.tcb_evaluation_data_number) + ", FMSPC " +
                          c.tcb_info.fmspc.ToHex(false) + ")");
  } else {
    v.collateral = Failed(Join(coll_problems));
  }
  return v;
}

}  // namespace cvmwatch::verifier
