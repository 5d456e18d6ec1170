// The Indexer loop against the in-process fake chain: backfill, live tail, reorgs (parent-hash
// walk, at restart, deeper than the window), lagging nodes, restarts, confirmations, retries,
// liveness facts.
#include <gtest/gtest.h>

#include <thread>

#include "cvmwatch/indexer/indexer.h"
#include "cvmwatch/indexer/memory_sink.h"
#include "fake_chain.h"

namespace cvmwatch::indexer {
namespace {

using namespace cvmwatch::testing;
using std::chrono::milliseconds;

constexpr auto kWait = std::chrono::seconds(20);

IndexerSettings Defaults() {
  IndexerSettings s;
  s.chain_id = 31337;
  s.registry = kRegistry;
  s.extra_addresses = {kTpm};
  s.poll_interval = milliseconds(5);
  s.retry_initial = milliseconds(1);
  s.retry_max = milliseconds(5);
  s.live_window = 16;
  s.max_live_batch = 8;
  s.log_ranges = LogRangeSettings{100, 400, 1, 2};
  s.head_stall_timeout = milliseconds(0);
  s.reconcile = false;
  return s;
}

struct Running {
  Running(FakeChain& chain, BlockSink& sink, IndexerSettings settings, const Clock& clock,
      std::vector<RpcClient*> cross = {})
      : client(chain), idx(std::move(settings), client, sink, clock, std::move(cross)) {
    thread = std::thread([this] { result = idx.Run(); });
  }
  ~Running() { (void)Join(); }
  Status Join() {
    if (thread.joinable()) {
      idx.Stop();
      thread.join();
    }
    return result;
  }
  // Waits for Run() to return on its own (stop_at_block or an error).
  bool WaitDone(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto phase = idx.GetSyncStatus().phase;
      if (phase == "stopped" || phase == "failed") {
        thread.join();
        return true;
      }
      std::this_thread::sleep_for(milliseconds(2));
    }
    return false;
  }
  FakeRpcClient client;
  Indexer idx;
  std::thread thread;
  Status result = OkStatus();
};

// Polls a condition that no sink change signals (bounded).
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return pred();
}

bool AtHead(const MemorySink& sink, const FakeChain& chain, std::uint64_t depth = 0) {
  const auto c = sink.cursor();
  const auto head = chain.Head();
  if (!c || head < depth) return false;
  const auto b = chain.BlockAt(head - depth);
  return b && c->block_number == b->number && c->block_hash == b->hash;
}

// A fresh one-shot index of the chain as it is now.
std::string FreshFingerprint(FakeChain& chain, IndexerSettings settings = Defaults()) {
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  settings.stop_at_block = chain.Head();
  Running run(chain, sink, settings, clock);
  EXPECT_TRUE(run.WaitDone(kWait));
  EXPECT_TRUE(run.result.ok()) << run.result.error().message;
  return sink.Fingerprint();
}

void MineTraffic(FakeChain& chain, std::uint64_t blocks, std::uint64_t seed) {
  for (std::uint64_t i = 0; i < blocks; ++i) {
    if ((i + seed) % 3 == 0) {
      chain.Mine({TtlTx(H(seed * 1000 + i))});
    } else {
      chain.Mine();
    }
  }
}

TEST(Indexer, BackfillsSparseLogsAndMovesTheCursorThroughEmptyRanges) {
  FakeChain chain;
  chain.MineEmpty(1500);
  chain.Mine({TtlTx(H(1))});
  chain.MineEmpty(1500);
  chain.Mine({TtlTx(H(2))});
  chain.MineEmpty(10);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = Defaults();
  s.stop_at_block = chain.Head();
  Running run(chain, sink, s, clock);
  ASSERT_TRUE(run.WaitDone(kWait));
  ASSERT_TRUE(run.result.ok()) << run.result.error().message;
  EXPECT_TRUE(AtHead(sink, chain));
  const auto blocks = sink.activity_blocks();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].block_number, 1501u);
  EXPECT_EQ(blocks[1].block_number, 3002u);
  // Sparse: one header per range end and per block with logs, not one per block.
  EXPECT_LT(sink.applied_count(), 100u);
  EXPECT_LT(chain.CallCount("eth_getBlockByNumber"), 150u);
  const auto st = run.idx.GetSyncStatus();
  EXPECT_EQ(st.indexed, chain.Head());
  EXPECT_EQ(st.lag, 0u);
  const auto stats = run.idx.Stats();
  EXPECT_EQ(stats.calls, 2u);
}

