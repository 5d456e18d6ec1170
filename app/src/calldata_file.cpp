#include "calldata_file.h"

#include <simdjson.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "cvmwatch/core/base64.h"

namespace cvmwatch::app {

Result<std::string> ReadWholeFile(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  std::string content;
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    content.append(buf, static_cast<std::size_t>(in.gcount()));
    if (content.size() > max_bytes) {
      return MakeError(ErrorCode::kInvalidLength,
                       path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  if (in.bad()) return MakeError(ErrorCode::kIo, "read error on " + path);
  return content;
}

Result<Bytes> ReadCalldataFile(const std::string& path) {
  CVMW_ASSIGN_OR_RETURN(std::string content, ReadWholeFile(path, kMaxCalldataFileBytes));
  const auto first = content.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return MakeError(ErrorCode::kInvalidLength, path + " is empty");
  const auto last = content.find_last_not_of(" \t\r\n");
  const std::string_view text = std::string_view(content).substr(first, last - first + 1);
  if (text.front() != '{') {
    auto bytes = HexToBytes(text);
    if (!bytes.ok()) return MakeError(bytes.error().code, "hex calldata: " + bytes.error().message);
    return bytes;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(text.data(), text.size()).get(doc); err) {
    return MakeError(ErrorCode::kInvalidJson,
                     std::string("not valid JSON: ") + simdjson::error_message(err));
  }
  std::string_view b64;
  if (auto err = doc["calldata"].get_string().get(b64); err) {
    return MakeError(ErrorCode::kInvalidJson, "no string field \"calldata\" in the JSON object");
  }
  auto bytes = Base64Decode(b64);
  if (!bytes.ok()) return MakeError(bytes.error().code, "calldata base64: " + bytes.error().message);
  return bytes;
}

}  // namespace cvmwatch::app
