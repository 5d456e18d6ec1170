// Fuzzes the generic ABI decoder: the first byte picks a type, the rest is the encoding. Anything
// that decodes must re-encode and decode again to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "cvmwatch/core/abi.h"

namespace {

const char* const kTypes[] = {
    "(uint256)", "(int8,bool,address)", "(bytes)", "(string[])", "(uint256[][])",
    "(bytes32[3],bytes)", "((uint16,uint16,bytes),(uint16,uint16))",
    "(bytes,bytes,(uint256,bytes32,bytes32[],uint256[],bool)[],bytes,bytes,bytes[],(uint16,uint16,uint16,bytes))",
    "(uint8,uint8,uint8,bytes,(bytes,bytes,(uint256,bytes32,bytes32[],uint256[],bool)[],bytes,bytes,bytes[]))",
    "((bytes,uint8)[2][],string)",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const auto types = [] {
    std::vector<cvmwatch::abi::Type> out;
    for (const char* t : kTypes) out.push_back(cvmwatch::abi::ParseType(t).value());
    return out;
  }();
  const auto& type = types[data[0] % types.size()];
  auto value = cvmwatch::abi::Decode(type, cvmwatch::ByteView(data + 1, size - 1));
  if (!value.ok()) return 0;
  auto encoded = cvmwatch::abi::Encode(type, *value);
  if (!encoded.ok()) std::abort();
  auto again = cvmwatch::abi::Decode(type, *encoded);
  if (!again.ok() || !(*again == *value)) std::abort();
  return 0;
}
