// Real-data fixtures for verifier tests: the seed's calls decoded, a trust store built from the
// shared testdata (Google EK/AK root, AMD Milan ASK/ARK, Intel root, TDX collateral), and the
// block times each vector is valid at.
#pragma once

#include <filesystem>

#include "cvmwatch/core/registry.h"
#include "cvmwatch/verifier/snp.h"
#include "cvmwatch/verifier/tdx.h"
#include "cvmwatch/verifier/verifier.h"
#include "testdata.h"

namespace cvmwatch::verifier::testing {

using cvmwatch::testing::ReadBinary;
using cvmwatch::testing::ReadSeedCalldata;
using cvmwatch::testing::ReadText;

// Inside every window the real data needs (GCP AK leaf notBefore, journal timestamps).
inline constexpr std::int64_t kGcpSnpAt = 1756282879 + 60;
inline constexpr std::int64_t kAzureSnpAt = 1757040538 + 60;
// Inside the TDX collateral window (2025-10-19T17:48:50Z .. 2025-11-12T10:45:32Z).
inline constexpr std::int64_t kTdxAt = 1761350400;

inline Bytes ReadHexFile(const std::filesystem::path& path) {
  std::string text = ReadText(path);
  std::erase_if(text, [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
  return HexToBytes(text).value();
}

inline registry::RegistryCall DecodeSeed(const std::filesystem::path& dir, const char* rel) {
  const Bytes calldata = ReadSeedCalldata(dir / "seed" / rel);
  auto call = registry::DecodeRegistryCall(calldata);
  EXPECT_TRUE(call.ok()) << rel;
  return std::move(call).value();
}

inline TrustStore SeedTrustStore(const std::filesystem::path& dir) {
  TrustStore t;
  t.tpm_ak_roots.push_back(ReadHexFile(dir / "seed/gcp/tpmAkRoot.hex"));
  auto ask_ark = PemCertificatesToDer(ReadText(dir / "snp/milan_ask_ark.pem")).value();
  t.amd_asks.push_back(ask_ark[0]);
  t.amd_arks.push_back(ask_ark[1]);
  t.intel_roots = PemCertificatesToDer(ReadText(dir / "tdx/intel_sgx_root_ca.pem")).value();
  t.tdx_collateral = std::make_shared<DirectoryTdxCollateralSource>((dir / "tdx").string());
  return t;
}

inline Hash32 GoldenHash(const std::filesystem::path& file) {
  // {"golden_measurement": "<base64 or hex of 32 bytes>"}
  const std::string text = ReadText(file);
  const auto colon = text.find(':');
  const auto open = text.find('"', colon + 1);
  const auto close = text.find('"', open + 1);
  const std::string v = text.substr(open + 1, close - open - 1);
  auto raw = v.size() == 44 ? Base64Decode(v) : HexToBytes(v);
  return Hash32::FromBytes(raw.value()).value();
}

inline SigningContext SeedSigning() {
  SigningContext s;
  s.chain_id = 31337;
  s.registry = Address::FromHex("0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac").value();
  return s;
}

// What the watchdog stores from a registration verdict, for the re-attestation that follows.
inline RegisteredIdentity FromRegistration(const registry::AttestCall& reg, const Verdict& v) {
  RegisteredIdentity r;
  r.identity = reg.identity;
  r.cloud_type = reg.cloud_type;
  r.tee_type = reg.tee_type;
  r.ak = v.ak;
  r.tee = v.tee;
  r.nonce = U256(0);
  return r;
}

}  // namespace cvmwatch::verifier::testing
