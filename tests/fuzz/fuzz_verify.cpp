// Fuzzes the whole path of a submission: calldata decode, then Verify() with the shipped trust
// anchors, at a fixed time. Seeded with the real calldata files.
#include <cstddef>
#include <cstdint>

#include "cvmwatch/core/registry.h"
#include "cvmwatch/verifier/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const cvmwatch::verifier::TrustStore trust = [] {
    auto t = cvmwatch::verifier::TrustStore::LoadFromDirectory(CVMWATCH_SOURCE_DIR "/config/trust");
    return t.ok() ? *t : cvmwatch::verifier::TrustStore{};
  }();
  auto call = cvmwatch::registry::DecodeRegistryCall(cvmwatch::ByteView(data, size));
  if (!call.ok()) return 0;
  cvmwatch::verifier::Submission s{*call, {}, std::nullopt};
  s.signing.chain_id = 31337;
  (void)cvmwatch::verifier::Verify(s, trust, cvmwatch::FromUnixSeconds(1761350400));
  return 0;
}
