#include "tdx_mint.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/json_writer.h"

namespace cvmwatch::verifier::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "tdx_mint: %s failed\n", what);
  std::abort();
}

void Check(bool ok, const char* what) {
  if (!ok) Die(what);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

Pkey NewKey() {
  Pkey k(EVP_EC_gen("P-256"));
  Check(k != nullptr, "EVP_EC_gen");
  return k;
}

FixedBytes<64> PublicXy(EVP_PKEY* key) {
  std::uint8_t buf[65];
  std::size_t len = 0;
  Check(EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", buf, sizeof buf, &len) == 1 &&
            len == 65,
        "encoded public key");
  FixedBytes<64> out;
  std::memcpy(out.data(), buf + 1, 64);
  return out;
}

FixedBytes<64> SignRaw(EVP_PKEY* key, ByteView data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  Check(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1, "DigestSignInit");
  Check(EVP_DigestSign(ctx, nullptr, &len, data.data(), data.size()) == 1, "DigestSign size");
  Bytes der(len);
  Check(EVP_DigestSign(ctx, der.data(), &len, data.data(), data.size()) == 1, "DigestSign");
  EVP_MD_CTX_free(ctx);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  FixedBytes<64> out;
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), out.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out.data() + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

// --- tiny DER writer for the SGX extension ---
Bytes Tlv(std::uint8_t tag, ByteView content) {
  Bytes out{tag};
  const std::size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}
Bytes SgxOid(std::initializer_list<std::uint8_t> arcs) {
  Bytes oid = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
  oid.insert(oid.end(), arcs.begin(), arcs.end());
  return Tlv(0x06, oid);
}
Bytes DerUint(unsigned v) {
  Bytes c;
  if (v > 0xff) c.push_back(static_cast<std::uint8_t>(v >> 8));
  c.push_back(static_cast<std::uint8_t>(v));
  if (c[0] & 0x80) c.insert(c.begin(), 0);
  return Tlv(0x02, c);
}
Bytes Pair(const Bytes& oid, const Bytes& value) { return Tlv(0x30, Concat({oid, value})); }

Bytes SgxExtension(const TdxMintConfig& cfg) {
  Bytes tcb;
  for (unsigned i = 0; i < 16; ++i) {
    const Bytes p = Pair(SgxOid({2, static_cast<std::uint8_t>(i + 1)}), DerUint(cfg.pck_tcb[i]));
    tcb.insert(tcb.end(), p.begin(), p.end());
  }
  const Bytes pce = Pair(SgxOid({2, 17}), DerUint(cfg.pck_pce_svn));
  tcb.insert(tcb.end(), pce.begin(), pce.end());
  Bytes cpusvn(cfg.pck_tcb.begin(), cfg.pck_tcb.end());
  const Bytes cpu = Pair(SgxOid({2, 18}), Tlv(0x04, cpusvn));
  tcb.insert(tcb.end(), cpu.begin(), cpu.end());
  const Bytes seq = Concat(
      {Pair(SgxOid({1}), Tlv(0x04, Bytes(16, 0x5a))), Pair(SgxOid({2}), Tlv(0x30, tcb)),
       Pair(SgxOid({3}), Tlv(0x04, cfg.pce_id.view())),
       Pair(SgxOid({4}), Tlv(0x04, cfg.fmspc.view())), Pair(SgxOid({5}), Tlv(0x0a, Bytes{0}))});
  return Tlv(0x30, seq);
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  Check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

X509_NAME* Name(const char* cn) {
  X509_NAME* n = X509_NAME_new();
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Test Intel Corporation"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("US"), -1,
                             -1, 0);
  return n;
}

struct CertSpec {
  const char* cn;
  EVP_PKEY* key;
  EVP_PKEY* issuer_key;
  X509* issuer;  // null: self-signed
  long serial;
  const char* basic_constraints;
  const char* key_usage;
  TimePoint not_before, not_after;
  const Bytes* sgx_extension = nullptr;
};

Cert MakeCert(const CertSpec& s) {
  Cert x(X509_new());
  Check(X509_set_version(x.get(), 2) == 1, "X509_set_version");
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), s.serial);
  X509_NAME* subject = Name(s.cn);
  X509_set_subject_name(x.get(), subject);
  X509_set_issuer_name(x.get(), s.issuer ? X509_get_subject_name(s.issuer) : subject);
  X509_NAME_free(subject);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(ToUnixSeconds(s.not_before)));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(ToUnixSeconds(s.not_after)));
  X509_set_pubkey(x.get(), s.key);
  X509* issuer = s.issuer ? s.issuer : x.get();
  AddExt(x.get(), issuer, NID_subject_key_identifier, "hash");
  AddExt(x.get(), issuer, NID_authority_key_identifier, "keyid:always");
  AddExt(x.get(), issuer, NID_basic_constraints, s.basic_constraints);
  AddExt(x.get(), issuer, NID_key_usage, s.key_usage);
  if (s.sgx_extension) {
    ASN1_OBJECT* obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, s.sgx_extension->data(), static_cast<int>(s.sgx_extension->size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
    Check(ext && X509_add_ext(x.get(), ext, -1) == 1, "SGX extension");
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
  }
  Check(X509_sign(x.get(), s.issuer_key, EVP_sha256()) > 0, "X509_sign");
  return x;
}

