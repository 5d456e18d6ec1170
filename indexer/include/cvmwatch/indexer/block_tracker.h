// BlockTracker: the recent applied headers, for reorg detection by parent hash.
//
// Contract: holds up to `window` applied BlockRefs in increasing number order (possibly with
// gaps: during backfill only blocks with activity and range ends are applied). A new block
// either extends the newest one (parent hash matches), follows a gap (its parent is unknown), or
// forks (its parent differs from the block we hold at number - 1, or it re-uses a number we hold
// with another hash). FindCommonAncestor walks back through the held blocks, newest first, and
// returns the newest one whose hash is still canonical: the block to roll back to. Not
// thread-safe (the indexer's thread owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/types.h"

namespace cvmwatch::indexer {

// Depth counts or the finalized tag (contracts of indexer-lessons.md §1c).
struct ConfirmationPolicy {
  enum class Mode { kDepth, kFinalized };
  Mode mode = Mode::kDepth;
  std::uint64_t depth = 0;  // kDepth: index up to head - depth
};

class BlockTracker {
 public:
  explicit BlockTracker(std::size_t window = 256) : window_(window == 0 ? 1 : window) {}

  enum class Link {
    kFirst,     // nothing held yet
    kExtends,   // parent hash = the held block at number - 1
    kGap,       // number - 1 is not held (after a sparse backfill range): unverifiable
    kKnown,     // the same block (number and hash) is already held
    kFork,      // parent mismatch, or another hash at a number we hold
    kBehind,    // older than everything held
  };
  Link Classify(const BlockRef& next) const;

  void Seed(std::vector<BlockRef> refs);  // replaces the contents (ascending order assumed)
  void Push(const BlockRef& ref);         // drops held blocks with number >= ref.number first
  void TruncateAfter(std::uint64_t number);
  void Clear() { refs_.clear(); }

  std::optional<BlockRef> Last() const;
  std::optional<BlockRef> At(std::uint64_t number) const;
  std::vector<BlockRef> Refs() const { return {refs_.begin(), refs_.end()}; }
  std::size_t size() const { return refs_.size(); }
  std::size_t window() const { return window_; }

  // `canonical(n)` returns the node's hash at height n (nullopt: the node does not have n).
  // Walks back from the newest held block with number <= from_number. Returns the newest held
  // block whose hash is canonical; nullopt when none in the window matches (a deeper reorg).
  // Held blocks above the node's head are skipped (a lagging node is not evidence of a fork).
  using CanonicalHash = std::function<Result<std::optional<Hash32>>(std::uint64_t)>;
  Result<std::optional<BlockRef>> FindCommonAncestor(std::uint64_t from_number,
                                                     const CanonicalHash& canonical) const;

 private:
  std::size_t window_;
  std::deque<BlockRef> refs_;
};

}  // namespace cvmwatch::indexer
