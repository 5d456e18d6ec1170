#include "cvmwatch/verifier/tpm.h"

#include <openssl/obj_mac.h>

#include "cvmwatch/core/hash.h"
#include "detail/openssl_util.h"

namespace cvmwatch::verifier {
namespace {

class BeReader {
 public:
  BeReader(ByteView data, std::string_view what) : data_(data), what_(what) {}

  Result<std::uint64_t> Uint(std::size_t bytes, std::string_view field) {
    if (data_.size() - pos_ < bytes) return Short(field, bytes);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = v << 8 | data_[pos_ + i];
    pos_ += bytes;
    return v;
  }
  Result<Bytes> Take(std::size_t bytes, std::string_view field) {
    if (data_.size() - pos_ < bytes) return Short(field, bytes);
    Bytes out(data_.begin() + pos_, data_.begin() + pos_ + bytes);
    pos_ += bytes;
    return out;
  }
  Result<Bytes> Sized16(std::string_view field) {
    CVMW_ASSIGN_OR_RETURN(std::uint64_t len, Uint(2, field));
    return Take(len, field);
  }
  std::size_t pos() const { return pos_; }

 private:
  Error Short(std::string_view field, std::size_t need) const {
    return MakeError(ErrorCode::kInvalidLength,
                     std::string(what_) + " too short: " + std::string(field) + " needs " +
                         std::to_string(need) + " bytes at offset " + std::to_string(pos_) +
                         ", " + std::to_string(data_.size() - pos_) + " left");
  }
  ByteView data_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

std::uint32_t SelectionWord(ByteView select) {
  // Solidity bytes4(slice): right-pad with zeros, keep only the first four bytes.
  std::uint8_t b[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < 4 && i < select.size(); ++i) b[i] = select[i];
  return static_cast<std::uint32_t>(b[0]) << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

}  // namespace

Result<TpmQuote> ParseTpmQuote(ByteView quote) {
  BeReader r(quote, "TPM quote");
  TpmQuote q;
  CVMW_ASSIGN_OR_RETURN(std::uint64_t magic, r.Uint(4, "magic"));
  q.magic = static_cast<std::uint32_t>(magic);
  CVMW_ASSIGN_OR_RETURN(std::uint64_t type, r.Uint(2, "type"));
  q.type = static_cast<std::uint16_t>(type);
  if (q.type != kTpmStAttestQuote) {
    return MakeError(ErrorCode::kPrecondition,
                     "TPM attestation type " + std::to_string(q.type) + " is not TPM_ST_ATTEST_QUOTE (0x8018)");
  }
  CVMW_ASSIGN_OR_RETURN(q.qualified_signer, r.Sized16("qualifiedSigner"));
  CVMW_ASSIGN_OR_RETURN(q.extra_data, r.Sized16("extraData"));
  CVMW_ASSIGN_OR_RETURN(q.clock, r.Uint(8, "clockInfo.clock"));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t reset, r.Uint(4, "clockInfo.resetCount"));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t restart, r.Uint(4, "clockInfo.restartCount"));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t safe, r.Uint(1, "clockInfo.safe"));
  q.reset_count = static_cast<std::uint32_t>(reset);
  q.restart_count = static_cast<std::uint32_t>(restart);
  q.safe = static_cast<std::uint8_t>(safe);
  CVMW_ASSIGN_OR_RETURN(q.firmware_version, r.Uint(8, "firmwareVersion"));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t count, r.Uint(4, "pcrSelect.count"));
  q.selection_count = static_cast<std::uint32_t>(count);
  if (q.selection_count != 1) {
    return MakeError(ErrorCode::kPrecondition,
                     "TPM quote has " + std::to_string(q.selection_count) +
                         " PCR selections; exactly one (SHA-256) is accepted");
  }
  CVMW_ASSIGN_OR_RETURN(std::uint64_t hash, r.Uint(2, "pcrSelections[0].hash"));
  q.selection_hash = static_cast<std::uint16_t>(hash);
  if (q.selection_hash != registry::kTpmAlgSha256) {
    return MakeError(ErrorCode::kPrecondition, "PCR bank is not SHA-256");
  }
  CVMW_ASSIGN_OR_RETURN(std::uint64_t sizeof_select, r.Uint(1, "sizeofSelect"));
  CVMW_ASSIGN_OR_RETURN(q.pcr_select, r.Take(sizeof_select, "pcrSelect"));
  CVMW_ASSIGN_OR_RETURN(q.pcr_digest, r.Sized16("pcrDigest"));
  if (q.pcr_digest.size() != 32) {
    return MakeError(ErrorCode::kPrecondition, "pcrDigest is " + std::to_string(q.pcr_digest.size()) +
                                                   " bytes, not 32");
  }
  return q;
}

