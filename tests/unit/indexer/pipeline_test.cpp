#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "cvmwatch/indexer/pipeline.h"
#include "fake_chain.h"

namespace cvmwatch::indexer {
namespace {

using cvmwatch::testing::H;

struct Verdict {
  std::uint64_t block = 0;
  std::uint32_t tx_index = 0;
  std::size_t calldata_size = 0;
};

// Records what it is given, in order.
class RecordingSink final : public VerdictSink<Verdict> {
 public:
  Result<std::optional<Cursor>> LoadCursor() override {
    std::lock_guard lock(mu);
    return cursor;
  }
  Status ApplyVerifiedBlock(const ChainBlock& b, std::vector<std::optional<Verdict>> verdicts) override {
    std::lock_guard lock(mu);
    if (fail_at && b.block_number == *fail_at) return MakeError(ErrorCode::kIo, "disk full");
    blocks.push_back(b.block_number);
    for (auto& v : verdicts) all.push_back(v);
    cursor = Cursor{b.block_number, b.block_hash};
    return OkStatus();
  }
  Status RollbackTo(std::uint64_t n) override {
    std::lock_guard lock(mu);
    rolled_back_to = n;
    return OkStatus();
  }
  std::vector<BlockRef> RecentBlocks(std::size_t) override { return {}; }
  void OnLiveness(const LivenessFact&) override {}

