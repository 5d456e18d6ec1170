// `cvmwatch decode FILE...`: decode registry calls and print them as JSON (or one summary row per
// file with --summary). Exit code 0 when every file decoded, 1 otherwise (one error line each).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cvmwatch/core/registry.h"

namespace cvmwatch::app {

struct DecodeOptions {
  std::vector<std::string> files;
  bool summary = false;
  bool pretty = true;
};

// JSON rendering of one decoded call (stable field names; see docs/cli.md).
std::string RegistryCallToJson(const registry::RegistryCall& call, std::size_t calldata_size,
                               bool pretty);

int RunDecode(const DecodeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cvmwatch::app
