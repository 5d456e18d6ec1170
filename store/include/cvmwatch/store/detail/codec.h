// Internal to the store (used by its tests): the compact binary format of stored rows.
//
// Rows start with a format version byte. Integers are LEB128 varints, hashes raw, blobs and
// strings length-prefixed. The reader never reads past its input: every length is checked
// against the bytes that remain and against a per-field cap, and the first failure sticks (later
// reads return zeros) so decoders stay linear and Finish() reports one clear error naming the
// row kind and byte offset. The writer caps blobs, strings and lists at the reader's limits (the
// blob cap is above any calldata a block can carry), so whatever is written can be read back.
// Not thread-safe (one instance per row).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::store::detail {

inline constexpr std::size_t kMaxBlobBytes = 4 << 20;     // identity keys, TPMT_PUBLIC, payloads
inline constexpr std::size_t kMaxStringBytes = 16 << 10;  // names, reasons, summaries
inline constexpr std::size_t kMaxListItems = 1024;        // checks, diffs

class RowWriter {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void Varint(std::uint64_t v);
  void Raw(ByteView v) { out_.append(reinterpret_cast<const char*>(v.data()), v.size()); }
  template <std::size_t N>
  void Fixed(const FixedBytes<N>& v) {
    Raw(v.view());
  }
  template <std::size_t N>
  void OptFixed(const std::optional<FixedBytes<N>>& v) {
    Bool(v.has_value());
    if (v) Fixed(*v);
  }
  void OptVarint(const std::optional<std::uint64_t>& v) {
    Bool(v.has_value());
    if (v) Varint(*v);
  }
  void Blob(ByteView v);         // length-prefixed, cut to kMaxBlobBytes
  void Str(std::string_view s);  // length-prefixed, cut to kMaxStringBytes
  // A list length, capped at kMaxListItems; returns the number of items to write.
  std::size_t Count(std::size_t n);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class RowReader {
 public:
  // `what` names the row in errors ("identities row 0x12ab…"). The reader does not own `data`.
  RowReader(std::string_view data, std::string what) : data_(data), what_(std::move(what)) {}

  std::uint8_t U8();
  bool Bool();
  std::uint64_t Varint();
  std::uint32_t Varint32();
  std::uint16_t Varint16();
  template <std::size_t N>
  FixedBytes<N> Fixed() {
    FixedBytes<N> out;
    if (Need(N, "fixed bytes")) {
      std::copy(data_.begin() + pos_, data_.begin() + pos_ + N, out.bytes.begin());
      pos_ += N;
    }
    return out;
  }
  template <std::size_t N>
  std::optional<FixedBytes<N>> OptFixed() {
    if (!Bool()) return std::nullopt;
    return Fixed<N>();
  }
  std::optional<std::uint64_t> OptVarint() {
    if (!Bool()) return std::nullopt;
    return Varint();
  }
  Bytes Blob(std::size_t max = kMaxBlobBytes);
  std::string Str(std::size_t max = kMaxStringBytes);
  // A list length; each item takes at least `min_item_bytes`, so a count the remaining bytes
  // cannot hold is corrupt (and never drives an allocation).
  std::size_t Count(std::size_t max = kMaxListItems, std::size_t min_item_bytes = 1);
  // An enum byte that must be < limit.
  std::uint8_t Enum(std::uint8_t limit, std::string_view name);
  // Fails unless the row starts with `version`.
  void ExpectVersion(std::uint8_t version);

  void Fail(std::string why);
  bool ok() const { return !failed_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  // Ok when every read succeeded and the whole row was consumed.
  Status Finish();

 private:
  bool Need(std::size_t n, std::string_view field);

  std::string_view data_;
  std::string what_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

// Big-endian key pieces: keys sort in numeric order.
void AppendBe32(std::string& out, std::uint32_t v);
void AppendBe64(std::string& out, std::uint64_t v);
std::uint32_t ReadBe32(std::string_view in, std::size_t pos);
std::uint64_t ReadBe64(std::string_view in, std::size_t pos);

}  // namespace cvmwatch::store::detail
