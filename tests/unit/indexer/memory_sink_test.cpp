#include <gtest/gtest.h>

#include "cvmwatch/indexer/memory_sink.h"
#include "fake_chain.h"

namespace cvmwatch::indexer {
namespace {

using cvmwatch::testing::H;

ChainBlock Block(std::uint64_t n, std::uint64_t ts) {
  ChainBlock b;
  b.block_number = n;
  b.block_hash = H(1000 + n);
  b.parent_hash = H(999 + n);
  b.timestamp = ts;
  return b;
}

ObservedCall Attest(const Hash32& id, std::uint8_t tee, std::uint8_t cloud) {
  registry::AttestCall a;
  a.identity_hash = id;
  a.tee_type = tee;
  a.cloud_type = cloud;
  ObservedCall c;
  c.function = "attestCvm";
  c.decoded = registry::RegistryCall(a);
  return c;
}

ObservedCall Reattest(const Hash32& from, const Hash32& to) {
  registry::ReattestCall r;
  r.target_identity_hash = from;
  r.new_identity_hash = to;
  ObservedCall c;
  c.function = "reattestCvmWithTpm";
  c.decoded = registry::RegistryCall(r);
  return c;
}

ChainConfig Chain(const Hash32& id, bool registered, std::uint64_t tee_ts, std::uint64_t tpm_ts, std::uint8_t tee = 1,
                  std::uint8_t cloud = 1) {
  ChainConfig c;
  c.identity_hash = id;
  c.answered = true;
  c.registered = registered;
  c.layout = "A2";
  c.tee_type = tee;
  c.cloud_type = cloud;
  c.tee_ttl = 2'592'000;
  c.tpm_ttl = 5'184'000;
  c.tee_recent_timestamp = tee_ts;
  c.tpm_recent_timestamp = tpm_ts;
  return c;
}

TEST(MemorySink, DerivesRegistrationAndRotationAndAgreesWithTheChain) {
  MemorySink sink;
  ChainBlock b1 = Block(1, 100);
  b1.calls.push_back(Attest(H(1), 1, 1));
  b1.chain_state.push_back(Chain(H(1), true, 100, 100));
  ASSERT_TRUE(sink.ApplyBlock(b1).ok());
  ChainBlock b2 = Block(2, 160);
  b2.calls.push_back(Reattest(H(1), H(2)));
  b2.chain_state.push_back(Chain(H(1), false, 0, 0));
  b2.chain_state.push_back(Chain(H(2), true, 100, 160));
  ASSERT_TRUE(sink.ApplyBlock(b2).ok());
  EXPECT_TRUE(sink.diffs().empty());
  const auto ids = sink.identities();
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_FALSE(ids.at(H(1)).registered);
  EXPECT_EQ(ids.at(H(1)).rotated_to, H(2));
  EXPECT_EQ(ids.at(H(1)).nonce, 1u);
  EXPECT_TRUE(ids.at(H(2)).registered);
  EXPECT_EQ(ids.at(H(2)).tee_recent_timestamp, 100u);  // kept from the registration
  EXPECT_EQ(ids.at(H(2)).tpm_recent_timestamp, 160u);
  EXPECT_EQ(ids.at(H(2)).rotated_from, H(1));
  EXPECT_EQ(sink.cursor()->block_number, 2u);
}

TEST(MemorySink, RecordsDifferencesFromTheChainAndAdoptsItsAnswer) {
  MemorySink sink;
  ChainBlock b1 = Block(1, 100);
  b1.calls.push_back(Attest(H(1), 1, 1));
  b1.chain_state.push_back(Chain(H(1), true, 100, 99, 2, 1));  // chain says TEE type 2, TPM ts 99
  ASSERT_TRUE(sink.ApplyBlock(b1).ok());
  const auto diffs = sink.diffs();
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0].field, "teeType");
  EXPECT_EQ(diffs[0].derived, "1");
  EXPECT_EQ(diffs[0].chain, "2");
  EXPECT_EQ(diffs[1].field, "tpmRecentTimestamp");
  EXPECT_EQ(sink.identities().at(H(1)).tee_type, 2);
}

TEST(MemorySink, RollbackRebuildsTheStateAndTheFingerprintMatchesAFreshRun) {
  MemorySink a;
  ChainBlock b1 = Block(1, 100);
  b1.calls.push_back(Attest(H(1), 1, 1));
  ChainBlock b2 = Block(2, 110);
  ChainBlock b3 = Block(3, 120);
  b3.calls.push_back(Reattest(H(1), H(2)));
  ASSERT_TRUE(a.ApplyBlock(b1).ok());
  ASSERT_TRUE(a.ApplyBlock(b2).ok());
  ASSERT_TRUE(a.ApplyBlock(b3).ok());
  EXPECT_FALSE(a.ApplyBlock(b2).ok());  // not after the cursor
  ASSERT_TRUE(a.RollbackTo(2).ok());
  EXPECT_EQ(a.cursor()->block_number, 2u);
  EXPECT_TRUE(a.identities().at(H(1)).registered);
  EXPECT_FALSE(a.identities().count(H(2)));

  MemorySink fresh;
  ASSERT_TRUE(fresh.ApplyBlock(b1).ok());
  ASSERT_TRUE(fresh.ApplyBlock(b2).ok());
  EXPECT_EQ(a.Fingerprint(), fresh.Fingerprint());
  EXPECT_EQ(a.rollback_count(), 1u);
  EXPECT_EQ(a.RecentBlocks(10).size(), 2u);
  EXPECT_EQ(a.RecentBlocks(1).back().number, 2u);
}

TEST(MemorySink, ReportsInjectedErrorsAndWaitsForConditions) {
  MemorySink sink;
  sink.FailNextApply(MakeError(ErrorCode::kIo, "disk full"));
  EXPECT_FALSE(sink.ApplyBlock(Block(1, 1)).ok());
  sink.FailNextApply(std::nullopt);
  EXPECT_TRUE(sink.ApplyBlock(Block(1, 1)).ok());
  EXPECT_TRUE(sink.WaitFor([](const MemorySink& s) { return s.applied_count() == 1; }, std::chrono::milliseconds(10)));
  EXPECT_FALSE(sink.WaitFor([](const MemorySink& s) { return s.applied_count() == 2; }, std::chrono::milliseconds(10)));
}

}  // namespace
}  // namespace cvmwatch::indexer
