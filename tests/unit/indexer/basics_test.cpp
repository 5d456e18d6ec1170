// URL parsing, RPC error classification, JSON scanning / parsing, log interpretation.
#include <gtest/gtest.h>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/indexer/fetcher.h"
#include "cvmwatch/indexer/log_source.h"
#include "cvmwatch/indexer/rpc.h"
#include "detail/json.h"

namespace cvmwatch::indexer {
namespace {

TEST(ParseUrl, AcceptsTheFourSchemesWithDefaultPorts) {
  auto ws = ParseUrl("ws://127.0.0.1:8545");
  ASSERT_TRUE(ws.ok());
  EXPECT_TRUE(ws->websocket);
  EXPECT_FALSE(ws->tls);
  EXPECT_EQ(ws->port, 8545);
  EXPECT_EQ(ws->target, "/");
  auto wss = ParseUrl("wss://eth-sepolia.example.com/v2/KEY?x=1");
  ASSERT_TRUE(wss.ok());
  EXPECT_TRUE(wss->tls);
  EXPECT_EQ(wss->port, 443);
  EXPECT_EQ(wss->target, "/v2/KEY?x=1");
  auto http = ParseUrl("HTTP://[::1]:80");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->host, "::1");
  EXPECT_EQ(http->scheme, "http");
  auto https = ParseUrl("https://user:pw@rpc.example.org?key=abc");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->host, "rpc.example.org");
  EXPECT_EQ(https->target, "/?key=abc");
}

TEST(ParseUrl, RejectsMalformedUrlsWithoutEchoingSecrets) {
  for (const char* bad : {"", "127.0.0.1:8545", "ftp://x", "ws://", "ws://host:0", "ws://host:99999", "ws://ho st",
                          "ws://[::1", "ws://host:12ab"}) {
    auto r = ParseUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = ParseUrl("ws://host:99999/v3/SECRET");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("SECRET"), std::string::npos);
}

TEST(RedactUrl, DropsCredentialsPathAndQuery) {
  EXPECT_EQ(RedactUrl("wss://user:pw@mainnet.infura.io/ws/v3/abcdef"), "wss://mainnet.infura.io/…");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:8545/"), "http://127.0.0.1:8545");
}

TEST(RpcErrors, RoundTripCodeMessageAndData) {
  Error e = MakeRpcError("eth_call", 3, "execution reverted: custom error 0x75a1d53a", "0x75a1d53a");
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(e.code, ErrorCode::kPrecondition);
  auto info = ParseRpcError(e);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->code, 3);
  EXPECT_EQ(info->message, "execution reverted: custom error 0x75a1d53a");
  EXPECT_EQ(info->data, "0x75a1d53a");
  Error q = MakeRpcError("eth_call", 3, "execution reverted", "\"0x75a1d53a\"");
  EXPECT_EQ(ParseRpcError(q)->data, "0x75a1d53a");
  EXPECT_FALSE(ParseRpcError(MakeError(ErrorCode::kTimeout, "eth_call: no reply", true)));
}

TEST(RpcErrors, ClassifiesRetryability) {
  EXPECT_TRUE(IsRetryableRpcCode(-32000, "header not found"));
  EXPECT_TRUE(IsRetryableRpcCode(-32005, "limit exceeded"));
  EXPECT_TRUE(IsRetryableRpcCode(-32603, "internal error"));
  EXPECT_TRUE(IsRetryableRpcCode(429, "Too Many Requests"));
  EXPECT_FALSE(IsRetryableRpcCode(-32601, "Method not found"));
  EXPECT_FALSE(IsRetryableRpcCode(-32602, "invalid params"));
  EXPECT_FALSE(IsRetryableRpcCode(-32000, "execution reverted"));
  EXPECT_FALSE(IsRetryableRpcCode(3, "execution reverted"));
}

TEST(JsonHelpers, QuoteAndQuantity) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(HexQuantity(0), "0x0");
  EXPECT_EQ(HexQuantity(255), "0xff");
}

