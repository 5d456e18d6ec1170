// Internal: factories of the Beast-based clients (defined in net_transport.cpp, the only file of
// this library that includes Boost.Beast / Asio).
#pragma once

#include <memory>

#include "cvmwatch/indexer/rpc.h"

namespace cvmwatch::indexer::detail {

std::unique_ptr<RpcClient> MakeWebSocketClient(const RpcSettings& settings, const ParsedUrl& url);
std::unique_ptr<RpcClient> MakeHttpClient(const RpcSettings& settings, const ParsedUrl& url);

}  // namespace cvmwatch::indexer::detail
