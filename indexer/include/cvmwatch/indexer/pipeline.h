// The verification pipeline: verify submissions on a bounded worker pool, apply results to the
// store strictly in block order.
//
//   Indexer ──ApplyBlock──► VerifyingSink<V> ──(tasks)──► BoundedWorkerPool (N threads)
//                                 │ applies finished blocks in order, on the caller's thread
//                                 ▼
//                           VerdictSink<V>::ApplyVerifiedBlock(block, verdicts)
//
// Contract:
//  * Backpressure, no unbounded queue: at most `max_queued_tasks` verification tasks wait or
//    run, and at most `max_pending_blocks` blocks are accepted but not yet applied; ApplyBlock
//    blocks the caller (the indexer, hence the RPC fetching) while either bound is reached.
//  * Order: blocks reach the inner sink in the order they were given, each with the verdicts of
//    its calls (std::nullopt for calls the selector skipped), however the workers interleave.
//  * ApplyBlock returns once the block is queued; an error of the inner sink (or a verify
//    function that threw) is returned by the next ApplyBlock / Flush and stops the indexer.
//    Flush, RollbackTo, LoadCursor and RecentBlocks first wait until every accepted block is
//    applied, so the inner sink's cursor is exact when the indexer reads it.
//  * VerifyFn runs on worker threads, concurrently: it must be thread-safe (the verifier is pure).
//  * One producer thread (the indexer's) calls the sink; the workers only run VerifyFn.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cvmwatch/indexer/sink.h"

namespace cvmwatch::indexer {

struct PipelineSettings {
  std::size_t workers = 2;
  std::size_t max_queued_tasks = 64;
  std::size_t max_pending_blocks = 256;
};

// A fixed set of threads and a bounded FIFO of tasks. Push blocks while the FIFO is full. The
// destructor runs the tasks already queued, then joins. Thread-safe.
class BoundedWorkerPool {
 public:
  BoundedWorkerPool(std::size_t workers, std::size_t max_queued)
      : max_queued_(max_queued == 0 ? 1 : max_queued) {
    for (std::size_t i = 0; i < (workers == 0 ? 1 : workers); ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }
  ~BoundedWorkerPool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (auto& t : threads_) t.join();
  }
  BoundedWorkerPool(const BoundedWorkerPool&) = delete;
  BoundedWorkerPool& operator=(const BoundedWorkerPool&) = delete;

  void Push(std::function<void()> task) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() + running_ < max_queued_ || stopping_; });
    queue_.push_back(std::move(task));
    if (queue_.size() + running_ > high_water_) high_water_ = queue_.size() + running_;
    lock.unlock();
    not_empty_.notify_one();
  }
  // The largest number of tasks queued or running at once so far.
  std::size_t high_water() const {
    std::lock_guard lock(mu_);
    return high_water_;
  }
  std::size_t workers() const { return threads_.size(); }

 private:
  void Work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
        ++running_;
      }
      task();
      {
        std::lock_guard lock(mu_);
        --running_;
      }
      not_full_.notify_one();
    }
  }

  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  std::size_t high_water_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// What a store implements when verification is on.
template <typename Verdict>
class VerdictSink {
 public:
  virtual ~VerdictSink() = default;
  virtual Result<std::optional<Cursor>> LoadCursor() = 0;
  // verdicts[i] belongs to block.calls[i] (nullopt: not verified).
  virtual Status ApplyVerifiedBlock(const ChainBlock& block,
                                    std::vector<std::optional<Verdict>> verdicts) = 0;
  virtual Status RollbackTo(std::uint64_t block_number) = 0;
  virtual std::vector<BlockRef> RecentBlocks(std::size_t n) = 0;
  virtual void OnLiveness(const LivenessFact& fact) = 0;
  virtual std::vector<Hash32> KnownIdentities(std::size_t max) {
    (void)max;
    return {};
  }
};

template <typename Verdict>
class VerifyingSink final : public BlockSink {
 public:
  using VerifyFn = std::function<Verdict(const ObservedCall&, TimePoint block_time)>;
  using SelectFn = std::function<bool(const ObservedCall&)>;

  // By default every decoded call is verified (reverted ones too: the chain refused them, and
  // "the chain rejected what verifies" is a mismatch as well).
  static bool VerifyDecoded(const ObservedCall& call) { return call.decoded.has_value(); }

