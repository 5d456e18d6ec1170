// BlockFetcher (the decoder): from block headers and the range's logs to ChainBlocks.
//
// Events carry only the identity hash, so for each transaction with a registry event it takes
// the transaction from the block body: if tx.to is the registry proxy, tx.input is the call;
// otherwise it recovers the inner call with debug_traceTransaction (callTracer), walking the
// frames for CALLs into the proxy. If neither works it records an UnrecoverableSubmission
// (never drops the event). Reverted calls emit no events: they are found as transactions to the
// proxy in the block bodies it fetches (blocks with logs, or every block with
// scan_all_transactions), with the revert data from a trace when available. It follows
// Upgraded(address) to know the implementation behind each call; decoding picks the ABI
// generation by selector (core/registry.h). After building a block it reads getCvmConfig at
// that block for the identities the block touched (reconciliation).
//
// Every block body is fetched by hash and every log's blockHash is checked against its header:
// a chain that changed during the fetch yields a retryable kUnavailable ("changed during fetch")
// and nothing partial. Logs are de-duplicated by (block hash, log index). Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/reconcile.h"
#include "cvmwatch/indexer/rpc.h"
#include "cvmwatch/indexer/types.h"

namespace cvmwatch::indexer {

struct FetcherSettings {
  Address registry;
  std::vector<Address> extra_addresses;  // other followed contracts (TpmAttestation, verifier)
  bool scan_all_transactions = false;    // look for reverted registry calls in every block
  bool use_trace = true;                 // debug_traceTransaction for forwarded / reverted calls
  bool reconcile = true;                 // getCvmConfig reads for touched identities
  std::size_t max_upgrade_rereads = 1'000;  // identities re-read after an Upgraded event
};

// Time and work accounting, shared with the Indexer (RPC wait vs CPU).
struct IngestStats {
  double rpc_seconds = 0;     // waiting for the node
  double decode_seconds = 0;  // parsing, decoding, assembling (CPU)
  double apply_seconds = 0;   // in the sink
  std::uint64_t rpc_requests = 0;
  std::uint64_t blocks_fetched = 0;
  std::uint64_t blocks_applied = 0;
  std::uint64_t logs = 0;
  std::uint64_t events = 0;
  std::uint64_t calls = 0;
  std::uint64_t reverted_calls = 0;
  std::uint64_t traces = 0;
  std::uint64_t unrecoverable = 0;
  std::uint64_t reconcile_reads = 0;
  std::uint64_t reorgs = 0;
  std::uint64_t duplicate_logs = 0;
};

// Interprets one log of a followed contract.
RegistryEvent InterpretLog(const LogEntry& log);
// The function name for a selector: registry entry points and the proxy's admin calls.
std::string FunctionName(ByteView calldata);

class BlockFetcher {
 public:
  BlockFetcher(RpcClient& client, FetcherSettings settings, IngestStats* stats);

  // The implementation behind the proxy at `block_tag` (ERC-1967 slot); called at start and
  // after a rollback.
  Status InitImplementation(std::string_view block_tag);
  std::optional<Address> implementation() const { return implementation_; }
  void set_implementation(std::optional<Address> impl) { implementation_ = impl; }

  // Builds one ChainBlock per header, in order. `logs` are the followed-contract logs of the
  // headers' range (others are ignored). `known_identities` supplies the re-read set after an
  // Upgraded event.
  Result<std::vector<ChainBlock>> Build(const std::vector<BlockRef>& headers,
                                        const std::vector<LogEntry>& logs,
                                        const std::function<std::vector<Hash32>(std::size_t)>& known_identities = {});

  bool trace_supported() const { return trace_supported_; }

 private:
  struct Timed;
  std::vector<Result<std::string>> CallMany(const std::vector<RpcRequest>& requests);
  Result<std::string> Call(std::string_view method, std::string_view params);

  RpcClient& client_;
  FetcherSettings settings_;
  IngestStats* stats_;
  Reconciler reconciler_;
  std::optional<Address> implementation_;
  bool trace_supported_ = true;
  double rpc_in_build_ = 0;
};

}  // namespace cvmwatch::indexer
