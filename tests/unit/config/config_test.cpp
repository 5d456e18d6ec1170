// The TOML loader, presets, environment overrides and validation.
#include <gtest/gtest.h>

#include <map>

#include "cvmwatch/config/config.h"

namespace cvmwatch::config {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

bool HasProblem(const std::vector<Problem>& ps, std::string_view where, bool error = true) {
  for (const auto& p : ps) {
    if (p.where == where && p.error == error) return true;
  }
  return false;
}

TEST(Presets, EveryPresetLoadsAndValidates) {
  ASSERT_EQ(Presets().size(), 3u);
  for (const auto& p : Presets()) {
    auto c = PresetConfig(p.name, Env({{"CVMWATCH_RPC_URL", "wss://rpc.example.org/v1/key"}}));
    ASSERT_TRUE(c.ok()) << p.name << ": " << c.error().message;
    const auto problems = Validate(*c);
    EXPECT_FALSE(HasErrors(problems)) << p.name << ": " << (problems.empty() ? "" : problems[0].where + " " + problems[0].message);
    EXPECT_EQ(c->chain.name, p.name);
  }
}

TEST(Presets, CarryTheDeploymentAddressesFromTheSpec) {
  auto dev = PresetConfig("devnet", NoEnv());
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->chain.chain_id, 31337u);
  EXPECT_EQ(dev->chain.registry.ToHex(), "0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac");
  EXPECT_TRUE(dev->indexer.scan_all_transactions);
  auto sep = PresetConfig("sepolia", Env({{"CVMWATCH_SEPOLIA_RPC_URL", "wss://x.example"}}));
  ASSERT_TRUE(sep.ok()) << sep.error().message;
  EXPECT_EQ(sep->chain.chain_id, 11155111u);
  EXPECT_EQ(ChecksumAddress(sep->chain.registry), "0xE626f5503B455F775AA9845843B46033a26A635d");
  EXPECT_EQ(sep->rpc.url, "wss://x.example");
  auto ata = PresetConfig("automata-testnet", Env({{"CVMWATCH_AUTOMATA_TESTNET_RPC_URL", "https://y.example"}}));
  ASSERT_TRUE(ata.ok());
  EXPECT_EQ(ata->chain.chain_id, 1398243u);
  EXPECT_EQ(ChecksumAddress(ata->chain.registry), "0x262eAcF7DC665a6dc416AdDB45a4dB5F1e79aF38");
  EXPECT_EQ(ata->chain.follow.size(), 3u);
  EXPECT_FALSE(FindPreset("mainnet"));
}

TEST(ParseConfig, AFileStartsFromItsPresetAndOverridesIt) {
  const char* text = R"(
preset = "devnet"
[rpc]
url = "ws://127.0.0.1:9999"
cross_check = ["http://127.0.0.1:9998"]
[indexer]
confirmations = "finalized"
max_getlogs_range = 500
[pipeline]
workers = 4
[log]
format = "json"
)";
  auto c = ParseConfig(text, "test.toml", NoEnv());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->preset, "devnet");
  EXPECT_EQ(c->chain.chain_id, 31337u);
  EXPECT_EQ(c->rpc.url, "ws://127.0.0.1:9999");
  EXPECT_EQ(c->rpc.cross_check.size(), 1u);
  EXPECT_TRUE(c->indexer.finalized);
  EXPECT_EQ(c->indexer.max_getlogs_range, 500u);
  EXPECT_TRUE(c->indexer.scan_all_transactions);  // from the preset
  EXPECT_EQ(c->pipeline.workers, 4u);
  EXPECT_FALSE(HasErrors(Validate(*c)));
}

TEST(ParseConfig, ReportsSyntaxErrorsUnknownKeysAndWrongTypesWithTheirPosition) {
  auto bad = ParseConfig("[chain\nchain_id = 1", "a.toml", NoEnv());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("a.toml:1:", 0), 0u) << bad.error().message;

  auto unknown = ParseConfig("[indexer]\nconfirmation = 3\n", "b.toml", NoEnv());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("b.toml:2:"), std::string::npos) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("unknown key \"confirmation\" in [indexer]"), std::string::npos);

  auto type = ParseConfig("[rpc]\ntimeout_ms = \"10s\"\n", "c.toml", NoEnv());
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.error().message.find("rpc.timeout_ms must be an integer"), std::string::npos) << type.error().message;

  auto negative = ParseConfig("[chain]\nstart_block = -1\n", "d.toml", NoEnv());
  ASSERT_FALSE(negative.ok());

  auto conf = ParseConfig("[indexer]\nconfirmations = \"safe\"\n", "e.toml", NoEnv());
  ASSERT_FALSE(conf.ok());
  EXPECT_NE(conf.error().message.find("\"finalized\""), std::string::npos);

  auto preset = ParseConfig("preset = \"mainnet\"\n", "f.toml", NoEnv());
  ASSERT_FALSE(preset.ok());
  EXPECT_NE(preset.error().message.find("unknown preset \"mainnet\""), std::string::npos);
}

