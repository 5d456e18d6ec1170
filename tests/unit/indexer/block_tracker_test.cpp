#include <gtest/gtest.h>

#include <map>

#include "cvmwatch/indexer/block_tracker.h"
#include "fake_chain.h"

namespace cvmwatch::indexer {
namespace {

using cvmwatch::testing::H;

BlockRef Ref(std::uint64_t n, std::uint64_t hash_seed, std::uint64_t parent_seed) {
  return BlockRef{n, H(hash_seed), H(parent_seed), 1000 + n};
}

TEST(BlockTracker, ClassifiesExtensionsGapsForksAndDuplicates) {
  BlockTracker t(8);
  EXPECT_EQ(t.Classify(Ref(1, 1, 0)), BlockTracker::Link::kFirst);
  t.Push(Ref(1, 1, 0));
  t.Push(Ref(2, 2, 1));
  EXPECT_EQ(t.Classify(Ref(3, 3, 2)), BlockTracker::Link::kExtends);
  EXPECT_EQ(t.Classify(Ref(3, 3, 99)), BlockTracker::Link::kFork);
  EXPECT_EQ(t.Classify(Ref(2, 2, 1)), BlockTracker::Link::kKnown);
  EXPECT_EQ(t.Classify(Ref(2, 77, 1)), BlockTracker::Link::kFork);
  EXPECT_EQ(t.Classify(Ref(9, 9, 8)), BlockTracker::Link::kGap);
  EXPECT_EQ(t.Classify(Ref(0, 0, 0)), BlockTracker::Link::kBehind);
}

TEST(BlockTracker, KeepsABoundedWindowAndTruncates) {
  BlockTracker t(3);
  for (std::uint64_t n = 1; n <= 5; ++n) t.Push(Ref(n, n, n - 1));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.At(2));
  EXPECT_TRUE(t.At(3));
  t.TruncateAfter(3);
  EXPECT_EQ(t.Last()->number, 3u);
  // Pushing a lower number drops what is above it (re-application after a rollback).
  t.Push(Ref(5, 50, 3));
  t.Push(Ref(4, 40, 3));
  EXPECT_EQ(t.Last()->number, 4u);
}

TEST(BlockTracker, FindsTheNewestCanonicalAncestorAcrossSparseBlocks) {
  BlockTracker t(16);
  // sparse backfill: 10, 20, 25, then contiguous 26..28
  t.Push(Ref(10, 10, 9));
  t.Push(Ref(20, 20, 19));
  t.Push(Ref(25, 25, 24));
  t.Push(Ref(26, 26, 25));
  t.Push(Ref(27, 27, 26));
  t.Push(Ref(28, 28, 27));
  // the node replaced 26..28
  std::map<std::uint64_t, Hash32> canonical{{10, H(10)}, {20, H(20)}, {25, H(25)}, {26, H(126)}, {27, H(127)}, {28, H(128)}};
  int lookups = 0;
  auto lookup = [&](std::uint64_t n) -> Result<std::optional<Hash32>> {
    ++lookups;
    auto it = canonical.find(n);
    if (it == canonical.end()) return std::optional<Hash32>();
    return std::optional<Hash32>(it->second);
  };
  auto a = t.FindCommonAncestor(28, lookup);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(*a);
  EXPECT_EQ((*a)->number, 25u);
  EXPECT_EQ(lookups, 4);
}

TEST(BlockTracker, ALaggingNodeIsNoEvidenceAndADeepReorgHasNoAncestor) {
  BlockTracker t(4);
  for (std::uint64_t n = 1; n <= 4; ++n) t.Push(Ref(n, n, n - 1));
  auto lagging = [&](std::uint64_t n) -> Result<std::optional<Hash32>> {
    if (n > 2) return std::optional<Hash32>();  // does not have 3, 4 yet
    return std::optional<Hash32>(H(n));
  };
  auto a = t.FindCommonAncestor(4, lagging);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->number, 2u);
  auto all_different = [&](std::uint64_t n) -> Result<std::optional<Hash32>> { return std::optional<Hash32>(H(1000 + n)); };
  auto none = t.FindCommonAncestor(4, all_different);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  auto failing = [&](std::uint64_t) -> Result<std::optional<Hash32>> {
    return MakeError(ErrorCode::kUnavailable, "down", true);
  };
  EXPECT_FALSE(t.FindCommonAncestor(4, failing).ok());
}

}  // namespace
}  // namespace cvmwatch::indexer
