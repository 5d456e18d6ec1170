// Byte containers and strict hex for Ethereum values.
//
// Contract: Bytes is an owning byte vector; ByteView a non-owning view (caller keeps the storage
// alive). FixedBytes<N> is an N-byte value (Hash32, Address, ...). Hex parsing is strict: an
// optional "0x"/"0X" prefix, then an even number of [0-9a-fA-F]; any other character or an odd
// length is an error that names its position. Output hex is lower-case with "0x". All functions
// are pure and thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cvmwatch/core/result.h"

namespace cvmwatch {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Strict hex → bytes. `allow_prefix` accepts a leading 0x.
Result<Bytes> HexToBytes(std::string_view hex);
// Bytes → "0x…" (lower case). `with_prefix=false` omits the 0x.
std::string ToHex(ByteView bytes, bool with_prefix = true);

template <std::size_t N>
struct FixedBytes {
  std::array<std::uint8_t, N> bytes{};

  static constexpr std::size_t kSize = N;

  // Exactly N bytes of hex (with or without 0x).
  static Result<FixedBytes> FromHex(std::string_view hex) {
    auto raw = HexToBytes(hex);
    if (!raw.ok()) return raw.error();
    return FromBytes(*raw);
  }
  static Result<FixedBytes> FromBytes(ByteView raw) {
    if (raw.size() != N) {
      return MakeError(ErrorCode::kInvalidLength, "expected " + std::to_string(N) +
                                                      " bytes, got " + std::to_string(raw.size()));
    }
    FixedBytes out;
    std::copy(raw.begin(), raw.end(), out.bytes.begin());
    return out;
  }

  ByteView view() const { return ByteView(bytes.data(), N); }
  std::string ToHex(bool with_prefix = true) const { return cvmwatch::ToHex(view(), with_prefix); }
  bool IsZero() const {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
  }
  std::uint8_t* data() { return bytes.data(); }
  const std::uint8_t* data() const { return bytes.data(); }
  static constexpr std::size_t size() { return N; }

  auto operator<=>(const FixedBytes&) const = default;
};

using Hash32 = FixedBytes<32>;
using Address = FixedBytes<20>;
using Selector = FixedBytes<4>;

inline Bytes Concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  std::size_t total = 0;
  for (auto p : parts) total += p.size();
  out.reserve(total);
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline void AppendBe16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void AppendBe64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

}  // namespace cvmwatch
