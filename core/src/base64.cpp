#include "cvmwatch/core/base64.h"

#include <array>

namespace cvmwatch {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> MakeReverse() {
  std::array<int, 256> rev{};
  for (auto& v : rev) v = -1;
  for (int i = 0; i < 64; ++i) rev[static_cast<unsigned char>(kAlphabet[i])] = i;
  return rev;
}
constexpr std::array<int, 256> kReverse = MakeReverse();

}  // namespace

Result<Bytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return MakeError(ErrorCode::kInvalidBase64,
                     "length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int vals[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        vals[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || kReverse[static_cast<unsigned char>(c)] < 0) {
        return MakeError(ErrorCode::kInvalidBase64,
                         std::string(c == '=' ? "misplaced padding" : "invalid character") +
                             " at position " + std::to_string(i + j));
      }
      vals[j] = kReverse[static_cast<unsigned char>(c)];
    }
    const std::uint32_t triple = static_cast<std::uint32_t>(vals[0]) << 18 |
                                 static_cast<std::uint32_t>(vals[1]) << 12 |
                                 static_cast<std::uint32_t>(vals[2]) << 6 |
                                 static_cast<std::uint32_t>(vals[3]);
    // Bits that the padding drops must be zero, or two texts would decode to the same bytes.
    if ((pad == 1 && (triple & 0xff) != 0) || (pad == 2 && (triple & 0xffff) != 0)) {
      return MakeError(ErrorCode::kInvalidBase64,
                       "non-zero bits before padding at position " + std::to_string(i));
    }
    out.push_back(static_cast<std::uint8_t>(triple >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(triple >> 8));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(triple));
  }
  return out;
}

std::string Base64Encode(ByteView bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t t = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
    out.push_back(kAlphabet[t >> 18 & 63]);
    out.push_back(kAlphabet[t >> 12 & 63]);
    out.push_back(kAlphabet[t >> 6 & 63]);
    out.push_back(kAlphabet[t & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t t = bytes[i] << 16;
    if (rest == 2) t |= bytes[i + 1] << 8;
    out.push_back(kAlphabet[t >> 18 & 63]);
    out.push_back(kAlphabet[t >> 12 & 63]);
    out.push_back(rest == 2 ? kAlphabet[t >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace cvmwatch
