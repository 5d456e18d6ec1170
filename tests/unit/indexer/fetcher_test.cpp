// The decoder: calldata recovery (direct, through a call trace, unrecoverable), reverted calls,
// implementation tracking, de-duplication, consistency checks and reconciliation reads.
#include <gtest/gtest.h>

#include "cvmwatch/indexer/fetcher.h"
#include "detail/json.h"
#include "fake_chain.h"
#include "testdata.h"

namespace cvmwatch::indexer {
namespace {

using namespace cvmwatch::testing;

struct Fixture {
  FakeChain chain;
  FakeRpcClient client{chain};
  IngestStats stats;

  std::vector<BlockRef> Headers(std::uint64_t from, std::uint64_t to) {
    std::vector<BlockRef> out;
    for (std::uint64_t n = from; n <= to; ++n) {
      auto b = chain.BlockAt(n);
      out.push_back(BlockRef{b->number, b->hash, b->parent, b->timestamp});
    }
    return out;
  }
  std::vector<LogEntry> Logs(std::uint64_t from, std::uint64_t to) {
    detail::JsonParser p;
    auto r = chain.Handle("eth_getLogs", "[{\"address\":[\"" + kRegistry.ToHex() + "\",\"" + kTpm.ToHex() +
                                             "\"],\"fromBlock\":\"" + HexQuantity(from) + "\",\"toBlock\":\"" +
                                             HexQuantity(to) + "\"}]");
    return *detail::ParseLogs(p, *r);
  }
  Result<std::vector<ChainBlock>> Build(std::uint64_t from, std::uint64_t to, FetcherSettings s = Settings()) {
    BlockFetcher f(client, s, &stats);
    return f.Build(Headers(from, to), Logs(from, to));
  }
  static FetcherSettings Settings() {
    FetcherSettings s;
    s.registry = kRegistry;
    s.extra_addresses = {kTpm};
    s.reconcile = false;
    return s;
  }
};

std::string Frame(const Address& from, const Address& to, const Bytes& input, const std::string& extra = "") {
  return "{\"type\":\"CALL\",\"from\":\"" + from.ToHex() + "\",\"to\":\"" + to.ToHex() + "\",\"input\":\"" +
         ToHex(input) + "\",\"output\":\"0x\"" + extra + "}";
}

TEST(Fetcher, DecodesDirectCallsAndKeepsEmptyBlocks) {
  Fixture f;
  f.chain.MineEmpty(2);
  f.chain.Mine({TtlTx(H(1), 3600, 7200)});
  f.chain.MineEmpty(1);
  auto blocks = f.Build(1, 4);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ(blocks->size(), 4u);
  EXPECT_FALSE((*blocks)[0].HasActivity());
  const auto& b3 = (*blocks)[2];
  ASSERT_EQ(b3.calls.size(), 1u);
  const auto& c = b3.calls[0];
  EXPECT_EQ(c.function, "setCollateralTTL");
  EXPECT_EQ(c.source, CallSource::kTransactionInput);
  EXPECT_EQ(c.outcome, ChainOutcome::kSuccess);
  ASSERT_TRUE(c.decoded) << c.decode_error;
  const auto& ttl = std::get<registry::TtlCall>(*c.decoded);
  EXPECT_EQ(ttl.target_identity_hash, H(1));
  EXPECT_EQ(ttl.tee_ttl, 3600u);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].name, "CVMTTLUpdated");
  EXPECT_EQ(c.events[0].identity_hash, H(1));
  EXPECT_EQ(c.log_index, 0u);
  EXPECT_EQ(f.chain.CallCount("eth_getBlockByHash"), 1u);  // only the block with logs
}