TEST(Indexer, FollowsTheHeadAndAppliesEveryBlockWhenLive) {
  FakeChain chain;
  MineTraffic(chain, 10, 1);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  Running run(chain, sink, Defaults(), clock);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  const auto before = sink.applied_count();
  MineTraffic(chain, 7, 2);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  EXPECT_EQ(sink.applied_count(), before + 7);
  EXPECT_EQ(run.idx.GetSyncStatus().phase, "live");
  ASSERT_TRUE(run.Join().ok());
  EXPECT_EQ(sink.Fingerprint(), FreshFingerprint(chain));
}

class ReorgDepth : public ::testing::TestWithParam<int> {};

TEST_P(ReorgDepth, ReorgAcrossRegistryTransactionsEqualsAFreshIndex) {
  const int depth = GetParam();
  FakeChain chain;
  MineTraffic(chain, 30, 3);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  Running run(chain, sink, Defaults(), clock);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  // Replace the newest `depth` blocks (which hold registry calls) with other registry calls.
  std::vector<std::vector<FakeTx>> replacement;
  for (int i = 0; i < depth; ++i) replacement.push_back({TtlTx(H(5000 + i), 1 + i, 2 + i)});
  chain.Reorg(static_cast<std::uint64_t>(depth), replacement);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  EXPECT_EQ(sink.rollback_count(), 1u);
  EXPECT_EQ(run.idx.Stats().reorgs, 1u);
  bool fact = false;
  for (const auto& f : sink.liveness()) {
    if (f.kind == LivenessKind::kReorg) {
      fact = true;
      // At least the replaced blocks; more when the blocks below were held sparsely.
      EXPECT_GE(f.depth, static_cast<std::uint64_t>(depth));
    }
  }
  EXPECT_TRUE(fact);
  ASSERT_TRUE(run.Join().ok());
  EXPECT_EQ(sink.Fingerprint(), FreshFingerprint(chain));
}

INSTANTIATE_TEST_SUITE_P(Depths, ReorgDepth, ::testing::Values(1, 2, 3, 4, 5));

TEST(Indexer, ASilentRollbackShowsUpWithTheNextBlock) {
  FakeChain chain;
  MineTraffic(chain, 12, 4);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  Running run(chain, sink, Defaults(), clock);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  chain.Rollback(chain.Head() - 3);  // like anvil_rollback / evm_revert: nothing announced
  chain.Mine({TtlTx(H(77))});
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  ASSERT_TRUE(run.Join().ok());
  EXPECT_EQ(sink.Fingerprint(), FreshFingerprint(chain));
}

TEST(Indexer, ARestartResumesAndAReorgWhileStoppedIsRolledBackFirst) {
  FakeChain chain;
  MineTraffic(chain, 40, 5);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  {
    auto s = Defaults();
    s.stop_at_block = 25;
    Running first(chain, sink, s, clock);
    ASSERT_TRUE(first.WaitDone(kWait));
    ASSERT_TRUE(first.result.ok());
  }
  EXPECT_EQ(sink.cursor()->block_number, 25u);
  // While stopped, the chain reorganises below our cursor.
  chain.Rollback(22);
  MineTraffic(chain, 20, 6);
  {
    Running second(chain, sink, Defaults(), clock);
    ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
    ASSERT_TRUE(second.Join().ok());
  }
  EXPECT_EQ(sink.rollback_count(), 1u);
  EXPECT_EQ(sink.Fingerprint(), FreshFingerprint(chain));
}

