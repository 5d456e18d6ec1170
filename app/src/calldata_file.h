// Reading a transaction input from a file: either the seed's JSON form {"calldata": "<base64>"}
// or a text file of hex (optional 0x, surrounding whitespace ignored). Files are bounded in size.
#pragma once

#include <string>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::app {

inline constexpr std::size_t kMaxCalldataFileBytes = 16 * 1024 * 1024;

Result<std::string> ReadWholeFile(const std::string& path, std::size_t max_bytes);
Result<Bytes> ReadCalldataFile(const std::string& path);

}  // namespace cvmwatch::app
