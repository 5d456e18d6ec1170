// OpenSSL 3 helpers shared by the verifier's parts: owning pointers, key construction from the
// registry's CertPubkey forms, and raw signature checks. Internal to verifier/.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::verifier::detail {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const { BN_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// The last OpenSSL error queue entry as text (and clears the queue).
std::string OpenSslError();

Result<X509Ptr> ParseDerCertificate(ByteView der);
// EC P-256 (04||x||y or x||y) or P-384 public key from the point bytes.
Result<PkeyPtr> EcPublicKey(ByteView point, int curve_nid);
// RSA public key from a DER RSAPublicKey.
Result<PkeyPtr> RsaPublicKeyFromDer(ByteView rsa_public_key_der);
Result<PkeyPtr> PublicKeyFrom(const registry::CertPubkey& key);
// The same, shared from a bounded process-wide cache (key import is most of a verify's cost in
// OpenSSL 3, and AKs and identity keys recur).
using SharedPkey = std::shared_ptr<EVP_PKEY>;
Result<SharedPkey> CachedPublicKey(const registry::CertPubkey& key);
void ClearKeyCache();
// The registry's CertPubkey form of a certificate's key (EC P-256 → 04||x||y; RSA → DER).
Result<registry::CertPubkey> CertPubkeyOf(EVP_PKEY* key);

// ECDSA over a precomputed digest, r and s big-endian (any length up to the curve size).
bool VerifyEcdsaDigest(EVP_PKEY* key, ByteView digest, ByteView r, ByteView s);

// RSASSA-PKCS1-v1_5 SHA-256 as OpenZeppelin's RSA.pkcs1Sha256: explicit or absent NULL in
// DigestInfo, sig < n, len(sig) == len(n). Returns a reason on failure.
Status VerifyRsaPkcs1Sha256Lenient(EVP_PKEY* key, ByteView digest32, ByteView signature);

// Modulus bytes (no leading zeros) and public exponent of an RSA key.
struct RsaNumbers {
  Bytes n;
  Bytes e;
};
Result<RsaNumbers> RsaNumbersOf(EVP_PKEY* key);

// X509 validity at `at` (inclusive bounds, as the contracts compare).
Status CheckValidityAt(X509* cert, TimePoint at);
std::string CertSubject(X509* cert);
Bytes CertDer(X509* cert);

}  // namespace cvmwatch::verifier::detail