Bytes Der(X509* x) {
  unsigned char* p = nullptr;
  const int n = i2d_X509(x, &p);
  Check(n > 0, "i2d_X509");
  Bytes out(p, p + n);
  OPENSSL_free(p);
  return out;
}

std::string Pem(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_X509(bio, x) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

Bytes MakeCrl(X509* issuer, EVP_PKEY* issuer_key, const std::vector<X509*>& revoked,
              TimePoint this_update, TimePoint next_update) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
  ASN1_TIME* t = ASN1_TIME_new();
  ASN1_TIME_set(t, static_cast<time_t>(ToUnixSeconds(this_update)));
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_set(t, static_cast<time_t>(ToUnixSeconds(next_update)));
  X509_CRL_set1_nextUpdate(crl, t);
  // An unrelated revoked serial, so the list is never empty.
  std::vector<ASN1_INTEGER*> serials;
  ASN1_INTEGER* other = ASN1_INTEGER_new();
  ASN1_INTEGER_set(other, 0x7777);
  serials.push_back(other);
  for (X509* r : revoked) serials.push_back(ASN1_INTEGER_dup(X509_get0_serialNumber(r)));
  for (ASN1_INTEGER* s : serials) {
    X509_REVOKED* rev = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(rev, s);
    ASN1_TIME_set(t, static_cast<time_t>(ToUnixSeconds(this_update)));
    X509_REVOKED_set_revocationDate(rev, t);
    X509_CRL_add0_revoked(crl, rev);
    ASN1_INTEGER_free(s);
  }
  ASN1_TIME_free(t);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, nullptr, nullptr, crl, 0);
  X509_EXTENSION* aki =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
  Check(aki && X509_CRL_add_ext(crl, aki, -1) == 1, "CRL AKI");
  X509_EXTENSION_free(aki);
  X509_CRL_sort(crl);
  Check(X509_CRL_sign(crl, issuer_key, EVP_sha256()) > 0, "X509_CRL_sign");
  unsigned char* p = nullptr;
  const int n = i2d_X509_CRL(crl, &p);
  Check(n > 0, "i2d_X509_CRL");
  Bytes out(p, p + n);
  OPENSSL_free(p);
  X509_CRL_free(crl);
  return out;
}

void Le16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void Le32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
template <std::size_t N>
void Put(Bytes& out, const FixedBytes<N>& v) {
  out.insert(out.end(), v.bytes.begin(), v.bytes.end());
}
void Zeros(Bytes& out, std::size_t n) { out.insert(out.end(), n, 0); }

std::string Hex(ByteView v) { return ToHex(v, false); }
std::string HexUpper(ByteView v) {
  std::string s = ToHex(v, false);
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Components(const std::array<std::uint8_t, 16>& svns) {
  std::string out = "[";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i) out += ",";
    out += "{\"svn\":" + std::to_string(svns[i]) + "}";
  }
  return out + "]";
}

std::string Advisories(const std::vector<std::string>& ids) {
  if (ids.empty()) return "";
  std::string out = ",\"advisoryIDs\":[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ",";
    out += "\"" + ids[i] + "\"";
  }
  return out + "]";
}

}  // namespace

