// JsonWriter: a small streaming JSON writer (RFC 8259) for CLI output, API responses and exports.
// Strings are escaped (control characters as \u00XX; non-ASCII bytes passed through as given, so
// callers pass UTF-8). Misuse (a value where a key is expected) is a programming error caught by
// assert. Not thread-safe; one writer per output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cvmwatch {

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = false) : pretty_(pretty) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(std::int64_t value);
  JsonWriter& Uint(std::uint64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();
  void Newline();
  struct Level {
    bool is_object;
    bool empty = true;
    bool after_key = false;
  };
  bool pretty_;
  std::string out_;
  std::vector<Level> stack_;
};

std::string JsonEscape(std::string_view s);

}  // namespace cvmwatch