TEST(Indexer, AReorgDeeperThanTheWindowStopsInsteadOfGuessing) {
  FakeChain chain;
  MineTraffic(chain, 20, 7);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = Defaults();
  s.reorg_window = 4;
  Running run(chain, sink, s, clock);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& x) { return AtHead(x, chain); }, kWait));
  std::vector<std::vector<FakeTx>> replacement(12);
  chain.Reorg(10, replacement);
  ASSERT_TRUE(run.WaitDone(kWait));
  ASSERT_FALSE(run.result.ok());
  EXPECT_FALSE(run.result.error().retryable);
  EXPECT_NE(run.result.error().message.find("reorg deeper than"), std::string::npos) << run.result.error().message;
  EXPECT_EQ(sink.rollback_count(), 0u);
}

TEST(Indexer, ALaggingNodeIsNotAReorg) {
  FakeChain chain;
  MineTraffic(chain, 20, 8);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  Running run(chain, sink, Defaults(), clock);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  const auto steps = chain.total_calls();
  chain.lag = 6;  // a load balancer hands us a node 6 blocks behind
  // Let the loop observe the lagging head a few times.
  ASSERT_TRUE(WaitUntil([&] { return chain.total_calls() > steps + 20; }, kWait));
  chain.lag = 0;
  MineTraffic(chain, 3, 9);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  EXPECT_EQ(sink.rollback_count(), 0u);
  ASSERT_TRUE(run.Join().ok());
}

TEST(Indexer, AChainIdMismatchStopsWithAClearError) {
  FakeChain chain(11155111);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = Defaults();
  s.network = "devnet";
  Running run(chain, sink, s, clock);
  ASSERT_TRUE(run.WaitDone(kWait));
  ASSERT_FALSE(run.result.ok());
  EXPECT_FALSE(run.result.error().retryable);
  EXPECT_NE(run.result.error().message.find("chain id mismatch: the configuration expects 31337 (devnet) but fake://chain reports 11155111"),
            std::string::npos)
      << run.result.error().message;
  EXPECT_FALSE(sink.cursor());
}

TEST(Indexer, TransientFailuresAreRetriedAndRangeLimitsRespected) {
  FakeChain chain;
  MineTraffic(chain, 300, 10);
  chain.getlogs_max_range = 25;
  std::atomic<int> failures{0};
  chain.SetInject([&](std::string_view m, std::string_view) -> std::optional<Error> {
    if ((m == "eth_getBlockByNumber" || m == "eth_getBlockByHash") && failures.fetch_add(1) % 7 == 3) {
      return MakeError(ErrorCode::kUnavailable, std::string(m) + ": connection lost", true);
    }
    return std::nullopt;
  });
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = Defaults();
  s.stop_at_block = chain.Head();
  Running run(chain, sink, s, clock);
  ASSERT_TRUE(run.WaitDone(kWait));
  ASSERT_TRUE(run.result.ok()) << run.result.error().message;
  EXPECT_TRUE(AtHead(sink, chain));
  chain.SetInject({});
  EXPECT_EQ(sink.Fingerprint(), FreshFingerprint(chain));
}

