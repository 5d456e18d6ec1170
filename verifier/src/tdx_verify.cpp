// TDX quote verification (specs/tee-reports.md A.2): PCK chain to a pinned Intel root with CRLs,
// QE report signature and binding, quote signature, collateral signatures and windows, TCB status.
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/tdx.h"

namespace cvmwatch::verifier {
namespace {

// ---------------------------------------------------------------------------------------------
// OpenSSL ownership

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct CrlDeleter {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// A parsed certificate, shared (immutable after construction) between verifications.
struct Cert {
  std::unique_ptr<X509, X509Deleter> x509;
  Hash32 der_hash;
};
struct Crl {
  std::unique_ptr<X509_CRL, CrlDeleter> crl;
  Hash32 der_hash;
};
using CertPtr = std::shared_ptr<const Cert>;
using CrlPtr = std::shared_ptr<const Crl>;

std::string OpenSslReason() {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "no OpenSSL detail";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Bounded LRU caches, process-wide and thread-safe.

struct Hash32Hasher {
  std::size_t operator()(const Hash32& h) const {
    std::size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

template <typename V>
class Lru {
 public:
  explicit Lru(std::size_t capacity) : capacity_(capacity) {}

  std::optional<V> Get(const Hash32& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }
  void Put(const Hash32& key, V value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(value));
    map_[key] = order_.begin();
    while (map_.size() > capacity_) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    map_.clear();
    order_.clear();
  }

 private:
  std::mutex mu_;
  std::size_t capacity_;
  std::list<std::pair<Hash32, V>> order_;
  std::unordered_map<Hash32, typename std::list<std::pair<Hash32, V>>::iterator, Hash32Hasher> map_;
};

// Verified (signed object, signer) pairs: the key is SHA-256 over a tag, the signed object's
// hash and the signer certificate's hash. Only successes are stored.
Lru<bool>& SignatureCache() {
  static Lru<bool> cache(4096);
  return cache;
}
Lru<CertPtr>& CertCache() {
  static Lru<CertPtr> cache(1024);
  return cache;
}
Lru<CrlPtr>& CrlCache() {
  static Lru<CrlPtr> cache(256);
  return cache;
}

Hash32 CacheKey(std::string_view tag, const Hash32& object, const Hash32& signer,
                ByteView extra = {}) {
  Bytes buf;
  buf.reserve(tag.size() + 64 + extra.size());
  buf.insert(buf.end(), tag.begin(), tag.end());
  buf.insert(buf.end(), object.bytes.begin(), object.bytes.end());
  buf.insert(buf.end(), signer.bytes.begin(), signer.bytes.end());
  buf.insert(buf.end(), extra.begin(), extra.end());
  return Sha256(buf);
}

Result<CertPtr> ParseCert(ByteView der) {
  const Hash32 h = Sha256(der);
  if (auto hit = CertCache().Get(h)) return *hit;
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) {
    return MakeError(ErrorCode::kInvalidLength, "not a DER certificate: " + OpenSslReason());
  }
  auto cert = std::make_shared<Cert>();
  cert->x509.reset(x);
  cert->der_hash = h;
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidLength, "trailing bytes after a DER certificate");
  }
  // Fill OpenSSL's lazily computed extension cache now, before the object is shared.
  X509_check_purpose(x, -1, 0);
  ERR_clear_error();
  CertCache().Put(h, cert);
  return CertPtr(cert);
}

Result<CrlPtr> ParseCrl(ByteView der) {
  const Hash32 h = Sha256(der);
  if (auto hit = CrlCache().Get(h)) return *hit;
  const unsigned char* p = der.data();
  X509_CRL* c = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (!c) return MakeError(ErrorCode::kInvalidLength, "not a DER CRL: " + OpenSslReason());
  auto crl = std::make_shared<Crl>();
  crl->crl.reset(c);
  crl->der_hash = h;
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidLength, "trailing bytes after a DER CRL");
  }
  // Sort the revoked list now (OpenSSL does it lazily on the first lookup).
  X509_REVOKED* unused = nullptr;
  ASN1_INTEGER* zero = ASN1_INTEGER_new();
  X509_CRL_get0_by_serial(c, &unused, zero);
  ASN1_INTEGER_free(zero);
  ERR_clear_error();
  CrlCache().Put(h, crl);
  return CrlPtr(crl);
}

// ---------------------------------------------------------------------------------------------
// Signatures

// DER ECDSA-Sig-Value from raw big-endian r || s (32 bytes each).
std::size_t EncodeEcdsaSig(const std::uint8_t* rs, std::uint8_t* out /* >= 72 */) {
  auto put_int = [](const std::uint8_t* v, std::uint8_t* o) -> std::size_t {
    std::size_t skip = 0;
    while (skip < 31 && v[skip] == 0) ++skip;
    const bool pad = v[skip] & 0x80;
    const std::size_t len = 32 - skip + (pad ? 1 : 0);
    o[0] = 0x02;
    o[1] = static_cast<std::uint8_t>(len);
    std::size_t n = 2;
    if (pad) o[n++] = 0;
    std::memcpy(o + n, v + skip, 32 - skip);
    return n + 32 - skip;
  };
  std::size_t n = 2;
  n += put_int(rs, out + n);
  n += put_int(rs + 32, out + n);
  out[0] = 0x30;
  out[1] = static_cast<std::uint8_t>(n - 2);
  return n;
}