TEST(RawMember, ReturnsTheExactTextOfNestedValues) {
  const std::string j = R"({"jsonrpc":"2.0","id":7,"result":{"a":[1,"}]",{"b":"\"x"}],"c":null},"z":1})";
  auto r = detail::RawMember(j, "result");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, R"({"a":[1,"}]",{"b":"\"x"}],"c":null})");
  EXPECT_EQ(*detail::RawMember(j, "id"), "7");
  EXPECT_EQ(*detail::RawMember(j, "z"), "1");
  EXPECT_FALSE(detail::RawMember(j, "missing"));
  EXPECT_EQ(*detail::RawMember(R"( { "result" : "0x1" } )", "result"), "\"0x1\"");
  EXPECT_FALSE(detail::RawMember("[1,2]", "result"));
}

TEST(ParseQuantity, IsStrict) {
  EXPECT_EQ(*detail::ParseQuantity("0x0"), 0u);
  EXPECT_EQ(*detail::ParseQuantity("0x1a"), 26u);
  EXPECT_EQ(*detail::ParseQuantity("0xffffffffffffffff"), UINT64_MAX);
  for (const char* bad : {"", "0x", "1a", "0x1g", "0x10000000000000000", "-0x1"}) {
    EXPECT_FALSE(detail::ParseQuantity(bad).ok()) << bad;
  }
}

TEST(ParseEthObjects, BlocksLogsReceiptsAndTraces) {
  detail::JsonParser p;
  auto nb = detail::ParseBlock(p, "null");
  ASSERT_TRUE(nb.ok());
  EXPECT_FALSE(*nb);
  const std::string block = R"({"number":"0x5","hash":"0x)" + std::string(64, 'a') + R"(","parentHash":"0x)" +
                            std::string(64, 'b') + R"(","timestamp":"0x10","transactions":[{"hash":"0x)" +
                            std::string(64, 'c') + R"(","from":"0x)" + std::string(40, '1') +
                            R"(","to":null,"input":"0x6001","transactionIndex":"0x0"}]})";
  auto b = detail::ParseBlock(p, block);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(*b);
  EXPECT_EQ((*b)->ref.number, 5u);
  EXPECT_EQ((*b)->ref.timestamp, 16u);
  ASSERT_EQ((*b)->txs.size(), 1u);
  EXPECT_FALSE((*b)->txs[0].to);
  EXPECT_EQ((*b)->txs[0].input, (Bytes{0x60, 0x01}));

  EXPECT_FALSE(detail::ParseBlock(p, R"({"number":"0x5"})").ok());
  EXPECT_FALSE(detail::ParseLogs(p, R"({"not":"an array"})").ok());
  EXPECT_FALSE(detail::ParseLogs(p, R"([{"address":"0x12"}])").ok());
  EXPECT_FALSE(detail::ParseLogs(p, "[1,2").ok());

  auto trace = detail::ParseTrace(p, R"({"type":"CALL","from":"0x)" + std::string(40, '1') + R"(","to":"0x)" +
                                         std::string(40, '2') + R"(","input":"0x","calls":[{"type":"CALL","from":"0x)" +
                                         std::string(40, '2') + R"(","to":"0x)" + std::string(40, '3') +
                                         R"(","input":"0xabcdef01","output":"0x","error":"execution reverted"}]})");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_EQ(trace->calls.size(), 1u);
  EXPECT_EQ(trace->calls[0].error, "execution reverted");
  auto struct_logs = detail::ParseTrace(p, R"({"failed":false,"gas":0,"returnValue":"0x","structLogs":[]})");
  ASSERT_FALSE(struct_logs.ok());
  EXPECT_EQ(struct_logs.error().code, ErrorCode::kNotFound);
}

