// The WebSocket and HTTP clients against the scripted Beast node on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "cvmwatch/indexer/rpc.h"
#include "fake_node.h"

namespace cvmwatch::indexer {
namespace {

using namespace cvmwatch::testing;
using std::chrono::milliseconds;

bool WaitUntil(const std::function<bool()>& pred, milliseconds timeout = milliseconds(10'000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return pred();
}

std::unique_ptr<RpcClient> Client(const std::string& url, RpcSettings s = {}) {
  s.url = url;
  s.reconnect_initial = milliseconds(5);
  s.reconnect_max = milliseconds(50);
  s.call_timeout = milliseconds(5'000);
  s.connect_timeout = milliseconds(2'000);
  auto c = MakeRpcClient(s);
  EXPECT_TRUE(c.ok());
  (*c)->Start();
  return std::move(c).value();
}

std::string BlockParams(std::uint64_t n) { return "[\"" + HexQuantity(n) + "\",false]"; }

TEST(WebSocketClient, MatchesRepliesThatArriveOutOfOrder) {
  FakeChain chain;
  chain.MineEmpty(10);
  FakeNode node(chain);
  auto c = Client(node.ws_url());
  ASSERT_TRUE(c->WaitConnected(milliseconds(5'000)).ok());
  node.HoldAndReverse(8);
  std::vector<RpcRequest> reqs;
  for (std::uint64_t n = 1; n <= 8; ++n) reqs.push_back({"eth_getBlockByNumber", BlockParams(n)});
  auto replies = c->CallMany(reqs);
  ASSERT_EQ(replies.size(), 8u);
  for (std::uint64_t n = 1; n <= 8; ++n) {
    ASSERT_TRUE(replies[n - 1].ok()) << replies[n - 1].error().message;
    EXPECT_NE(replies[n - 1]->find("\"number\":\"" + HexQuantity(n) + "\""), std::string::npos);
  }
}

TEST(WebSocketClient, KeepsManyRequestsInFlightWithinTheBound) {
  FakeChain chain;
  chain.MineEmpty(300);
  FakeNode node(chain);
  RpcSettings s;
  s.max_in_flight = 16;
  auto c = Client(node.ws_url(), s);
  std::vector<RpcRequest> reqs;
  for (std::uint64_t n = 0; n < 300; ++n) reqs.push_back({"eth_getBlockByNumber", BlockParams(n)});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (const auto& r : c->CallMany(reqs)) ok += r.ok() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 900);
  EXPECT_EQ(c->GetCounters().calls, 900u);
}

TEST(WebSocketClient, EveryCallHasATimeout) {
  FakeChain chain;
  FakeNode node(chain);
  node.SetScript([](std::string_view m, std::uint64_t) {
    FakeNode::Decision d;
    if (m == "eth_blockNumber") d.action = FakeNode::Action::kIgnore;
    return d;
  });
  auto c = Client(node.ws_url());
  ASSERT_TRUE(c->WaitConnected(milliseconds(5'000)).ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c->Call("eth_blockNumber", "[]", milliseconds(100));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_LT(took, milliseconds(3'000));
  // The connection itself is fine for other calls (once it reconnected after the silence).
  ASSERT_TRUE(WaitUntil([&] { return c->Call("eth_chainId", "[]").ok(); }));
}

TEST(WebSocketClient, IgnoresGarbageUnknownIdsAndStrayNotifications) {
  FakeChain chain;
  FakeNode node(chain);
  node.SetScript([](std::string_view, std::uint64_t) {
    FakeNode::Decision d;
    d.garbage_before = "this is {not json";
    return d;
  });
  auto c = Client(node.ws_url());
  ASSERT_TRUE(c->WaitConnected(milliseconds(5'000)).ok());
  node.SendRaw("[1,2,3]");
  node.SendRaw("{\"jsonrpc\":\"2.0\",\"id\":987654,\"result\":\"0x1\"}");
  node.SendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"nope\":1}}");
  node.SendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"something_else\",\"params\":[]}");
  auto r = c->Call("eth_chainId", "[]");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "\"0x7a69\"");
  ASSERT_TRUE(WaitUntil([&] { return c->GetCounters().bad_messages >= 5; }));
  EXPECT_TRUE(c->Connected());
  EXPECT_EQ(c->ConnectionGeneration(), 1u);
  // A text frame that is not UTF-8 breaks the WebSocket protocol: the client drops the
  // connection and reconnects.
  node.SendRaw(std::string(1, '\0') + "\xff\xfe");
  ASSERT_TRUE(WaitUntil([&] { return c->ConnectionGeneration() >= 2 && c->Connected(); }));
  EXPECT_TRUE(c->Call("eth_chainId", "[]").ok());
}

TEST(WebSocketClient, DropsAnOversizedMessageAndReconnects) {
  FakeChain chain;
  FakeNode node(chain);
  RpcSettings s;
  s.max_message_bytes = 4096;
  auto c = Client(node.ws_url(), s);
  ASSERT_TRUE(c->WaitConnected(milliseconds(5'000)).ok());
  const auto gen = c->ConnectionGeneration();
  node.SendRaw("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"" + std::string(10'000, 'a') + "\"}");
  ASSERT_TRUE(WaitUntil([&] { return c->ConnectionGeneration() > gen && c->Connected(); }));
  EXPECT_TRUE(c->Call("eth_chainId", "[]").ok());
}

TEST(WebSocketClient, ReconnectsWithBackoffAndFailsInFlightCallsRetryably) {
  FakeChain chain;
  FakeNode node(chain);
  node.SetScript([](std::string_view m, std::uint64_t) {
    FakeNode::Decision d;
    if (m == "eth_getLogs") d.action = FakeNode::Action::kDrop;
    return d;
  });
  auto c = Client(node.ws_url());
  std::mutex mu;
  std::vector<std::pair<bool, std::uint64_t>> events;
  c->SetConnectionHandler([&](bool up, std::uint64_t gen, std::string_view) {
    std::lock_guard lock(mu);
    events.emplace_back(up, gen);
  });
  ASSERT_TRUE(c->WaitConnected(milliseconds(5'000)).ok());
  auto r = c->Call("eth_getLogs", "[{}]");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().retryable);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  ASSERT_TRUE(WaitUntil([&] { return c->ConnectionGeneration() >= 2 && c->Connected(); }));
  EXPECT_TRUE(c->Call("eth_chainId", "[]").ok());
  for (int i = 0; i < 3; ++i) node.DropAll(), WaitUntil([&] { return !c->Connected(); }, milliseconds(2'000));
  ASSERT_TRUE(WaitUntil([&] { return c->Connected(); }));
  EXPECT_TRUE(c->Call("eth_chainId", "[]").ok());
  EXPECT_GE(c->GetCounters().reconnects, 2u);
  std::lock_guard lock(mu);
  ASSERT_GE(events.size(), 3u);
  EXPECT_TRUE(events[0].first);
  EXPECT_FALSE(events[1].first);
}

TEST(WebSocketClient, DeliversSubscriptionNotifications) {
  FakeChain chain;
  chain.MineEmpty(2);
  FakeNode node(chain);
  auto c = Client(node.ws_url());
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> got;
  c->SetNotificationHandler([&](std::string_view sub, std::string_view result) {
    std::lock_guard lock(mu);
    got.emplace_back(std::string(sub), std::string(result));
  });
  auto sub = c->Call("eth_subscribe", "[\"newHeads\"]");
  ASSERT_TRUE(sub.ok());
  const std::string block = chain.BlockJson(*chain.BlockAt(2), false);
  node.Notify("newHeads", block);
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mu);
    return !got.empty();
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ("\"" + got[0].first + "\"", *sub);
  EXPECT_EQ(got[0].second, block);
}

TEST(WebSocketClient, CallsBeforeTheConnectionWaitAndStopFailsThem) {
  FakeChain chain;
  FakeNode node(chain);
  auto c = Client(node.ws_url());
  EXPECT_TRUE(c->Call("eth_chainId", "[]").ok());  // queued until connected
  node.SetScript([](std::string_view, std::uint64_t) {
    FakeNode::Decision d;
    d.action = FakeNode::Action::kIgnore;
    return d;
  });
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    c->Stop();
  });
  auto r = c->Call("eth_blockNumber", "[]", milliseconds(10'000));
  stopper.join();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("stopped"), std::string::npos) << r.error().message;
}

TEST(WebSocketClient, AnEndpointThatIsDownTimesOutRetryably) {
  std::uint16_t port = 0;
  {
    FakeChain chain;
    FakeNode node(chain);
    port = node.port();
  }  // closed again: nothing listens there now
  auto c = Client("ws://127.0.0.1:" + std::to_string(port));
  auto s = c->WaitConnected(milliseconds(200));
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().retryable);
  auto r = c->Call("eth_chainId", "[]", milliseconds(100));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().retryable);
}

TEST(TlsClients, FailCleanlyAgainstAPlainTextServer) {
  FakeChain chain;
  FakeNode node(chain);
  auto wss = Client("wss://127.0.0.1:" + std::to_string(node.port()));
  auto s = wss->WaitConnected(milliseconds(300));
  EXPECT_FALSE(s.ok());
  auto https = Client("https://127.0.0.1:" + std::to_string(node.port()));
  auto r = https->Call("eth_chainId", "[]", milliseconds(2'000));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
}

TEST(HttpClient, CallsAndBatchesAnsweredInAnyOrder) {
  FakeChain chain;
  chain.MineEmpty(120);
  FakeNode node(chain);
  RpcSettings s;
  s.max_batch = 50;
  auto c = Client(node.http_url(), s);
  EXPECT_FALSE(c->SupportsSubscriptions());
  auto one = c->Call("eth_blockNumber", "[]");
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(*one, "\"0x78\"");
  std::vector<RpcRequest> reqs;
  for (std::uint64_t n = 0; n < 120; ++n) reqs.push_back({"eth_getBlockByNumber", BlockParams(n)});
  reqs.push_back({"no_such_method", "[]"});
  auto replies = c->CallMany(reqs);
  ASSERT_EQ(replies.size(), 121u);
  for (std::uint64_t n = 0; n < 120; ++n) {
    ASSERT_TRUE(replies[n].ok());
    EXPECT_NE(replies[n]->find("\"number\":\"" + HexQuantity(n) + "\""), std::string::npos);
  }
  ASSERT_FALSE(replies[120].ok());
  EXPECT_FALSE(replies[120].error().retryable);
  EXPECT_EQ(ParseRpcError(replies[120].error())->code, -32601);
  EXPECT_EQ(node.connections(), 1);  // keep-alive: one connection for everything
}

TEST(HttpClient, FallsBackToSingleCallsWhenBatchesAreRefused) {
  FakeChain chain;
  chain.MineEmpty(5);
  FakeNode node(chain);
  node.SetRefuseBatches(true);
  auto c = Client(node.http_url());
  std::vector<RpcRequest> reqs;
  for (std::uint64_t n = 0; n < 5; ++n) reqs.push_back({"eth_getBlockByNumber", BlockParams(n)});
  auto replies = c->CallMany(reqs);
  for (const auto& r : replies) EXPECT_TRUE(r.ok());
}

TEST(HttpClient, BoundsTheResponseSizeAndSurvivesADroppedConnection) {
  FakeChain chain;
  chain.MineEmpty(200);
  FakeNode node(chain);
  RpcSettings s;
  s.max_message_bytes = 2048;
  auto c = Client(node.http_url(), s);
  std::vector<RpcRequest> reqs;
  for (std::uint64_t n = 0; n < 50; ++n) reqs.push_back({"eth_getBlockByNumber", BlockParams(n)});
  auto big = c->CallMany(reqs);
  ASSERT_FALSE(big[0].ok()) << big[0].value().size() << " " << big[0].value().substr(0, 100);
  EXPECT_NE(big[0].error().message.find("larger than max_message_bytes"), std::string::npos) << big[0].error().message;
  node.SetScript([](std::string_view m, std::uint64_t) {
    FakeNode::Decision d;
    if (m == "eth_getLogs") d.action = FakeNode::Action::kDrop;
    return d;
  });
  auto dropped = c->Call("eth_getLogs", "[{}]");
  ASSERT_FALSE(dropped.ok());
  EXPECT_TRUE(dropped.error().retryable);
  EXPECT_TRUE(c->Call("eth_chainId", "[]").ok());
}

}  // namespace
}  // namespace cvmwatch::indexer
