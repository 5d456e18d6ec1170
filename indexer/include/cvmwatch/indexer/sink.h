// BlockSink: where the indexer hands its blocks (the store, a verifying pipeline in front of it,
// or a test double).
//
// Contract, as the indexer uses it:
//  * ApplyBlock is called strictly in increasing block order. After it returns OK, the sink's
//    cursor is that block (a block's effects and the cursor move together). Blocks without calls
//    are applied too, so the cursor advances on quiet chains (not necessarily every block during
//    backfill: ranges without activity are represented by their last block).
//  * RollbackTo(n) undoes every applied block with number > n (a reorg); the cursor becomes the
//    applied block at or below n. The indexer then re-applies the canonical blocks.
//  * LoadCursor / RecentBlocks are read at start-up (resume, reorg detection after a restart).
//    RecentBlocks returns up to n applied blocks, ascending by number, ending with the cursor.
//  * OnLiveness records facts; it must not block for long.
//  * Flush waits until every block accepted by ApplyBlock is durable (sinks that apply
//    asynchronously); the indexer calls it before it stops.
//  * Errors: a non-OK status stops the indexer (it does not retry sink errors).
// The indexer calls a sink from one thread at a time (its own thread).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/types.h"

namespace cvmwatch::indexer {

class BlockSink {
 public:
  virtual ~BlockSink() = default;
  virtual Result<std::optional<Cursor>> LoadCursor() = 0;
  virtual Status ApplyBlock(const ChainBlock& block) = 0;
  virtual Status RollbackTo(std::uint64_t block_number) = 0;
  virtual std::vector<BlockRef> RecentBlocks(std::size_t n) = 0;
  virtual void OnLiveness(const LivenessFact& fact) = 0;
  virtual Status Flush() { return OkStatus(); }
  // Every identity the sink has seen, registered or not, in hash order (re-read after an
  // Upgraded event). Optional; capped at `max`.
  virtual std::vector<Hash32> KnownIdentities(std::size_t max) {
    (void)max;
    return {};
  }
};

}  // namespace cvmwatch::indexer
