#include "detail/openssl_util.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <ctime>

#include "cvmwatch/core/hash.h"
#include "detail/lru_cache.h"

namespace cvmwatch::verifier::detail {

std::string OpenSslError() {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "no OpenSSL error detail";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

Result<X509Ptr> ParseDerCertificate(ByteView der) {
  const unsigned char* p = der.data();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!cert) return MakeError(ErrorCode::kInvalidLength, "not a DER certificate: " + OpenSslError());
  X509Ptr owned(cert);
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidLength,
                     "trailing bytes after the DER certificate (" +
                         std::to_string(der.data() + der.size() - p) + ")");
  }
  return owned;
}

Result<PkeyPtr> EcPublicKey(ByteView point, int curve_nid) {
  const std::size_t coord = curve_nid == NID_secp384r1 ? 48 : 32;
  Bytes encoded;
  if (point.size() == 2 * coord) {
    encoded.push_back(0x04);
    encoded.insert(encoded.end(), point.begin(), point.end());
  } else if (point.size() == 2 * coord + 1 && point[0] == 0x04) {
    encoded.assign(point.begin(), point.end());
  } else {
    return MakeError(ErrorCode::kUnsupportedKey,
                     "EC point of " + std::to_string(point.size()) + " bytes is not uncompressed");
  }
  const char* group = curve_nid == NID_secp384r1 ? "secp384r1" : "prime256v1";
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, encoded.data(), encoded.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  const bool ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok || !key) {
    return MakeError(ErrorCode::kUnsupportedKey, "EC point is not on the curve: " + OpenSslError());
  }
  PkeyPtr owned(key);
  // fromdata does not always validate the point: check it explicitly.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  const bool on_curve = check && EVP_PKEY_public_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!on_curve) {
    return MakeError(ErrorCode::kUnsupportedKey, "EC point is not on the curve: " + OpenSslError());
  }
  return owned;
}

Result<PkeyPtr> RsaPublicKeyFromDer(ByteView der) {
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
  if (!key) return MakeError(ErrorCode::kUnsupportedKey, "not a DER RSAPublicKey: " + OpenSslError());
  return PkeyPtr(key);
}

Result<PkeyPtr> PublicKeyFrom(const registry::CertPubkey& key) {
  if (key.algo == registry::kTpmAlgEcc) {
    if (key.params != registry::kTpmEccNistP256) {
      return MakeError(ErrorCode::kUnsupportedKey, "only NIST P-256 EC keys are accepted");
    }
    return EcPublicKey(key.data, NID_X9_62_prime256v1);
  }
  if (key.algo == registry::kTpmAlgRsa) return RsaPublicKeyFromDer(key.data);
  return MakeError(ErrorCode::kUnsupportedKey, "key algorithm " + std::to_string(key.algo));
}

namespace {
LruCache<SharedPkey>& KeyCache() {
  static LruCache<SharedPkey> cache(1024);
  return cache;
}
}  // namespace

void ClearKeyCache() { KeyCache().Clear(); }

Result<SharedPkey> CachedPublicKey(const registry::CertPubkey& key) {
  auto& cache = KeyCache();
  Bytes id;
  AppendBe16(id, key.algo);
  AppendBe16(id, key.params);
  id.insert(id.end(), key.data.begin(), key.data.end());
  const Hash32 h = Sha256(id);
  if (auto hit = cache.Get(h)) return *hit;
  CVMW_ASSIGN_OR_RETURN(PkeyPtr fresh, PublicKeyFrom(key));
  SharedPkey shared(fresh.release(), EVP_PKEY_free);
  cache.Put(h, shared);
  return shared;
}

Result<registry::CertPubkey> CertPubkeyOf(EVP_PKEY* key) {
  registry::CertPubkey out;
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1 ||
        std::string(group) != "prime256v1") {
      return MakeError(ErrorCode::kUnsupportedKey, std::string("EC key on curve ") + group +
                                                       " (only P-256 is accepted)");
    }
    std::uint8_t buf[133];
    std::size_t out_len = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof buf,
                                        &out_len) != 1 ||
        out_len != 65) {
      return MakeError(ErrorCode::kUnsupportedKey, "EC key is not an uncompressed P-256 point");
    }
    out.algo = registry::kTpmAlgEcc;
    out.params = registry::kTpmEccNistP256;
    out.data.assign(buf, buf + out_len);
    return out;
  }
  if (id == EVP_PKEY_RSA) {
    unsigned char* der = nullptr;
    const int len = i2d_PublicKey(key, &der);
    if (len <= 0) return MakeError(ErrorCode::kUnsupportedKey, "cannot encode RSA key");
    out.algo = registry::kTpmAlgRsa;
    out.params = 0;
    out.data.assign(der, der + len);
    OPENSSL_free(der);
    return out;
  }
  return MakeError(ErrorCode::kUnsupportedKey, "key type " + std::to_string(id) + " is not EC or RSA");
}

