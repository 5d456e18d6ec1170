#include "cvmwatch/core/u256.h"

#include <algorithm>

namespace cvmwatch {

U256 U256::FromBe32(ByteView word32) {
  U256 out;
  for (int limb = 0; limb < 4; ++limb) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | word32[(3 - limb) * 8 + i];
    out.limbs_[limb] = v;
  }
  return out;
}

Result<U256> U256::FromBeBytes(ByteView be) {
  if (be.size() > 32) {
    return MakeError(ErrorCode::kInvalidLength,
                     "integer of " + std::to_string(be.size()) + " bytes exceeds 256 bits");
  }
  std::array<std::uint8_t, 32> word{};
  std::copy(be.begin(), be.end(), word.begin() + (32 - be.size()));
  return FromBe32(word);
}

U256 U256::Max() {
  U256 out;
  out.limbs_ = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
  return out;
}

Result<U256> U256::FromString(std::string_view text) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidLength, "empty integer");
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::string digits(text.substr(2));
    if (digits.size() > 64) return MakeError(ErrorCode::kInvalidLength, "hex integer exceeds 256 bits");
    if (digits.size() % 2) digits.insert(digits.begin(), '0');
    auto raw = HexToBytes(digits);
    if (!raw.ok()) return raw.error();
    return FromBeBytes(*raw);
  }
  U256 out;
  const U256 ten = 10;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') {
      return MakeError(ErrorCode::kInvalidLength,
                       "non-digit '" + std::string(1, c) + "' at position " + std::to_string(i));
    }
    // out = out * 10 + digit, detecting overflow.
    U256 times10;
    unsigned __int128 carry = 0;
    for (int l = 0; l < 4; ++l) {
      unsigned __int128 p = static_cast<unsigned __int128>(out.limbs_[l]) * 10 + carry;
      times10.limbs_[l] = static_cast<std::uint64_t>(p);
      carry = p >> 64;
    }
    if (carry != 0) return MakeError(ErrorCode::kInvalidLength, "decimal integer exceeds 256 bits");
    const U256 next = times10 + U256(static_cast<std::uint64_t>(c - '0'));
    if (next < times10) return MakeError(ErrorCode::kInvalidLength, "decimal integer exceeds 256 bits");
    out = next;
  }
  (void)ten;
  return out;
}

std::array<std::uint8_t, 32> U256::ToBe32() const {
  std::array<std::uint8_t, 32> out{};
  for (int limb = 0; limb < 4; ++limb) {
    for (int i = 0; i < 8; ++i) {
      out[(3 - limb) * 8 + i] = static_cast<std::uint8_t>(limbs_[limb] >> (56 - 8 * i));
    }
  }
  return out;
}

std::string U256::ToDecimal() const {
  if (IsZero()) return "0";
  std::array<std::uint64_t, 4> v = limbs_;
  std::string digits;
  auto is_zero = [&] { return v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0; };
  while (!is_zero()) {
    unsigned __int128 rem = 0;
    for (int l = 3; l >= 0; --l) {
      const unsigned __int128 cur = rem << 64 | v[l];
      v[l] = static_cast<std::uint64_t>(cur / 10);
      rem = cur % 10;
    }
    digits.push_back(static_cast<char>('0' + static_cast<int>(rem)));
  }
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::string U256::ToHex() const {
  const auto be = ToBe32();
  std::string hex = cvmwatch::ToHex(ByteView(be.data(), be.size()), false);
  const auto first = hex.find_first_not_of('0');
  return "0x" + (first == std::string::npos ? std::string("0") : hex.substr(first));
}

unsigned U256::BitLength() const {
  for (int l = 3; l >= 0; --l) {
    if (limbs_[l] != 0) return static_cast<unsigned>(l * 64 + 64 - __builtin_clzll(limbs_[l]));
  }
  return 0;
}

U256 operator+(const U256& a, const U256& b) {
  U256 out;
  unsigned __int128 carry = 0;
  for (int l = 0; l < 4; ++l) {
    const unsigned __int128 s = static_cast<unsigned __int128>(a.limbs_[l]) + b.limbs_[l] + carry;
    out.limbs_[l] = static_cast<std::uint64_t>(s);
    carry = s >> 64;
  }
  return out;
}

U256 operator-(const U256& a, const U256& b) {
  U256 out;
  std::uint64_t borrow = 0;
  for (int l = 0; l < 4; ++l) {
    const std::uint64_t bl = b.limbs_[l] + borrow;
    const bool next_borrow = (bl < borrow) || (a.limbs_[l] < bl);
    out.limbs_[l] = a.limbs_[l] - bl;
    borrow = next_borrow ? 1 : 0;
  }
  return out;
}

std::strong_ordering operator<=>(const U256& a, const U256& b) {
  for (int l = 3; l >= 0; --l) {
    if (a.limbs_[l] != b.limbs_[l]) return a.limbs_[l] <=> b.limbs_[l];
  }
  return std::strong_ordering::equal;
}

}  // namespace cvmwatch