bool VerifyEcdsaRaw(EVP_PKEY* key, const Hash32& digest, const FixedBytes<64>& rs) {
  std::uint8_t der[80];
  const std::size_t len = EncodeEcdsaSig(rs.data(), der);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  const bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
                  EVP_PKEY_verify(ctx.get(), der, len, digest.data(), digest.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<PkeyPtr> P256Key(const FixedBytes<64>& xy) {
  std::uint8_t point[65];
  point[0] = 0x04;
  std::memcpy(point + 1, xy.data(), 64);
  OSSL_PARAM params[3];
  char group[] = "prime256v1";
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
  params[2] = OSSL_PARAM_construct_end();
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1 || !key) {
    return MakeError(ErrorCode::kUnsupportedKey,
                     "attestation key is not a P-256 point: " + OpenSslReason());
  }
  PkeyPtr owned(key);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return MakeError(ErrorCode::kUnsupportedKey,
                     "attestation key is not on P-256: " + OpenSslReason());
  }
  return owned;
}

bool IsP256(EVP_PKEY* key) {
  if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[32] = {};
  std::size_t len = 0;
  return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

// Certificate signature by `issuer`'s key, cached on (certificate, issuer).
bool CertSignedBy(const Cert& child, const Cert& issuer) {
  const Hash32 key = CacheKey("x509", child.der_hash, issuer.der_hash);
  if (SignatureCache().Get(key)) return true;
  const bool ok = X509_verify(child.x509.get(), X509_get0_pubkey(issuer.x509.get())) == 1;
  ERR_clear_error();
  if (ok) SignatureCache().Put(key, true);
  return ok;
}

bool CrlSignedBy(const Crl& crl, const Cert& issuer) {
  const Hash32 key = CacheKey("crl", crl.der_hash, issuer.der_hash);
  if (SignatureCache().Get(key)) return true;
  const bool ok = X509_CRL_verify(crl.crl.get(), X509_get0_pubkey(issuer.x509.get())) == 1;
  ERR_clear_error();
  if (ok) SignatureCache().Put(key, true);
  return ok;
}

bool JsonSignedBy(const Hash32& digest, const FixedBytes<64>& sig, const Cert& signer) {
  const Hash32 key = CacheKey("json", digest, signer.der_hash, sig.view());
  if (SignatureCache().Get(key)) return true;
  const bool ok = VerifyEcdsaRaw(X509_get0_pubkey(signer.x509.get()), digest, sig);
  if (ok) SignatureCache().Put(key, true);
  return ok;
}

// ---------------------------------------------------------------------------------------------
// Time and names

TimePoint Asn1Time(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return TimePoint{};
  const std::chrono::year_month_day ymd{std::chrono::year(tm.tm_year + 1900),
                                        std::chrono::month(static_cast<unsigned>(tm.tm_mon + 1)),
                                        std::chrono::day(static_cast<unsigned>(tm.tm_mday))};
  return TimePoint(std::chrono::sys_days(ymd)) + std::chrono::hours(tm.tm_hour) +
         std::chrono::minutes(tm.tm_min) + std::chrono::seconds(tm.tm_sec);
}

std::string CommonName(X509_NAME* name) {
  char buf[256] = {};
  const int n = X509_NAME_get_text_by_NID(name, NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("?");
}
std::string SubjectCn(const Cert& c) { return CommonName(X509_get_subject_name(c.x509.get())); }

Bytes SerialOf(X509* x) {
  const ASN1_INTEGER* s = X509_get0_serialNumber(x);
  if (!s) return {};
  const unsigned char* d = ASN1_STRING_get0_data(s);
  return Bytes(d, d + ASN1_STRING_length(s));
}

// Validity window of a certificate; "expired" / "not yet valid" wording is what callers match.
std::optional<std::string> CertWindowProblem(const Cert& c, TimePoint at, std::string_view what) {
  const std::time_t t = static_cast<std::time_t>(ToUnixSeconds(at));
  X509* x = c.x509.get();
  if (X509_cmp_time(X509_get0_notBefore(x), const_cast<std::time_t*>(&t)) > 0) {
    return std::string(what) + " not yet valid (notBefore " +
           FormatTdxTime(Asn1Time(X509_get0_notBefore(x))) + " > " + FormatTdxTime(at) + ")";
  }
  if (X509_cmp_time(X509_get0_notAfter(x), const_cast<std::time_t*>(&t)) < 0) {
    return std::string(what) + " expired (notAfter " +
           FormatTdxTime(Asn1Time(X509_get0_notAfter(x))) + " < " + FormatTdxTime(at) + ")";
  }
  return std::nullopt;
}

std::optional<std::string> WindowProblem(TimePoint from, TimePoint until, TimePoint at,
                                         std::string_view what, std::string_view from_name,
                                         std::string_view until_name) {
  if (at < from) {
    return "collateral not yet valid: " + std::string(what) + " " + std::string(from_name) + " " +
           FormatTdxTime(from) + " > " + FormatTdxTime(at);
  }
  if (at > until) {
    return "collateral expired: " + std::string(what) + " " + std::string(until_name) + " " +
           FormatTdxTime(until) + " < " + FormatTdxTime(at);
  }
  return std::nullopt;
}

bool Revoked(const Crl& crl, X509* cert) {
  X509_REVOKED* rev = nullptr;
  const int r = X509_CRL_get0_by_serial(crl.crl.get(), &rev, X509_get0_serialNumber(cert));
  ERR_clear_error();
  return r == 1;
}

// ---------------------------------------------------------------------------------------------
// DER TLV reading for the Intel SGX PCK extension.

struct Tlv {
  std::uint8_t tag = 0;
  ByteView value;
};

bool ReadTlv(ByteView& in, Tlv& out) {
  if (in.size() < 2) return false;
  out.tag = in[0];
  std::size_t len = in[1];
  std::size_t hdr = 2;
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 3 || in.size() < 2 + n) return false;
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | in[2 + i];
    hdr = 2 + n;
  }
  if (in.size() - hdr < len) return false;
  out.value = in.subspan(hdr, len);
  in = in.subspan(hdr + len);
  return true;
}