struct TdxMinter::Keys {
  Pkey root, ca, leaf, tcb, attestation, look_alike;
  Cert root_cert, ca_cert, tcb_cert, look_alike_cert;
  Bytes root_der, look_alike_der;
};

TdxMinter::TdxMinter() : keys_(std::make_unique<Keys>()) {
  Keys& k = *keys_;
  k.root = NewKey();
  k.ca = NewKey();
  k.leaf = NewKey();
  k.tcb = NewKey();
  k.attestation = NewKey();
  k.look_alike = NewKey();
  const TimePoint from = FromUnixSeconds(1514764800);   // 2018-01-01
  const TimePoint until = FromUnixSeconds(2524608000);  // 2050-01-01
  k.root_cert =
      MakeCert({"Test SGX Root CA", k.root.get(), k.root.get(), nullptr, 1,
                "critical,CA:TRUE,pathlen:1", "critical,keyCertSign,cRLSign", from, until});
  k.look_alike_cert =
      MakeCert({"Test SGX Root CA", k.look_alike.get(), k.look_alike.get(), nullptr, 1,
                "critical,CA:TRUE,pathlen:1", "critical,keyCertSign,cRLSign", from, until});
  k.ca_cert = MakeCert({"Test SGX PCK Platform CA", k.ca.get(), k.root.get(), k.root_cert.get(), 2,
                        "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign", from, until});
  k.tcb_cert =
      MakeCert({"Test SGX TCB Signing", k.tcb.get(), k.root.get(), k.root_cert.get(), 3,
                "critical,CA:FALSE", "critical,digitalSignature,nonRepudiation", from, until});
  k.root_der = Der(k.root_cert.get());
  k.look_alike_der = Der(k.look_alike_cert.get());
}

TdxMinter::~TdxMinter() = default;

const Bytes& TdxMinter::RootDer() const { return keys_->root_der; }
const Bytes& TdxMinter::LookAlikeRootDer() const { return keys_->look_alike_der; }

FixedBytes<64> TdxMinter::SignWithTcbKey(ByteView data) const {
  return SignRaw(keys_->tcb.get(), data);
}