Result<TpmSignature> ParseTpmSignature(ByteView signature) {
  BeReader r(signature, "TPM signature");
  TpmSignature s;
  CVMW_ASSIGN_OR_RETURN(std::uint64_t alg, r.Uint(2, "sigAlg"));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t hash, r.Uint(2, "hashAlg"));
  s.sig_alg = static_cast<std::uint16_t>(alg);
  s.hash_alg = static_cast<std::uint16_t>(hash);
  if (signature.size() < 6) return MakeError(ErrorCode::kInvalidLength, "TPM signature too short");
  if (s.hash_alg != registry::kTpmAlgSha256) {
    return MakeError(ErrorCode::kPrecondition, "TPM signature hash algorithm is not SHA-256");
  }
  if (s.sig_alg == registry::kTpmAlgRsassa) {
    CVMW_ASSIGN_OR_RETURN(std::uint64_t size, r.Uint(2, "sig.size"));
    if (size < 256 || size > 512) {
      return MakeError(ErrorCode::kInvalidLength,
                       "RSA signature size " + std::to_string(size) + " outside [256, 512]");
    }
    CVMW_ASSIGN_OR_RETURN(s.rsa_signature, r.Take(size, "sig"));
    return s;
  }
  if (s.sig_alg == registry::kTpmAlgEcdsa) {
    CVMW_ASSIGN_OR_RETURN(s.ecdsa_r, r.Sized16("signatureR"));
    CVMW_ASSIGN_OR_RETURN(s.ecdsa_s, r.Sized16("signatureS"));
    if (s.ecdsa_r.size() != 32 || s.ecdsa_s.size() != 32) {
      return MakeError(ErrorCode::kInvalidLength, "ECDSA r and s must be 32 bytes each");
    }
    return s;
  }
  return MakeError(ErrorCode::kPrecondition,
                   "TPM signature scheme " + std::to_string(s.sig_alg) + " is not RSASSA or ECDSA");
}

Status VerifyTpmSignature(ByteView quote, ByteView signature, const registry::CertPubkey& ak) {
  CVMW_ASSIGN_OR_RETURN(TpmSignature sig, ParseTpmSignature(signature));
  const Hash32 digest = Sha256(quote);
  CVMW_ASSIGN_OR_RETURN(detail::SharedPkey key, detail::CachedPublicKey(ak));
  if (sig.sig_alg == registry::kTpmAlgEcdsa) {
    if (ak.algo != registry::kTpmAlgEcc) {
      return MakeError(ErrorCode::kPrecondition, "ECDSA signature with a non-EC AK");
    }
    if (!detail::VerifyEcdsaDigest(key.get(), digest.view(), sig.ecdsa_r, sig.ecdsa_s)) {
      return MakeError(ErrorCode::kPrecondition, "ECDSA P-256 signature does not verify with the AK");
    }
    return OkStatus();
  }
  if (ak.algo != registry::kTpmAlgRsa) {
    return MakeError(ErrorCode::kPrecondition, "RSASSA signature with a non-RSA AK");
  }
  CVMW_ASSIGN_OR_RETURN(detail::RsaNumbers rsa, detail::RsaNumbersOf(key.get()));
  if (rsa.n.size() < 256 || rsa.n.size() > 512 || (rsa.n.back() & 1) == 0) {
    return MakeError(ErrorCode::kUnsupportedKey, "RSA AK modulus must be odd and 2048..4096 bits");
  }
  const bool e_small = rsa.e.size() < 3 ||
                       (rsa.e.size() == 3 && (rsa.e[0] << 16 | rsa.e[1] << 8 | rsa.e[2]) < 65537);
  if (e_small) return MakeError(ErrorCode::kUnsupportedKey, "RSA AK exponent below 65537");
  auto status = detail::VerifyRsaPkcs1Sha256Lenient(key.get(), digest.view(), sig.rsa_signature);
  if (!status.ok()) {
    return MakeError(ErrorCode::kPrecondition, "RSASSA signature does not verify with the AK: " +
                                                   status.error().message);
  }
  return OkStatus();
}