TEST(Indexer, HonoursConfirmationDepthAndTheFinalizedTag) {
  FakeChain chain;
  MineTraffic(chain, 40, 11);
  {
    MemorySink sink;
    ManualClock clock(FromUnixSeconds(1'800'000'000));
    auto s = Defaults();
    s.confirmations.depth = 3;
    Running run(chain, sink, s, clock);
    ASSERT_TRUE(sink.WaitFor([&](const MemorySink& x) { return AtHead(x, chain, 3); }, kWait));
    EXPECT_EQ(run.idx.GetSyncStatus().target, chain.Head() - 3);
  }
  {
    MemorySink sink;
    ManualClock clock(FromUnixSeconds(1'800'000'000));
    chain.finalized_depth = 10;
    auto s = Defaults();
    s.confirmations.mode = ConfirmationPolicy::Mode::kFinalized;
    Running run(chain, sink, s, clock);
    ASSERT_TRUE(sink.WaitFor([&](const MemorySink& x) { return AtHead(x, chain, 10); }, kWait));
    EXPECT_EQ(run.idx.GetSyncStatus().finalized, chain.Head() - 10);
  }
}

TEST(Indexer, ScanningFindsRevertedCallsInBlocksWithoutLogs) {
  FakeChain chain;
  FakeTx bad = TtlTx(H(90));
  bad.success = false;
  bad.output = *HexToBytes("0x75a1d53a");
  chain.Mine();
  chain.Mine({bad});
  chain.Mine({TtlTx(H(91))});
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = Defaults();
  s.scan_all_transactions = true;
  s.stop_at_block = chain.Head();
  Running run(chain, sink, s, clock);
  ASSERT_TRUE(run.WaitDone(kWait));
  ASSERT_TRUE(run.result.ok());
  const auto blocks = sink.activity_blocks();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].calls.at(0).outcome, ChainOutcome::kReverted);
  EXPECT_EQ(ToHex(*blocks[0].calls.at(0).revert_data), "0x75a1d53a");
}

TEST(Indexer, ReportsAStalledHeadByTheClockAndItsRecovery) {
  FakeChain chain;
  chain.MineEmpty(3);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = Defaults();
  s.head_stall_timeout = milliseconds(60'000);
  Running run(chain, sink, s, clock);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& x) { return AtHead(x, chain); }, kWait));
  clock.Advance(std::chrono::seconds(61));
  auto has = [&](LivenessKind k) {
    return [&, k](const MemorySink& x) {
      for (const auto& f : x.liveness()) {
        if (f.kind == k) return true;
      }
      return false;
    };
  };
  ASSERT_TRUE(sink.WaitFor(has(LivenessKind::kHeadStalled), kWait));
  EXPECT_TRUE(run.idx.GetSyncStatus().head_stalled);
  chain.Mine();
  ASSERT_TRUE(sink.WaitFor(has(LivenessKind::kHeadResumed), kWait));
  EXPECT_FALSE(run.idx.GetSyncStatus().head_stalled);
}

TEST(Indexer, ReportsEndpointsThatDisagreeOnTheHashAtOurHeight) {
  FakeChain chain;
  chain.MineEmpty(5);
  FakeChain other;  // the same heights, other hashes
  other.MineEmpty(5);
  other.Reorg(5, {{}, {}, {}, {}, {}});
  FakeRpcClient other_client(other);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = Defaults();
  s.cross_check_interval = milliseconds(1000);
  Running run(chain, sink, s, clock, {&other_client});
  ASSERT_TRUE(sink.WaitFor(
      [&](const MemorySink& x) {
        for (const auto& f : x.liveness()) {
          if (f.kind == LivenessKind::kEndpointDisagreement) return true;
        }
        return false;
      },
      kWait));
  const auto facts = sink.liveness();
  const auto it = std::find_if(facts.begin(), facts.end(), [](const LivenessFact& f) { return f.kind == LivenessKind::kEndpointDisagreement; });
  EXPECT_EQ(it->height, 5u);
  EXPECT_EQ(it->other_hash, other.BlockAt(5)->hash);
  EXPECT_EQ(it->endpoint, "fake://chain");
  EXPECT_EQ(sink.rollback_count(), 0u);  // our own chain did not change
}

TEST(Indexer, ASinkErrorStopsTheIndexer) {
  FakeChain chain;
  MineTraffic(chain, 5, 12);
  MemorySink sink;
  sink.FailNextApply(MakeError(ErrorCode::kIo, "disk full"));
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  Running run(chain, sink, Defaults(), clock);
  ASSERT_TRUE(run.WaitDone(kWait));
  ASSERT_FALSE(run.result.ok());
  EXPECT_NE(run.result.error().message.find("disk full"), std::string::npos);
  EXPECT_EQ(run.idx.GetSyncStatus().phase, "failed");
}

}  // namespace
}  // namespace cvmwatch::indexer