TdxMinted TdxMinter::Mint(const TdxMintConfig& cfg) const {
  const Keys& k = *keys_;
  TdxMinted out;

  // PCK leaf for this platform.
  const Bytes sgx_ext = SgxExtension(cfg);
  Cert leaf = MakeCert({"Test SGX PCK Certificate", k.leaf.get(), k.ca.get(), k.ca_cert.get(),
                        0x3ffcbae8, "critical,CA:FALSE", "critical,digitalSignature,nonRepudiation",
                        cfg.cert_not_before, cfg.cert_not_after, &sgx_ext});
  out.pck_leaf_der = Der(leaf.get());
  std::string pem = Pem(leaf.get()) + Pem(k.ca_cert.get()) + Pem(k.root_cert.get());
  if (cfg.nul_terminate_pem) pem.push_back('\0');

  // Header and body.
  Bytes q;
  Le16(q, cfg.version);
  Le16(q, kTdxAttestationKeyEcdsaP256);
  Le32(q, cfg.tee_type);
  Le16(q, 0);
  Le16(q, 0);
  q.insert(q.end(), kIntelQeVendorId.begin(), kIntelQeVendorId.end());
  Zeros(q, 20);
  if (cfg.version == 5) {
    Le16(q, static_cast<std::uint16_t>(cfg.body_type));
    Le32(q, cfg.body_type == TdxBodyType::kTd15 ? kTdxTd15BodySize : kTdxTd10BodySize);
  }
  Put(q, cfg.tee_tcb_svn);
  Zeros(q, 48);  // MRSEAM: any value
  q[q.size() - 1] = 0x2d;
  Put(q, cfg.mrsignerseam);
  Put(q, cfg.seam_attributes);
  Put(q, cfg.td_attributes);
  Put(q, TdxMintConfig::Fixed<8>("e700060000000000"));
  Put(q, cfg.mrtd);
  Zeros(q, 48 * 3);  // MRCONFIGID, MROWNER, MROWNERCONFIG
  for (int i = 0; i < 3; ++i) {
    FixedBytes<48> r;
    r.bytes.fill(static_cast<std::uint8_t>(0x10 + i));
    Put(q, r);
  }
  Put(q, cfg.rtmr3);
  Put(q, cfg.report_data);
  if (cfg.version == 5 && cfg.body_type == TdxBodyType::kTd15) {
    Put(q, cfg.tee_tcb_svn2);
    Put(q, cfg.mrservicetd);
  }
  out.signed_length = q.size();

  // QE report, bound to the attestation key.
  const FixedBytes<64> att = PublicXy(k.attestation.get());
  Bytes qe;
  FixedBytes<16> cpusvn;
  std::copy(cfg.pck_tcb.begin(), cfg.pck_tcb.end(), cpusvn.bytes.begin());
  Put(qe, cpusvn);
  Zeros(qe, 4);   // MISCSELECT
  Zeros(qe, 28);  // reserved
  Put(qe, cfg.qe_attributes);
  FixedBytes<32> mrenclave;
  mrenclave.bytes.fill(0xe1);
  Put(qe, mrenclave);
  Zeros(qe, 32);
  Put(qe, cfg.qe_mrsigner);
  Zeros(qe, 96);
  Le16(qe, cfg.qe_isv_prod_id);
  Le16(qe, cfg.qe_isv_svn);
  Zeros(qe, 60);
  const Hash32 binding = Sha256(Concat({att.view(), cfg.qe_auth_data}));
  Put(qe, binding);
  Zeros(qe, 32);
  const FixedBytes<64> qe_sig = SignRaw(k.leaf.get(), qe);

  // Signature data.
  Bytes cert_data;  // type 6 payload
  cert_data.insert(cert_data.end(), qe.begin(), qe.end());
  Put(cert_data, qe_sig);
  Le16(cert_data, static_cast<std::uint16_t>(cfg.qe_auth_data.size()));
  cert_data.insert(cert_data.end(), cfg.qe_auth_data.begin(), cfg.qe_auth_data.end());
  Le16(cert_data, 5);
  Le32(cert_data, static_cast<std::uint32_t>(pem.size()));
  cert_data.insert(cert_data.end(), pem.begin(), pem.end());

  const FixedBytes<64> quote_sig = SignRaw(k.attestation.get(), q);
  Bytes sig;
  Put(sig, quote_sig);
  Put(sig, att);
  Le16(sig, 6);
  Le32(sig, static_cast<std::uint32_t>(cert_data.size()));
  sig.insert(sig.end(), cert_data.begin(), cert_data.end());

  Le32(q, static_cast<std::uint32_t>(sig.size()));
  const std::size_t sig_start = q.size();
  q.insert(q.end(), sig.begin(), sig.end());
  out.qe_report_offset = sig_start + 134;
  out.qe_auth_size_offset = out.qe_report_offset + 384 + 64;
  out.pck_chain_size_offset = out.qe_auth_size_offset + 2 + cfg.qe_auth_data.size() + 2;
  out.pem_offset = out.pck_chain_size_offset + 4;
  out.pem_size = pem.size();
  if (cfg.pad_to > q.size()) q.resize(cfg.pad_to, 0);
  out.quote = std::move(q);

  // Collateral.
  const std::string issue = FormatTdxTime(cfg.collateral_issue);
  const std::string next = FormatTdxTime(cfg.collateral_next);
  std::vector<TdxMintLevel> levels;
  if (cfg.levels) {
    levels = *cfg.levels;
  } else {
    TdxMintLevel now;
    now.sgx = cfg.pck_tcb;
    now.pce_svn = cfg.pck_pce_svn;
    std::copy(cfg.tee_tcb_svn.bytes.begin(), cfg.tee_tcb_svn.bytes.end(), now.tdx.begin());
    TdxMintLevel old;
    old.status = "OutOfDate";
    old.advisory_ids = {"INTEL-SA-00001"};
    levels = {now, old};
  }
  std::string tcb_info = "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"" + issue +
                         "\",\"nextUpdate\":\"" + next + "\",\"fmspc\":\"" +
                         HexUpper(cfg.collateral_fmspc.value_or(cfg.fmspc).view()) +
                         "\",\"pceId\":\"" + HexUpper(cfg.pce_id.view()) +
                         "\",\"tcbType\":0,\"tcbEvaluationDataNumber\":" +
                         std::to_string(cfg.tcb_evaluation_data_number) +
                         ",\"tdxModule\":{\"mrsigner\":\"" + std::string(96, '0') +
                         "\",\"attributes\":\"0000000000000000\",\"attributesMask\":"
                         "\"FFFFFFFFFFFFFFFF\"},\"tdxModuleIdentities\":[";
  tcb_info += "{\"id\":\"TDX_03\",\"mrsigner\":\"" + std::string(96, '0') +
              "\",\"attributes\":\"0000000000000000\",\"attributesMask\":"
              "\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":3},\"tcbDate\":"
              "\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]},";
  tcb_info += "{\"id\":\"TDX_01\",\"mrsigner\":\"" + std::string(96, '0') +
              "\",\"attributes\":\"0000000000000000\",\"attributesMask\":"
              "\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":" +
              std::to_string(cfg.module_isv_svn) +
              "},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"" + cfg.module_status +
              "\"},{\"tcb\":{\"isvsvn\":0},\"tcbDate\":\"2023-08-09T00:00:00Z\","
              "\"tcbStatus\":\"OutOfDate\"}]}";
  tcb_info += "],\"tcbLevels\":[";
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const auto& l = levels[i];
    if (i) tcb_info += ",";
    tcb_info += "{\"tcb\":{\"sgxtcbcomponents\":" + Components(l.sgx) +
                ",\"pcesvn\":" + std::to_string(l.pce_svn) +
                ",\"tdxtcbcomponents\":" + Components(l.tdx) +
                "},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"" + l.status + "\"" +
                Advisories(l.advisory_ids) + "}";
  }
  tcb_info += "]}";
  const std::string qe_identity =
      "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"" + issue + "\",\"nextUpdate\":\"" + next +
      "\",\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\",\"miscselectMask\":"
      "\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":"
      "\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":"
      "\"DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5\",\"isvprodid\":2,"
      "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":" +
      std::to_string(cfg.qe_level_isv_svn) +
      "},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"" + cfg.qe_status + "\"" +
      Advisories(cfg.qe_advisory_ids) + "}]}";

  std::vector<X509*> revoked_leaf;
  if (cfg.revoke_leaf) revoked_leaf.push_back(leaf.get());
  std::vector<X509*> revoked_ca;
  if (cfg.revoke_ca) revoked_ca.push_back(k.ca_cert.get());
  const Bytes pck_crl =
      MakeCrl(k.ca_cert.get(), k.ca.get(), revoked_leaf, cfg.collateral_issue, cfg.collateral_next);
  const Bytes root_crl = MakeCrl(k.root_cert.get(), k.root.get(), revoked_ca, cfg.collateral_issue,
                                 cfg.collateral_next);
  const std::string tcb_chain = Pem(k.tcb_cert.get()) + Pem(k.root_cert.get());
  const std::string pck_chain = Pem(k.ca_cert.get()) + Pem(k.root_cert.get());

  JsonWriter w;
  w.BeginObject();
  w.Key("tcb_info").String(tcb_info);
  w.Key("tcb_info_signature").String(Hex(SignRaw(k.tcb.get(), AsBytes(tcb_info)).view()));
  w.Key("tcb_info_issuer_chain").String(tcb_chain);
  w.Key("qe_identity").String(qe_identity);
  w.Key("qe_identity_signature").String(Hex(SignRaw(k.tcb.get(), AsBytes(qe_identity)).view()));
  w.Key("qe_identity_issuer_chain").String(tcb_chain);
  w.Key("root_ca_crl").String(Hex(root_crl));
  w.Key("pck_crl").String(Hex(pck_crl));
  w.Key("pck_crl_issuer_chain").String(pck_chain);
  w.EndObject();
  out.collateral_json = w.str();
  auto parsed = ParseTdxCollateralJson(out.collateral_json);
  if (!parsed.ok()) {
    std::fprintf(stderr, "tdx_mint: collateral does not parse: %s\n",
                 parsed.error().ToString().c_str());
    std::abort();
  }
  out.collateral = std::move(*parsed);
  return out;
}

std::shared_ptr<const TdxCollateralSource> OneBundle(const TdxCollateral& c) {
  return std::make_shared<FixedTdxCollateralSource>(c);
}

}  // namespace cvmwatch::verifier::testing
