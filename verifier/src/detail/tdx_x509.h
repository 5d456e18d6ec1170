// Minimal strict DER reader for the X.509 objects of Intel's DCAP PKI (certificates and CRLs,
// all ECDSA P-256 / ecdsa-with-SHA256). It exists because OpenSSL 3.0's d2i_X509 decodes the
// public key through its provider decoders (~130 us per certificate here), which alone would
// cost more than every signature of a TDX verification. Only what the DCAP chain rules need is
// extracted; everything it reads is inside the signed TBS bytes except the signature itself.
// Anything it does not understand in a critical position (unknown critical extension, another
// algorithm, non-v3 certificates) is an error. Internal to verifier/. Objects are immutable
// after parsing and safe to share between threads.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::verifier::tdx_detail {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// A P-256 public key from X || Y (rejects points off the curve). ~7 us.
Result<PkeyPtr> P256PublicKey(const FixedBytes<64>& xy);
// ECDSA-SHA256 verification of a DER ECDSA-Sig-Value over a precomputed SHA-256 digest.
bool VerifyP256Der(EVP_PKEY* key, const Hash32& digest, ByteView der_signature);
// The same with a raw r || s (32 + 32 bytes, big-endian) signature.
bool VerifyP256Raw(EVP_PKEY* key, const Hash32& digest, const FixedBytes<64>& rs);

struct DerCert {
  Bytes der;
  Hash32 der_hash;    // SHA-256 of der
  Hash32 tbs_digest;  // SHA-256 of the TBSCertificate
  Bytes serial;       // INTEGER content bytes, leading zero octets stripped
  ByteView issuer;    // DER of the issuer Name (views into der)
  ByteView subject;
  TimePoint not_before, not_after;
  FixedBytes<64> public_key;  // P-256 X || Y
  Bytes signature;            // DER ECDSA-Sig-Value
  bool is_ca = false;
  std::optional<unsigned> path_len;
  std::optional<std::uint16_t> key_usage;  // bit 0 = digitalSignature (RFC 5280 numbering)
  ByteView subject_key_id, authority_key_id;
  ByteView sgx_extension;  // content of the Intel SGX extension (1.2.840.113741.1.13.1)
  std::string subject_cn;

  // The public key as an EVP_PKEY, created on first use (thread-safe).
  EVP_PKEY* Key() const;

 private:
  mutable std::once_flag key_once_;
  mutable PkeyPtr key_;
};

struct DerCrl {
  Bytes der;
  Hash32 der_hash;
  Hash32 tbs_digest;
  ByteView issuer;
  TimePoint this_update;
  std::optional<TimePoint> next_update;
  std::vector<Bytes> revoked;  // serials (leading zeros stripped), sorted
  Bytes signature;
  ByteView authority_key_id;

  bool IsRevoked(ByteView serial) const;
};

inline constexpr unsigned kKeyUsageKeyCertSign = 5;
inline constexpr unsigned kKeyUsageCrlSign = 6;

Result<std::shared_ptr<const DerCert>> ParseDerCert(ByteView der);
Result<std::shared_ptr<const DerCrl>> ParseDerCrl(ByteView der);
// The same, when the caller already has SHA-256(der).
Result<std::shared_ptr<const DerCert>> ParseDerCert(ByteView der, const Hash32& der_hash);
Result<std::shared_ptr<const DerCrl>> ParseDerCrl(ByteView der, const Hash32& der_hash);

// The CN of a DER Name, or "?".
std::string NameCommonName(ByteView name);

}  // namespace cvmwatch::verifier::tdx_detail
