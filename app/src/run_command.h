// `cvmwatch run`: follow the chain with the indexer and hand blocks to a sink.
//
// Until the RocksDB store is wired in, the sink is an in-memory one that logs every registry
// call, unrecoverable submission, reconciliation difference and liveness fact, and keeps the
// derived identity state (written with --state-out on exit). SIGINT / SIGTERM stop cleanly
// after the current batch (a second signal exits at once). Exit codes: 0 stopped cleanly,
// 1 fatal runtime error (e.g. chain id mismatch), 2 configuration error.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "cvmwatch/config/config.h"
#include "cvmwatch/indexer/indexer.h"
#include "cvmwatch/indexer/rpc.h"
#include "cvmwatch/indexer/sink.h"

namespace cvmwatch::app {

struct RunOptions {
  std::string config_path;  // --config FILE
  std::string preset;       // --preset NAME (instead of a file)
  std::string rpc_url;      // --rpc-url: overrides the file and CVMWATCH_RPC_URL
  std::optional<std::uint64_t> from_block;   // --from-block: start when the sink has no cursor
  std::optional<std::uint64_t> until_block;  // --until-block: exit once this block is applied
  std::string log_format;   // --log-format auto|text|json (overrides [log])
  std::string log_level;    // --log-level
  std::string state_out;    // --state-out FILE: the in-memory state as JSON, written on exit
};

// Builds the sink from the configuration (e.g. the RocksDB store behind a VerifyingSink with
// [pipeline] settings). Without one, RunRun uses the in-memory sink (and --state-out works).
using SinkFactory = std::function<Result<std::unique_ptr<indexer::BlockSink>>(const config::Config&)>;

int RunRun(const RunOptions& options, std::ostream& out, std::ostream& err, const SinkFactory& make_sink = {});

// Loads --config / --preset, applies the environment and the command-line overrides.
Result<config::Config> LoadRunConfig(const std::string& config_path, const std::string& preset,
                                     const std::string& rpc_url_override);
// The mapping of config structs onto module settings.
indexer::IndexerSettings ToIndexerSettings(const config::Config& c);
indexer::RpcSettings ToRpcSettings(const config::RpcConfig& rpc, const std::string& url);

}  // namespace cvmwatch::app
