// Property: over random lifecycle traffic, apply → rollback → (orphan fork) → re-apply leaves the
// store exactly as applying the canonical chain directly, and both equal the in-memory model.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "cvmwatch/store/store.h"
#include "store/store_test_util.h"

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

std::vector<InputBlock> GenerateChain(std::uint64_t seed, std::size_t length, Chain& chain,
                                      std::uint32_t fork) {
  TrafficGenerator traffic(seed);
  std::vector<InputBlock> blocks;
  for (std::size_t i = 0; i < length; ++i) {
    const std::uint64_t gap = traffic.NextGap();
    blocks.push_back(chain.Next(gap, traffic.NextSubmissions(), fork));
  }
  return blocks;
}

void ApplyAll(Store& store, const std::vector<InputBlock>& blocks, std::size_t from,
              std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    auto r = store.ApplyBlock(blocks[i]);
    ASSERT_TRUE(r.ok()) << "block " << blocks[i].header.number << ": " << r.error().ToString();
  }
}

class RollbackProperty : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(RollbackProperty, ApplyRollbackReapplyEqualsDirectApplyAndTheModel) {
  const std::uint64_t seed = GetParam();
  std::mt19937_64 rng(seed * 7919);
  constexpr std::size_t kLength = 36;
  Chain canonical_chain;
  const std::vector<InputBlock> canonical = GenerateChain(seed, kLength, canonical_chain, 0);

  // Direct application, and the model as the oracle.
  TempDir direct_dir;
  auto direct = OpenOrDie(OptionsAt(direct_dir.path()));
  ApplyAll(*direct, canonical, 0, kLength);
  InMemoryIdentities model;
  for (const InputBlock& b : canonical) ASSERT_TRUE(model.Apply(b).ok());

  // The same chain with reorgs: apply ahead, roll back, apply an orphan fork, roll back again,
  // then the canonical remainder. Twice, at random depths.
  TempDir reorg_dir;
  auto reorged = OpenOrDie(OptionsAt(reorg_dir.path()));
  std::size_t applied = 0;
  for (int round = 0; round < 2; ++round) {
    const std::size_t keep = applied + rng() % (kLength - applied - 1);  // blocks kept
    const std::size_t ahead = keep + 1 + rng() % (kLength - keep - 1 + 1);
    ApplyAll(*reorged, canonical, applied, std::min(ahead, kLength));
    const std::uint64_t keep_number =
        keep == 0 ? canonical[0].header.number - 1 : canonical[keep - 1].header.number;
    ASSERT_TRUE(reorged->RollbackTo(keep_number).ok());

    Chain fork_chain(keep_number + 1, keep == 0 ? kT0 : canonical[keep - 1].header.timestamp);
    if (keep > 0) fork_chain.ResetTo(canonical[keep - 1].header);
    const std::vector<InputBlock> orphan =
        GenerateChain(seed + 1000 + static_cast<std::uint64_t>(round), 1 + rng() % 5, fork_chain,
                      /*fork=*/static_cast<std::uint32_t>(round + 1));
    if (keep == 0) {
      // An empty store accepts any first block; the orphan starts where the canonical would.
      ASSERT_EQ(orphan[0].header.number, canonical[0].header.number);
    }
    ApplyAll(*reorged, orphan, 0, orphan.size());
    ASSERT_TRUE(reorged->RollbackTo(keep_number).ok());
    applied = keep;
  }
  ApplyAll(*reorged, canonical, applied, kLength);

  const ReadView a = direct->Read();
  const ReadView b = reorged->Read();
  ASSERT_EQ(a.StateDigest().value(), b.StateDigest().value()) << "seed " << seed;
  EXPECT_EQ(a.CountByStatus().value(), b.CountByStatus().value());

  // Both equal the model, identity by identity and entry by entry.
  std::size_t listed = 0;
  PageRequest page{"", 1000};
  do {
    auto p = b.ListIdentities({}, page);
    ASSERT_TRUE(p.ok());
    for (const IdentityState& s : p->items) {
      ++listed;
      ASSERT_EQ(model.identities().count(s.identity_hash), 1u);
      EXPECT_EQ(s, model.identities().at(s.identity_hash));
    }
    page.cursor = p->next_cursor;
  } while (!page.cursor.empty());
  EXPECT_EQ(listed, model.identities().size());

  std::map<Hash32, std::vector<HistoryEntry>> expected;
  for (const HistoryEntry& e : model.history()) expected[e.identity_hash].push_back(e);
  for (const auto& [hash, entries] : expected) {
    auto h = b.History(hash, Order::kAscending, {"", 1000});
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->items, entries);
  }

  // The reorged store's audit chain still verifies, rollback records included.
  auto records = b.AuditRecords(1, 1'000'000);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(
      VerifyAuditChain(*records, 1, b.AuditGenesisHash(), b.AuditHeadNow()->last_hash).ok());
  EXPECT_GT(records->size(), model.history().size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, RollbackProperty, ::testing::Range<std::uint64_t>(1, 21));

}  // namespace
}  // namespace cvmwatch::store