  VerifyingSink(VerdictSink<Verdict>& inner, VerifyFn verify, PipelineSettings settings = {},
                SelectFn select = &VerifyingSink::VerifyDecoded)
      : inner_(inner),
        verify_(std::move(verify)),
        select_(std::move(select)),
        settings_(settings),
        pool_(std::make_unique<BoundedWorkerPool>(settings.workers, settings.max_queued_tasks)) {}

  ~VerifyingSink() override { pool_.reset(); }  // finish queued tasks before members go

  Result<std::optional<Cursor>> LoadCursor() override {
    CVMW_RETURN_IF_ERROR(Flush());
    return inner_.LoadCursor();
  }

  Status ApplyBlock(const ChainBlock& block) override {
    if (error_) return *error_;
    // Bound the accepted-but-unapplied blocks.
    while (pending_.size() >= std::max<std::size_t>(1, settings_.max_pending_blocks)) {
      ApplyReady(/*wait_for_head=*/true);
      if (error_) return *error_;
    }
    auto p = std::make_shared<Pending>();
    p->block = block;
    p->verdicts.resize(block.calls.size());
    std::vector<std::size_t> selected;
    for (std::size_t i = 0; i < block.calls.size(); ++i) {
      if (select_(block.calls[i])) selected.push_back(i);
    }
    {
      std::lock_guard lock(mu_);
      p->remaining = selected.size();
    }
    pending_.push_back(p);
    const TimePoint at = FromUnixSeconds(static_cast<std::int64_t>(block.timestamp));
    for (std::size_t i : selected) {
      pool_->Push([this, p, i, at] {
        std::optional<Verdict> v;
        std::string failure;
        try {
          v.emplace(verify_(p->block.calls[i], at));
        } catch (const std::exception& e) {
          failure = e.what();
        } catch (...) {
          failure = "unknown exception";
        }
        {
          std::lock_guard lock(mu_);
          if (v) p->verdicts[i] = std::move(v);
          if (!failure.empty() && p->failure.empty()) p->failure = std::move(failure);
          --p->remaining;
        }
        done_.notify_all();
      });
      // Apply what finished meanwhile, so the inner sink keeps up.
      ApplyReady(false);
      if (error_) return *error_;
    }
    ApplyReady(false);
    if (error_) return *error_;
    return OkStatus();
  }

  Status Flush() override {
    while (!pending_.empty() && !error_) ApplyReady(true);
    if (error_) return *error_;
    return OkStatus();
  }

  Status RollbackTo(std::uint64_t block_number) override {
    CVMW_RETURN_IF_ERROR(Flush());
    return inner_.RollbackTo(block_number);
  }

  std::vector<BlockRef> RecentBlocks(std::size_t n) override {
    (void)Flush();
    return inner_.RecentBlocks(n);
  }

  void OnLiveness(const LivenessFact& fact) override { inner_.OnLiveness(fact); }

  std::vector<Hash32> KnownIdentities(std::size_t max) override {
    (void)Flush();
    return inner_.KnownIdentities(max);
  }

  std::size_t pending_blocks() const { return pending_.size(); }
  std::size_t task_high_water() const { return pool_->high_water(); }

 private:
  struct Pending {
    ChainBlock block;
    std::vector<std::optional<Verdict>> verdicts;
    std::size_t remaining = 0;  // guarded by mu_
    std::string failure;        // guarded by mu_
  };

  // Applies finished blocks from the head of the queue, in order. With wait_for_head, first
  // waits until the head block is finished.
  void ApplyReady(bool wait_for_head) {
    while (!pending_.empty() && !error_) {
      auto& head = pending_.front();
      {
        std::unique_lock lock(mu_);
        if (wait_for_head) {
          done_.wait(lock, [&] { return head->remaining == 0; });
        } else if (head->remaining != 0) {
          return;
        }
        if (!head->failure.empty()) {
          error_ = MakeError(ErrorCode::kPrecondition,
                             "verification of block " + std::to_string(head->block.block_number) +
                                 " threw: " + head->failure);
          return;
        }
      }
      Status s = inner_.ApplyVerifiedBlock(head->block, std::move(head->verdicts));
      if (!s.ok()) {
        error_ = s.error();
        return;
      }
      pending_.pop_front();
      wait_for_head = false;
    }
  }

  VerdictSink<Verdict>& inner_;
  VerifyFn verify_;
  SelectFn select_;
  PipelineSettings settings_;
  std::mutex mu_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<Pending>> pending_;  // producer thread only
  std::optional<Error> error_;
  std::unique_ptr<BoundedWorkerPool> pool_;
};

}  // namespace cvmwatch::indexer
