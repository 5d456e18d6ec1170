// Fuzzes the registry call decoder (selector dispatch, ABI decode, identity derivation) with
// arbitrary calldata. Seeded with the seed's real calldata files.
#include <cstddef>
#include <cstdint>

#include "cvmwatch/core/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto call = cvmwatch::registry::DecodeRegistryCall(cvmwatch::ByteView(data, size));
  if (call.ok()) (void)cvmwatch::registry::CallName(*call);
  return 0;
}