Result<std::uint64_t> DerUint(const Tlv& t, std::uint64_t max, std::string_view what) {
  if ((t.tag != 0x02 && t.tag != 0x0a) || t.value.empty() || t.value.size() > 9 ||
      (t.value[0] & 0x80)) {
    return MakeError(ErrorCode::kInvalidLength,
                     "PCK extension " + std::string(what) + " is not a small non-negative integer");
  }
  std::uint64_t v = 0;
  for (auto b : t.value) v = (v << 8) | b;
  if (v > max) {
    return MakeError(ErrorCode::kInvalidLength,
                     "PCK extension " + std::string(what) + " value " + std::to_string(v) +
                         " out of range");
  }
  return v;
}

// 1.2.840.113741.1.13.1
constexpr std::uint8_t kSgxExtOid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

// Returns the arc after the SGX extension OID (e.g. {2, 17} for ...13.1.2.17), or empty.
std::vector<std::uint8_t> SgxArc(ByteView oid) {
  if (oid.size() <= sizeof kSgxExtOid ||
      !std::equal(std::begin(kSgxExtOid), std::end(kSgxExtOid), oid.begin())) {
    return {};
  }
  std::vector<std::uint8_t> arc;
  for (std::size_t i = sizeof kSgxExtOid; i < oid.size(); ++i) {
    if (oid[i] & 0x80) return {};  // arcs here are all < 128
    arc.push_back(oid[i]);
  }
  return arc;
}

template <std::size_t N>
Status OctetsInto(const Tlv& t, FixedBytes<N>& out, std::string_view what) {
  if (t.tag != 0x04 || t.value.size() != N) {
    return MakeError(ErrorCode::kInvalidLength, "PCK extension " + std::string(what) +
                                                    " is not an OCTET STRING of " +
                                                    std::to_string(N) + " bytes");
  }
  std::memcpy(out.data(), t.value.data(), N);
  return OkStatus();
}

Result<PckExtensions> PckExtensionsOf(X509* x) {
  ASN1_OBJECT* obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
  const int idx = obj ? X509_get_ext_by_OBJ(x, obj, -1) : -1;
  ASN1_OBJECT_free(obj);
  if (idx < 0) {
    return MakeError(ErrorCode::kNotFound, "PCK certificate has no Intel SGX extension");
  }
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(x, idx));
  ByteView in(ASN1_STRING_get0_data(data), static_cast<std::size_t>(ASN1_STRING_length(data)));
  Tlv outer;
  if (!ReadTlv(in, outer) || outer.tag != 0x30) {
    return MakeError(ErrorCode::kInvalidLength, "Intel SGX extension is not a DER SEQUENCE");
  }
  PckExtensions ext;
  bool have_tcb = false, have_pce_id = false, have_fmspc = false;
  ByteView items = outer.value;
  while (!items.empty()) {
    Tlv item, oid, value;
    if (!ReadTlv(items, item) || item.tag != 0x30) {
      return MakeError(ErrorCode::kInvalidLength, "Intel SGX extension entry is malformed");
    }
    ByteView body = item.value;
    if (!ReadTlv(body, oid) || oid.tag != 0x06 || !ReadTlv(body, value)) {
      return MakeError(ErrorCode::kInvalidLength, "Intel SGX extension entry is malformed");
    }
    const auto arc = SgxArc(oid.value);
    if (arc.size() != 1) continue;  // an OID outside the arc: ignore
    switch (arc[0]) {
      case 1:
        CVMW_RETURN_IF_ERROR(OctetsInto(value, ext.ppid, "PPID"));
        break;
      case 2: {
        if (value.tag != 0x30) {
          return MakeError(ErrorCode::kInvalidLength, "PCK extension TCB is not a SEQUENCE");
        }
        std::array<bool, 19> seen{};
        ByteView comps = value.value;
        while (!comps.empty()) {
          Tlv c, coid, cval;
          if (!ReadTlv(comps, c) || c.tag != 0x30) {
            return MakeError(ErrorCode::kInvalidLength, "PCK extension TCB entry is malformed");
          }
          ByteView cb = c.value;
          if (!ReadTlv(cb, coid) || coid.tag != 0x06 || !ReadTlv(cb, cval)) {
            return MakeError(ErrorCode::kInvalidLength, "PCK extension TCB entry is malformed");
          }
          const auto carc = SgxArc(coid.value);
          if (carc.size() != 2 || carc[0] != 2 || carc[1] < 1 || carc[1] > 18) continue;
          const unsigned n = carc[1];
          if (n <= 16) {
            CVMW_ASSIGN_OR_RETURN(std::uint64_t svn, DerUint(cval, 255, "TCB component"));
            ext.tcb_components[n - 1] = static_cast<std::uint8_t>(svn);
          } else if (n == 17) {
            CVMW_ASSIGN_OR_RETURN(std::uint64_t svn, DerUint(cval, 0xffff, "PCESVN"));
            ext.pce_svn = static_cast<std::uint16_t>(svn);
          } else {
            CVMW_RETURN_IF_ERROR(OctetsInto(cval, ext.cpusvn, "CPUSVN"));
          }
          seen[n] = true;
        }
        for (unsigned n = 1; n <= 17; ++n) {
          if (!seen[n]) {
            return MakeError(ErrorCode::kInvalidLength,
                             "PCK extension TCB lacks component " + std::to_string(n));
          }
        }
        have_tcb = true;
        break;
      }
      case 3:
        CVMW_RETURN_IF_ERROR(OctetsInto(value, ext.pce_id, "PCE-ID"));
        have_pce_id = true;
        break;
      case 4:
        CVMW_RETURN_IF_ERROR(OctetsInto(value, ext.fmspc, "FMSPC"));
        have_fmspc = true;
        break;
      case 5: {
        CVMW_ASSIGN_OR_RETURN(std::uint64_t t, DerUint(value, 255, "SGX type"));
        ext.sgx_type = static_cast<std::uint8_t>(t);
        break;
      }
      default:
        break;
    }
  }
  if (!have_tcb || !have_pce_id || !have_fmspc) {
    return MakeError(ErrorCode::kInvalidLength,
                     std::string("Intel SGX extension lacks ") +
                         (!have_tcb ? "TCB" : !have_pce_id ? "PCE-ID" : "FMSPC"));
  }
  return ext;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out;
}

