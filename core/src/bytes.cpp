#include "cvmwatch/core/bytes.h"

namespace cvmwatch {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<Bytes> HexToBytes(std::string_view hex) {
  std::size_t start = 0;
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) start = 2;
  const std::size_t digits = hex.size() - start;
  if (digits % 2 != 0) {
    return MakeError(ErrorCode::kInvalidHex,
                     "odd number of hex digits (" + std::to_string(digits) + ")");
  }
  Bytes out;
  out.reserve(digits / 2);
  for (std::size_t i = start; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      const std::size_t bad = hi < 0 ? i : i + 1;
      const unsigned char ch = static_cast<unsigned char>(hex[bad]);
      std::string shown = (ch >= 0x20 && ch < 0x7f) ? std::string(1, static_cast<char>(ch))
                                                    : "\\x" + ToHex(ByteView(&ch, 1), false);
      return MakeError(ErrorCode::kInvalidHex,
                       "non-hex character '" + shown + "' at position " + std::to_string(bad));
    }
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string ToHex(ByteView bytes, bool with_prefix) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2 + 2);
  if (with_prefix) out += "0x";
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace cvmwatch
