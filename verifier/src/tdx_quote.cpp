// Bounded parsing of Intel TDX DCAP quotes v4 / v5 (specs/tee-reports.md A.1, A.5).
#include <algorithm>
#include <cstring>
#include <string>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/tdx.h"

namespace cvmwatch::verifier {
namespace {

// A cursor over the input that refuses every read past the end, naming the field.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}

  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }

  Status Need(std::size_t n, std::string_view field) const {
    if (n > remaining()) {
      return MakeError(ErrorCode::kInvalidLength,
                       "TDX quote truncated: " + std::string(field) + " needs " +
                           std::to_string(n) + " bytes at offset " + std::to_string(pos_) + ", " +
                           std::to_string(remaining()) + " left (quote size " +
                           std::to_string(in_.size()) + ")");
    }
    return OkStatus();
  }
  Result<std::uint16_t> U16(std::string_view field) {
    CVMW_RETURN_IF_ERROR(Need(2, field));
    std::uint16_t v = static_cast<std::uint16_t>(in_[pos_] | (in_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  Result<std::uint32_t> U32(std::string_view field) {
    CVMW_RETURN_IF_ERROR(Need(4, field));
    std::uint32_t v = static_cast<std::uint32_t>(in_[pos_]) |
                      (static_cast<std::uint32_t>(in_[pos_ + 1]) << 8) |
                      (static_cast<std::uint32_t>(in_[pos_ + 2]) << 16) |
                      (static_cast<std::uint32_t>(in_[pos_ + 3]) << 24);
    pos_ += 4;
    return v;
  }
  template <std::size_t N>
  Status Fixed(FixedBytes<N>& out, std::string_view field) {
    CVMW_RETURN_IF_ERROR(Need(N, field));
    std::memcpy(out.data(), in_.data() + pos_, N);
    pos_ += N;
    return OkStatus();
  }
  Result<ByteView> Take(std::size_t n, std::string_view field) {
    CVMW_RETURN_IF_ERROR(Need(n, field));
    ByteView v = in_.subspan(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  ByteView in_;
  std::size_t pos_ = 0;
};

Error Unsupported(std::string message) {
  return MakeError(ErrorCode::kPrecondition, std::move(message));
}

std::uint16_t Le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t Le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

SgxReport DecodeSgxReport(ByteView raw) {
  SgxReport r;
  std::memcpy(r.raw.data(), raw.data(), kSgxReportSize);
  const std::uint8_t* p = raw.data();
  std::memcpy(r.cpusvn.data(), p + 0, 16);
  r.miscselect = Le32(p + 16);
  std::memcpy(r.attributes.data(), p + 48, 16);
  std::memcpy(r.mrenclave.data(), p + 64, 32);
  std::memcpy(r.mrsigner.data(), p + 128, 32);
  r.isv_prod_id = Le16(p + 256);
  r.isv_svn = Le16(p + 258);
  std::memcpy(r.report_data.data(), p + 320, 64);
  return r;
}

Status ParseBody(Reader& rd, TdxQuote& q) {
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.tee_tcb_svn, "TEE_TCB_SVN"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.mrseam, "MRSEAM"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.mrsignerseam, "MRSIGNERSEAM"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.seam_attributes, "SEAMATTRIBUTES"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.td_attributes, "TDATTRIBUTES"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.xfam, "XFAM"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.mrtd, "MRTD"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.mrconfigid, "MRCONFIGID"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.mrowner, "MROWNER"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.mrownerconfig, "MROWNERCONFIG"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.rtmr0, "RTMR0"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.rtmr1, "RTMR1"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.rtmr2, "RTMR2"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.rtmr3, "RTMR3"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.report_data, "REPORTDATA"));
  if (q.body_type == TdxBodyType::kTd15) {
    CVMW_RETURN_IF_ERROR(rd.Fixed(q.tee_tcb_svn2, "TEE_TCB_SVN2"));
    CVMW_RETURN_IF_ERROR(rd.Fixed(q.mrservicetd, "MRSERVICETD"));
  }
  return OkStatus();
}

}  // namespace

Result<TdxQuote> ParseTdxQuote(ByteView quote) {
  TdxQuote q;
  Reader rd(quote);

  // Header.
  CVMW_ASSIGN_OR_RETURN(q.version, rd.U16("version"));
  if (q.version != 4 && q.version != 5) {
    return Unsupported("unsupported TDX quote version " + std::to_string(q.version) +
                       " (4 and 5 are supported)");
  }
  CVMW_ASSIGN_OR_RETURN(q.attestation_key_type, rd.U16("attestation key type"));
  CVMW_ASSIGN_OR_RETURN(q.tee_type, rd.U32("TEE type"));
  CVMW_ASSIGN_OR_RETURN(q.qe_svn, rd.U16("QE SVN"));
  CVMW_ASSIGN_OR_RETURN(q.pce_svn, rd.U16("PCE SVN"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.qe_vendor_id, "QE vendor id"));
  CVMW_RETURN_IF_ERROR(rd.Fixed(q.user_data, "user data"));
  if (q.tee_type != kTdxTeeType) {
    return Unsupported("TEE type 0x" + ToHex(ByteView(quote.data() + 4, 4), false) +
                       " is not TDX (81000000)");
  }
  if (q.attestation_key_type != kTdxAttestationKeyEcdsaP256) {
    return Unsupported("attestation key type " + std::to_string(q.attestation_key_type) +
                       " is not 2 (ECDSA P-256)");
  }
  if (!std::equal(kIntelQeVendorId.begin(), kIntelQeVendorId.end(), q.qe_vendor_id.bytes.begin())) {
    return Unsupported("QE vendor id " + q.qe_vendor_id.ToHex(false) + " is not Intel's");
  }

  // Body.
  if (q.version == 4) {
    q.body_type = TdxBodyType::kTd10;
    q.body_size = kTdxTd10BodySize;
  } else {
    CVMW_ASSIGN_OR_RETURN(std::uint16_t type, rd.U16("body type"));
    CVMW_ASSIGN_OR_RETURN(q.body_size, rd.U32("body size"));
    if (type == static_cast<std::uint16_t>(TdxBodyType::kTd10)) {
      q.body_type = TdxBodyType::kTd10;
    } else if (type == static_cast<std::uint16_t>(TdxBodyType::kTd15)) {
      q.body_type = TdxBodyType::kTd15;
    } else {
      return Unsupported("v5 body type " + std::to_string(type) +
                         " is not a TD report (2 = TD 1.0, 3 = TD 1.5)");
    }
    const std::uint32_t expected =
        q.body_type == TdxBodyType::kTd10 ? kTdxTd10BodySize : kTdxTd15BodySize;
    if (q.body_size != expected) {
      return MakeError(ErrorCode::kInvalidLength, "v5 body size " + std::to_string(q.body_size) +
                                                      " for body type " + std::to_string(type) +
                                                      ", expected " + std::to_string(expected));
    }
  }
  q.body_offset = rd.pos();
  CVMW_RETURN_IF_ERROR(ParseBody(rd, q));
  q.signed_offset = 0;
  q.signed_length = rd.pos();

  // Signature data: length, then exactly that many bytes are interpreted.
  CVMW_ASSIGN_OR_RETURN(q.signature_data_length, rd.U32("signature data length"));
  if (q.signature_data_length > rd.remaining()) {
    return MakeError(ErrorCode::kInvalidLength,
                     "signature data length " + std::to_string(q.signature_data_length) +
                         " beyond the quote (" + std::to_string(rd.remaining()) +
                         " bytes left at offset " + std::to_string(rd.pos()) + ")");
  }
  const std::size_t sig_start = rd.pos();
  q.quote_length = sig_start + q.signature_data_length;
  CVMW_ASSIGN_OR_RETURN(ByteView sig_view, rd.Take(q.signature_data_length, "signature data"));
  Reader sd(sig_view);
  CVMW_RETURN_IF_ERROR(sd.Fixed(q.quote_signature, "quote signature"));
  CVMW_RETURN_IF_ERROR(sd.Fixed(q.attestation_key, "attestation key"));
  CVMW_ASSIGN_OR_RETURN(q.outer_certification_type, sd.U16("certification data type"));
  if (q.outer_certification_type != 6) {
    return Unsupported("certification data type " + std::to_string(q.outer_certification_type) +
                       " is not 6 (QE report certification data)");
  }
  CVMW_ASSIGN_OR_RETURN(q.outer_certification_size, sd.U32("certification data size"));
  if (q.outer_certification_size > sd.remaining()) {
    return MakeError(ErrorCode::kInvalidLength,
                     "certification data size " + std::to_string(q.outer_certification_size) +
                         " beyond the signature data (" + std::to_string(sd.remaining()) +
                         " bytes left)");
  }
  CVMW_ASSIGN_OR_RETURN(ByteView outer, sd.Take(q.outer_certification_size, "certification data"));
  Reader cd(outer);
  CVMW_ASSIGN_OR_RETURN(ByteView qe_raw, cd.Take(kSgxReportSize, "QE report"));
  q.qe_report = DecodeSgxReport(qe_raw);
  CVMW_RETURN_IF_ERROR(cd.Fixed(q.qe_report_signature, "QE report signature"));
  CVMW_ASSIGN_OR_RETURN(std::uint16_t auth_size, cd.U16("QE auth data size"));
  if (auth_size > cd.remaining()) {
    return MakeError(ErrorCode::kInvalidLength, "QE auth data size " + std::to_string(auth_size) +
                                                    " beyond the certification data (" +
                                                    std::to_string(cd.remaining()) +
                                                    " bytes left)");
  }
  CVMW_ASSIGN_OR_RETURN(ByteView auth, cd.Take(auth_size, "QE auth data"));
  q.qe_auth_data.assign(auth.begin(), auth.end());
  CVMW_ASSIGN_OR_RETURN(q.certification_data_type, cd.U16("inner certification data type"));
  if (q.certification_data_type != 5) {
    return Unsupported("inner certification data type " +
                       std::to_string(q.certification_data_type) +
                       " is not 5 (PCK certificate chain)");
  }
  CVMW_ASSIGN_OR_RETURN(std::uint32_t chain_size, cd.U32("PCK chain size"));
  if (chain_size > cd.remaining()) {
    return MakeError(ErrorCode::kInvalidLength, "PCK chain size " + std::to_string(chain_size) +
                                                    " beyond the certification data (" +
                                                    std::to_string(cd.remaining()) +
                                                    " bytes left)");
  }
  CVMW_ASSIGN_OR_RETURN(ByteView chain, cd.Take(chain_size, "PCK chain"));
  q.certification_data.assign(chain.begin(), chain.end());
  // The outer size covers exactly QE report, its signature, auth data and the type-5 block.
  if (cd.remaining() != 0) {
    return MakeError(ErrorCode::kInvalidLength,
                     "certification data size " + std::to_string(q.outer_certification_size) +
                         " does not match its contents (" + std::to_string(cd.remaining()) +
                         " bytes unaccounted)");
  }
  // And the signature data holds nothing after it.
  if (sd.remaining() != 0) {
    return MakeError(ErrorCode::kInvalidLength,
                     "signature data length " + std::to_string(q.signature_data_length) +
                         " does not match its contents (" + std::to_string(sd.remaining()) +
                         " bytes unaccounted)");
  }
  return q;
}

TeeFacts TdxTeeFacts(const TdxQuote& quote, const std::optional<std::string>& tcb_status) {
  TeeFacts f;
  f.tee_type = 1;  // registry TeeType IntelTDX
  f.mrtd = quote.mrtd;
  f.mrseam = quote.mrseam;
  f.rtmr0 = quote.rtmr0;
  f.rtmr1 = quote.rtmr1;
  f.rtmr2 = quote.rtmr2;
  f.rtmr3 = quote.rtmr3;
  f.report_data = quote.report_data;
  f.tcb_status = tcb_status;
  return f;
}

Status CheckTdxReportDataBindsSha256(const TdxQuote& quote, ByteView runtime_json) {
  const Hash32 digest = Sha256(runtime_json);
  if (!std::equal(digest.bytes.begin(), digest.bytes.end(), quote.report_data.bytes.begin())) {
    return MakeError(ErrorCode::kPrecondition,
                     "REPORTDATA[0..32) " + ToHex(ByteView(quote.report_data.data(), 32), false) +
                         " != SHA-256(runtime data) " + digest.ToHex(false));
  }
  if (!std::all_of(quote.report_data.bytes.begin() + 32, quote.report_data.bytes.end(),
                   [](std::uint8_t b) { return b == 0; })) {
    return MakeError(ErrorCode::kPrecondition, "REPORTDATA[32..64) is not zero");
  }
  return OkStatus();
}

}  // namespace cvmwatch::verifier