TEST(Fetcher, FindsRevertedCallsInScannedBlocksWithTheirRevertData) {
  Fixture f;
  FakeTx bad = TtlTx(H(2));
  bad.success = false;
  bad.output = *HexToBytes("0x75a1d53a");
  f.chain.Mine({bad});
  auto s = Fixture::Settings();
  // Without scanning, a block without logs is never opened.
  auto quiet = f.Build(1, 1, s);
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE((*quiet)[0].calls.empty());
  s.scan_all_transactions = true;
  auto blocks = f.Build(1, 1, s);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ((*blocks)[0].calls.size(), 1u);
  const auto& c = (*blocks)[0].calls[0];
  EXPECT_EQ(c.outcome, ChainOutcome::kReverted);
  EXPECT_EQ(c.log_index, kNoLogIndex);
  ASSERT_TRUE(c.revert_data);
  EXPECT_EQ(ToHex(*c.revert_data), "0x75a1d53a");
  EXPECT_TRUE(c.decoded);
}

TEST(Fetcher, RecoversACallMadeThroughAnotherContractFromTheTrace) {
  Fixture f;
  const Bytes inner = TtlCalldata(H(3), 100, 200);
  FakeTx tx;
  tx.hash = H(300);
  tx.to = kForwarder;
  tx.input = *HexToBytes("0x12345678");
  tx.logs = {CvmTtlUpdated(H(3))};
  tx.trace_json = "{\"type\":\"CALL\",\"from\":\"" + kSender.ToHex() + "\",\"to\":\"" + kForwarder.ToHex() +
                  "\",\"input\":\"0x12345678\",\"output\":\"0x\",\"calls\":[" +
                  Frame(kForwarder, kRegistry, inner, ",\"calls\":[{\"type\":\"DELEGATECALL\",\"from\":\"" +
                                                          kRegistry.ToHex() + "\",\"to\":\"" + kTpm.ToHex() +
                                                          "\",\"input\":\"" + ToHex(inner) + "\"}]") +
                  "]}";
  f.chain.Mine({tx});
  auto blocks = f.Build(1, 1);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ((*blocks)[0].calls.size(), 1u);
  const auto& c = (*blocks)[0].calls[0];
  EXPECT_EQ(c.source, CallSource::kCallTrace);
  EXPECT_EQ(c.calldata, inner);
  EXPECT_EQ(c.caller, kForwarder);
  EXPECT_EQ(c.from, kSender);
  EXPECT_EQ(c.to, kForwarder);
  ASSERT_TRUE(c.decoded);
  EXPECT_EQ(c.events.size(), 1u);
  EXPECT_EQ(f.stats.traces, 1u);
}

TEST(Fetcher, SplitsEventsOverSeveralRegistryCallsInOneTransaction) {
  Fixture f;
  const Bytes a = TtlCalldata(H(4), 1, 1);
  const Bytes b = TtlCalldata(H(5), 2, 2);
  FakeTx tx;
  tx.hash = H(400);
  tx.to = kForwarder;
  tx.logs = {CvmTtlUpdated(H(4)), CvmTtlUpdated(H(5))};
  // A reverted inner attempt in between leaves no effects and is skipped.
  tx.trace_json = "{\"type\":\"CALL\",\"from\":\"" + kSender.ToHex() + "\",\"to\":\"" + kForwarder.ToHex() +
                  "\",\"input\":\"0x\",\"calls\":[" + Frame(kForwarder, kRegistry, a) + "," +
                  Frame(kForwarder, kRegistry, TtlCalldata(H(9), 0, 0), ",\"error\":\"execution reverted\"") + "," +
                  Frame(kForwarder, kRegistry, b) + "]}";
  f.chain.Mine({tx});
  auto blocks = f.Build(1, 1);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  const auto& calls = (*blocks)[0].calls;
  ASSERT_EQ(calls.size(), 2u);
  ASSERT_EQ(calls[0].events.size(), 1u);
  ASSERT_EQ(calls[1].events.size(), 1u);
  EXPECT_EQ(calls[0].events[0].identity_hash, H(4));
  EXPECT_EQ(calls[1].events[0].identity_hash, H(5));
  EXPECT_EQ(calls[0].log_index, 0u);
  EXPECT_EQ(calls[1].log_index, 1u);
}

