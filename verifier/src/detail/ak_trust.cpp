#include "detail/ak_trust.h"

#include <openssl/x509v3.h>

#include <array>
#include <string_view>

#include "cvmwatch/core/hash.h"
#include "detail/cert_cache.h"
#include "detail/openssl_util.h"

namespace cvmwatch::verifier::detail {
namespace {

Bytes NameDer(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  std::size_t len = 0;
  if (X509_NAME_get0_der(const_cast<X509_NAME*>(name), &der, &len) != 1) return {};
  return Bytes(der, der + len);
}

Bytes OctetBytes(const ASN1_OCTET_STRING* s) {
  if (!s) return {};
  return Bytes(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
}

Status CheckConstraints(X509* cert, bool is_leaf, int remaining_cas, std::size_t position) {
  const std::uint32_t flags = X509_get_extension_flags(cert);
  const std::string where = "certs[" + std::to_string(position) + "] " + CertSubject(cert);
  const bool is_ca = (flags & EXFLAG_CA) != 0;
  const long pathlen = X509_get_pathlen(cert);
  if (is_leaf) {
    if (is_ca || pathlen >= 0) return MakeError(ErrorCode::kPrecondition, where + ": leaf is a CA");
    if ((flags & EXFLAG_KUSAGE) && (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN)) {
      return MakeError(ErrorCode::kPrecondition, where + ": leaf may sign certificates");
    }
    return OkStatus();
  }
  if (!(flags & EXFLAG_BCONS) || !is_ca) {
    return MakeError(ErrorCode::kPrecondition, where + ": issuer is not a CA (basicConstraints)");
  }
  if (pathlen >= 0 && remaining_cas > pathlen) {
    return MakeError(ErrorCode::kPrecondition, where + ": path length constraint exceeded");
  }
  if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN)) {
    return MakeError(ErrorCode::kPrecondition, where + ": issuer lacks keyCertSign");
  }
  return OkStatus();
}

Status CheckSignatureBy(const CachedCert& child, const CachedCert& parent, std::size_t position) {
  X509* cert = child.cert.get();
  const int nid = X509_get_signature_nid(cert);
  if (nid != NID_sha256WithRSAEncryption && nid != NID_ecdsa_with_SHA256) {
    return MakeError(ErrorCode::kPrecondition,
                     "certs[" + std::to_string(position) + "]: signature algorithm " +
                         OBJ_nid2sn(nid) + " is not sha256WithRSAEncryption / ecdsa-with-SHA256");
  }
  if (!VerifyCertSignatureCached(child, parent)) {
    return MakeError(ErrorCode::kPrecondition, "certs[" + std::to_string(position) + "] " +
                                                   CertSubject(cert) +
                                                   ": signature does not verify with its issuer's key");
  }
  return OkStatus();
}

// Solady Base64.decode: standard and URL-safe alphabets, padding optional.
Result<Bytes> DecodeBase64Lenient(std::string_view text) {
  Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') break;
    else return MakeError(ErrorCode::kInvalidBase64, "invalid base64 character at " + std::to_string(i));
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  return out;
}

}  // namespace

Result<registry::CertPubkey> VerifyAkCertChain(const std::vector<Bytes>& certs,
                                               const std::vector<Bytes>& trusted_roots, TimePoint at) {
  if (certs.empty() || certs.size() > 4) {
    return MakeError(ErrorCode::kPrecondition,
                     "AK certificate chain of " + std::to_string(certs.size()) + " certificates (1..4 accepted)");
  }
  std::vector<CachedCert> chain;
  for (std::size_t i = 0; i < certs.size(); ++i) {
    auto cert = ParseCertCached(certs[i]);
    if (!cert.ok()) {
      return MakeError(cert.error().code, "certs[" + std::to_string(i) + "]: " + cert.error().message);
    }
    chain.push_back(std::move(cert).value());
  }
  const Hash32 root_hash = chain.back().der_hash;
  bool trusted = false;
  for (const auto& r : trusted_roots) {
    trusted = trusted || (r.size() == certs.back().size() && std::equal(r.begin(), r.end(), certs.back().begin()));
  }
  if (!trusted) {
    return MakeError(ErrorCode::kPrecondition, "root " + CertSubject(chain.back().cert.get()) +
                                                   " (SHA-256 " + root_hash.ToHex() +
                                                   ") is not a trusted AK root");
  }
  for (std::size_t i = 0; i < chain.size(); ++i) {
    X509* cert = chain[i].cert.get();
    auto valid = CheckValidityAt(cert, at);
    if (!valid.ok()) {
      return MakeError(valid.error().code, "certs[" + std::to_string(i) + "] " + valid.error().message);
    }
    CVMW_RETURN_IF_ERROR(CheckConstraints(cert, i == 0, i == 0 ? 0 : static_cast<int>(i) - 1, i));
    if (i + 1 < chain.size()) {
      X509* issuer = chain[i + 1].cert.get();
      if (NameDer(X509_get_issuer_name(cert)) != NameDer(X509_get_subject_name(issuer))) {
        return MakeError(ErrorCode::kPrecondition,
                         "certs[" + std::to_string(i) + "] issuer name differs from certs[" +
                             std::to_string(i + 1) + "] subject");
      }
      const Bytes skid = OctetBytes(X509_get0_subject_key_id(issuer));
      if (skid.empty()) {
        return MakeError(ErrorCode::kPrecondition,
                         "certs[" + std::to_string(i + 1) + "] has no subject key identifier");
      }
      const Bytes akid = OctetBytes(X509_get0_authority_key_id(cert));
      if ((i > 0 || !akid.empty()) && akid != skid) {
        return MakeError(ErrorCode::kPrecondition,
                         "certs[" + std::to_string(i) + "] authority key id does not match its issuer");
      }
      CVMW_RETURN_IF_ERROR(CheckSignatureBy(chain[i], chain[i + 1], i));
    } else {
      CVMW_RETURN_IF_ERROR(CheckSignatureBy(chain[i], chain[i], i));  // the root's self-signature
    }
  }
  EVP_PKEY* leaf_key = X509_get0_pubkey(chain.front().cert.get());
  if (!leaf_key) return MakeError(ErrorCode::kUnsupportedKey, "AK certificate has no usable key");
  return CertPubkeyOf(leaf_key);
}

