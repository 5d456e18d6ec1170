// Indexer: follows the chain from the sink's cursor to the head and keeps following it.
//
//  start-up   wait for the endpoint, confirm eth_chainId (a mismatch stops with kPrecondition),
//             load the cursor and recent blocks from the sink, check that the cursor block is
//             still canonical (a reorg while we were down is rolled back first).
//  backfill   while far behind: eth_getLogs over adaptive ranges (LogSource); headers only for
//             blocks with logs and for each range's last block, which moves the cursor through
//             empty ranges; the cursor block is re-checked before each range.
//  live       near the head: every block header, parent hashes checked against the tracker
//             (BlockTracker), logs of the short range, one ChainBlock per block.
//  hints      eth_subscribe newHeads + logs after every (re)connect. They only wake the loop
//             and flag heights to re-check: a newHeads at or below the cursor with another hash,
//             a removed:true log of a block we applied. Nothing is applied from a notification;
//             everything comes from the cursor forward, so a reconnect misses nothing.
//  reorg      walk back to the newest held block that is still canonical, RollbackTo it, then
//             re-apply the canonical blocks. Deeper than the tracker window: stop (kPrecondition)
//             rather than guess. A node that merely lacks our newest blocks (lagging) is not a
//             reorg: the walk needs a positive hash mismatch.
//  liveness   head stalled for head_stall_timeout (wall clock) → kHeadStalled (kHeadResumed when it
//             moves); newHeads silent while polling sees progress → reconnect + kSubscriptionSilent;
//             cross-check endpoints disagreeing on the hash at our cursor → kEndpointDisagreement.
//
// Errors: retryable ones (node unavailable, timeouts, chain changing during a fetch) are retried
// with exponential backoff and jitter, forever; the status shows the last one. Non-retryable
// ones (chain id mismatch, sink errors, deep reorg) end Run() with that error.
// Threading: Run() blocks its caller; Stop(), GetSyncStatus() and Stats() may be called from any
// thread. Stop() makes Run() return after the current batch (the sink is flushed).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/block_tracker.h"
#include "cvmwatch/indexer/fetcher.h"
#include "cvmwatch/indexer/log_source.h"
#include "cvmwatch/indexer/rpc.h"
#include "cvmwatch/indexer/sink.h"

namespace cvmwatch::indexer {

struct IndexerSettings {
  std::uint64_t chain_id = 0;  // 0: not checked
  std::string network;         // for messages ("devnet", "sepolia")
  Address registry;
  std::vector<Address> extra_addresses;  // other followed contracts (TpmAttestation, verifier)
  std::uint64_t start_block = 0;         // used when the sink has no cursor
  ConfirmationPolicy confirmations;
  LogRangeSettings log_ranges;
  std::uint64_t live_window = 64;     // a gap at most this large is followed block by block
  std::uint64_t max_live_batch = 64;  // blocks per live step (and per scan_all step)
  bool scan_all_transactions = false;
  bool use_trace = true;
  bool reconcile = true;
  std::size_t reorg_window = 256;
  bool subscribe = true;
  std::chrono::milliseconds poll_interval{2'000};
  std::chrono::milliseconds head_stall_timeout{120'000};
  std::chrono::milliseconds cross_check_interval{60'000};
  std::chrono::milliseconds retry_initial{250};
  std::chrono::milliseconds retry_max{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::optional<std::uint64_t> stop_at_block;  // Run() returns once this block is applied
  std::size_t max_upgrade_rereads = 1'000;
  std::size_t hint_queue_capacity = 4'096;
};

struct Progress {
  std::string phase;
  std::uint64_t start = 0;    // first block of this run
  std::uint64_t indexed = 0;  // cursor
  std::uint64_t target = 0;
  std::uint64_t head = 0;
  double blocks_per_second = 0;
  double eta_seconds = -1;  // < 0: unknown
};

class Indexer {
 public:
  Indexer(IndexerSettings settings, RpcClient& client, BlockSink& sink, const Clock& clock,
          std::vector<RpcClient*> cross_check = {});
  ~Indexer();
  Indexer(const Indexer&) = delete;
  Indexer& operator=(const Indexer&) = delete;

  Status Run();
  void Stop();
  bool stop_requested() const { return stop_.load(); }

  SyncStatus GetSyncStatus() const;
  IngestStats Stats() const;
  // Called on the Run() thread after every applied batch (keep it cheap).
  void SetProgressHandler(std::function<void(const Progress&)> handler);

 private:
  struct Hints;  // notification queue shared with the client's I/O thread

  Status Startup();
  Status Step();
  Status EnsureSubscribed();
  void DrainHints(std::set<std::uint64_t>& suspicious, bool& overflow);
  Result<std::uint64_t> FetchHead();
  std::uint64_t Target(std::uint64_t head) const;
  Status Backfill(std::uint64_t from, std::uint64_t target);
  Status Live(std::uint64_t from, std::uint64_t to);
  Status ApplyBlocks(std::vector<ChainBlock>& blocks);
  Result<std::vector<BlockRef>> FetchHeaders(const std::vector<std::uint64_t>& numbers, bool allow_missing);
  Result<std::optional<Hash32>> CanonicalHash(std::uint64_t number);
  Status CheckHeight(std::uint64_t number);
  Status HandleReorg(std::uint64_t from_number, std::string_view why);
  void CheckStall();
  void CrossCheck();
  void Fact(LivenessFact fact);
  void WaitForWork(std::chrono::milliseconds timeout);
  bool Sleep(std::chrono::milliseconds d);  // false when stopped
  void Report(bool force);
  void PublishStats();
  void UpdateStatus(const std::function<void(SyncStatus&)>& f);
  std::optional<std::uint64_t> CursorNumber() const;

  IndexerSettings settings_;
  RpcClient& client_;
  BlockSink& sink_;
  const Clock& clock_;
  std::vector<RpcClient*> cross_check_;
  std::shared_ptr<Hints> hints_;

  IngestStats stats_;  // Run() thread only
  mutable std::mutex stats_mu_;
  IngestStats stats_snapshot_;  // published after each step
  LogSource log_source_;
  BlockFetcher fetcher_;
  BlockTracker tracker_;

  std::atomic<bool> stop_{false};

  std::optional<Cursor> cursor_;
  std::uint64_t next_ = 0;
  std::uint64_t head_ = 0;
  std::uint64_t last_head_seen_ = 0;
  TimePoint last_head_change_{};
  bool stalled_ = false;
  std::uint64_t subscribed_generation_ = 0;
  std::string heads_sub_;
  std::string logs_sub_;
  std::uint64_t head_hints_ = 0;          // newHeads received since the last poll advance check
  int head_advances_without_hint_ = 0;
  std::chrono::steady_clock::time_point last_hint_{};
  TimePoint last_cross_check_{};
  TimePoint last_finalized_poll_{};
  std::optional<std::uint64_t> finalized_;
  std::mt19937_64 rng_{std::random_device{}()};

  mutable std::mutex status_mu_;
  SyncStatus status_;
  std::function<void(const Progress&)> progress_;
  std::uint64_t run_start_block_ = 0;
  std::chrono::steady_clock::time_point rate_t0_{};
  std::uint64_t rate_b0_ = 0;
  double rate_ = 0;
  std::chrono::steady_clock::time_point last_report_{};
};

}  // namespace cvmwatch::indexer