TEST(Fetcher, RecordsAnUnrecoverableSubmissionWhenTracingIsUnavailable) {
  Fixture f;
  FakeTx tx;
  tx.hash = H(500);
  tx.to = kForwarder;
  tx.logs = {CvmUpdated(H(6))};
  f.chain.Mine({tx});
  f.chain.SetTraceSupported(false);
  auto blocks = f.Build(1, 1);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  const auto& b = (*blocks)[0];
  EXPECT_TRUE(b.calls.empty());
  ASSERT_EQ(b.unrecoverable.size(), 1u);
  EXPECT_EQ(b.unrecoverable[0].tx_hash, H(500));
  ASSERT_EQ(b.unrecoverable[0].events.size(), 1u);
  EXPECT_EQ(b.unrecoverable[0].events[0].identity_hash, H(6));
  EXPECT_NE(b.unrecoverable[0].reason.find("debug_traceTransaction failed"), std::string::npos) << b.unrecoverable[0].reason;
  EXPECT_TRUE(b.HasActivity());

  // A trace without a frame into the registry is unrecoverable too (e.g. a struct-log tracer).
  Fixture g;
  FakeTx t2 = tx;
  t2.trace_json = "{\"failed\":false,\"gas\":0,\"returnValue\":\"0x\",\"structLogs\":[]}";
  g.chain.Mine({t2});
  auto b2 = g.Build(1, 1);
  ASSERT_TRUE(b2.ok());
  ASSERT_EQ((*b2)[0].unrecoverable.size(), 1u);
}

TEST(Fetcher, TransientTraceFailuresAreRetriedNotRecorded) {
  Fixture f;
  FakeTx tx;
  tx.hash = H(501);
  tx.to = kForwarder;
  tx.logs = {CvmUpdated(H(6))};
  f.chain.Mine({tx});
  f.chain.SetInject([](std::string_view m, std::string_view) -> std::optional<Error> {
    if (m == "debug_traceTransaction") return MakeError(ErrorCode::kTimeout, "debug_traceTransaction: no reply", true);
    return std::nullopt;
  });
  auto blocks = f.Build(1, 1);
  ASSERT_FALSE(blocks.ok());
  EXPECT_TRUE(blocks.error().retryable);
}

TEST(Fetcher, ContractCreationLogsAreNotSubmissions) {
  Fixture f;
  FakeTx create;
  create.hash = H(600);
  create.to.reset();
  create.logs = {Upgraded(kTpm)};
  f.chain.Mine({create});
  auto blocks = f.Build(1, 1);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  const auto& b = (*blocks)[0];
  EXPECT_TRUE(b.calls.empty());
  EXPECT_TRUE(b.unrecoverable.empty());
  ASSERT_EQ(b.upgrades.size(), 1u);
  EXPECT_EQ(b.upgrades[0].implementation, kTpm);
}

TEST(Fetcher, TracksTheImplementationAcrossAnUpgradeInsideABlock) {
  Fixture f;
  const Address impl1 = *Address::FromHex("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
  const Address impl2 = *Address::FromHex("0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9");
  FakeTx up;
  up.hash = H(700);
  up.input = *HexToBytes("0x4f1ef286");
  up.logs = {Upgraded(impl2)};
  f.chain.Mine({TtlTx(H(7)), up, TtlTx(H(8))});
  f.chain.SetImplementation(impl1);
  BlockFetcher fetcher(f.client, Fixture::Settings(), &f.stats);
  ASSERT_TRUE(fetcher.InitImplementation("\"0x0\"").ok());
  EXPECT_EQ(fetcher.implementation(), impl1);
  auto blocks = fetcher.Build(f.Headers(1, 1), f.Logs(1, 1));
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  const auto& calls = (*blocks)[0].calls;
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].implementation, impl1);
  EXPECT_EQ(calls[1].function, "upgradeToAndCall");
  EXPECT_FALSE(calls[1].decoded);
  EXPECT_NE(calls[1].decode_error.find("not a lifecycle call"), std::string::npos);
  EXPECT_EQ(calls[2].implementation, impl2);
  EXPECT_EQ(fetcher.implementation(), impl2);
  ASSERT_EQ((*blocks)[0].upgrades.size(), 1u);
}

