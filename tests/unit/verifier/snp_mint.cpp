#include "snp_mint.h"

#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <cstring>

#include "cvmwatch/core/hash.h"
#include "detail/openssl_util.h"

namespace cvmwatch::verifier::mint {
namespace {

void AddRawExtension(X509* cert, const char* oid, const Bytes& content) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(os, content.data(), static_cast<int>(content.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, os);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  ASN1_OBJECT_free(obj);
}

Bytes DerInteger(unsigned v) {
  Bytes body;
  if (v == 0) body.push_back(0);
  for (unsigned x = v; x > 0; x >>= 8) body.insert(body.begin(), static_cast<std::uint8_t>(x));
  if (body[0] & 0x80) body.insert(body.begin(), 0);
  Bytes out;
  out.push_back(0x02);
  out.push_back(static_cast<std::uint8_t>(body.size()));
  for (std::uint8_t b : body) out.push_back(b);
  return out;
}

void AddConfExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(const std::string& cn, EVP_PKEY* key, X509* issuer) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  static long serial = 100;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Test Micro Devices"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_subject_name(cert, name);
  X509_NAME_free(name);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(cert));
  ASN1_TIME_set(X509_getm_notBefore(cert), 1700000000);
  ASN1_TIME_set(X509_getm_notAfter(cert), 2000000000);
  X509_set_pubkey(cert, key);
  return cert;
}

void SignPss(X509* cert, EVP_PKEY* signer) {
  EVP_MD_CTX* mctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), nullptr, signer) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 ||
      X509_sign_ctx(cert, mctx) <= 0) {
    std::abort();
  }
  EVP_MD_CTX_free(mctx);
}

// RSA keys are slow to make, more so under ASan: one pair for every test.
EVP_PKEY* SharedRsa(int which) {
  static Key keys[2] = {NewRsa(2048), NewRsa(2048)};
  return keys[which].get();
}

void PutLe32(Bytes& r, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) r[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

SnpChain MintSnpChain(const VcekSpec& spec, const std::string& product) {
  SnpChain c;
  EVP_PKEY* ark_key = SharedRsa(0);
  EVP_PKEY* ask_key = SharedRsa(1);
  c.vcek_key = Key(EVP_EC_gen("P-384"));
  X509* ark = NewCert("ARK-" + product, ark_key, nullptr);
  AddConfExt(ark, ark, NID_basic_constraints, "critical,CA:TRUE");
  AddConfExt(ark, ark, NID_key_usage, "critical,keyCertSign,cRLSign");
  SignPss(ark, ark_key);
  X509* ask = NewCert("SEV-" + product, ask_key, ark);
  AddConfExt(ask, ark, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  AddConfExt(ask, ark, NID_key_usage, "critical,keyCertSign");
  SignPss(ask, ark_key);
  X509* vcek = NewCert("SEV-VCEK", c.vcek_key.get(), ask);
  Bytes name;
  name.push_back(0x16);  // IA5String
  name.push_back(static_cast<std::uint8_t>(spec.product_name.size()));
  for (char ch : spec.product_name) name.push_back(static_cast<std::uint8_t>(ch));
  AddRawExtension(vcek, "1.3.6.1.4.1.3704.1.2", name);
  AddRawExtension(vcek, "1.3.6.1.4.1.3704.1.3.1", DerInteger(spec.bl));
  AddRawExtension(vcek, "1.3.6.1.4.1.3704.1.3.2", DerInteger(spec.tee));
  AddRawExtension(vcek, "1.3.6.1.4.1.3704.1.3.3", DerInteger(spec.snp));
  AddRawExtension(vcek, "1.3.6.1.4.1.3704.1.3.8", DerInteger(spec.ucode));
  if (spec.fmc) AddRawExtension(vcek, "1.3.6.1.4.1.3704.1.3.9", DerInteger(*spec.fmc));
  Bytes hw;
  if (spec.wrap_hw_id) {
    hw.push_back(0x04);  // OCTET STRING
    hw.push_back(static_cast<std::uint8_t>(spec.hw_id.size()));
  }
  for (std::uint8_t b : spec.hw_id) hw.push_back(b);
  AddRawExtension(vcek, "1.3.6.1.4.1.3704.1.4", hw);
  SignPss(vcek, ask_key);
  c.ark = detail::CertDer(ark);
  c.ask = detail::CertDer(ask);
  c.vcek = detail::CertDer(vcek);
  X509_free(ark);
  X509_free(ask);
  X509_free(vcek);
  return c;
}

Bytes MintSnpReport(const ReportSpec& spec, EVP_PKEY* vcek_key) {
  Bytes r(0x4A0, 0);
  PutLe32(r, 0x00, spec.version);
  for (int i = 0; i < 8; ++i) r[0x08 + i] = static_cast<std::uint8_t>(spec.policy >> (8 * i));
  PutLe32(r, 0x34, spec.signature_algo);
  std::memcpy(&r[0x38], spec.reported_tcb, 8);
  std::copy(spec.measurement.begin(), spec.measurement.end(), r.begin() + 0x90);
  std::memcpy(&r[0x180], spec.reported_tcb, 8);
  r[0x188] = spec.cpuid_family;
  r[0x189] = spec.cpuid_model;
  std::copy(spec.chip_id.begin(), spec.chip_id.end(), r.begin() + 0x1A0);
  const Hash48 digest = Sha384(ByteView(r.data(), 0x2A0));
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(vcek_key, nullptr);
  unsigned char der[160];
  std::size_t der_len = sizeof der;
  if (EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_sign(ctx, der, &der_len, digest.data(), 48) != 1) std::abort();
  EVP_PKEY_CTX_free(ctx);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
  // R and S little-endian in 72-byte fields.
  BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), &r[0x2A0], 72);
  BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), &r[0x2E8], 72);
  ECDSA_SIG_free(sig);
  return r;
}

}  // namespace cvmwatch::verifier::mint
