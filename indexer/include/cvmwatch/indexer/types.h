// What the indexer produces: blocks of observed registry calls, in chain order.
//
// Contract: plain value types (copyable, comparable where useful, no I/O), safe to move between
// threads. A ChainBlock is complete for its block: every registry call the indexer found in it
// (successful ones through their events, reverted ones through the block's transactions), the
// facts it could not resolve (unrecoverable submissions), implementation changes of the proxy,
// and the registry's own view of the touched identities at that block (reconciliation reads).
// Times are block timestamps (Unix seconds); the indexer never substitutes a wall clock.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/registry.h"

namespace cvmwatch::indexer {

// Calls that emitted no event (reverted, or a silent success) carry this log index.
inline constexpr std::uint32_t kNoLogIndex = std::numeric_limits<std::uint32_t>::max();

struct BlockRef {
  std::uint64_t number = 0;
  Hash32 hash;
  Hash32 parent_hash;
  std::uint64_t timestamp = 0;
  friend bool operator==(const BlockRef&, const BlockRef&) = default;
};

// The last block whose effects the sink holds (its state is "after this block").
struct Cursor {
  std::uint64_t block_number = 0;
  Hash32 block_hash;
  friend bool operator==(const Cursor&, const Cursor&) = default;
};

// One log as the node reported it (eth_getLogs / eth_subscribe("logs")).
struct LogEntry {
  Address address;
  std::vector<Hash32> topics;
  Bytes data;
  std::uint64_t block_number = 0;
  Hash32 block_hash;
  Hash32 tx_hash;
  std::uint32_t tx_index = 0;
  std::uint32_t log_index = 0;
  bool removed = false;
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// A log of a followed contract, interpreted (contracts.md §1.1, §1.2).
struct RegistryEvent {
  std::uint32_t log_index = 0;
  Address address;                       // the emitting contract
  Hash32 topic0;
  std::string name;                      // "CVMUpdated", "Upgraded", ... or "unknown"
  std::optional<Hash32> identity_hash;   // identity events (topics[1], or data[0:32] if unindexed)
  std::optional<Hash32> other_hash;      // CVMIdentityRotated: the second hash; TPM events: topic1
  std::optional<Address> implementation; // Upgraded(address)
  std::vector<Hash32> topics;            // raw
  Bytes data;                            // raw
  friend bool operator==(const RegistryEvent&, const RegistryEvent&) = default;
};

enum class ChainOutcome : std::uint8_t { kSuccess = 0, kReverted = 1 };
std::string_view ChainOutcomeName(ChainOutcome outcome);

// Where the registry calldata came from.
enum class CallSource : std::uint8_t {
  kTransactionInput = 0,  // tx.to is the registry proxy: tx.input is the call
  kCallTrace = 1,         // recovered from debug_traceTransaction (callTracer)
};
std::string_view CallSourceName(CallSource source);

// One call into the registry proxy.
struct ObservedCall {
  Hash32 tx_hash;
  std::uint32_t tx_index = 0;
  std::uint32_t log_index = kNoLogIndex;  // of the registry event this call emitted, if any
  Address from;    // the transaction's sender
  Address to;      // the transaction's recipient (the proxy, or the outer contract)
  Address caller;  // msg.sender of the registry frame (= from for direct calls)
  CallSource source = CallSource::kTransactionInput;
  Bytes calldata;                                // the registry call's input
  std::string function;                          // "attestCvm", "upgradeToAndCall", "" if unknown
  std::optional<registry::RegistryCall> decoded;  // a lifecycle call that decoded
  std::string decode_error;                      // why `decoded` is empty ("" when decoded)
  ChainOutcome outcome = ChainOutcome::kSuccess;
  std::optional<Bytes> revert_data;  // reverted: the revert data, when a trace gave it
  std::optional<Bytes> return_data;  // success through a trace: the call's output
  std::optional<Address> implementation;  // the proxy's implementation when the call ran, if known
  std::vector<RegistryEvent> events;      // this call's registry / TPM events, in log order
};

// A registry event whose call could not be recovered: never dropped, reported instead.
struct UnrecoverableSubmission {
  Hash32 tx_hash;
  std::uint32_t tx_index = 0;
  Address from;
  Address to;
  std::vector<RegistryEvent> events;
  std::string reason;  // e.g. "tx.to is not the registry and debug_traceTransaction failed: …"
};

// Upgraded(address) from the registry proxy: the ABI generation may change from here on.
struct ImplementationChange {
  Hash32 tx_hash;
  std::uint32_t log_index = 0;
  Address implementation;
};

// getCvmConfig(h) as the registry answered it at this block (the state after the whole block).
// Fields the layout lacks stay empty.
struct ChainConfig {
  Hash32 identity_hash;
  bool answered = false;    // false: the read failed (see error); nothing below is meaningful
  bool registered = false;  // false: the view reverted CVM_NOT_REGISTERED()
  std::string layout;       // "A2", "A1", "C", "D"
  std::uint8_t tee_type = 0;
  std::uint8_t cloud_type = 0;
  std::optional<std::uint64_t> tee_ttl;
  std::optional<std::uint64_t> tpm_ttl;
  std::optional<std::uint64_t> tee_recent_timestamp;
  std::optional<std::uint64_t> tpm_recent_timestamp;
  std::optional<std::uint64_t> expired_at;  // D
  std::optional<Hash32> measurement_hash;
  Bytes tee_attestation_output;
  std::optional<registry::IdentityKey> cvm_identity;
  std::optional<registry::IdentityKey> tpm_ak;
  std::optional<Bytes> revert_data;  // reverted reads (CVM_NOT_REGISTERED or another error)
  std::string error;                 // failed read or undecodable output
  friend bool operator==(const ChainConfig&, const ChainConfig&) = default;
};

struct ChainBlock {
  std::uint64_t block_number = 0;
  Hash32 block_hash;
  Hash32 parent_hash;
  std::uint64_t timestamp = 0;
  std::vector<ObservedCall> calls;                   // in execution order (tx index)
  std::vector<UnrecoverableSubmission> unrecoverable;
  std::vector<ImplementationChange> upgrades;
  std::vector<RegistryEvent> other_events;  // followed-contract logs tied to no registry call
  std::vector<ChainConfig> chain_state;     // reconciliation reads at this block
  // True when the block carries anything besides its header.
  bool HasActivity() const {
    return !calls.empty() || !unrecoverable.empty() || !upgrades.empty() ||
           !other_events.empty() || !chain_state.empty();
  }
  BlockRef Ref() const { return BlockRef{block_number, block_hash, parent_hash, timestamp}; }
};

// Liveness and chain-health facts (the alerts module turns them into alerts).
enum class LivenessKind : std::uint8_t {
  kHeadStalled = 0,           // the head did not advance for the configured time
  kHeadResumed = 1,           // it advanced again after a stall
  kEndpointDisagreement = 2,  // two endpoints report different hashes at the same height
  kSubscriptionSilent = 3,    // the head advanced by polling but no newHeads arrived: reconnected
  kReorg = 4,                 // blocks were rolled back
  kDisconnected = 5,          // the primary endpoint's connection dropped
  kReconnected = 6,
};
std::string_view LivenessKindName(LivenessKind kind);

struct LivenessFact {
  LivenessKind kind = LivenessKind::kHeadStalled;
  TimePoint at{};                 // wall clock of the observation
  std::uint64_t head = 0;         // the primary's head when observed
  std::optional<std::uint64_t> height;  // disagreement / reorg: the height concerned
  std::optional<Hash32> primary_hash;
  std::optional<Hash32> other_hash;
  std::uint64_t depth = 0;  // reorg: blocks rolled back
  std::string endpoint;     // the endpoint concerned (redacted URL)
  std::string detail;
};

// What /v1/status shows. `lag` = head - indexed (0 when not started).
struct SyncStatus {
  std::string phase = "starting";  // starting, backfill, live, stopped, failed
  std::uint64_t head = 0;
  std::optional<std::uint64_t> indexed;
  std::uint64_t lag = 0;
  std::uint64_t target = 0;  // the highest block the confirmation policy allows
  std::optional<std::uint64_t> finalized;
  bool connected = false;
  bool head_stalled = false;
  TimePoint last_head_change{};
  std::uint64_t reorgs = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t blocks_applied = 0;
  std::uint64_t calls_applied = 0;
  std::uint64_t unrecoverable = 0;
  std::string last_error;
};

}  // namespace cvmwatch::indexer
