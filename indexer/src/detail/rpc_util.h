// Internal: RPC helpers shared by the fetcher and the indexer loop.
#pragma once

#include <span>
#include <vector>

#include "cvmwatch/indexer/rpc.h"

namespace cvmwatch::indexer::detail {

// CallMany, then re-issues the entries that failed with a retryable error (up to `attempts`
// rounds in all), so one flaky reply does not fail a whole batch.
inline std::vector<Result<std::string>> CallManyRetrying(RpcClient& client, std::span<const RpcRequest> requests,
                                                        int attempts = 3) {
  auto out = client.CallMany(requests);
  for (int round = 1; round < attempts; ++round) {
    std::vector<std::size_t> failed;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!out[i].ok() && out[i].error().retryable) failed.push_back(i);
    }
    if (failed.empty()) break;
    std::vector<RpcRequest> again;
    again.reserve(failed.size());
    for (auto i : failed) again.push_back(requests[i]);
    auto replies = client.CallMany(again);
    for (std::size_t k = 0; k < failed.size(); ++k) out[failed[k]] = std::move(replies[k]);
  }
  return out;
}

}  // namespace cvmwatch::indexer::detail
