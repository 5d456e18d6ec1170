// Overflow-safe arithmetic for registry times: a TTL may be anything up to 2^64-1 (contracts.md
// §2.0: no bounds), and ts + ttl must then mean "never", not wrap to the past.
#pragma once

#include <cstdint>
#include <limits>

namespace cvmwatch::store::detail {

inline std::uint64_t SaturatingAdd(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

}  // namespace cvmwatch::store::detail
