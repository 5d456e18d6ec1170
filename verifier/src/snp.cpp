#include "cvmwatch/verifier/snp.h"

#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "cvmwatch/core/hash.h"
#include "detail/cert_cache.h"
#include "detail/openssl_util.h"

namespace cvmwatch::verifier {
namespace {

std::uint32_t Le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | p[1] << 8 | p[2] << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint64_t Le64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(Le32(p)) | static_cast<std::uint64_t>(Le32(p + 4)) << 32;
}
template <std::size_t N>
FixedBytes<N> Copy(const std::uint8_t* p) {
  FixedBytes<N> out;
  std::memcpy(out.data(), p, N);
  return out;
}

// Reads a DER INTEGER extension value (the extnValue contents) as an unsigned number.
std::optional<unsigned> DerSmallInteger(ByteView v) {
  if (v.size() < 3 || v[0] != 0x02 || v[1] != v.size() - 2 || v[1] > 3) return std::nullopt;
  unsigned out = 0;
  for (std::size_t i = 2; i < v.size(); ++i) out = out << 8 | v[i];
  return out;
}

std::optional<Bytes> ExtensionBytes(X509* cert, const char* oid) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  if (!obj) return std::nullopt;
  const int idx = X509_get_ext_by_OBJ(cert, obj, -1);
  ASN1_OBJECT_free(obj);
  if (idx < 0) return std::nullopt;
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  return Bytes(ASN1_STRING_get0_data(data), ASN1_STRING_get0_data(data) + ASN1_STRING_length(data));
}

VcekInfo ReadVcekInfo(X509* vcek) {
  VcekInfo info;
  if (auto name = ExtensionBytes(vcek, "1.3.6.1.4.1.3704.1.2"); name && name->size() >= 2 && (*name)[0] == 0x16) {
    info.product_name.assign(name->begin() + 2, name->end());
  }
  auto spl = [&](const char* oid) -> std::optional<unsigned> {
    auto v = ExtensionBytes(vcek, oid);
    if (!v) return std::nullopt;
    return DerSmallInteger(*v);
  };
  info.bl_spl = spl("1.3.6.1.4.1.3704.1.3.1");
  info.tee_spl = spl("1.3.6.1.4.1.3704.1.3.2");
  info.snp_spl = spl("1.3.6.1.4.1.3704.1.3.3");
  info.ucode_spl = spl("1.3.6.1.4.1.3704.1.3.8");
  info.fmc_spl = spl("1.3.6.1.4.1.3704.1.3.9");
  if (auto hw = ExtensionBytes(vcek, "1.3.6.1.4.1.3704.1.4")) {
    // Raw (64 / 8 bytes) or wrapped in an OCTET STRING; decided by length, never by the first byte.
    if (hw->size() == 66 || hw->size() == 10) {
      info.hw_id.assign(hw->begin() + 2, hw->end());
    } else {
      info.hw_id = *hw;
    }
  }
  return info;
}

SnpProduct ProductFromName(std::string_view name) {
  if (name.find("Milan") != std::string_view::npos) return SnpProduct::kMilan;
  if (name.find("Genoa") != std::string_view::npos) return SnpProduct::kGenoa;
  if (name.find("Turin") != std::string_view::npos) return SnpProduct::kTurin;
  return SnpProduct::kUnknown;
}


}  // namespace

std::string_view SnpProductName(SnpProduct p) {
  switch (p) {
    case SnpProduct::kMilan: return "Milan";
    case SnpProduct::kGenoa: return "Genoa";
    case SnpProduct::kTurin: return "Turin";
    case SnpProduct::kUnknown: return "unknown";
  }
  return "unknown";
}

SnpTcb DecodeSnpTcb(const std::uint8_t* b, SnpProduct product) {
  SnpTcb tcb;
  tcb.raw = Le64(b);
  if (product == SnpProduct::kTurin) {
    tcb.fmc = b[0];
    tcb.boot_loader = b[1];
    tcb.tee = b[2];
    tcb.snp = b[3];
  } else {
    tcb.boot_loader = b[0];
    tcb.tee = b[1];
    tcb.snp = b[6];
  }
  tcb.microcode = b[7];
  return tcb;
}

SnpProduct SnpReport::ProductFromCpuid() const {
  if (version < 3) return SnpProduct::kUnknown;
  if (cpuid_family == 0x19 && cpuid_model <= 0x0f) return SnpProduct::kMilan;
  if (cpuid_family == 0x19 && cpuid_model >= 0x10) return SnpProduct::kGenoa;
  if (cpuid_family == 0x1a) return SnpProduct::kTurin;
  return SnpProduct::kUnknown;
}