TEST(ParseAddress, IsStrictAndChecksEip55) {
  // EIP-55's own examples.
  for (const char* good : {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                           "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    auto a = ParseAddress(good);
    ASSERT_TRUE(a.ok()) << good;
    EXPECT_EQ(ChecksumAddress(*a), good);
  }
  EXPECT_TRUE(ParseAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").ok());  // all lower: no checksum
  EXPECT_TRUE(ParseAddress("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED").ok());  // all upper: no checksum
  auto wrong = ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("EIP-55"), std::string::npos);
  EXPECT_FALSE(ParseAddress("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").ok());
  EXPECT_FALSE(ParseAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea").ok());
  EXPECT_FALSE(ParseAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beazz").ok());

  auto in_file = ParseConfig("[chain]\nregistry = \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\"\n", "g.toml", NoEnv());
  ASSERT_FALSE(in_file.ok());
  EXPECT_NE(in_file.error().message.find("g.toml:2:"), std::string::npos);
}

TEST(Environment, OverridesSecretsAndExpandsReferences) {
  const char* text = R"(
preset = "devnet"
[rpc]
url = "${MY_NODE}"
[rpc.headers]
X-Api-Key = "${MY_KEY}"
)";
  auto c = ParseConfig(text, "h.toml", Env({{"MY_NODE", "wss://node.example/ws"}, {"MY_KEY", "s3cret"}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->rpc.url, "wss://node.example/ws");
  ASSERT_EQ(c->rpc.headers.size(), 1u);
  EXPECT_EQ(c->rpc.headers[0].second, "s3cret");
  EXPECT_EQ(c->env_used, (std::vector<std::string>{"MY_NODE", "MY_KEY"}));

  auto missing = ParseConfig(text, "h.toml", Env({{"MY_KEY", "s3cret"}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("MY_NODE, which is not set"), std::string::npos);

  auto fixed = ParseConfig(text, "h.toml",
                           Env({{"CVMWATCH_RPC_URL", "ws://127.0.0.1:1"}, {"MY_KEY", "k"},
                                {"CVMWATCH_RPC_CROSS_CHECK", "http://127.0.0.1:2,http://127.0.0.1:3"},
                                {"CVMWATCH_RPC_AUTHORIZATION", "Bearer abc"}}));
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed->rpc.url, "ws://127.0.0.1:1");
  EXPECT_EQ(fixed->rpc.cross_check.size(), 2u);
  ASSERT_EQ(fixed->rpc.headers.size(), 2u);
  EXPECT_EQ(fixed->rpc.headers[1].first, "Authorization");
  const std::string text_out = Describe(*fixed);
  EXPECT_EQ(text_out.find("Bearer abc"), std::string::npos);
  EXPECT_NE(text_out.find("Authorization: <10 chars>"), std::string::npos);
}

TEST(Validate, FindsEveryProblemAtOnce) {
  Config c;
  c.rpc.url = "ftp://x";
  c.rpc.cross_check = {"ws://host:70000"};
  c.rpc.timeout_ms = 0;
  c.indexer.min_getlogs_range = 10;
  c.indexer.max_getlogs_range = 5;
  c.indexer.reorg_window = 0;
  c.pipeline.workers = 0;
  c.log.format = "xml";
  const auto ps = Validate(c);
  for (const char* where : {"chain.chain_id", "chain.registry", "rpc.url", "rpc.cross_check[0]", "rpc.timeout_ms",
                            "indexer.max_getlogs_range", "indexer.reorg_window", "pipeline.workers", "log.format"}) {
    EXPECT_TRUE(HasProblem(ps, where)) << where;
  }
}

TEST(Validate, WarnsAboutPlainTextRemoteEndpoints) {
  auto c = PresetConfig("devnet", Env({{"CVMWATCH_RPC_URL", "ws://node.example.com:8546"}}));
  ASSERT_TRUE(c.ok());
  const auto ps = Validate(*c);
  EXPECT_FALSE(HasErrors(ps));
  EXPECT_TRUE(HasProblem(ps, "rpc.url", /*error=*/false));
}

TEST(Urls, CheckAndRedact) {
  EXPECT_EQ(CheckUrl("wss://a.example/x?y=1"), "");
  EXPECT_EQ(CheckUrl("http://[::1]:8545"), "");
  EXPECT_NE(CheckUrl("ws:/nohost"), "");
  EXPECT_NE(CheckUrl("ws://host:"), "");
  EXPECT_NE(CheckUrl("http://ho st"), "");
  EXPECT_EQ(RedactUrl("https://user:pw@rpc.example.org/v3/KEY"), "https://rpc.example.org/…");
}

}  // namespace
}  // namespace cvmwatch::config
