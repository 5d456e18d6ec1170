// verify_bench: full re-verification of each real vector against the raw OpenSSL operations it
// cannot avoid (its crypto floor), measured in the same run; and the repeat-verification speed-up
// from the certificate caches. Reads ../shared/testdata (or CVMWATCH_TESTDATA).
//
// Output: one row per vector with µs per verification (cold caches, warm caches), the floor, and
// the ratios verify/floor and cold/warm.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cvmwatch/core/base64.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/verifier/snp.h"
#include "cvmwatch/verifier/tpm.h"
#include "cvmwatch/verifier/verifier.h"

namespace {

using namespace cvmwatch;
namespace fs = std::filesystem;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Bytes SeedCalldata(const fs::path& p) {
  const std::string t = ReadText(p);
  const auto open = t.find('"', t.find(':') + 1);
  const auto close = t.find('"', open + 1);
  return Base64Decode(std::string_view(t).substr(open + 1, close - open - 1)).value();
}

// Best of `rounds` averages of `iters` calls, in microseconds.
double TimeUs(const std::function<void()>& fn, int iters, int rounds = 5) {
  double best = 1e18;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) fn();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count() / iters);
  }
  return best;
}

X509* ParseDer(const Bytes& der) {
  const unsigned char* p = der.data();
  return d2i_X509(nullptr, &p, static_cast<long>(der.size()));
}

EVP_PKEY* EcKey(ByteView point, const char* group);

// The raw OpenSSL operations a first verification cannot avoid: parse each certificate, import
// each public key, check each signature.
struct Floor {
  std::vector<Bytes> cert_ders;                // d2i_X509 of each certificate
  std::vector<registry::CertPubkey> key_imports;  // import of each non-certificate key
  std::vector<std::pair<X509*, X509*>> links;  // X509_verify(child, issuer key)
  struct Sig {
    EVP_PKEY* key;
    Bytes der_sig;  // DER ECDSA or raw RSA
    Bytes digest;
    bool rsa_raw;   // RSA: raw public operation (as the PKCS#1 check needs)
  };
  std::vector<Sig> sigs;
  void Run() const {
    for (const auto& der : cert_ders) {
      const unsigned char* p = der.data();
      X509_free(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    }
    for (const auto& k : key_imports) {
      EVP_PKEY* key = nullptr;
      if (k.algo == registry::kTpmAlgEcc) {
        key = EcKey(k.data, "prime256v1");
      } else {
        const unsigned char* p = k.data.data();
        key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(k.data.size()));
      }
      if (!key) std::abort();
      EVP_PKEY_free(key);
    }
    for (const auto& [child, issuer] : links) {
      if (X509_verify(child, X509_get0_pubkey(issuer)) != 1) std::abort();
    }
    for (const auto& s : sigs) {
      EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(s.key, nullptr);
      if (s.rsa_raw) {
        unsigned char out[512];
        std::size_t out_len = sizeof out;
        EVP_PKEY_verify_recover_init(ctx);
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
        if (EVP_PKEY_verify_recover(ctx, out, &out_len, s.der_sig.data(), s.der_sig.size()) != 1) std::abort();
      } else {
        EVP_PKEY_verify_init(ctx);
        if (EVP_PKEY_verify(ctx, s.der_sig.data(), s.der_sig.size(), s.digest.data(), s.digest.size()) != 1) {
          std::abort();
        }
      }
      EVP_PKEY_CTX_free(ctx);
    }
  }
};

EVP_PKEY* EcKey(ByteView point, const char* group) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  OSSL_PARAM params[3];
  Bytes p(point.begin(), point.end());
  if (p.size() % 2 == 0) p.insert(p.begin(), 0x04);
  params[0] = OSSL_PARAM_construct_utf8_string("group", const_cast<char*>(group), 0);
  params[1] = OSSL_PARAM_construct_octet_string("pub", p.data(), p.size());
  params[2] = OSSL_PARAM_construct_end();
  EVP_PKEY* key = nullptr;
  EVP_PKEY_fromdata_init(ctx);
  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  return key;
}

Bytes EcdsaDer(ByteView r, ByteView s) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr),
                 BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