Result<SnpReport> ParseSnpReport(ByteView report, bool allow_trailing) {
  if (report.size() < kSnpReportSize || (!allow_trailing && report.size() != kSnpReportSize)) {
    return MakeError(ErrorCode::kInvalidLength, "SNP report is " + std::to_string(report.size()) +
                                                    " bytes, expected " + std::to_string(kSnpReportSize));
  }
  const std::uint8_t* p = report.data();
  SnpReport r;
  r.version = Le32(p + 0x00);
  if (r.version < 2 || r.version > 5) {
    return MakeError(ErrorCode::kPrecondition, "SNP report version " + std::to_string(r.version) +
                                                   " (2..5 accepted)");
  }
  r.guest_svn = Le32(p + 0x04);
  r.policy = Le64(p + 0x08);
  r.vmpl = Le32(p + 0x30);
  r.signature_algo = Le32(p + 0x34);
  std::memcpy(r.current_tcb.data(), p + 0x38, 8);
  r.platform_info = Le64(p + 0x40);
  r.flags = Le32(p + 0x48);
  r.report_data = Copy<64>(p + 0x50);
  r.measurement = Copy<48>(p + 0x90);
  r.host_data = Copy<32>(p + 0xC0);
  r.report_id = Copy<32>(p + 0x140);
  std::memcpy(r.reported_tcb.data(), p + 0x180, 8);
  if (r.version >= 3) {
    r.cpuid_family = p[0x188];
    r.cpuid_model = p[0x189];
    r.cpuid_stepping = p[0x18A];
  }
  r.chip_id = Copy<64>(p + 0x1A0);
  std::memcpy(r.committed_tcb.data(), p + 0x1E0, 8);
  r.current_build = p[0x1E8];
  r.current_minor = p[0x1E9];
  r.current_major = p[0x1EA];
  std::memcpy(r.launch_tcb.data(), p + 0x1F0, 8);
  r.signature_r = Copy<72>(p + 0x2A0);
  r.signature_s = Copy<72>(p + 0x2E8);
  r.signed_bytes = report.first(kSnpSignedSize);
  return r;
}

Result<std::vector<Bytes>> PemCertificatesToDer(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::vector<Bytes> out;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    out.push_back(detail::CertDer(cert));
    X509_free(cert);
  }
  BIO_free(bio);
  detail::OpenSslError();  // the end-of-input "no start line" is expected
  if (out.empty()) return MakeError(ErrorCode::kInvalidLength, "no PEM certificate found");
  return out;
}

SnpCheck CheckSnpPolicy(const SnpReport& report) {
  SnpCheck c;
  if (report.signature_algo != 1) {
    c.reason = "SIGNATURE_ALGO " + std::to_string(report.signature_algo) + " is not ECDSA P-384";
  } else if (report.DebugAllowed()) {
    c.reason = "guest policy allows debugging (POLICY bit 19)";
  } else if (report.SigningKey() != 0) {
    c.reason = "report signed by signing key " + std::to_string(report.SigningKey()) + ", not a VCEK";
  } else {
    c.ok = true;
    c.reason = "debug off, ECDSA P-384, VCEK-signed, VMPL " + std::to_string(report.vmpl);
  }
  return c;
}