bool VerifyEcdsaDigest(EVP_PKEY* key, ByteView digest, ByteView r, ByteView s) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* br = BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr);
  BIGNUM* bs = BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr);
  if (!sig || !br || !bs || ECDSA_SIG_set0(sig, br, bs) != 1) {
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  const bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
                  EVP_PKEY_verify(ctx, der, static_cast<std::size_t>(der_len), digest.data(),
                                  digest.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

Result<RsaNumbers> RsaNumbersOf(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return MakeError(ErrorCode::kUnsupportedKey, "not an RSA key");
  }
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
    BN_free(n);
    BN_free(e);
    return MakeError(ErrorCode::kUnsupportedKey, "RSA key without n/e");
  }
  RsaNumbers out;
  out.n.resize(static_cast<std::size_t>(BN_num_bytes(n)));
  out.e.resize(static_cast<std::size_t>(BN_num_bytes(e)));
  BN_bn2bin(n, out.n.data());
  BN_bn2bin(e, out.e.data());
  BN_free(n);
  BN_free(e);
  return out;
}

Status VerifyRsaPkcs1Sha256Lenient(EVP_PKEY* key, ByteView digest32, ByteView signature) {
  CVMW_ASSIGN_OR_RETURN(RsaNumbers rsa, RsaNumbersOf(key));
  if (signature.size() != rsa.n.size()) {
    return MakeError(ErrorCode::kInvalidLength, "RSA signature of " +
                                                    std::to_string(signature.size()) +
                                                    " bytes for a " + std::to_string(rsa.n.size()) +
                                                    "-byte modulus");
  }
  if (!std::lexicographical_compare(signature.begin(), signature.end(), rsa.n.begin(),
                                    rsa.n.end())) {
    return MakeError(ErrorCode::kInvalidLength, "RSA signature is not below the modulus");
  }
  Bytes em(rsa.n.size());
  std::size_t em_len = em.size();
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  const bool ok = ctx && EVP_PKEY_verify_recover_init(ctx) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
                  EVP_PKEY_verify_recover(ctx, em.data(), &em_len, signature.data(),
                                          signature.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return MakeError(ErrorCode::kInvalidLength, "RSA operation failed: " + OpenSslError());
  // Left-pad to len(n) (the recovered value may be shorter in principle).
  if (em_len < em.size()) {
    em.insert(em.begin(), em.size() - em_len, 0);
    em.resize(rsa.n.size());
  }
  static const std::uint8_t kExplicitNull[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  static const std::uint8_t kAbsentNull[] = {0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
                                             0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20};
  for (ByteView prefix : {ByteView(kExplicitNull), ByteView(kAbsentNull)}) {
    const std::size_t tail = prefix.size() + 32;
    if (em.size() < tail + 3) continue;
    const std::size_t sep = em.size() - tail - 1;
    if (em[0] != 0x00 || em[1] != 0x01 || em[sep] != 0x00) continue;
    bool ff = true;
    for (std::size_t i = 2; i < sep; ++i) ff = ff && em[i] == 0xff;
    if (!ff) continue;
    if (!std::equal(prefix.begin(), prefix.end(), em.begin() + sep + 1)) continue;
    if (!std::equal(digest32.begin(), digest32.end(), em.begin() + sep + 1 + prefix.size())) {
      return MakeError(ErrorCode::kInvalidLength, "RSA signature covers a different SHA-256 digest");
    }
    return OkStatus();
  }
  return MakeError(ErrorCode::kInvalidLength, "RSA signature is not PKCS#1 v1.5 SHA-256");
}

namespace {
Result<std::int64_t> AsnTimeToUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return MakeError(ErrorCode::kInvalidLength, "bad ASN.1 time");
  return static_cast<std::int64_t>(timegm(&tm));
}
}  // namespace

Status CheckValidityAt(X509* cert, TimePoint at) {
  // Inclusive on both ends (notBefore <= at <= notAfter), as the contracts compare.
  CVMW_ASSIGN_OR_RETURN(std::int64_t not_before, AsnTimeToUnix(X509_get0_notBefore(cert)));
  CVMW_ASSIGN_OR_RETURN(std::int64_t not_after, AsnTimeToUnix(X509_get0_notAfter(cert)));
  const std::int64_t now = ToUnixSeconds(at);
  if (now < not_before) {
    return MakeError(ErrorCode::kPrecondition, CertSubject(cert) + " not valid before " +
                                                   std::to_string(not_before) + " (at " +
                                                   std::to_string(now) + ")");
  }
  if (now > not_after) {
    return MakeError(ErrorCode::kPrecondition, CertSubject(cert) + " expired at " +
                                                   std::to_string(not_after) + " (at " +
                                                   std::to_string(now) + ")");
  }
  return OkStatus();
}

std::string CertSubject(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

Bytes CertDer(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace cvmwatch::verifier::detail