// The TPM quote signature as a floor entry (AK from the verdict).
Floor::Sig TpmSig(const registry::WorkloadCollaterals& wc, const registry::CertPubkey& ak) {
  auto sig = verifier::ParseTpmSignature(wc.tpm_signature).value();
  const Hash32 digest = Sha256(wc.tpm_quote);
  if (ak.algo == registry::kTpmAlgEcc) {
    return {EcKey(ak.data, "prime256v1"), EcdsaDer(sig.ecdsa_r, sig.ecdsa_s), Bytes(digest.bytes.begin(), digest.bytes.end()),
            false};
  }
  const unsigned char* p = ak.data.data();
  EVP_PKEY* key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(ak.data.size()));
  return {key, sig.rsa_signature, {}, true};
}

struct Row {
  std::string name;
  double cold_us, warm_us, floor_us;
};

}  // namespace

int main(int argc, char** argv) {
  const int iters = argc > 1 ? std::atoi(argv[1]) : 200;
  fs::path dir = fs::path(CVMWATCH_SOURCE_DIR) / ".." / "shared" / "testdata";
  if (const char* env = std::getenv("CVMWATCH_TESTDATA")) dir = env;
  if (!fs::is_directory(dir / "seed")) {
    std::fprintf(stderr, "verify_bench: testdata not found at %s\n", dir.c_str());
    return 1;
  }
  auto trust = verifier::TrustStore::LoadFromDirectory(CVMWATCH_SOURCE_DIR "/config/trust").value();
  verifier::SigningContext signing;
  signing.chain_id = 31337;
  signing.registry = Address::FromHex("0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac").value();

  std::vector<Row> rows;
  struct Vector {
    const char* name;
    const char* reg;
    const char* reat;
    std::int64_t at;
  } vectors[] = {
      {"gcp-snp", "seed/gcp/snp/gcp-snp-registration.json", "seed/gcp/snp/gcp-snp-reattestation.json", 1756282939},
      {"azure-snp", "seed/azure/snp/azure-snp-registration.json", "seed/azure/snp/azure-snp-reattestation.json",
       1757040598},
  };
  for (const auto& vec : vectors) {
    const auto reg_call = registry::DecodeRegistryCall(SeedCalldata(dir / vec.reg)).value();
    const auto& reg = std::get<registry::AttestCall>(reg_call);
    const verifier::Submission reg_sub{reg_call, signing, std::nullopt};
    const auto at = FromUnixSeconds(vec.at);
    const verifier::Verdict reg_verdict = verifier::Verify(reg_sub, trust, at);
    if (reg_verdict.outcome == verifier::Outcome::kRejected) {
      std::fprintf(stderr, "%s rejected: %s\n", vec.name, reg_verdict.Summary().c_str());
      return 1;
    }
    // Registration floor: every AK chain link incl. the root's self-signature, the TPM signature.
    Floor reg_floor;
    std::vector<X509*> certs;
    for (const auto& der : reg.wc.certs) certs.push_back(ParseDer(der));
    for (std::size_t i = 0; i < certs.size(); ++i) {
      reg_floor.links.emplace_back(certs[i], i + 1 < certs.size() ? certs[i + 1] : certs[i]);
    }
    reg_floor.sigs.push_back(TpmSig(reg.wc, *reg_verdict.ak));
    reg_floor.cert_ders = reg.wc.certs;
    if (reg.wc.certs.empty()) reg_floor.key_imports.push_back(*reg_verdict.ak);  // Azure: the HCL AK
    Row r{std::string(vec.name) + " registration", 0, 0, 0};
    r.cold_us = TimeUs([&] { verifier::ClearVerifierCaches(); (void)verifier::Verify(reg_sub, trust, at); }, iters);
    r.warm_us = TimeUs([&] { (void)verifier::Verify(reg_sub, trust, at); }, iters);
    r.floor_us = TimeUs([&] { reg_floor.Run(); }, iters);
    rows.push_back(r);

    // Re-attestation: maintenance signature (P-256) and TPM signature with the stored AK.
    verifier::RegisteredIdentity stored{reg.identity, reg.cloud_type, reg.tee_type, reg_verdict.ak, reg_verdict.tee,
                                        U256(0)};
    const auto reat_call = registry::DecodeRegistryCall(SeedCalldata(dir / vec.reat)).value();
    const auto& reat = std::get<registry::ReattestCall>(reat_call);
    const verifier::Submission reat_sub{reat_call, signing, stored};
    const verifier::Verdict reat_verdict = verifier::Verify(reat_sub, trust, at);
    if (!reat_verdict.ok()) {
      std::fprintf(stderr, "%s re-attestation: %s\n", vec.name, reat_verdict.Summary().c_str());
      return 1;
    }
    Floor reat_floor;
    const Bytes msg = verifier::ReattestMessage(signing, *reat_verdict.chain_id_width, U256(0), reat.wc.tpm_quote);
    const Hash32 md = Sha256(msg);
    reat_floor.sigs.push_back({EcKey(reg.identity.data, "prime256v1"),
                               EcdsaDer(ByteView(reat.signature).first(32), ByteView(reat.signature).subspan(32)),
                               Bytes(md.bytes.begin(), md.bytes.end()), false});
    reat_floor.sigs.push_back(TpmSig(reat.wc, *reg_verdict.ak));
    reat_floor.key_imports = {registry::CertPubkey{registry::kTpmAlgEcc, registry::kTpmEccNistP256, reg.identity.data},
                              *reg_verdict.ak};
    Row rr{std::string(vec.name) + " re-attestation", 0, 0, 0};
    rr.cold_us = TimeUs([&] { verifier::ClearVerifierCaches(); (void)verifier::Verify(reat_sub, trust, at); }, iters);
    rr.warm_us = TimeUs([&] { (void)verifier::Verify(reat_sub, trust, at); }, iters);
    rr.floor_us = TimeUs([&] { reat_floor.Run(); }, iters);
    rows.push_back(rr);
  }

  {  // The bare SNP report with its VCEK chain: P-384 report signature + 3 RSA-PSS links.
    const std::string report = ReadText(dir / "snp/report_sp1.bin");
    const std::string vcek_s = ReadText(dir / "snp/vek_sp1.der");
    const Bytes vcek(vcek_s.begin(), vcek_s.end());
    const auto chain = verifier::PemCertificatesToDer(ReadText(dir / "snp/milan_ask_ark.pem")).value();
    const auto parsed = verifier::ParseSnpReport(AsBytes(report)).value();
    const auto at = FromUnixSeconds(1761350400);
    if (!verifier::VerifySnpReport(parsed, vcek, chain, {chain[1]}, at).ok()) return 1;
    X509* v = ParseDer(vcek);
    X509* ask = ParseDer(chain[0]);
    X509* ark = ParseDer(chain[1]);
    Floor f;
    f.links = {{v, ask}, {ask, ark}, {ark, ark}};
    f.cert_ders = {vcek, chain[0], chain[1]};
    Bytes r(48), s(48);
    for (int i = 0; i < 48; ++i) {
      r[i] = parsed.signature_r.bytes[47 - i];
      s[i] = parsed.signature_s.bytes[47 - i];
    }
    const Hash48 d = Sha384(parsed.signed_bytes);
    EVP_PKEY* key = X509_get0_pubkey(v);
    EVP_PKEY_up_ref(key);
    f.sigs.push_back({key, EcdsaDer(r, s), Bytes(d.bytes.begin(), d.bytes.end()), false});
    Row row{"snp report_sp1 (verify-snp)", 0, 0, 0};
    row.cold_us = TimeUs([&] {
      verifier::ClearVerifierCaches();
      (void)verifier::VerifySnpReport(verifier::ParseSnpReport(AsBytes(report)).value(), vcek, chain, {chain[1]}, at);
    }, iters / 4 + 1);
    row.warm_us = TimeUs([&] {
      (void)verifier::VerifySnpReport(verifier::ParseSnpReport(AsBytes(report)).value(), vcek, chain, {chain[1]}, at);
    }, iters / 4 + 1);
    row.floor_us = TimeUs([&] { f.Run(); }, iters / 4 + 1);
    rows.push_back(row);
  }

  std::printf("%-34s %12s %12s %12s %13s %12s\n", "vector", "cold us", "warm us", "floor us", "cold/floor",
              "cold/warm");
  for (const auto& r : rows) {
    std::printf("%-34s %12.1f %12.1f %12.1f %13.2f %12.2f\n", r.name.c_str(), r.cold_us, r.warm_us, r.floor_us,
                r.cold_us / r.floor_us, r.cold_us / r.warm_us);
  }
  std::printf("(floor = the raw OpenSSL operations a first verification needs: certificate parsing, key"
              " import, signature checks; cold = caches emptied before each run, warm = repeat)\n");
  return 0;
}
