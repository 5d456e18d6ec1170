// The Indexer over a real WebSocket to the scripted node: removed:true logs, garbage and
// replacement heads are hints that lead to the same state as a fresh index; a lying removed
// log (block still canonical) rolls nothing back; connection drops lose nothing.
#include <gtest/gtest.h>

#include <thread>

#include "cvmwatch/indexer/indexer.h"
#include "cvmwatch/indexer/memory_sink.h"
#include "fake_node.h"

namespace cvmwatch::indexer {
namespace {

using namespace cvmwatch::testing;
using std::chrono::milliseconds;

constexpr auto kWait = std::chrono::seconds(20);

IndexerSettings WsSettings() {
  IndexerSettings s;
  s.chain_id = 31337;
  s.registry = kRegistry;
  s.poll_interval = milliseconds(60'000);  // only notifications wake the loop early
  s.retry_initial = milliseconds(5);
  s.retry_max = milliseconds(20);
  s.head_stall_timeout = milliseconds(0);
  s.live_window = 16;
  s.reconcile = false;
  return s;
}

struct WsRun {
  WsRun(const std::string& url, BlockSink& sink, IndexerSettings settings) : clock(FromUnixSeconds(1'800'000'000)) {
    RpcSettings rs;
    rs.url = url;
    rs.reconnect_initial = milliseconds(5);
    rs.reconnect_max = milliseconds(50);
    rs.call_timeout = milliseconds(3'000);
    client = std::move(MakeRpcClient(rs)).value();
    idx = std::make_unique<Indexer>(std::move(settings), *client, sink, clock);
    thread = std::thread([this] { result = idx->Run(); });
  }
  ~WsRun() {
    idx->Stop();
    thread.join();
    client->Stop();
  }
  ManualClock clock;
  std::unique_ptr<RpcClient> client;
  std::unique_ptr<Indexer> idx;
  std::thread thread;
  Status result = OkStatus();
};

bool WaitUntil(const std::function<bool()>& pred, milliseconds timeout = milliseconds(20'000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return pred();
}

bool AtHead(const MemorySink& sink, const FakeChain& chain) {
  const auto c = sink.cursor();
  const auto b = chain.BlockAt(chain.Head());
  return c && b && c->block_number == b->number && c->block_hash == b->hash;
}

std::string Fresh(FakeChain& chain) {
  FakeRpcClient client(chain);
  MemorySink sink;
  ManualClock clock(FromUnixSeconds(1'800'000'000));
  auto s = WsSettings();
  s.poll_interval = milliseconds(5);
  s.stop_at_block = chain.Head();
  Indexer idx(s, client, sink, clock);
  EXPECT_TRUE(idx.Run().ok());
  return sink.Fingerprint();
}

void Traffic(FakeChain& chain, int blocks, std::uint64_t seed) {
  for (int i = 0; i < blocks; ++i) {
    if (i % 2 == 0) {
      chain.Mine({TtlTx(H(seed * 100 + static_cast<std::uint64_t>(i)))});
    } else {
      chain.Mine();
    }
  }
}

TEST(ScriptedNode, RemovedLogsAndGarbageAreHintsThatConvergeOnTheCanonicalChain) {
  FakeChain chain;
  Traffic(chain, 20, 1);
  FakeNode node(chain);
  MemorySink sink;
  WsRun run(node.ws_url(), sink, WsSettings());
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  ASSERT_TRUE(WaitUntil([&] { return node.subscriptions() >= 2; }));

  // Reorg the newest two blocks (same height: no new head to find by number), then tell the
  // indexer only through the subscription, as a node with removed-log support does.
  std::vector<std::string> removed;
  for (std::uint64_t n = chain.Head() - 1; n <= chain.Head(); ++n) {
    for (auto& l : chain.LogsJson(*chain.BlockAt(n), /*removed=*/true)) removed.push_back(l);
  }
  ASSERT_FALSE(removed.empty());
  chain.Reorg(2, {{TtlTx(H(9001))}, {TtlTx(H(9002))}});
  node.SendRaw("{garbage");
  node.SendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"0xdead\",\"result\":{}}}");
  for (const auto& l : removed) node.Notify("logs", l);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  EXPECT_EQ(sink.rollback_count(), 1u);
  EXPECT_GE(run.client->GetCounters().bad_messages, 1u);
  EXPECT_EQ(sink.Fingerprint(), Fresh(chain));
}

TEST(ScriptedNode, ReplacementHeadsAloneTriggerTheParentHashWalk) {
  FakeChain chain;
  Traffic(chain, 10, 2);
  FakeNode node(chain);
  MemorySink sink;
  WsRun run(node.ws_url(), sink, WsSettings());
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  ASSERT_TRUE(WaitUntil([&] { return node.subscriptions() >= 2; }));
  const std::uint64_t head = chain.Head();
  chain.Reorg(3, {{}, {TtlTx(H(9100))}, {}, {TtlTx(H(9101))}});  // like anvil_reorg: pushes the new heads
  for (std::uint64_t n = head - 2; n <= chain.Head(); ++n) node.Notify("newHeads", chain.BlockJson(*chain.BlockAt(n), false));
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& s) { return AtHead(s, chain); }, kWait));
  EXPECT_EQ(sink.rollback_count(), 1u);
  EXPECT_EQ(sink.Fingerprint(), Fresh(chain));
}

TEST(ScriptedNode, ARemovedLogForABlockThatIsStillCanonicalRollsNothingBack) {
  FakeChain chain;
  Traffic(chain, 6, 3);
  FakeNode node(chain);
  MemorySink sink;
  auto s = WsSettings();
  s.poll_interval = milliseconds(20);
  WsRun run(node.ws_url(), sink, s);
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& x) { return AtHead(x, chain); }, kWait));
  for (auto& l : chain.LogsJson(*chain.BlockAt(chain.Head() - 1), true)) node.Notify("logs", l);
  chain.Mine({TtlTx(H(9200))});
  node.Notify("newHeads", chain.BlockJson(*chain.BlockAt(chain.Head()), false));
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& x) { return AtHead(x, chain); }, kWait));
  EXPECT_EQ(sink.rollback_count(), 0u);
}

TEST(ScriptedNode, RepeatedConnectionDropsLoseNoEvent) {
  FakeChain chain;
  FakeNode node(chain);
  MemorySink sink;
  auto s = WsSettings();
  s.poll_interval = milliseconds(10);
  WsRun run(node.ws_url(), sink, s);
  ASSERT_TRUE(WaitUntil([&] { return node.subscriptions() >= 2; }));
  for (int round = 0; round < 8; ++round) {
    Traffic(chain, 5, 10 + static_cast<std::uint64_t>(round));
    if (round % 3 == 0) chain.Reorg(1, {{TtlTx(H(9300 + static_cast<std::uint64_t>(round)))}});
    if (round % 2 == 0) {
      // Drop while the indexer is somewhere in the middle, go on producing blocks, and wait
      // until it subscribed again on the new connection.
      const int subs = node.subscriptions();
      node.DropAll();
      Traffic(chain, 2, 50 + static_cast<std::uint64_t>(round));
      ASSERT_TRUE(WaitUntil([&] { return node.subscriptions() >= subs + 2; }));
    }
  }
  ASSERT_TRUE(sink.WaitFor([&](const MemorySink& x) { return AtHead(x, chain); }, kWait));
  EXPECT_EQ(sink.Fingerprint(), Fresh(chain));
  EXPECT_GE(node.ws_connections(), 5);
  EXPECT_GE(run.idx->GetSyncStatus().reconnects, 3u);
}

}  // namespace
}  // namespace cvmwatch::indexer