Bytes RsaPublicKeyDer(ByteView n, ByteView e) {
  auto integer = [](ByteView v) {
    Bytes body;
    if (!v.empty() && v[0] >= 0x80) body.push_back(0);
    body.insert(body.end(), v.begin(), v.end());
    return body;
  };
  const Bytes nb = integer(n);
  const Bytes eb = integer(e);
  Bytes out = {0x30, 0x82};
  const std::size_t total = 4 + nb.size() + 2 + eb.size();
  out.push_back(static_cast<std::uint8_t>(total >> 8));
  out.push_back(static_cast<std::uint8_t>(total));
  out.push_back(0x02);
  out.push_back(0x82);
  out.push_back(static_cast<std::uint8_t>(nb.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(nb.size()));
  out.insert(out.end(), nb.begin(), nb.end());
  out.push_back(0x02);
  out.push_back(static_cast<std::uint8_t>(eb.size()));
  out.insert(out.end(), eb.begin(), eb.end());
  return out;
}

Result<registry::CertPubkey> ExtractHclAk(ByteView runtime_json) {
  const std::string_view data(reinterpret_cast<const char*>(runtime_json.data()), runtime_json.size());
  auto find = [&](std::string_view needle, std::size_t from) { return data.find(needle, from); };
  auto fail = [](std::string why) {
    return MakeError(ErrorCode::kPrecondition, "HCL runtime data: " + std::move(why));
  };
  std::size_t p = find("\"kid\":\"HCLAkPub\"", 0);
  if (p == std::string_view::npos) return fail("\"kid\":\"HCLAkPub\" not found");
  std::size_t off = p + 16;
  auto field = [&](std::string_view key, std::string_view& out) -> bool {
    const std::size_t k = find(key, off);
    if (k == std::string_view::npos) return false;
    const std::size_t start = k + key.size();
    const std::size_t end = find("\"", start);
    if (end == std::string_view::npos) return false;
    out = data.substr(start, end - start);
    off = end + 1;
    return true;
  };
  std::string_view kty, e64, n64;
  if (!field("\"kty\":\"", kty) || kty != "RSA") return fail("invalid kty");
  if (!field("\"e\":\"", e64)) return fail("invalid e");
  if (!field("\"n\":\"", n64)) return fail("invalid n");
  if (find("\"kid\":\"HCLEkPub\"", off) == std::string_view::npos) return fail("data mixed up (no HCLEkPub after the AK)");
  CVMW_ASSIGN_OR_RETURN(Bytes e, DecodeBase64Lenient(e64));
  CVMW_ASSIGN_OR_RETURN(Bytes n, DecodeBase64Lenient(n64));
  while (!n.empty() && n.front() == 0) n.erase(n.begin());
  while (!e.empty() && e.front() == 0) e.erase(e.begin());
  if (n.size() < 256 || n.size() > 512 || (n.back() & 1) == 0) {
    return fail("AK modulus must be odd and 2048..4096 bits");
  }
  if (e.size() < 3 || (e.size() == 3 && (e[0] << 16 | e[1] << 8 | e[2]) < 65537)) {
    return fail("AK exponent below 65537");
  }
  registry::CertPubkey key;
  key.algo = registry::kTpmAlgRsa;
  key.params = 0;
  key.data = RsaPublicKeyDer(n, e);
  return key;
}

}  // namespace cvmwatch::verifier::detail
