#include "tpm_mint.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstdlib>

#include "cvmwatch/core/hash.h"
#include "detail/openssl_util.h"

namespace cvmwatch::verifier::mint {

Key NewP256() { return Key(EVP_EC_gen("P-256")); }
Key NewRsa(int bits) { return Key(EVP_RSA_gen(static_cast<unsigned>(bits))); }

registry::CertPubkey PublicOf(EVP_PKEY* key) { return detail::CertPubkeyOf(key).value(); }

Bytes MintQuote(const QuoteSpec& q) {
  Bytes out = {0xff, 0x54, 0x43, 0x47};
  AppendBe16(out, q.type);
  AppendBe16(out, 34);  // qualifiedSigner: nameAlg SHA-256 + digest
  AppendBe16(out, 0x000b);
  out.insert(out.end(), 32, 0xab);
  AppendBe16(out, static_cast<std::uint16_t>(q.extra_data.size()));
  out.insert(out.end(), q.extra_data.begin(), q.extra_data.end());
  AppendBe64(out, 123456);  // clock
  out.insert(out.end(), {0, 0, 0, 2, 0, 0, 0, 0, 1});  // resetCount, restartCount, safe
  AppendBe64(out, 0x2020031200120003);
  out.insert(out.end(), {static_cast<std::uint8_t>(q.selection_count >> 24), static_cast<std::uint8_t>(q.selection_count >> 16),
                         static_cast<std::uint8_t>(q.selection_count >> 8), static_cast<std::uint8_t>(q.selection_count)});
  AppendBe16(out, q.bank);
  out.push_back(static_cast<std::uint8_t>(q.pcr_select.size()));
  out.insert(out.end(), q.pcr_select.begin(), q.pcr_select.end());
  AppendBe16(out, static_cast<std::uint16_t>(q.pcr_digest.size()));
  out.insert(out.end(), q.pcr_digest.begin(), q.pcr_digest.end());
  return out;
}

Bytes SignEcdsa(ByteView quote, EVP_PKEY* key, bool force_high_s) {
  const Hash32 digest = Sha256(quote);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  unsigned char der[128];
  std::size_t der_len = sizeof der;
  if (EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_sign(ctx, der, &der_len, digest.data(), 32) != 1) std::abort();
  EVP_PKEY_CTX_free(ctx);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
  const BIGNUM* r = ECDSA_SIG_get0_r(sig);
  const BIGNUM* s = ECDSA_SIG_get0_s(sig);
  BIGNUM* s_out = BN_dup(s);
  // The curve order n of P-256.
  BIGNUM* n = nullptr;
  BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  BIGNUM* half = BN_dup(n);
  BN_rshift1(half, half);
  if (force_high_s && BN_cmp(s_out, half) <= 0) BN_sub(s_out, n, s_out);
  Bytes out;
  AppendBe16(out, 0x0018);
  AppendBe16(out, 0x000b);
  Bytes rb(32), sb(32);
  BN_bn2binpad(r, rb.data(), 32);
  BN_bn2binpad(s_out, sb.data(), 32);
  AppendBe16(out, 32);
  out.insert(out.end(), rb.begin(), rb.end());
  AppendBe16(out, 32);
  out.insert(out.end(), sb.begin(), sb.end());
  BN_free(n);
  BN_free(half);
  BN_free(s_out);
  ECDSA_SIG_free(sig);
  return out;
}

Bytes SignRsa(ByteView quote, EVP_PKEY* key, DigestInfoForm form, std::uint8_t padding_byte, std::uint16_t sig_alg) {
  const Hash32 digest = Sha256(quote);
  static const std::uint8_t kExplicit[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                           0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  static const std::uint8_t kAbsent[] = {0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
                                         0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20};
  const ByteView prefix = form == DigestInfoForm::kExplicitNull ? ByteView(kExplicit) : ByteView(kAbsent);
  const std::size_t k = static_cast<std::size_t>(EVP_PKEY_get_size(key));
  Bytes em(k, padding_byte);
  em[0] = 0x00;
  em[1] = 0x01;
  const std::size_t tail = prefix.size() + 32;
  em[k - tail - 1] = 0x00;
  std::copy(prefix.begin(), prefix.end(), em.begin() + (k - tail));
  std::copy(digest.bytes.begin(), digest.bytes.end(), em.begin() + (k - 32));
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  Bytes sig(k);
  std::size_t sig_len = k;
  if (EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1 ||
      EVP_PKEY_sign(ctx, sig.data(), &sig_len, em.data(), em.size()) != 1) {
    std::abort();
  }
  EVP_PKEY_CTX_free(ctx);
  Bytes out;
  AppendBe16(out, sig_alg);
  AppendBe16(out, 0x000b);
  AppendBe16(out, static_cast<std::uint16_t>(sig_len));
  out.insert(out.end(), sig.begin(), sig.begin() + static_cast<long>(sig_len));
  return out;
}

namespace {
void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) std::abort();
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}
}  // namespace

MintedCert MintCert(const CertSpec& spec, EVP_PKEY* subject_key, const MintedCert* issuer, EVP_PKEY* issuer_key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("cvmwatch test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.subject_cn.c_str()),
                             -1, -1, 0);
  X509_set_subject_name(cert, name);
  X509_NAME_free(name);
  if (!spec.issuer_cn_override.empty()) {
    X509_NAME* iname = X509_NAME_new();
    X509_NAME_add_entry_by_txt(iname, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("cvmwatch test"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(iname, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.issuer_cn_override.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, iname);
    X509_NAME_free(iname);
  } else {
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert) : X509_get_subject_name(cert));
  }
  ASN1_TIME_set(X509_getm_notBefore(cert), spec.not_before);
  ASN1_TIME_set(X509_getm_notAfter(cert), spec.not_after);
  X509_set_pubkey(cert, subject_key);
  std::string bc = spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (spec.ca && spec.path_len >= 0) bc += ",pathlen:" + std::to_string(spec.path_len);
  AddExt(cert, issuer ? issuer->cert : nullptr, NID_basic_constraints, bc);
  AddExt(cert, issuer ? issuer->cert : nullptr, NID_key_usage,
         spec.key_cert_sign ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  if (spec.subject_key_id) AddExt(cert, issuer ? issuer->cert : nullptr, NID_subject_key_identifier, "hash");
  if (spec.authority_key_id && issuer) AddExt(cert, issuer->cert, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert, issuer_key, spec.digest ? spec.digest : EVP_sha256()) <= 0) std::abort();
  return MintedCert{cert, detail::CertDer(cert)};
}

void FreeCert(MintedCert& c) {
  X509_free(c.cert);
  c.cert = nullptr;
}

}  // namespace cvmwatch::verifier::mint
