// U256: a minimal unsigned 256-bit integer for ABI words (uint256, two's-complement int256).
// Value type; pure and thread-safe. Only what the ABI and registry need: conversions, compare,
// add/sub with wrap-around, and narrowing that reports overflow.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "cvmwatch/core/bytes.h"

namespace cvmwatch {

class U256 {
 public:
  constexpr U256() = default;
  constexpr U256(std::uint64_t v) : limbs_{v, 0, 0, 0} {}  // NOLINT(google-explicit-constructor)

  // 32 big-endian bytes (an ABI word).
  static U256 FromBe32(ByteView word32);
  // Up to 32 big-endian bytes.
  static Result<U256> FromBeBytes(ByteView be);
  // Decimal digits or 0x-prefixed hex.
  static Result<U256> FromString(std::string_view text);
  static U256 Max();

  std::array<std::uint8_t, 32> ToBe32() const;
  std::string ToDecimal() const;
  std::string ToHex() const;  // "0x…" minimal, "0x0" for zero

  bool FitsU64() const { return limbs_[1] == 0 && limbs_[2] == 0 && limbs_[3] == 0; }
  std::optional<std::uint64_t> ToU64() const {
    if (!FitsU64()) return std::nullopt;
    return limbs_[0];
  }
  std::uint64_t low64() const { return limbs_[0]; }
  bool IsZero() const { return limbs_[0] == 0 && limbs_[1] == 0 && limbs_[2] == 0 && limbs_[3] == 0; }
  // Number of significant bits (0 for zero).
  unsigned BitLength() const;

  friend U256 operator+(const U256& a, const U256& b);
  friend U256 operator-(const U256& a, const U256& b);
  friend bool operator==(const U256& a, const U256& b) = default;
  friend std::strong_ordering operator<=>(const U256& a, const U256& b);

 private:
  std::array<std::uint64_t, 4> limbs_{};  // little-endian limbs
};

}  // namespace cvmwatch
