// Locating ../shared/testdata and reading seed vectors in tests. Tests that need the shared
// folder skip with a clear message when it is absent: the project builds and tests on its own.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "cvmwatch/core/base64.h"
#include "cvmwatch/core/bytes.h"

namespace cvmwatch::testing {

inline std::optional<std::filesystem::path> TestdataDir() {
  std::filesystem::path dir = CVMWATCH_TESTDATA_DIR;
  if (const char* env = std::getenv("CVMWATCH_TESTDATA"); env && *env) dir = env;
  if (std::filesystem::is_directory(dir / "seed")) return dir;
  return std::nullopt;
}

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline Bytes ReadBinary(const std::filesystem::path& path) {
  const std::string s = ReadText(path);
  return Bytes(s.begin(), s.end());
}

// The seed's {"calldata": "<base64>"} files: a fixed, simple shape, so a plain scan suffices here.
inline Bytes ReadSeedCalldata(const std::filesystem::path& path) {
  const std::string text = ReadText(path);
  const std::string key = "\"calldata\"";
  auto k = text.find(key);
  auto open = text.find('"', text.find(':', k) + 1);
  auto close = text.find('"', open + 1);
  auto decoded = Base64Decode(std::string_view(text).substr(open + 1, close - open - 1));
  EXPECT_TRUE(decoded.ok()) << path;
  return decoded.ok() ? *decoded : Bytes{};
}

}  // namespace cvmwatch::testing

#define CVMWATCH_REQUIRE_TESTDATA(var)                                                       \
  const auto var##_opt = ::cvmwatch::testing::TestdataDir();                                 \
  if (!var##_opt) GTEST_SKIP() << "shared testdata not found (" CVMWATCH_TESTDATA_DIR        \
                                  "; set CVMWATCH_TESTDATA): skipping real-data test";       \
  const std::filesystem::path var = *var##_opt
