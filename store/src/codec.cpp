#include "cvmwatch/store/detail/codec.h"

#include <algorithm>

namespace cvmwatch::store::detail {

void RowWriter::Varint(std::uint64_t v) {
  while (v >= 0x80) {
    U8(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  U8(static_cast<std::uint8_t>(v));
}

void RowWriter::Blob(ByteView v) {
  v = v.first(std::min(v.size(), kMaxBlobBytes));
  Varint(v.size());
  Raw(v);
}

void RowWriter::Str(std::string_view s) {
  s = s.substr(0, std::min(s.size(), kMaxStringBytes));
  Varint(s.size());
  out_.append(s);
}

std::size_t RowWriter::Count(std::size_t n) {
  n = std::min(n, kMaxListItems);
  Varint(n);
  return n;
}

bool RowReader::Need(std::size_t n, std::string_view field) {
  if (failed_) return false;
  if (n > remaining()) {
    Fail(std::string(field) + " needs " + std::to_string(n) + " bytes, " +
         std::to_string(remaining()) + " left");
    return false;
  }
  return true;
}

void RowReader::Fail(std::string why) {
  if (failed_) return;
  failed_ = true;
  error_ = "corrupt " + what_ + ": " + why + " at byte " + std::to_string(pos_) + " of " +
           std::to_string(data_.size());
}

std::uint8_t RowReader::U8() {
  if (!Need(1, "byte")) return 0;
  return static_cast<std::uint8_t>(data_[pos_++]);
}

bool RowReader::Bool() {
  const std::uint8_t b = U8();
  if (b > 1) Fail("bool byte " + std::to_string(b));
  return b == 1;
}

std::uint64_t RowReader::Varint() {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (!Need(1, "varint")) return 0;
    const std::uint8_t b = static_cast<std::uint8_t>(data_[pos_++]);
    if (shift == 63 && b > 1) {
      Fail("varint overflows 64 bits");
      return 0;
    }
    v |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return v;
  }
  Fail("varint longer than 10 bytes");
  return 0;
}

std::uint32_t RowReader::Varint32() {
  const std::uint64_t v = Varint();
  if (v > 0xffffffffu) Fail("value " + std::to_string(v) + " exceeds 32 bits");
  return static_cast<std::uint32_t>(v);
}

std::uint16_t RowReader::Varint16() {
  const std::uint64_t v = Varint();
  if (v > 0xffffu) Fail("value " + std::to_string(v) + " exceeds 16 bits");
  return static_cast<std::uint16_t>(v);
}

Bytes RowReader::Blob(std::size_t max) {
  const std::uint64_t n = Varint();
  if (n > max) {
    Fail("blob of " + std::to_string(n) + " bytes exceeds the cap of " + std::to_string(max));
    return {};
  }
  if (!Need(n, "blob")) return {};
  Bytes out(data_.begin() + pos_, data_.begin() + pos_ + n);
  pos_ += n;
  return out;
}

std::string RowReader::Str(std::size_t max) {
  const std::uint64_t n = Varint();
  if (n > max) {
    Fail("string of " + std::to_string(n) + " bytes exceeds the cap of " + std::to_string(max));
    return {};
  }
  if (!Need(n, "string")) return {};
  std::string out(data_.substr(pos_, n));
  pos_ += n;
  return out;
}

std::size_t RowReader::Count(std::size_t max, std::size_t min_item_bytes) {
  const std::uint64_t n = Varint();
  if (n > max || n > remaining() / std::max<std::size_t>(min_item_bytes, 1)) {
    Fail("list of " + std::to_string(n) + " items (cap " + std::to_string(max) + ", " +
         std::to_string(remaining()) + " bytes left)");
    return 0;
  }
  return n;
}

std::uint8_t RowReader::Enum(std::uint8_t limit, std::string_view name) {
  const std::uint8_t v = U8();
  if (ok() && v >= limit) Fail(std::string(name) + " value " + std::to_string(v) + " out of range");
  return ok() ? v : 0;
}

void RowReader::ExpectVersion(std::uint8_t version) {
  const std::uint8_t v = U8();
  if (ok() && v != version) {
    Fail("format version " + std::to_string(v) + " (this build reads " + std::to_string(version) +
         ")");
  }
}

Status RowReader::Finish() {
  if (!failed_ && remaining() != 0) Fail(std::to_string(remaining()) + " trailing bytes");
  if (failed_) return MakeError(ErrorCode::kInvalidLength, error_);
  return OkStatus();
}

void AppendBe32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void AppendBe64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint32_t ReadBe32(std::string_view in, std::size_t pos) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<std::uint8_t>(in[pos + i]);
  return v;
}

std::uint64_t ReadBe64(std::string_view in, std::size_t pos) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<std::uint8_t>(in[pos + i]);
  return v;
}

}  // namespace cvmwatch::store::detail