Hash32 ReplayEvents(std::span<const Hash32> events) {
  Hash32 acc;
  for (const auto& e : events) acc = Sha256(Concat({acc.view(), e.view()}));
  return acc;
}

Status CheckPcrSelection(const TpmQuote& quote, std::span<const registry::MeasurablePcr> pcrs) {
  std::uint32_t bitmap = 0;
  for (std::size_t i = 0; i < pcrs.size() && i < 32; ++i) {
    const auto index = pcrs[i].index.ToU64();
    if (!index || *index >= 32) {
      return MakeError(ErrorCode::kPrecondition, "PCR index " + pcrs[i].index.ToDecimal() + " out of range");
    }
    bitmap |= 1u << *index;
  }
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(bitmap), static_cast<std::uint8_t>(bitmap >> 8),
                             static_cast<std::uint8_t>(bitmap >> 16),
                             static_cast<std::uint8_t>(bitmap >> 24)};
  const std::uint32_t supplied = SelectionWord(ByteView(b, 4));
  const std::uint32_t quoted = SelectionWord(quote.pcr_select);
  if (supplied != quoted) {
    return MakeError(ErrorCode::kPrecondition, "PCR selection mismatch: quote selects " +
                                                   ToHex(quote.pcr_select) + ", collateral supplies " +
                                                   ToHex(ByteView(b, 4)));
  }
  return OkStatus();
}

Status CheckPcrDigest(const TpmQuote& quote, std::span<const registry::MeasurablePcr> pcrs) {
  Bytes values;
  values.reserve(pcrs.size() * 32);
  for (const auto& p : pcrs) {
    const Hash32 v = p.pcr.IsZero() ? ReplayEvents(p.all_events) : p.pcr;
    values.insert(values.end(), v.bytes.begin(), v.bytes.end());
  }
  const Hash32 expected = Sha256(values);
  if (!std::equal(expected.bytes.begin(), expected.bytes.end(), quote.pcr_digest.begin())) {
    return MakeError(ErrorCode::kPrecondition, "PCR digest mismatch: quote " + ToHex(quote.pcr_digest) +
                                                   ", supplied values give " + expected.ToHex());
  }
  return OkStatus();
}

Status CheckPcrEvents(std::span<const registry::MeasurablePcr> pcrs) {
  for (const auto& p : pcrs) {
    if (!p.pcr.IsZero() && !p.all_events.empty() && ReplayEvents(p.all_events) != p.pcr) {
      return MakeError(ErrorCode::kPrecondition,
                       "PCR " + p.index.ToDecimal() + ": events do not replay to the PCR value");
    }
    for (const auto& idx : p.measure_events_idx) {
      if (!idx.FitsU64() || idx.low64() >= p.all_events.size()) {
        return MakeError(ErrorCode::kPrecondition, "PCR " + p.index.ToDecimal() +
                                                       ": measured event index " + idx.ToDecimal() +
                                                       " beyond its " +
                                                       std::to_string(p.all_events.size()) + " events");
      }
    }
  }
  return OkStatus();
}

}  // namespace cvmwatch::verifier
