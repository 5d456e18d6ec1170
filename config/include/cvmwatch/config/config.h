// cvmwatch configuration: plain settings structs, a TOML loader (toml++), network presets and
// validation. The app maps these structs onto each module's own settings.
//
// File format (every key optional unless noted; unknown keys are errors, so typos surface):
//
//   preset = "devnet"            # devnet | sepolia | automata-testnet: the [chain] defaults
//   [chain]   name, chain_id, registry, follow = [addresses], start_block
//   [rpc]     url, cross_check = [urls], timeout_ms, connect_timeout_ms, max_message_bytes,
//             max_in_flight, max_batch, reconnect_initial_ms, reconnect_max_ms, ca_file,
//             [rpc.headers] Name = "value"
//   [indexer] confirmations (N or "finalized"), initial_getlogs_range, max_getlogs_range,
//             min_getlogs_range, live_window, max_live_batch, scan_all_transactions, use_trace,
//             reconcile, reorg_window, subscribe, poll_interval_ms, head_stall_seconds (0: off),
//             cross_check_interval_seconds
//   [pipeline] workers, max_queued_tasks, max_pending_blocks
//   [log]     format (auto | text | json), level (debug | info | warn | error)
//   [store]   path
//
// Secrets stay out of files: string values under [rpc] may be "${VAR}" (read from the
// environment), and CVMWATCH_RPC_URL, CVMWATCH_RPC_CROSS_CHECK (comma-separated) and
// CVMWATCH_RPC_AUTHORIZATION (→ header "Authorization") override the file.
// Functions are pure apart from LoadConfigFile (reads the file) and ProcessEnv (reads the
// process environment). Errors are kPrecondition / kIo with the file position.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::config {

struct ChainConfig {
  std::string name;
  std::uint64_t chain_id = 0;
  Address registry;
  std::vector<Address> follow;  // other contracts whose logs are followed
  std::uint64_t start_block = 0;
};

struct RpcConfig {
  std::string url;
  std::vector<std::string> cross_check;
  std::uint64_t timeout_ms = 10'000;
  std::uint64_t connect_timeout_ms = 5'000;
  std::uint64_t max_message_bytes = 64ull << 20;
  std::uint64_t max_in_flight = 128;
  std::uint64_t max_batch = 50;
  std::uint64_t reconnect_initial_ms = 200;
  std::uint64_t reconnect_max_ms = 30'000;
  std::string ca_file;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct IndexerConfig {
  bool finalized = false;          // confirmations = "finalized"
  std::uint64_t confirmations = 0;  // depth when !finalized
  std::uint64_t initial_getlogs_range = 1'000;
  std::uint64_t max_getlogs_range = 2'000;
  std::uint64_t min_getlogs_range = 1;
  std::uint64_t live_window = 64;
  std::uint64_t max_live_batch = 64;
  bool scan_all_transactions = false;
  bool use_trace = true;
  bool reconcile = true;
  std::uint64_t reorg_window = 256;
  bool subscribe = true;
  std::uint64_t poll_interval_ms = 2'000;
  std::uint64_t head_stall_seconds = 120;
  std::uint64_t cross_check_interval_seconds = 60;
};

struct PipelineConfig {
  std::uint64_t workers = 2;
  std::uint64_t max_queued_tasks = 64;
  std::uint64_t max_pending_blocks = 256;
};

struct LogConfig {
  std::string format = "auto";
  std::string level = "info";
};

struct StoreConfig {
  std::string path;
};

struct Config {
  std::string source;       // file name, for messages
  std::string preset;       // the preset it started from ("" if none)
  ChainConfig chain;
  RpcConfig rpc;
  IndexerConfig indexer;
  PipelineConfig pipeline;
  LogConfig log;
  StoreConfig store;
  std::vector<std::string> env_used;  // names of the environment variables that were applied
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup ProcessEnv();
EnvLookup NoEnv();

// Parses a TOML document (and the preset it names). Syntax errors, unknown keys, wrong types
// and malformed addresses / URLs fail here; cross-field rules are Validate's.
Result<Config> ParseConfig(std::string_view toml_text, std::string_view source_name, const EnvLookup& env);
Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env);
// A config made of a preset alone (plus the environment).
Result<Config> PresetConfig(std::string_view preset, const EnvLookup& env);

struct Problem {
  bool error = true;  // false: a warning
  std::string where;  // "rpc.url"
  std::string message;
};
std::vector<Problem> Validate(const Config& config);
bool HasErrors(const std::vector<Problem>& problems);

struct Preset {
  std::string_view name;
  std::string_view toml;
};
std::span<const Preset> Presets();
const Preset* FindPreset(std::string_view name);

// Strict address text: 0x + 40 hex digits; mixed case must be a valid EIP-55 checksum.
Result<Address> ParseAddress(std::string_view text);
std::string ChecksumAddress(const Address& address);  // EIP-55
// ws:// wss:// http:// https:// with a host and a valid port. Returns why not, or "".
std::string CheckUrl(std::string_view url);
// The URL without credentials, path or query (API keys often live there).
std::string RedactUrl(std::string_view url);

// A human-readable summary (secrets redacted), as check-config prints it.
std::string Describe(const Config& config);

}  // namespace cvmwatch::config