TEST(InterpretLog, NamesEventsAndExtractsIdentities) {
  const Hash32 id = Keccak256(AsBytes("identity"));
  LogEntry l;
  l.address = *Address::FromHex("0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac");
  l.topics = {EventTopic("CVMUpdated(bytes32)"), id};
  auto ev = InterpretLog(l);
  EXPECT_EQ(ev.name, "CVMUpdated");
  EXPECT_EQ(ev.identity_hash, id);

  // D-style unindexed hash: data[0:32].
  l.topics = {EventTopic("CVMRegistered(bytes32)")};
  l.data = Bytes(id.bytes.begin(), id.bytes.end());
  EXPECT_EQ(InterpretLog(l).identity_hash, id);

  // A0 rotation: new indexed, old in data.
  const Hash32 old_id = Keccak256(AsBytes("old"));
  l.topics = {EventTopic("CVMIdentityRotated(bytes32,bytes32)"), id};
  l.data = Bytes(old_id.bytes.begin(), old_id.bytes.end());
  ev = InterpretLog(l);
  EXPECT_EQ(ev.identity_hash, id);
  EXPECT_EQ(ev.other_hash, old_id);

  Hash32 impl_topic;
  impl_topic.bytes[31] = 0x42;
  l.topics = {EventTopic("Upgraded(address)"), impl_topic};
  l.data.clear();
  ev = InterpretLog(l);
  ASSERT_TRUE(ev.implementation);
  EXPECT_EQ(ev.implementation->bytes[19], 0x42);

  l.topics = {Keccak256(AsBytes("Unrelated(uint256)"))};
  EXPECT_EQ(InterpretLog(l).name, "unknown");
  l.topics.clear();
  EXPECT_EQ(InterpretLog(l).name, "anonymous");
}

TEST(InterpretLog, TpmMeasurementCheckedCarriesTheIdentityInExtraData) {
  const Hash32 id = Keccak256(AsBytes("bound identity"));
  // data = abi.encode(bytes32 pcrDigest, bytes userData) with userData = 0xff ‖ id ‖ nonce(8)
  Bytes data(32 * 3 + 64, 0);
  std::fill(data.begin(), data.begin() + 32, 0x11);
  data[63] = 0x40;  // offset of userData
  data[95] = 41;    // its length
  data[96] = 0xff;
  std::copy(id.bytes.begin(), id.bytes.end(), data.begin() + 97);
  std::fill(data.begin() + 129, data.begin() + 137, 0x07);
  LogEntry l;
  l.topics = {EventTopic("TpmMeasurementChecked(bytes32,bytes32,bytes)"), Keccak256(AsBytes("quote"))};
  l.data = data;
  auto ev = InterpretLog(l);
  EXPECT_EQ(ev.name, "TpmMeasurementChecked");
  EXPECT_EQ(ev.identity_hash, id);
  EXPECT_EQ(ev.other_hash, Keccak256(AsBytes("quote")));
}

TEST(FunctionName, KnowsLifecycleAndAdminSelectors) {
  EXPECT_EQ(FunctionName(*HexToBytes("0xdf42b054")), "attestCvm");
  EXPECT_EQ(FunctionName(*HexToBytes("0x60ca2da1")), "reattestCvmWithTpm");
  EXPECT_EQ(FunctionName(*HexToBytes("0xf473d8ea00")), "setCollateralTTL");
  EXPECT_EQ(FunctionName(*HexToBytes("0x4f1ef286")), "upgradeToAndCall");
  EXPECT_EQ(FunctionName(*HexToBytes("0xdeadbeef")), "");
  EXPECT_EQ(FunctionName(*HexToBytes("0x4f1e")), "");
}

TEST(RangeHints, ReadProviderMessages) {
  EXPECT_EQ(RangeHintFromMessage("this block range should work: [0x3a9d2a0, 0x3a9d4e3]", 0x3a9d2a0), 0x244u);
  EXPECT_EQ(RangeHintFromMessage("query returned more than 10000 results. Try with this block range [0x10, 0x1f].", 0x10), 16u);
  EXPECT_EQ(RangeHintFromMessage("range 20000 exceeds limit of 10000", 0), 10000u);
  EXPECT_EQ(RangeHintFromMessage("exceed maximum block range: 5000", 0), 5000u);
  EXPECT_EQ(RangeHintFromMessage("eth_getLogs is limited to a 10,000 range", 0), 10000u);
  EXPECT_EQ(RangeHintFromMessage("block range limit (1000) exceeded", 0), 1000u);
  EXPECT_FALSE(RangeHintFromMessage("query returned more than 10000 results", 0));
  EXPECT_FALSE(RangeHintFromMessage("internal error", 0));
  EXPECT_TRUE(LooksLikeRangeComplaint("Log response size exceeded"));
  EXPECT_FALSE(LooksLikeRangeComplaint("header not found"));
}

}  // namespace
}  // namespace cvmwatch::indexer