SnpVerification VerifySnpReport(const SnpReport& report, ByteView vcek_der,
                                const std::vector<Bytes>& ask_ark_der,
                                const std::vector<Bytes>& pinned_arks, TimePoint at) {
  SnpVerification v;
  v.policy = CheckSnpPolicy(report);

  auto vcek = detail::ParseCertCached(vcek_der);
  if (!vcek.ok()) {
    v.chain.reason = v.signature.reason = v.tcb.reason = "VCEK: " + vcek.error().message;
    return v;
  }
  X509* vcek_cert = vcek->cert.get();
  v.vcek = ReadVcekInfo(vcek_cert);
  v.product = ProductFromName(v.vcek->product_name);
  if (v.product == SnpProduct::kUnknown) v.product = report.ProductFromCpuid();

  // Chain: VCEK <- ASK <- ARK, ARK self-signed and pinned, all valid at `at`.
  // RSA-PSS SHA-384 links: X509_verify honours the rsassaPss parameters.
  std::vector<detail::CachedCert> chain;
  bool parsed = true;
  for (const auto& der : ask_ark_der) {
    auto c = detail::ParseCertCached(der);
    if (!c.ok()) {
      v.chain.reason = "ASK/ARK: " + c.error().message;
      parsed = false;
      break;
    }
    chain.push_back(std::move(c).value());
  }
  if (parsed && chain.size() != 2) {
    v.chain.reason = "expected the ASK and the ARK, got " + std::to_string(chain.size()) + " certificates";
  } else if (parsed) {
    X509* ask = chain[0].cert.get();
    X509* ark = chain[1].cert.get();
    const Hash32 ark_hash = chain[1].der_hash;
    bool pinned = false;
    for (const auto& p : pinned_arks) pinned = pinned || Sha256(p) == ark_hash;
    Status validity = OkStatus();
    for (X509* c : {vcek_cert, ask, ark}) {
      if (validity.ok()) validity = detail::CheckValidityAt(c, at);
    }
    if (!pinned) {
      v.chain.reason = "ARK " + detail::CertSubject(ark) + " (SHA-256 " + ark_hash.ToHex() + ") is not pinned";
    } else if (!detail::VerifyCertSignatureCached(chain[1], chain[1])) {
      v.chain.reason = "ARK self-signature does not verify";
    } else if (!detail::VerifyCertSignatureCached(chain[0], chain[1])) {
      v.chain.reason = "ASK is not signed by the ARK";
    } else if (!detail::VerifyCertSignatureCached(*vcek, chain[0])) {
      v.chain.reason = "VCEK is not signed by the ASK";
    } else if (!validity.ok()) {
      v.chain.reason = validity.error().message;
    } else {
      v.chain.ok = true;
      v.chain.reason = "VCEK <- " + detail::CertSubject(ask) + " <- pinned " + detail::CertSubject(ark);
    }
  }

  // Report signature: R and S are 72-byte little-endian fields whose top 24 bytes must be zero.
  auto to_be48 = [](const FixedBytes<72>& le, Bytes& out) {
    for (std::size_t i = 48; i < 72; ++i) {
      if (le.bytes[i] != 0) return false;
    }
    out.assign(48, 0);
    for (std::size_t i = 0; i < 48; ++i) out[i] = le.bytes[47 - i];
    return true;
  };
  Bytes r, s;
  EVP_PKEY* key = X509_get0_pubkey(vcek_cert);
  if (!to_be48(report.signature_r, r) || !to_be48(report.signature_s, s)) {
    v.signature.reason = "signature R or S has non-zero bytes above 48";
  } else if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    v.signature.reason = "VCEK key is not EC P-384";
  } else {
    const Hash48 digest = Sha384(report.signed_bytes);
    if (detail::VerifyEcdsaDigest(key, digest.view(), r, s)) {
      v.signature.ok = true;
      v.signature.reason = "ECDSA P-384 over report bytes [0, 0x2A0) verifies with the VCEK";
    } else {
      v.signature.reason = "ECDSA P-384 report signature does not verify with the VCEK";
    }
  }

  // TCB and chip binding: the VCEK must be the one derived for this chip at REPORTED_TCB.
  const SnpTcb tcb = DecodeSnpTcb(report.reported_tcb.data(), v.product);
  const VcekInfo& info = *v.vcek;
  auto mismatch = [](const char* name, std::optional<unsigned> cert, unsigned rep) {
    return std::string(name) + " " + (cert ? std::to_string(*cert) : std::string("absent")) +
           " in the VCEK, " + std::to_string(rep) + " in REPORTED_TCB";
  };
  const std::size_t hw_len = v.product == SnpProduct::kTurin ? 8 : 64;
  if (info.bl_spl != tcb.boot_loader) {
    v.tcb.reason = mismatch("blSPL", info.bl_spl, tcb.boot_loader);
  } else if (info.tee_spl != tcb.tee) {
    v.tcb.reason = mismatch("teeSPL", info.tee_spl, tcb.tee);
  } else if (info.snp_spl != tcb.snp) {
    v.tcb.reason = mismatch("snpSPL", info.snp_spl, tcb.snp);
  } else if (info.ucode_spl != tcb.microcode) {
    v.tcb.reason = mismatch("ucodeSPL", info.ucode_spl, tcb.microcode);
  } else if (v.product == SnpProduct::kTurin && info.fmc_spl != tcb.fmc) {
    v.tcb.reason = mismatch("fmcSPL", info.fmc_spl, tcb.fmc);
  } else if (info.hw_id.size() != hw_len ||
             !std::equal(info.hw_id.begin(), info.hw_id.end(), report.chip_id.bytes.begin())) {
    v.tcb.reason = "VCEK hwID does not match the report's CHIP_ID";
  } else {
    v.tcb.ok = true;
    v.tcb.reason = "VCEK TCB (bl " + std::to_string(tcb.boot_loader) + ", tee " +
                   std::to_string(tcb.tee) + ", snp " + std::to_string(tcb.snp) + ", ucode " +
                   std::to_string(tcb.microcode) + ") and hwID match the report";
  }
  return v;
}

}  // namespace cvmwatch::verifier
