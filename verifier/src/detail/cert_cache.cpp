#include "detail/cert_cache.h"

#include "cvmwatch/core/hash.h"
#include "detail/lru_cache.h"

namespace cvmwatch::verifier::detail {
namespace {

LruCache<std::shared_ptr<X509>>& Parsed() {
  static LruCache<std::shared_ptr<X509>> cache(512);
  return cache;
}
LruCache<bool>& VerifiedLinks() {
  static LruCache<bool> cache(2048);
  return cache;
}

}  // namespace

Result<CachedCert> ParseCertCached(ByteView der) {
  const Hash32 h = Sha256(der);
  if (auto hit = Parsed().Get(h)) return CachedCert{*hit, h};
  CVMW_ASSIGN_OR_RETURN(X509Ptr cert, ParseDerCertificate(der));
  std::shared_ptr<X509> shared(cert.release(), X509_free);
  Parsed().Put(h, shared);
  return CachedCert{shared, h};
}

bool VerifyCertSignatureCached(const CachedCert& child, const CachedCert& issuer) {
  const Hash32 key = Sha256(Concat({child.der_hash.view(), issuer.der_hash.view()}));
  if (VerifiedLinks().Get(key)) return true;
  EVP_PKEY* pkey = X509_get0_pubkey(issuer.cert.get());
  const bool ok = pkey && X509_verify(child.cert.get(), pkey) == 1;
  OpenSslError();  // clear the queue either way
  if (ok) VerifiedLinks().Put(key, true);
  return ok;
}

void ClearCertCaches() {
  Parsed().Clear();
  VerifiedLinks().Clear();
}

}  // namespace cvmwatch::verifier::detail