TEST(Fetcher, DropsDuplicateLogsAndRefusesLogsOfAnotherChain) {
  Fixture f;
  f.chain.Mine({TtlTx(H(10))});
  auto logs = f.Logs(1, 1);
  ASSERT_EQ(logs.size(), 1u);
  logs.push_back(logs[0]);  // a provider that sends the same log twice
  BlockFetcher fetcher(f.client, Fixture::Settings(), &f.stats);
  auto blocks = fetcher.Build(f.Headers(1, 1), logs);
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ((*blocks)[0].calls[0].events.size(), 1u);
  EXPECT_EQ(f.stats.duplicate_logs, 1u);

  logs.resize(1);
  logs[0].block_hash = H(999);  // from a block that is not the header's
  auto changed = fetcher.Build(f.Headers(1, 1), logs);
  ASSERT_FALSE(changed.ok());
  EXPECT_TRUE(changed.error().retryable);
  EXPECT_NE(changed.error().message.find("changed during fetch"), std::string::npos);
}

TEST(Fetcher, ABlockThatVanishedDuringTheFetchIsRetryable) {
  Fixture f;
  f.chain.Mine({TtlTx(H(11))});
  auto headers = f.Headers(1, 1);
  auto logs = f.Logs(1, 1);
  f.chain.Reorg(1, {{}});
  BlockFetcher fetcher(f.client, Fixture::Settings(), &f.stats);
  auto r = fetcher.Build(headers, logs);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().retryable);
}

TEST(Fetcher, ReadsChainStateForTouchedIdentitiesAtTheBlock) {
  Fixture f;
  FakeTx re = TtlTx(H(12));
  f.chain.Mine({re});
  std::vector<std::uint64_t> blocks_asked;
  f.chain.SetOnCall([&](std::uint64_t block, const Address&, ByteView) -> Result<Bytes> {
    blocks_asked.push_back(block);
    return FakeChain::Revert(*HexToBytes("0x75a1d53a"));
  });
  auto s = Fixture::Settings();
  s.reconcile = true;
  auto blocks = f.Build(1, 1, s);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ((*blocks)[0].chain_state.size(), 1u);
  EXPECT_EQ((*blocks)[0].chain_state[0].identity_hash, H(12));
  EXPECT_TRUE((*blocks)[0].chain_state[0].answered);
  EXPECT_FALSE((*blocks)[0].chain_state[0].registered);
  EXPECT_EQ(blocks_asked, (std::vector<std::uint64_t>{1}));
}

TEST(Fetcher, DecodesTheSeedRegistrationVector) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const Bytes calldata = ReadSeedCalldata(dir / "seed/gcp/tdx/gcp-tdx-registration.json");
  Fixture f;
  FakeTx tx;
  tx.hash = H(800);
  tx.input = calldata;
  auto decoded = registry::DecodeRegistryCall(calldata);
  ASSERT_TRUE(decoded.ok());
  const Hash32 id = std::get<registry::AttestCall>(*decoded).identity_hash;
  tx.logs = {CvmUpdated(id)};
  f.chain.Mine({tx});
  auto blocks = f.Build(1, 1);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  const auto& c = (*blocks)[0].calls.at(0);
  EXPECT_EQ(c.function, "attestCvm");
  ASSERT_TRUE(c.decoded) << c.decode_error;
  EXPECT_EQ(std::get<registry::AttestCall>(*c.decoded).identity_hash, id);
  EXPECT_EQ(c.events.at(0).identity_hash, id);
}

}  // namespace
}  // namespace cvmwatch::indexer