TdxStep Passed(std::string reason) { return TdxStep{true, true, std::move(reason)}; }
TdxStep Failed(std::string reason) { return TdxStep{false, true, std::move(reason)}; }
TdxStep NotChecked(std::string reason) { return TdxStep{false, false, std::move(reason)}; }

bool IsOutOfDate(TdxTcbStatus s) {
  return s == TdxTcbStatus::kOutOfDate || s == TdxTcbStatus::kOutOfDateConfigurationNeeded;
}

TdxTcbStatus DegradeForOutOfDate(TdxTcbStatus s) {
  switch (s) {
    case TdxTcbStatus::kUpToDate:
    case TdxTcbStatus::kSwHardeningNeeded:
      return TdxTcbStatus::kOutOfDate;
    case TdxTcbStatus::kConfigurationNeeded:
    case TdxTcbStatus::kConfigurationAndSwHardeningNeeded:
      return TdxTcbStatus::kOutOfDateConfigurationNeeded;
    default:
      return s;
  }
}

void AppendUnique(std::vector<std::string>& out, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
}

// The collateral's pieces, parsed once per verification.
struct CollateralObjects {
  std::vector<CertPtr> tcb_signers;  // leaf of each issuer chain (deduplicated)
  CertPtr tcb_info_signer;
  CertPtr qe_identity_signer;
  CrlPtr root_crl;
  CrlPtr pck_crl;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<PckExtensions> ParsePckExtensions(ByteView pck_der) {
  CVMW_ASSIGN_OR_RETURN(CertPtr cert, ParseCert(pck_der));
  return PckExtensionsOf(cert->x509.get());
}

Status CheckTdxTdAttributes(const TdxQuote& q) {
  const auto& a = q.td_attributes.bytes;
  if (a[0] != 0) {
    return MakeError(ErrorCode::kPrecondition,
                     "TDATTRIBUTES.TUD = 0x" + ToHex(ByteView(a.data(), 1), false) +
                         " (DEBUG or other debug features enabled)");
  }
  if (a[1] != 0 || a[2] != 0 || (a[3] & 0x0f) != 0 || (a[3] & 0x20) != 0 || a[4] != 0 ||
      a[5] != 0 || a[6] != 0 || (a[7] & 0x7f) != 0) {
    return MakeError(ErrorCode::kPrecondition,
                     "reserved TDATTRIBUTES bits set (" + q.td_attributes.ToHex(false) + ")");
  }
  if (!q.SeptVeDisable()) {
    return MakeError(ErrorCode::kPrecondition, "TDATTRIBUTES.SEPT_VE_DISABLE is not set");
  }
  if (q.body_type == TdxBodyType::kTd15 && !q.mrservicetd.IsZero()) {
    return MakeError(ErrorCode::kPrecondition, "MRSERVICETD is not zero");
  }
  return OkStatus();
}

Result<TdxTcbEvaluation> EvaluateTdxTcb(const TdxQuote& quote, const PckExtensions& pck,
                                        const TdxTcbInfo& info, const TdxQeIdentity& qe) {
  TdxTcbEvaluation ev;
  const SgxReport& r = quote.qe_report;

  // QE identity (6b).
  for (std::size_t i = 0; i < 4; ++i) {
    if ((r.raw.bytes[16 + i] & qe.miscselect_mask.bytes[i]) !=
        (qe.miscselect.bytes[i] & qe.miscselect_mask.bytes[i])) {
      return MakeError(ErrorCode::kPrecondition,
                       "QE MISCSELECT " + ToHex(ByteView(r.raw.data() + 16, 4), false) +
                           " does not match the TD QE identity " + qe.miscselect.ToHex(false) +
                           " under mask " + qe.miscselect_mask.ToHex(false));
    }
  }
  for (std::size_t i = 0; i < 16; ++i) {
    if ((r.attributes.bytes[i] & qe.attributes_mask.bytes[i]) !=
        (qe.attributes.bytes[i] & qe.attributes_mask.bytes[i])) {
      return MakeError(ErrorCode::kPrecondition,
                       "QE ATTRIBUTES " + r.attributes.ToHex(false) +
                           " do not match the TD QE identity " + qe.attributes.ToHex(false) +
                           " under mask " + qe.attributes_mask.ToHex(false));
    }
  }
  if (r.mrsigner != qe.mrsigner) {
    return MakeError(ErrorCode::kPrecondition, "QE MRSIGNER " + r.mrsigner.ToHex(false) +
                                                   " is not the TD QE identity's " +
                                                   qe.mrsigner.ToHex(false));
  }
  if (r.isv_prod_id != qe.isv_prod_id) {
    return MakeError(ErrorCode::kPrecondition,
                     "QE ISVPRODID " + std::to_string(r.isv_prod_id) + " is not " +
                         std::to_string(qe.isv_prod_id));
  }
  const TdxQeLevel* qe_level = nullptr;
  for (const auto& l : qe.levels) {
    if (l.isv_svn <= r.isv_svn) {
      qe_level = &l;
      break;
    }
  }
  if (!qe_level) {
    return MakeError(ErrorCode::kPrecondition, "QE ISVSVN " + std::to_string(r.isv_svn) +
                                                   " is below every TD QE identity level "
                                                   "(QE TCB Unrecognized)");
  }
  ev.qe_status = qe_level->status;

  // Platform level (6d): SGX components + PCESVN, then all 16 TEE_TCB_SVN bytes.
  const TdxTcbLevel* tdx_level = nullptr;
  bool sgx_found = false;
  for (const auto& l : info.levels) {
    bool sgx_ok = l.pce_svn <= pck.pce_svn;
    for (std::size_t i = 0; sgx_ok && i < 16; ++i) {
      sgx_ok = l.sgx_components[i] <= pck.tcb_components[i];
    }
    if (!sgx_ok) continue;
    if (!sgx_found) {
      sgx_found = true;
      ev.sgx_status = l.status;
    }
    bool tdx_ok = true;
    for (std::size_t i = 0; tdx_ok && i < 16; ++i) {
      tdx_ok = l.tdx_components[i] <= quote.tee_tcb_svn.bytes[i];
    }
    if (tdx_ok) {
      tdx_level = &l;
      break;
    }
  }
  if (!sgx_found) {
    return MakeError(ErrorCode::kPrecondition,
                     "no TCB level matches the PCK's SGX components / PCESVN " +
                         std::to_string(pck.pce_svn) + " (TCB Unrecognized)");
  }
  if (!tdx_level) {
    return MakeError(ErrorCode::kPrecondition, "no TCB level matches TEE_TCB_SVN " +
                                                   quote.tee_tcb_svn.ToHex(false) +
                                                   " (TCB Unrecognized)");
  }
  ev.platform_status = tdx_level->status;
  AppendUnique(ev.advisory_ids, tdx_level->advisory_ids);

  // TDX module (6e).
  const std::uint8_t module_svn = quote.tee_tcb_svn.bytes[0];
  const std::uint8_t module_version = quote.tee_tcb_svn.bytes[1];
  auto module_matches = [&](const TdxModuleIdentity& m, std::string_view name) -> Status {
    if (quote.mrsignerseam != m.mrsigner) {
      return MakeError(ErrorCode::kPrecondition,
                       "MRSIGNERSEAM " + quote.mrsignerseam.ToHex(false) + " is not " +
                           std::string(name) + "'s mrsigner " + m.mrsigner.ToHex(false));
    }
    for (std::size_t i = 0; i < 8; ++i) {
      if ((quote.seam_attributes.bytes[i] & m.attributes_mask.bytes[i]) !=
          (m.attributes.bytes[i] & m.attributes_mask.bytes[i])) {
        return MakeError(ErrorCode::kPrecondition,
                         "SEAMATTRIBUTES " + quote.seam_attributes.ToHex(false) +
                             " do not match " + std::string(name) + "'s " +
                             m.attributes.ToHex(false));
      }
    }
    return OkStatus();
  };
  if (module_version == 0 || info.tdx_module_identities.empty()) {
    if (info.tdx_module) CVMW_RETURN_IF_ERROR(module_matches(*info.tdx_module, "tdxModule"));
  } else {
    char id[8];
    std::snprintf(id, sizeof id, "TDX_%02X", module_version);
    const TdxModuleIdentity* mi = nullptr;
    for (const auto& m : info.tdx_module_identities) {
      if (m.id == id) {
        mi = &m;
        break;
      }
    }
    if (!mi) {
      return MakeError(ErrorCode::kPrecondition, std::string("no TDX module identity ") + id +
                                                     " in the TCB info (TCB Unrecognized)");
    }
    CVMW_RETURN_IF_ERROR(module_matches(*mi, id));
    const TdxModuleLevel* ml = nullptr;
    for (const auto& l : mi->levels) {
      if (l.isv_svn <= module_svn) {
        ml = &l;
        break;
      }
    }
    if (!ml) {
      return MakeError(ErrorCode::kPrecondition,
                       std::string("TDX module ISVSVN ") + std::to_string(module_svn) +
                           " is below every " + id + " level (TCB Unrecognized)");
    }
    ev.module_status = ml->status;
    AppendUnique(ev.advisory_ids, ml->advisory_ids);
  }

  // Convergence (6f).
  TdxTcbStatus status = ev.platform_status;
  if (ev.module_status) {
    if (*ev.module_status == TdxTcbStatus::kRevoked) {
      status = TdxTcbStatus::kRevoked;
    } else if (*ev.module_status == TdxTcbStatus::kOutOfDate) {
      status = DegradeForOutOfDate(status);
    }
  }
  if (ev.qe_status == TdxTcbStatus::kRevoked) {
    status = TdxTcbStatus::kRevoked;
  } else if (ev.qe_status == TdxTcbStatus::kOutOfDate) {
    status = DegradeForOutOfDate(status);
  }
  AppendUnique(ev.advisory_ids, qe_level->advisory_ids);

  // TD 1.5 relaunch rule (A.5): the TD could reach the newest level by relaunching.
  if (quote.body_type == TdxBodyType::kTd15 && IsOutOfDate(status) &&
      ev.qe_status != TdxTcbStatus::kOutOfDate && !IsOutOfDate(ev.sgx_status) &&
      (IsOutOfDate(ev.platform_status) ||
       (ev.module_status && *ev.module_status == TdxTcbStatus::kOutOfDate))) {
    const TdxTcbLevel& newest = info.levels.front();
    const auto& svn2 = quote.tee_tcb_svn2.bytes;
    bool latest = svn2[2] >= newest.tdx_components[2];
    if (svn2[1] == 0) {
      latest = latest && svn2[0] >= newest.tdx_components[0];
    } else {
      char id[8];
      std::snprintf(id, sizeof id, "TDX_%02X", svn2[1]);
      const TdxModuleIdentity* mi = nullptr;
      for (const auto& m : info.tdx_module_identities) {
        if (m.id == id) mi = &m;
      }
      latest = latest && mi && !mi->levels.empty() && svn2[0] >= mi->levels.front().isv_svn;
    }
    if (latest) {
      status = status == TdxTcbStatus::kOutOfDateConfigurationNeeded
                   ? TdxTcbStatus::kTdRelaunchAdvisedConfigurationNeeded
                   : TdxTcbStatus::kTdRelaunchAdvised;
    }
  }
  ev.status = status;
  return ev;
}

bool TdxVerification::ok() const {
  for (const TdxStep* s : {&parse, &pck_chain, &qe_report, &quote_signature, &collateral}) {
    if (!s->ok || !s->checked) return false;
  }
  return true;
}

std::string TdxVerification::Summary() const {
  std::vector<std::string> parts;
  const std::pair<const char*, const TdxStep*> steps[] = {
      {"parse", &parse},
      {"pck-chain", &pck_chain},
      {"qe-report", &qe_report},
      {"quote-signature", &quote_signature},
      {"collateral", &collateral}};
  for (const auto& [name, s] : steps) {
    if (!s->ok || !s->checked) {
      parts.push_back(std::string(name) + (s->checked ? "" : " (not checked)") + ": " + s->reason);
    }
  }
  return Join(parts);
}

void ClearTdxSignatureCache() {
  SignatureCache().Clear();
  CertCache().Clear();
  CrlCache().Clear();
}

TdxVerification VerifyTdxQuote(ByteView input, const std::vector<Bytes>& intel_roots,
                               const TdxCollateralSource* collateral_source, TimePoint at) {
  TdxVerification v;
  auto parsed = ParseTdxQuote(input);
  if (!parsed.ok()) {
    v.parse = Failed(parsed.error().ToString());
    const std::string why = "not checked: the quote did not parse";
    v.pck_chain = NotChecked(why);
    v.qe_report = NotChecked(why);
    v.quote_signature = NotChecked(why);
    v.collateral = NotChecked("TCB status not evaluated: the quote did not parse");
    return v;
  }
  v.quote = std::move(*parsed);
  const TdxQuote& q = *v.quote;
  {
    std::string fact = "v" + std::to_string(q.version) + " " +
                       (q.body_type == TdxBodyType::kTd15 ? "TD 1.5" : "TD 1.0") + ", " +
                       std::to_string(q.quote_length) + " bytes";
    if (input.size() > q.quote_length) {
      fact += " (+" + std::to_string(input.size() - q.quote_length) + " trailing bytes ignored)";
    }
    v.parse = Passed(fact);
  }

  // Quote signature (step 5): independent of everything else.
  {
    auto key = P256Key(q.attestation_key);
    if (!key.ok()) {
      v.quote_signature = Failed(key.error().message);
    } else if (!VerifyEcdsaRaw(key->get(), Sha256(q.SignedRegion(input)), q.quote_signature)) {
      v.quote_signature =
          Failed("quote signature over header || body is invalid for the attestation key");
    } else {
      v.quote_signature = Passed("ECDSA P-256 by the attestation key over [0, " +
                                 std::to_string(q.signed_length) + ")");
    }
  }

  // PCK chain from the certification data.
  std::vector<CertPtr> chain;
  std::string chain_error;
  {
    auto ders = TdxPemChainToDer(std::string_view(
        reinterpret_cast<const char*>(q.certification_data.data()), q.certification_data.size()));
    if (!ders.ok()) {
      chain_error = "PCK chain PEM: " + ders.error().message;
    } else if (ders->size() != 3) {
      chain_error = "PCK chain has " + std::to_string(ders->size()) +
                    " certificates, expected 3 (leaf, CA, root)";
    } else {
      for (std::size_t i = 0; i < 3; ++i) {
        auto c = ParseCert((*ders)[i]);
        if (!c.ok()) {
          chain_error = "PCK chain certificate " + std::to_string(i) + ": " + c.error().message;
          chain.clear();
          break;
        }
        chain.push_back(*c);
      }
    }
  }
  const Cert* leaf = chain.empty() ? nullptr : chain[0].get();
  if (leaf) {
    v.pck_leaf_serial = SerialOf(leaf->x509.get());
    auto ext = PckExtensionsOf(leaf->x509.get());
    if (ext.ok()) {
      v.pck = *ext;
    } else {
      chain_error = ext.error().message;
    }
  }

  // QE report (steps 3, 4): needs the leaf key only.
  if (!leaf) {
    v.qe_report = NotChecked("not checked: no PCK leaf certificate (" + chain_error + ")");
  } else {
    EVP_PKEY* leaf_key = X509_get0_pubkey(leaf->x509.get());
    std::vector<std::string> problems;
    if (!IsP256(leaf_key)) {
      problems.push_back("PCK leaf key is not ECDSA P-256");
    } else if (!VerifyEcdsaRaw(leaf_key, Sha256(q.qe_report.raw.view()),
                               q.qe_report_signature)) {
      problems.push_back("QE report signature is invalid for the PCK leaf key");
    }
    const Hash32 binding = Sha256(Concat({q.attestation_key.view(), q.qe_auth_data}));
    if (!std::equal(binding.bytes.begin(), binding.bytes.end(),
                    q.qe_report.report_data.bytes.begin())) {
      problems.push_back("QE REPORTDATA[0..32) " +
                         ToHex(ByteView(q.qe_report.report_data.data(), 32), false) +
                         " != SHA-256(attestation key || QE auth data) " +
                         binding.ToHex(false));
    } else if (!std::all_of(q.qe_report.report_data.bytes.begin() + 32,
                            q.qe_report.report_data.bytes.end(),
                            [](std::uint8_t b) { return b == 0; })) {
      problems.push_back("QE REPORTDATA[32..64) is not zero");
    }
    v.qe_report = problems.empty()
                      ? Passed("signed by the PCK leaf; REPORTDATA binds the attestation key")
                      : Failed(Join(problems));
  }

  // Pinned roots.
  std::vector<CertPtr> roots;
  for (const auto& der : intel_roots) {
    auto r = ParseCert(der);
    if (r.ok()) roots.push_back(*r);
  }
  const Cert* pinned = nullptr;
  if (chain.size() == 3) {
    EVP_PKEY* chain_root_key = X509_get0_pubkey(chain[2]->x509.get());
    for (const auto& r : roots) {
      if (chain_root_key && EVP_PKEY_eq(chain_root_key, X509_get0_pubkey(r->x509.get())) == 1) {
        pinned = r.get();
        break;
      }
    }
    ERR_clear_error();
  }

  // Collateral lookup and its own objects.
  std::optional<TdxCollateral> coll;
  if (collateral_source && v.pck) coll = collateral_source->Find(v.pck->fmspc, v.pck->pce_id);
  std::vector<std::string> coll_problems;  // fail the collateral step
  CollateralObjects co;
  if (coll) {
    auto root_crl = ParseCrl(coll->root_ca_crl);
    if (root_crl.ok()) {
      co.root_crl = *root_crl;
    } else {
      coll_problems.push_back("root CA CRL: " + root_crl.error().message);
    }
    auto pck_crl = ParseCrl(coll->pck_crl);
    if (pck_crl.ok()) {
      co.pck_crl = *pck_crl;
    } else {
      coll_problems.push_back("PCK CRL: " + pck_crl.error().message);
    }
    auto first_of = [&](const std::vector<Bytes>& ders, std::string_view what) -> CertPtr {
      if (ders.empty()) {
        coll_problems.push_back(std::string(what) + " issuer chain is empty");
        return nullptr;
      }
      auto c = ParseCert(ders.front());
      if (!c.ok()) {
        coll_problems.push_back(std::string(what) + " signer: " + c.error().message);
        return nullptr;
      }
      return *c;
    };
    co.tcb_info_signer = first_of(coll->tcb_info_issuer_chain_der, "TCB info");
    co.qe_identity_signer = first_of(coll->qe_identity_issuer_chain_der, "QE identity");
    for (const CertPtr& s : {co.tcb_info_signer, co.qe_identity_signer}) {
      if (s && std::none_of(co.tcb_signers.begin(), co.tcb_signers.end(),
                            [&](const CertPtr& o) { return o->der_hash == s->der_hash; })) {
        co.tcb_signers.push_back(s);
      }
    }
  }

  // PCK chain (step 2).
  std::vector<std::string> chain_problems;
  std::string revocation_fact;
  if (!chain_error.empty() && chain.size() != 3) {
    v.pck_chain = Failed(chain_error);
  } else {
    if (!chain_error.empty()) chain_problems.push_back(chain_error);  // extension problem
    const Cert& ca = *chain[1];
    if (!pinned) {
      chain_problems.push_back("PCK chain root (" + SubjectCn(*chain[2]) +
                               ") is not a pinned Intel SGX Root CA");
    } else {
      if (X509_check_issued(pinned->x509.get(), ca.x509.get()) != X509_V_OK ||
          !CertSignedBy(ca, *pinned)) {
        chain_problems.push_back("PCK CA certificate (" + SubjectCn(ca) +
                                 ") is not signed by the pinned Intel root");
      }
      if (auto p = CertWindowProblem(*pinned, at, "Intel root certificate")) {
        chain_problems.push_back(*p);
      }
    }
    if (X509_check_issued(ca.x509.get(), leaf->x509.get()) != X509_V_OK ||
        !CertSignedBy(*leaf, ca)) {
      chain_problems.push_back("PCK leaf certificate is not signed by " + SubjectCn(ca));
    }
    ERR_clear_error();
    for (std::size_t i = 0; i < 3; ++i) {
      static const char* const kNames[] = {"PCK leaf certificate", "PCK CA certificate",
                                           "PCK chain root certificate"};
      if (auto p = CertWindowProblem(*chain[i], at, kNames[i])) chain_problems.push_back(*p);
    }
    // Revocation, when collateral supplies CRLs (their own validity is the collateral step's).
    if (!coll) {
      revocation_fact = "revocation not checked (no collateral)";
    } else if (!co.root_crl || !co.pck_crl) {
      revocation_fact = "revocation not checked (CRL unreadable)";
    } else {
      if (X509_NAME_cmp(X509_CRL_get_issuer(co.pck_crl->crl.get()),
                        X509_get_subject_name(ca.x509.get())) != 0 ||
          !CrlSignedBy(*co.pck_crl, ca)) {
        coll_problems.push_back("PCK CRL is not issued and signed by the PCK leaf's issuer " +
                                SubjectCn(ca));
        revocation_fact = "leaf revocation not checked (PCK CRL not from " + SubjectCn(ca) + ")";
      } else if (Revoked(*co.pck_crl, leaf->x509.get())) {
        chain_problems.push_back("PCK leaf certificate (serial " + ToHex(v.pck_leaf_serial, false) +
                                 ") is revoked by the PCK CRL");
      }
      if (pinned) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(co.root_crl->crl.get()),
                          X509_get_subject_name(pinned->x509.get())) != 0 ||
            !CrlSignedBy(*co.root_crl, *pinned)) {
          coll_problems.push_back("root CA CRL is not signed by the pinned Intel root");
          if (revocation_fact.empty()) revocation_fact = "CA revocation not checked";
        } else if (Revoked(*co.root_crl, ca.x509.get())) {
          chain_problems.push_back("PCK CA certificate is revoked by the root CA CRL");
        }
      }
      if (revocation_fact.empty()) revocation_fact = "not revoked";
    }
    if (chain_problems.empty()) {
      v.pck_chain = Passed(SubjectCn(*leaf) + " <- " + SubjectCn(ca) + " <- pinned " +
                           SubjectCn(*pinned) + "; valid at " + FormatTdxTime(at) + "; " +
                           revocation_fact);
    } else {
      v.pck_chain = Failed(Join(chain_problems));
    }
  }

  // Collateral (step 6).
  if (!collateral_source) {
    v.collateral = NotChecked("TCB status not evaluated: no collateral source");
    return v;
  }
  if (!v.pck) {
    v.collateral = NotChecked("TCB status not evaluated: no FMSPC / PCE-ID (" + chain_error + ")");
    return v;
  }
  if (!coll) {
    v.collateral = NotChecked("TCB status not evaluated: no collateral for FMSPC " +
                              v.pck->fmspc.ToHex(false) + " PCE-ID " +
                              v.pck->pce_id.ToHex(false));
    return v;
  }
  const TdxCollateral& c = *coll;
  std::vector<std::string> time_problems;
  // TCB signing certificates: issued by the pinned root, valid, not revoked.
  bool signers_ok = !co.tcb_signers.empty();
  const Cert* signing_root = pinned ? pinned : (roots.empty() ? nullptr : roots.front().get());
  for (const CertPtr& s : co.tcb_signers) {
    if (!signing_root || X509_check_issued(signing_root->x509.get(), s->x509.get()) != X509_V_OK ||
        !CertSignedBy(*s, *signing_root)) {
      coll_problems.push_back("TCB signing certificate (" + SubjectCn(*s) +
                              ") is not signed by the pinned Intel root");
      signers_ok = false;
    }
    if (auto p = CertWindowProblem(*s, at, "TCB signing certificate")) {
      time_problems.push_back("collateral " + *p);
    }
    if (co.root_crl && Revoked(*co.root_crl, s->x509.get())) {
      coll_problems.push_back("TCB signing certificate is revoked by the root CA CRL");
      signers_ok = false;
    }
  }
  ERR_clear_error();
  // CRL windows.
  auto crl_window = [&](const CrlPtr& crl, std::string_view what) {
    if (!crl) return;
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl->crl.get());
    if (!next) {
      coll_problems.push_back(std::string(what) + " has no nextUpdate");
      return;
    }
    if (auto p = WindowProblem(Asn1Time(X509_CRL_get0_lastUpdate(crl->crl.get())),
                               Asn1Time(next), at, what, "thisUpdate", "nextUpdate")) {
      time_problems.push_back(*p);
    }
  };
  crl_window(co.root_crl, "root CA CRL");
  crl_window(co.pck_crl, "PCK CRL");
  // Signed JSON.
  bool tcb_info_signed = false, qe_identity_signed = false;
  if (co.tcb_info_signer) {
    tcb_info_signed = JsonSignedBy(c.tcb_info_digest, c.tcb_info_signature, *co.tcb_info_signer);
    if (!tcb_info_signed) coll_problems.push_back("TCB info signature is invalid");
  }
  if (co.qe_identity_signer) {
    qe_identity_signed =
        JsonSignedBy(c.qe_identity_digest, c.qe_identity_signature, *co.qe_identity_signer);
    if (!qe_identity_signed) coll_problems.push_back("QE identity signature is invalid");
  }
  if (auto p = WindowProblem(c.tcb_info.issue_date, c.tcb_info.next_update, at, "TCB info",
                             "issueDate", "nextUpdate")) {
    time_problems.push_back(*p);
  }
  if (auto p = WindowProblem(c.qe_identity.issue_date, c.qe_identity.next_update, at,
                             "QE identity", "issueDate", "nextUpdate")) {
    time_problems.push_back(*p);
  }
  if (c.tcb_info.fmspc != v.pck->fmspc || c.tcb_info.pce_id != v.pck->pce_id) {
    coll_problems.push_back("TCB info is for FMSPC " + c.tcb_info.fmspc.ToHex(false) +
                            " PCE-ID " + c.tcb_info.pce_id.ToHex(false) +
                            ", the PCK certificate says FMSPC " + v.pck->fmspc.ToHex(false) +
                            " PCE-ID " + v.pck->pce_id.ToHex(false));
  } else if (signers_ok && tcb_info_signed && qe_identity_signed) {
    auto ev = EvaluateTdxTcb(q, *v.pck, c.tcb_info, c.qe_identity);
    if (!ev.ok()) {
      coll_problems.push_back(ev.error().message);
    } else {
      v.tcb_status_code = ev->status;
      v.tcb_status = std::string(TdxTcbStatusName(ev->status));
      v.platform_status = std::string(TdxTcbStatusName(ev->platform_status));
      if (ev->module_status) v.module_status = std::string(TdxTcbStatusName(*ev->module_status));
      v.qe_status = std::string(TdxTcbStatusName(ev->qe_status));
      v.advisory_ids = ev->advisory_ids;
      if (ev->status == TdxTcbStatus::kRevoked) {
        coll_problems.push_back("TCB status Revoked");
      }
    }
  }
  coll_problems.insert(coll_problems.end(), time_problems.begin(), time_problems.end());
  if (coll_problems.empty()) {
    v.collateral = Passed("TCB status " + *v.tcb_status + " (TCB info eval " +
                          std::to_string(c.tcb_info.tcb_evaluation_data_number) + ", FMSPC " +
                          c.tcb_info.fmspc.ToHex(false) + ")");
  } else {
    v.collateral = Failed(Join(coll_problems));
  }
  return v;
}

}  // namespace cvmwatch::verifier
