// Process-wide caches of parsed certificates (by SHA-256 of the DER) and of verified
// certificate-signature links (child, issuer). Used by the AK chain and the SNP chain; bounded.
#pragma once

#include <memory>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "detail/openssl_util.h"

namespace cvmwatch::verifier::detail {

struct CachedCert {
  std::shared_ptr<X509> cert;
  Hash32 der_hash;
};

// Parses (or reuses) the certificate; errors as ParseDerCertificate.
Result<CachedCert> ParseCertCached(ByteView der);
// X509_verify(child, issuer key), remembering successes for the same (child, issuer) pair.
bool VerifyCertSignatureCached(const CachedCert& child, const CachedCert& issuer);
// Empties both caches (benchmarks compare first and repeat verifications).
void ClearCertCaches();

}  // namespace cvmwatch::verifier::detail
