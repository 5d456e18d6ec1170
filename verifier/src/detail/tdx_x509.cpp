#include "detail/tdx_x509.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "cvmwatch/core/hash.h"

namespace cvmwatch::verifier::tdx_detail {
namespace {

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// The P-256 generator, as a valid public point to build the key template from.
constexpr std::uint8_t kP256Generator[65] = {
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
    0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
    0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
    0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
    0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};

// A public P-256 key to duplicate: EVP_PKEY_dup + set1_encoded_public_key is ~2x faster than
// EVP_PKEY_fromdata (no group construction) and validates the new point the same way.
EVP_PKEY* KeyTemplate() {
  static EVP_PKEY* const tmpl = [] {
    OSSL_PARAM params[3];
    char group[] = "prime256v1";
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(
        OSSL_PKEY_PARAM_PUB_KEY, const_cast<std::uint8_t*>(kP256Generator), sizeof kP256Generator);
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY* key = nullptr;
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
      key = nullptr;
    }
    return key;
  }();
  return tmpl;
}

// ---------------------------------------------------------------------------------------------
// DER reading

Error DerError(std::string_view what) {
  return MakeError(ErrorCode::kInvalidLength, "DER: " + std::string(what));
}

class Der {
 public:
  explicit Der(ByteView in) : in_(in) {}
  bool empty() const { return in_.empty(); }
  std::optional<std::uint8_t> Peek() const {
    if (in_.empty()) return std::nullopt;
    return in_[0];
  }
  // One TLV with `tag`; `whole` receives the full encoding.
  Result<ByteView> Read(std::uint8_t tag, std::string_view what, ByteView* whole = nullptr) {
    if (in_.size() < 2) return DerError(std::string(what) + " truncated");
    if (in_[0] != tag) {
      return DerError(std::string(what) + ": tag 0x" + ToHex(in_.subspan(0, 1), false) +
                      ", expected 0x" + ToHex(ByteView(&tag, 1), false));
    }
    std::size_t len = in_[1];
    std::size_t hdr = 2;
    if (len & 0x80) {
      const std::size_t n = len & 0x7f;
      if (n == 0 || n > 3) return DerError(std::string(what) + ": unsupported length form");
      if (in_.size() < 2 + n) return DerError(std::string(what) + " truncated");
      if (in_[2] == 0) return DerError(std::string(what) + ": non-minimal length");
      len = 0;
      for (std::size_t i = 0; i < n; ++i) len = (len << 8) | in_[2 + i];
      if (len < 0x80) return DerError(std::string(what) + ": non-minimal length");
      hdr = 2 + n;
    }
    if (in_.size() - hdr < len) {
      return DerError(std::string(what) + ": length " + std::to_string(len) + " beyond the input");
    }
    if (whole) *whole = in_.subspan(0, hdr + len);
    ByteView value = in_.subspan(hdr, len);
    in_ = in_.subspan(hdr + len);
    return value;
  }

