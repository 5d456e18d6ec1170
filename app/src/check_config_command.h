// `cvmwatch check-config`: load and validate a configuration (addresses with EIP-55 checksums,
// URLs, ranges, cross-field rules), print a redacted summary and every problem. With --probe,
// also connect to the endpoint(s) and compare eth_chainId with the configured chain id.
// Exit codes: 0 valid, 2 invalid (or the probe failed / disagreed).
#pragma once

#include <iosfwd>
#include <string>

namespace cvmwatch::app {

struct CheckConfigOptions {
  std::string config_path;  // --config FILE
  std::string preset;       // --preset NAME
  std::string rpc_url;      // --rpc-url override
  bool probe = false;       // --probe
  bool list_presets = false;  // --list-presets
};

int RunCheckConfig(const CheckConfigOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cvmwatch::app