  std::mutex mu;
  std::vector<std::uint64_t> blocks;
  std::vector<std::optional<Verdict>> all;
  std::optional<Cursor> cursor;
  std::optional<std::uint64_t> fail_at;
  std::optional<std::uint64_t> rolled_back_to;
};

ChainBlock BlockWithCalls(std::uint64_t n, std::size_t calls) {
  ChainBlock b;
  b.block_number = n;
  b.block_hash = H(n);
  b.timestamp = 1000 + n;
  for (std::size_t i = 0; i < calls; ++i) {
    ObservedCall c;
    c.tx_index = static_cast<std::uint32_t>(i);
    c.calldata = Bytes(n % 13 + i, 0x01);
    c.decoded = registry::RegistryCall(registry::TtlCall{});
    b.calls.push_back(std::move(c));
  }
  return b;
}

TEST(Pipeline, AppliesInBlockOrderWhateverTheWorkersDo) {
  RecordingSink inner;
  std::atomic<int> concurrent{0}, max_concurrent{0};
  auto verify = [&](const ObservedCall& c, TimePoint t) {
    const int now = ++concurrent;
    int prev = max_concurrent.load();
    while (now > prev && !max_concurrent.compare_exchange_weak(prev, now)) {
    }
    thread_local std::mt19937 rng(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
    --concurrent;
    return Verdict{static_cast<std::uint64_t>(ToUnixSeconds(t) - 1000), c.tx_index, c.calldata.size()};
  };
  {
    VerifyingSink<Verdict> sink(inner, verify, PipelineSettings{3, 8, 16});
    for (std::uint64_t n = 1; n <= 200; ++n) {
      ASSERT_TRUE(sink.ApplyBlock(BlockWithCalls(n, n % 4)).ok());
      EXPECT_LE(sink.pending_blocks(), 16u);
    }
    ASSERT_TRUE(sink.Flush().ok());
    EXPECT_LE(sink.task_high_water(), 8u);  // the bound held: never more than 8 tasks at once
  }
  ASSERT_EQ(inner.blocks.size(), 200u);
  for (std::size_t i = 0; i < inner.blocks.size(); ++i) EXPECT_EQ(inner.blocks[i], i + 1);
  std::size_t k = 0;
  for (std::uint64_t n = 1; n <= 200; ++n) {
    for (std::size_t i = 0; i < n % 4; ++i, ++k) {
      ASSERT_TRUE(inner.all[k]);
      EXPECT_EQ(inner.all[k]->block, n);  // verdict i belongs to call i of block n
      EXPECT_EQ(inner.all[k]->tx_index, i);
    }
  }
  EXPECT_LE(max_concurrent.load(), 3);
  EXPECT_GE(max_concurrent.load(), 1);
}

TEST(Pipeline, BackpressureBlocksTheProducerWhileWorkersAreBusy) {
  RecordingSink inner;
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  auto verify = [&](const ObservedCall&, TimePoint) {
    ++started;
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Verdict{};
  };
  VerifyingSink<Verdict> sink(inner, verify, PipelineSettings{1, 2, 100});
  std::atomic<int> accepted{0};
  std::thread producer([&] {
    for (std::uint64_t n = 1; n <= 5; ++n) {
      EXPECT_TRUE(sink.ApplyBlock(BlockWithCalls(n, 1)).ok());
      ++accepted;
    }
  });
  // With one worker stuck and room for 2 tasks, the producer gets at most 2 blocks in.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (started.load() < 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_LE(accepted.load(), 2);
  release = true;
  producer.join();
  ASSERT_TRUE(sink.Flush().ok());
  EXPECT_EQ(inner.blocks.size(), 5u);
}

TEST(Pipeline, SkippedCallsGetNoVerdictAndEmptyBlocksPassThrough) {
  RecordingSink inner;
  auto verify = [](const ObservedCall& c, TimePoint) { return Verdict{0, c.tx_index, 0}; };
  VerifyingSink<Verdict> sink(inner, verify);
  ChainBlock b = BlockWithCalls(1, 3);
  b.calls[1].decoded.reset();
  ASSERT_TRUE(sink.ApplyBlock(b).ok());
  ASSERT_TRUE(sink.ApplyBlock(BlockWithCalls(2, 0)).ok());
  ASSERT_TRUE(sink.Flush().ok());
  ASSERT_EQ(inner.all.size(), 3u);
  EXPECT_TRUE(inner.all[0]);
  EXPECT_FALSE(inner.all[1]);
  EXPECT_TRUE(inner.all[2]);
  EXPECT_EQ(inner.blocks, (std::vector<std::uint64_t>{1, 2}));
}

TEST(Pipeline, AnInnerErrorStopsTheStreamAndIsReported) {
  RecordingSink inner;
  inner.fail_at = 3;
  auto verify = [](const ObservedCall&, TimePoint) { return Verdict{}; };
  VerifyingSink<Verdict> sink(inner, verify, PipelineSettings{2, 4, 4});
  Status last = OkStatus();
  for (std::uint64_t n = 1; n <= 10 && last.ok(); ++n) last = sink.ApplyBlock(BlockWithCalls(n, 1));
  if (last.ok()) last = sink.Flush();
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().message, "disk full");
  EXPECT_EQ(inner.blocks, (std::vector<std::uint64_t>{1, 2}));
}

TEST(Pipeline, AThrowingVerifierIsAnErrorNotACrash) {
  RecordingSink inner;
  auto verify = [](const ObservedCall&, TimePoint) -> Verdict { throw std::runtime_error("boom"); };
  VerifyingSink<Verdict> sink(inner, verify);
  (void)sink.ApplyBlock(BlockWithCalls(1, 1));
  auto s = sink.Flush();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("boom"), std::string::npos);
  EXPECT_TRUE(inner.blocks.empty());
}

TEST(Pipeline, RollbackAndCursorReadsWaitForEverythingAccepted) {
  RecordingSink inner;
  auto verify = [](const ObservedCall&, TimePoint) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return Verdict{};
  };
  VerifyingSink<Verdict> sink(inner, verify, PipelineSettings{2, 4, 64});
  for (std::uint64_t n = 1; n <= 10; ++n) ASSERT_TRUE(sink.ApplyBlock(BlockWithCalls(n, 2)).ok());
  auto cursor = sink.LoadCursor();
  ASSERT_TRUE(cursor.ok());
  ASSERT_TRUE(*cursor);
  EXPECT_EQ((*cursor)->block_number, 10u);
  ASSERT_TRUE(sink.ApplyBlock(BlockWithCalls(11, 2)).ok());
  ASSERT_TRUE(sink.RollbackTo(5).ok());
  EXPECT_EQ(inner.blocks.size(), 11u);  // block 11 was applied before the rollback reached the store
  EXPECT_EQ(inner.rolled_back_to, 5u);
}

TEST(BoundedWorkerPool, RunsQueuedTasksBeforeItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    BoundedWorkerPool pool(2, 3);
    for (int i = 0; i < 50; ++i) pool.Push([&] { ++ran; });
    EXPECT_LE(pool.high_water(), 3u);
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace cvmwatch::indexer
