#include <gtest/gtest.h>

#include "cvmwatch/indexer/log_source.h"
#include "fake_chain.h"

namespace cvmwatch::indexer {
namespace {

using namespace cvmwatch::testing;

LogFilter Filter() { return LogFilter{{kRegistry}, {EventTopic("CVMUpdated(bytes32)"), EventTopic("CVMTTLUpdated(bytes32)")}}; }

// Covers [from, to] completely, in as many Fetch calls as the source needs.
std::vector<LogEntry> FetchAll(LogSource& src, std::uint64_t from, std::uint64_t to, int* calls = nullptr) {
  std::vector<LogEntry> out;
  while (from <= to) {
    auto b = src.Fetch(from, to);
    EXPECT_TRUE(b.ok()) << b.error().message;
    if (!b.ok()) break;
    if (calls) ++*calls;
    for (auto& l : b->logs) out.push_back(l);
    from = b->to + 1;
  }
  return out;
}

class LogSourceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LogSourceTest, ShrinksToTheProviderLimitAndStillCoversEveryLog) {
  FakeChain chain;
  for (int i = 0; i < 300; ++i) {
    if (i % 7 == 0) {
      chain.Mine({TtlTx(H(i))});
    } else {
      chain.Mine();
    }
  }
  chain.getlogs_max_range = 40;
  chain.getlogs_error_style = GetParam();
  FakeRpcClient client(chain);
  LogSource src(client, Filter(), LogRangeSettings{1000, 2000, 1, 4});
  auto logs = FetchAll(src, 1, 300);
  EXPECT_EQ(logs.size(), 43u);  // blocks 1, 8, 15, ... (i % 7 == 0 for i in 0..299)
  EXPECT_LE(src.current_range(), 40u);
  EXPECT_GE(src.shrinks(), 1u);
  // It learnt the limit: few refused requests, not one per growth attempt.
  EXPECT_LE(chain.CallCount("eth_getLogs"), static_cast<std::uint64_t>(300 / 20 + 6));
  for (std::size_t i = 1; i < logs.size(); ++i) EXPECT_LT(logs[i - 1].block_number, logs[i].block_number);
}

INSTANTIATE_TEST_SUITE_P(ProviderStyles, LogSourceTest, ::testing::Values("infura", "alchemy", "results", "timeout"));

TEST(LogSource, FollowsAHintInOneStepInsteadOfHalvingRepeatedly) {
  FakeChain chain;
  chain.MineEmpty(5000);
  chain.getlogs_max_range = 37;
  chain.getlogs_error_style = "alchemy";
  FakeRpcClient client(chain);
  LogSource src(client, Filter(), LogRangeSettings{2000, 2000, 1, 100});
  auto b = src.Fetch(1, 5000);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->to - b->from + 1, 37u);
  EXPECT_EQ(chain.CallCount("eth_getLogs"), 2u);  // the refused one, then the hinted range
}

TEST(LogSource, GrowsBackUpToTheCapAfterSuccesses) {
  FakeChain chain;
  chain.MineEmpty(2000);
  FakeRpcClient client(chain);
  LogSource src(client, Filter(), LogRangeSettings{10, 80, 1, 2});
  std::uint64_t from = 1;
  for (int i = 0; i < 20; ++i) {
    auto b = src.Fetch(from, 2000);
    ASSERT_TRUE(b.ok());
    from = b->to + 1;
  }
  EXPECT_EQ(src.current_range(), 80u);
}

TEST(LogSource, TransportFailuresAreReturnedWithoutShrinking) {
  FakeChain chain;
  chain.MineEmpty(100);
  chain.SetInject([](std::string_view m, std::string_view) -> std::optional<Error> {
    if (m == "eth_getLogs") return MakeError(ErrorCode::kUnavailable, "eth_getLogs: connection lost", true);
    return std::nullopt;
  });
  FakeRpcClient client(chain);
  LogSource src(client, Filter(), LogRangeSettings{50, 50, 1, 4});
  auto b = src.Fetch(1, 100);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.error().retryable);
  EXPECT_EQ(src.current_range(), 50u);
}

TEST(LogSource, GivesUpAtTheFloorWithARetryableError) {
  FakeChain chain;
  chain.MineEmpty(10);
  chain.SetInject([](std::string_view m, std::string_view) -> std::optional<Error> {
    if (m == "eth_getLogs") return MakeRpcError("eth_getLogs", -32005, "query returned more than 10000 results", "");
    return std::nullopt;
  });
  FakeRpcClient client(chain);
  LogSource src(client, Filter(), LogRangeSettings{8, 8, 2, 4});
  auto b = src.Fetch(1, 10);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.error().retryable);
  EXPECT_NE(b.error().message.find("refused even a range of 2"), std::string::npos) << b.error().message;
}

TEST(LogSource, OtherNodeErrorsAreNotRangeProblems) {
  FakeChain chain;
  chain.MineEmpty(10);
  chain.SetInject([](std::string_view m, std::string_view) -> std::optional<Error> {
    if (m == "eth_getLogs") return MakeRpcError("eth_getLogs", -32601, "Method not found", "");
    return std::nullopt;
  });
  FakeRpcClient client(chain);
  LogSource src(client, Filter(), LogRangeSettings{8, 8, 1, 4});
  auto b = src.Fetch(1, 10);
  ASSERT_FALSE(b.ok());
  EXPECT_FALSE(b.error().retryable);
  EXPECT_EQ(chain.CallCount("eth_getLogs"), 1u);
}

TEST(LogSource, RejectsAnInvertedRange) {
  FakeChain chain;
  chain.MineEmpty(3);
  FakeRpcClient client(chain);
  LogSource src(client, Filter(), {});
  auto r = src.Fetch(5, 4);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().retryable);
}

TEST(LogSource, RejectsLogsOutsideTheAskedRange) {
  FakeChain chain;
  chain.Mine({TtlTx(H(1))});
  chain.MineEmpty(2);
  // A node that ignores the bounds: answers [1, 3] whatever was asked.
  struct Rewriting final : public RpcClient {
    explicit Rewriting(FakeChain& c) : c_(c) {}
    void Start() override {}
    void Stop() override {}
    void Reconnect(std::string_view) override {}
    Result<std::string> Call(std::string_view m, std::string_view, std::optional<std::chrono::milliseconds>) override {
      return c_.Handle(m, R"([{"address":["0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac"],"fromBlock":"0x1","toBlock":"0x3"}])");
    }
    std::vector<Result<std::string>> CallMany(std::span<const RpcRequest>) override { return {}; }
    bool SupportsSubscriptions() const override { return false; }
    void SetNotificationHandler(NotificationHandler) override {}
    void SetConnectionHandler(ConnectionHandler) override {}
    Status WaitConnected(std::chrono::milliseconds) override { return OkStatus(); }
    bool Connected() const override { return true; }
    std::uint64_t ConnectionGeneration() const override { return 1; }
    std::string Endpoint() const override { return "rewriting"; }
    Counters GetCounters() const override { return {}; }
    FakeChain& c_;
  } rewriting(chain);
  LogSource src(rewriting, Filter(), {});
  auto r = src.Fetch(2, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("outside"), std::string::npos);
}

}  // namespace
}  // namespace cvmwatch::indexer