 private:
  ByteView in_;
};

bool Equal(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

template <std::size_t N>
bool Equal(ByteView a, const std::uint8_t (&b)[N]) {
  return a.size() == N && std::equal(a.begin(), a.end(), b);
}

// AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2), parameters absent.
constexpr std::uint8_t kEcdsaSha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                         0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
constexpr std::uint8_t kOidEcPublicKey[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
constexpr std::uint8_t kOidPrime256v1[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::uint8_t kOidBasicConstraints[] = {0x55, 0x1d, 0x13};
constexpr std::uint8_t kOidKeyUsage[] = {0x55, 0x1d, 0x0f};
constexpr std::uint8_t kOidSubjectKeyId[] = {0x55, 0x1d, 0x0e};
constexpr std::uint8_t kOidAuthorityKeyId[] = {0x55, 0x1d, 0x23};
constexpr std::uint8_t kOidCrlNumber[] = {0x55, 0x1d, 0x14};
constexpr std::uint8_t kOidCrlReason[] = {0x55, 0x1d, 0x15};
constexpr std::uint8_t kOidSgx[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
constexpr std::uint8_t kOidCommonName[] = {0x55, 0x04, 0x03};

Bytes StripZeros(ByteView v) {
  std::size_t i = 0;
  while (i + 1 < v.size() && v[i] == 0) ++i;
  return Bytes(v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
}

bool Digits(ByteView s, std::size_t pos, std::size_t n, int& out) {
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Result<TimePoint> ReadTime(Der& d, std::string_view what) {
  const auto tag = d.Peek();
  if (tag != 0x17 && tag != 0x18) return DerError(std::string(what) + " is not a Time");
  CVMW_ASSIGN_OR_RETURN(ByteView s, d.Read(*tag, what));
  int y = 0, mo = 0, da = 0, h = 0, mi = 0, se = 0;
  std::size_t off = 0;
  if (*tag == 0x17) {
    if (s.size() != 13 || s[12] != 'Z' || !Digits(s, 0, 2, y)) {
      return DerError(std::string(what) + ": UTCTime not YYMMDDHHMMSSZ");
    }
    y += y >= 50 ? 1900 : 2000;
    off = 2;
  } else {
    if (s.size() != 15 || s[14] != 'Z' || !Digits(s, 0, 4, y)) {
      return DerError(std::string(what) + ": GeneralizedTime not YYYYMMDDHHMMSSZ");
    }
    off = 4;
  }
  if (!Digits(s, off, 2, mo) || !Digits(s, off + 2, 2, da) || !Digits(s, off + 4, 2, h) ||
      !Digits(s, off + 6, 2, mi) || !Digits(s, off + 8, 2, se)) {
    return DerError(std::string(what) + ": bad digits");
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(da))};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 59) {
    return DerError(std::string(what) + ": not a calendar time");
  }
  return TimePoint(std::chrono::sys_days(ymd)) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(se);
}

// signatureValue BIT STRING with no unused bits, holding a DER ECDSA-Sig-Value.
Result<Bytes> ReadSignature(Der& d) {
  CVMW_ASSIGN_OR_RETURN(ByteView bits, d.Read(0x03, "signatureValue"));
  if (bits.empty() || bits[0] != 0) return DerError("signatureValue has unused bits");
  ByteView sig = bits.subspan(1);
  Der sd(sig);
  CVMW_ASSIGN_OR_RETURN(ByteView seq, sd.Read(0x30, "ECDSA-Sig-Value"));
  if (!sd.empty()) return DerError("bytes after the ECDSA-Sig-Value");
  Der rs(seq);
  CVMW_RETURN_IF_ERROR(rs.Read(0x02, "ECDSA r"));
  CVMW_RETURN_IF_ERROR(rs.Read(0x02, "ECDSA s"));
  if (!rs.empty()) return DerError("bytes after ECDSA s");
  return Bytes(sig.begin(), sig.end());
}

struct Extension {
  ByteView oid;
  bool critical = false;
  ByteView value;
};

Result<std::vector<Extension>> ReadExtensions(ByteView seq_content) {
  std::vector<Extension> out;
  Der list(seq_content);
  while (!list.empty()) {
    CVMW_ASSIGN_OR_RETURN(ByteView ext, list.Read(0x30, "Extension"));
    Der e(ext);
    Extension x;
    CVMW_ASSIGN_OR_RETURN(x.oid, e.Read(0x06, "extnID"));
    if (e.Peek() == 0x01) {
      CVMW_ASSIGN_OR_RETURN(ByteView b, e.Read(0x01, "critical"));
      if (b.size() != 1 || (b[0] != 0 && b[0] != 0xff)) return DerError("bad BOOLEAN");
      x.critical = b[0] == 0xff;
    }
    CVMW_ASSIGN_OR_RETURN(x.value, e.Read(0x04, "extnValue"));
    if (!e.empty()) return DerError("bytes after extnValue");
    for (const auto& prior : out) {
      if (Equal(prior.oid, x.oid)) return DerError("duplicate extension");
    }
    out.push_back(x);
    if (out.size() > 32) return DerError("too many extensions");
  }
  return out;
}

Status ReadAuthorityKeyId(ByteView value, ByteView& out) {
  Der d(value);
  CVMW_ASSIGN_OR_RETURN(ByteView seq, d.Read(0x30, "AuthorityKeyIdentifier"));
  if (!d.empty()) return DerError("bytes after AuthorityKeyIdentifier");
  Der s(seq);
  if (s.Peek() == 0x80) {
    CVMW_ASSIGN_OR_RETURN(out, s.Read(0x80, "keyIdentifier"));
  }
  return OkStatus();
}

Status ApplyCertExtension(const Extension& x, DerCert& c) {
  if (Equal(x.oid, kOidBasicConstraints)) {
    Der d(x.value);
    CVMW_ASSIGN_OR_RETURN(ByteView seq, d.Read(0x30, "BasicConstraints"));
    if (!d.empty()) return DerError("bytes after BasicConstraints");
    Der s(seq);
    if (s.Peek() == 0x01) {
      CVMW_ASSIGN_OR_RETURN(ByteView b, s.Read(0x01, "cA"));
      if (b.size() != 1 || (b[0] != 0 && b[0] != 0xff)) return DerError("bad BOOLEAN cA");
      c.is_ca = b[0] == 0xff;
    }
    if (s.Peek() == 0x02) {
      CVMW_ASSIGN_OR_RETURN(ByteView n, s.Read(0x02, "pathLenConstraint"));
      if (n.empty() || n.size() > 2 || (n[0] & 0x80)) return DerError("bad pathLenConstraint");
      unsigned v = 0;
      for (auto b : n) v = (v << 8) | b;
      c.path_len = v;
    }
    if (!s.empty()) return DerError("bytes after BasicConstraints fields");
  } else if (Equal(x.oid, kOidKeyUsage)) {
    Der d(x.value);
    CVMW_ASSIGN_OR_RETURN(ByteView bits, d.Read(0x03, "KeyUsage"));
    if (!d.empty() || bits.empty() || bits.size() > 3 || bits[0] > 7) {
      return DerError("bad KeyUsage");
    }
    std::uint16_t usage = 0;
    for (std::size_t i = 1; i < bits.size(); ++i) {
      for (unsigned bit = 0; bit < 8; ++bit) {
        if (bits[i] & (0x80 >> bit)) usage |= static_cast<std::uint16_t>(1u << ((i - 1) * 8 + bit));
      }
    }
    c.key_usage = usage;
  } else if (Equal(x.oid, kOidSubjectKeyId)) {
    Der d(x.value);
    CVMW_ASSIGN_OR_RETURN(c.subject_key_id, d.Read(0x04, "SubjectKeyIdentifier"));
    if (!d.empty()) return DerError("bytes after SubjectKeyIdentifier");
  } else if (Equal(x.oid, kOidAuthorityKeyId)) {
    CVMW_RETURN_IF_ERROR(ReadAuthorityKeyId(x.value, c.authority_key_id));
  } else if (Equal(x.oid, kOidSgx)) {
    c.sgx_extension = x.value;
  } else if (x.critical) {
    return DerError("unknown critical extension " + ToHex(x.oid, false));
  }
  return OkStatus();
}

}  // namespace

Result<PkeyPtr> P256PublicKey(const FixedBytes<64>& xy) {
  EVP_PKEY* tmpl = KeyTemplate();
  if (!tmpl) return MakeError(ErrorCode::kUnavailable, "OpenSSL has no P-256 key support");
  std::uint8_t point[65];
  point[0] = 0x04;
  std::memcpy(point + 1, xy.data(), 64);
  PkeyPtr key(EVP_PKEY_dup(tmpl));
  if (!key || EVP_PKEY_set1_encoded_public_key(key.get(), point, sizeof point) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kUnsupportedKey, "public key is not a point on P-256");
  }
  return key;
}

bool VerifyP256Der(EVP_PKEY* key, const Hash32& digest, ByteView der_signature) {
  if (!key) return false;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  const bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
                  EVP_PKEY_verify(ctx.get(), der_signature.data(), der_signature.size(),
                                  digest.data(), digest.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool VerifyP256Raw(EVP_PKEY* key, const Hash32& digest, const FixedBytes<64>& rs) {
  // DER ECDSA-Sig-Value from r and s (minimal INTEGERs).
  std::uint8_t der[72];
  std::size_t n = 2;
  for (int part = 0; part < 2; ++part) {
    const std::uint8_t* v = rs.data() + 32 * part;
    std::size_t skip = 0;
    while (skip < 31 && v[skip] == 0) ++skip;
    const bool pad = (v[skip] & 0x80) != 0;
    der[n++] = 0x02;
    der[n++] = static_cast<std::uint8_t>(32 - skip + (pad ? 1 : 0));
    if (pad) der[n++] = 0;
    std::memcpy(der + n, v + skip, 32 - skip);
    n += 32 - skip;
  }
  der[0] = 0x30;
  der[1] = static_cast<std::uint8_t>(n - 2);
  return VerifyP256Der(key, digest, ByteView(der, n));
}

EVP_PKEY* DerCert::Key() const {
  std::call_once(key_once_, [this] {
    auto k = P256PublicKey(public_key);
    if (k.ok()) key_ = std::move(*k);
  });
  return key_.get();
}

bool DerCrl::IsRevoked(ByteView serial) const {
  const Bytes s = StripZeros(serial);
  return std::binary_search(revoked.begin(), revoked.end(), s);
}

std::string NameCommonName(ByteView name) {
  Der n(name);
  auto seq = n.Read(0x30, "Name");
  if (!seq.ok()) return "?";
  Der rdns(*seq);
  while (!rdns.empty()) {
    auto set = rdns.Read(0x31, "RDN");
    if (!set.ok()) return "?";
    Der atvs(*set);
    while (!atvs.empty()) {
      auto atv = atvs.Read(0x30, "AttributeTypeAndValue");
      if (!atv.ok()) return "?";
      Der a(*atv);
      auto oid = a.Read(0x06, "type");
      if (!oid.ok()) return "?";
      if (Equal(*oid, kOidCommonName)) {
        const auto tag = a.Peek();
        if (!tag) return "?";
        auto v = a.Read(*tag, "value");
        if (!v.ok()) return "?";
        return std::string(reinterpret_cast<const char*>(v->data()), v->size());
      }
    }
  }
  return "?";
}

Result<std::shared_ptr<const DerCert>> ParseDerCert(ByteView input) {
  return ParseDerCert(input, Sha256(input));
}

Result<std::shared_ptr<const DerCert>> ParseDerCert(ByteView input, const Hash32& der_hash) {
  auto c = std::make_shared<DerCert>();
  c->der.assign(input.begin(), input.end());
  c->der_hash = der_hash;
  Der top(c->der);
  CVMW_ASSIGN_OR_RETURN(ByteView cert, top.Read(0x30, "Certificate"));
  if (!top.empty()) return DerError("bytes after the Certificate");
  Der cd(cert);
  ByteView tbs_whole;
  CVMW_ASSIGN_OR_RETURN(ByteView tbs, cd.Read(0x30, "TBSCertificate", &tbs_whole));
  ByteView alg;
  CVMW_RETURN_IF_ERROR(cd.Read(0x30, "signatureAlgorithm", &alg));
  if (!Equal(alg, kEcdsaSha256)) return DerError("signature algorithm is not ecdsa-with-SHA256");
  CVMW_ASSIGN_OR_RETURN(c->signature, ReadSignature(cd));
  if (!cd.empty()) return DerError("bytes after signatureValue");
  c->tbs_digest = Sha256(tbs_whole);

  Der t(tbs);
  CVMW_ASSIGN_OR_RETURN(ByteView version, t.Read(0xa0, "version"));
  {
    Der v(version);
    CVMW_ASSIGN_OR_RETURN(ByteView n, v.Read(0x02, "version"));
    if (!v.empty() || n.size() != 1 || n[0] != 2) return DerError("certificate is not X.509 v3");
  }
  CVMW_ASSIGN_OR_RETURN(ByteView serial, t.Read(0x02, "serialNumber"));
  if (serial.empty() || serial.size() > 21) return DerError("bad serialNumber");
  c->serial = StripZeros(serial);
  ByteView inner_alg;
  CVMW_RETURN_IF_ERROR(t.Read(0x30, "signature", &inner_alg));
  if (!Equal(inner_alg, alg)) return DerError("TBS signature algorithm differs from the outer one");
  CVMW_RETURN_IF_ERROR(t.Read(0x30, "issuer", &c->issuer));
  CVMW_ASSIGN_OR_RETURN(ByteView validity, t.Read(0x30, "validity"));
  {
    Der v(validity);
    CVMW_ASSIGN_OR_RETURN(c->not_before, ReadTime(v, "notBefore"));
    CVMW_ASSIGN_OR_RETURN(c->not_after, ReadTime(v, "notAfter"));
    if (!v.empty()) return DerError("bytes after notAfter");
  }
  CVMW_RETURN_IF_ERROR(t.Read(0x30, "subject", &c->subject));
  CVMW_ASSIGN_OR_RETURN(ByteView spki, t.Read(0x30, "subjectPublicKeyInfo"));
  {
    Der s(spki);
    CVMW_ASSIGN_OR_RETURN(ByteView algid, s.Read(0x30, "SPKI algorithm"));
    Der a(algid);
    CVMW_ASSIGN_OR_RETURN(ByteView oid, a.Read(0x06, "SPKI algorithm OID"));
    CVMW_ASSIGN_OR_RETURN(ByteView curve, a.Read(0x06, "SPKI curve OID"));
    if (!a.empty() || !Equal(oid, kOidEcPublicKey) || !Equal(curve, kOidPrime256v1)) {
      return DerError("subject key is not an EC P-256 key");
    }
    CVMW_ASSIGN_OR_RETURN(ByteView bits, s.Read(0x03, "subjectPublicKey"));
    if (!s.empty() || bits.size() != 66 || bits[0] != 0 || bits[1] != 0x04) {
      return DerError("subject key is not an uncompressed P-256 point");
    }
    std::memcpy(c->public_key.data(), bits.data() + 2, 64);
  }
  if (t.Peek() == 0xa3) {
    CVMW_ASSIGN_OR_RETURN(ByteView wrapper, t.Read(0xa3, "extensions"));
    Der w(wrapper);
    CVMW_ASSIGN_OR_RETURN(ByteView list, w.Read(0x30, "Extensions"));
    if (!w.empty()) return DerError("bytes after Extensions");
    CVMW_ASSIGN_OR_RETURN(std::vector<Extension> exts, ReadExtensions(list));
    for (const auto& x : exts) CVMW_RETURN_IF_ERROR(ApplyCertExtension(x, *c));
  }
  if (!t.empty()) return DerError("unexpected fields in TBSCertificate");
  c->subject_cn = NameCommonName(c->subject);
  return std::shared_ptr<const DerCert>(std::move(c));
}

Result<std::shared_ptr<const DerCrl>> ParseDerCrl(ByteView input) {
  return ParseDerCrl(input, Sha256(input));
}

Result<std::shared_ptr<const DerCrl>> ParseDerCrl(ByteView input, const Hash32& der_hash) {
  auto c = std::make_shared<DerCrl>();
  c->der.assign(input.begin(), input.end());
  c->der_hash = der_hash;
  Der top(c->der);
  CVMW_ASSIGN_OR_RETURN(ByteView list, top.Read(0x30, "CertificateList"));
  if (!top.empty()) return DerError("bytes after the CertificateList");
  Der cd(list);
  ByteView tbs_whole;
  CVMW_ASSIGN_OR_RETURN(ByteView tbs, cd.Read(0x30, "TBSCertList", &tbs_whole));
  ByteView alg;
  CVMW_RETURN_IF_ERROR(cd.Read(0x30, "signatureAlgorithm", &alg));
  if (!Equal(alg, kEcdsaSha256))
    return DerError("CRL signature algorithm is not ecdsa-with-SHA256");
  CVMW_ASSIGN_OR_RETURN(c->signature, ReadSignature(cd));
  if (!cd.empty()) return DerError("bytes after the CRL signatureValue");
  c->tbs_digest = Sha256(tbs_whole);

  Der t(tbs);
  if (t.Peek() == 0x02) {
    CVMW_ASSIGN_OR_RETURN(ByteView v, t.Read(0x02, "CRL version"));
    if (v.size() != 1 || v[0] != 1) return DerError("CRL is not v2");
  }
  ByteView inner_alg;
  CVMW_RETURN_IF_ERROR(t.Read(0x30, "CRL signature", &inner_alg));
  if (!Equal(inner_alg, alg)) return DerError("TBSCertList algorithm differs from the outer one");
  CVMW_RETURN_IF_ERROR(t.Read(0x30, "CRL issuer", &c->issuer));
  CVMW_ASSIGN_OR_RETURN(c->this_update, ReadTime(t, "thisUpdate"));
  if (t.Peek() == 0x17 || t.Peek() == 0x18) {
    CVMW_ASSIGN_OR_RETURN(TimePoint next, ReadTime(t, "nextUpdate"));
    c->next_update = next;
  }
  if (t.Peek() == 0x30) {
    CVMW_ASSIGN_OR_RETURN(ByteView entries, t.Read(0x30, "revokedCertificates"));
    Der e(entries);
    while (!e.empty()) {
      CVMW_ASSIGN_OR_RETURN(ByteView entry, e.Read(0x30, "revoked entry"));
      Der r(entry);
      CVMW_ASSIGN_OR_RETURN(ByteView serial, r.Read(0x02, "userCertificate"));
      if (serial.empty() || serial.size() > 21) return DerError("bad revoked serial");
      CVMW_RETURN_IF_ERROR(ReadTime(r, "revocationDate"));
      if (r.Peek() == 0x30) {
        CVMW_ASSIGN_OR_RETURN(ByteView exts, r.Read(0x30, "crlEntryExtensions"));
        CVMW_ASSIGN_OR_RETURN(std::vector<Extension> xs, ReadExtensions(exts));
        for (const auto& x : xs) {
          if (x.critical && !Equal(x.oid, kOidCrlReason)) {
            return DerError("unknown critical CRL entry extension " + ToHex(x.oid, false));
          }
        }
      }
      if (!r.empty()) return DerError("bytes after a revoked entry");
      c->revoked.push_back(StripZeros(serial));
    }
  }
  if (t.Peek() == 0xa0) {
    CVMW_ASSIGN_OR_RETURN(ByteView wrapper, t.Read(0xa0, "crlExtensions"));
    Der w(wrapper);
    CVMW_ASSIGN_OR_RETURN(ByteView exts, w.Read(0x30, "Extensions"));
    if (!w.empty()) return DerError("bytes after crlExtensions");
    CVMW_ASSIGN_OR_RETURN(std::vector<Extension> xs, ReadExtensions(exts));
    for (const auto& x : xs) {
      if (Equal(x.oid, kOidAuthorityKeyId)) {
        CVMW_RETURN_IF_ERROR(ReadAuthorityKeyId(x.value, c->authority_key_id));
      } else if (x.critical && !Equal(x.oid, kOidCrlNumber)) {
        // Delta CRL indicators, issuing distribution points, ...: not a full CRL we understand.
        return DerError("unknown critical CRL extension " + ToHex(x.oid, false));
      }
    }
  }
  if (!t.empty()) return DerError("unexpected fields in TBSCertList");
  std::sort(c->revoked.begin(), c->revoked.end());
  return std::shared_ptr<const DerCrl>(std::move(c));
}

}  // namespace cvmwatch::verifier::tdx_detail
