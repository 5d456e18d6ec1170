// MemorySink: an in-memory BlockSink. It keeps the cursor, a window of recent blocks, every block
// with activity, and a derived per-identity state (A/C two-window rules, contracts.md §2.3-2.6)
// that it compares with the chain's own getCvmConfig answers (reconciliation differences).
// Used by `cvmwatch run` until the RocksDB store is wired, and by tests as the seam double.
//
// Rollback keeps the blocks at or below the target and rebuilds the derived state from them.
// Thread-safe (one mutex): tests read it while the indexer writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/indexer/sink.h"

namespace cvmwatch::indexer {

struct DerivedIdentity {
  Hash32 identity_hash;
  bool registered = false;
  bool from_chain_only = false;  // first learnt from a reconciliation read (no decoded call)
  std::uint8_t tee_type = 0;
  std::uint8_t cloud_type = 0;
  std::uint64_t tee_ttl = 0;
  std::uint64_t tpm_ttl = 0;
  std::uint64_t tee_recent_timestamp = 0;
  std::uint64_t tpm_recent_timestamp = 0;
  std::uint64_t nonce = 0;
  std::optional<Hash32> measurement_hash;  // keccak256(return data), when a trace gave it
  std::optional<Hash32> rotated_to;
  std::optional<Hash32> rotated_from;
  std::uint64_t last_block = 0;
  std::string last_function;
  std::uint32_t calls = 0;
  std::optional<ChainConfig> chain;  // the latest reconciliation read
  friend bool operator==(const DerivedIdentity&, const DerivedIdentity&) = default;
};

struct ReconcileDiff {
  std::uint64_t block_number = 0;
  Hash32 identity_hash;
  std::string field;
  std::string derived;
  std::string chain;
};

class MemorySink : public BlockSink {
 public:
  explicit MemorySink(std::size_t recent_window = 512) : recent_window_(recent_window) {}

  Result<std::optional<Cursor>> LoadCursor() override;
  Status ApplyBlock(const ChainBlock& block) override;
  Status RollbackTo(std::uint64_t block_number) override;
  std::vector<BlockRef> RecentBlocks(std::size_t n) override;
  void OnLiveness(const LivenessFact& fact) override;
  std::vector<Hash32> KnownIdentities(std::size_t max) override;

  // Observers (copies, under the lock).
  std::optional<Cursor> cursor() const;
  std::vector<ChainBlock> activity_blocks() const;  // blocks with activity, in order
  std::map<Hash32, DerivedIdentity> identities() const;
  std::vector<ReconcileDiff> diffs() const;
  std::vector<LivenessFact> liveness() const;
  std::uint64_t applied_count() const;   // ApplyBlock calls that succeeded
  std::uint64_t rollback_count() const;
  // A canonical text of the indexed content (activity blocks, calls, events, unrecoverable
  // facts, derived identities). Two sinks that indexed the same canonical chain give the same
  // fingerprint, whatever the batching, restarts or reorgs on the way.
  std::string Fingerprint() const;
  // Waits (bounded) until pred(*this-ish state) holds; checked after every change.
  bool WaitFor(const std::function<bool(const MemorySink&)>& pred, std::chrono::milliseconds timeout) const;

  // Called after each applied block, outside the lock (e.g. a logger). Optional.
  void SetApplyObserver(std::function<void(const ChainBlock&)> observer);
  // Test hook: fail the next ApplyBlock calls with this error (for error-path tests).
  void FailNextApply(std::optional<Error> error);

 private:
  void Derive(const ChainBlock& block);  // lock held
  void Rebuild();                        // lock held

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::size_t recent_window_;
  std::optional<Cursor> cursor_;
  std::deque<BlockRef> recent_;
  std::vector<ChainBlock> activity_;
  std::map<Hash32, DerivedIdentity> identities_;
  std::vector<ReconcileDiff> diffs_;
  std::vector<LivenessFact> liveness_;
  std::uint64_t applied_ = 0;
  std::uint64_t rollbacks_ = 0;
  std::function<void(const ChainBlock&)> observer_;
  std::optional<Error> fail_next_;
};

}  // namespace cvmwatch::indexer
