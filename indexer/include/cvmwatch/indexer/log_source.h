// LogSource: eth_getLogs over block ranges for the followed contracts, with adaptive ranges.
//
// Contract: Fetch(from, to) returns the logs of [from, covered_to] for covered_to in [from, to]:
// it may cover less than asked when the node refuses the range. On a range complaint ("more
// than N results", "range exceeds limit of N", response too large), a timeout, or an unknown
// node error, it first follows a provider hint (a suggested "[0x.., 0x..]" range or a stated
// limit), else halves the range, down to `min_range`; after a run of successes it doubles back
// up to `max_range` (the configured cap), but not past a stated limit, and not past half the
// last refused span until 64 successes in a row relax that ceiling. Transport failures (connection lost) are returned
// as-is (retryable) without shrinking. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/rpc.h"
#include "cvmwatch/indexer/types.h"

namespace cvmwatch::indexer {

struct LogFilter {
  std::vector<Address> addresses;
  std::vector<Hash32> topic0s;  // empty: any topic
};
// The JSON filter object without block bounds: {"address":[...],"topics":[[...]]}.
std::string FilterJson(const LogFilter& filter, std::string_view extra_members = {});

struct LogRangeSettings {
  std::uint64_t initial_range = 1'000;
  std::uint64_t max_range = 2'000;  // cap (providers: Alchemy 2k, Infura/QuickNode 10k, Erigon 1k)
  std::uint64_t min_range = 1;
  int grow_after_successes = 4;
};

struct LogBatch {
  std::uint64_t from = 0;
  std::uint64_t to = 0;  // covered_to
  std::vector<LogEntry> logs;
};

// A provider's hint about the range it accepts, from an error message: the block count of a
// suggested "[0xA, 0xB]" range, or a stated limit ("limit of 10000", "maximum block range:
// 5000"). `asked_from` anchors a suggested range.
std::optional<std::uint64_t> RangeHintFromMessage(std::string_view message, std::uint64_t asked_from);
// True when an error text reads as "your range / result set is too large".
bool LooksLikeRangeComplaint(std::string_view message);

class LogSource {
 public:
  LogSource(RpcClient& client, LogFilter filter, LogRangeSettings settings);

  Result<LogBatch> Fetch(std::uint64_t from, std::uint64_t to);
  // Logs of one block by hash (EIP-234): reorg-safe.
  Result<std::vector<LogEntry>> FetchBlock(const Hash32& block_hash);

  std::uint64_t current_range() const { return range_; }
  std::uint64_t shrinks() const { return shrinks_; }
  const LogFilter& filter() const { return filter_; }

 private:
  RpcClient& client_;
  LogFilter filter_;
  std::string filter_json_;
  LogRangeSettings settings_;
  std::uint64_t range_;
  int successes_ = 0;
  std::uint64_t streak_ = 0;
  std::uint64_t ceiling_ = 0;   // growth stops here (halved on refusals, relaxes slowly)
  std::uint64_t hard_cap_ = 0;  // a limit the provider stated
  std::uint64_t shrinks_ = 0;
};

}  // namespace cvmwatch::indexer
