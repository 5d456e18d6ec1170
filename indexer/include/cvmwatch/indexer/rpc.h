// JSON-RPC 2.0 clients for EVM nodes: WebSocket (ws://, wss://) and HTTP (http://, https://).
//
// Contract:
//  * Call / CallMany are blocking and thread-safe; several threads may call at once. Every call
//    has a timeout (settings.call_timeout unless given). Results are the raw JSON text of the
//    reply's "result" member (e.g. "\"0x1a\"", "null", "{...}").
//  * WebSocket: replies are matched by id (nodes answer out of order); up to max_in_flight
//    requests are outstanding (callers beyond that wait, bounded by their timeout); messages
//    are bounded by max_message_bytes; a dropped connection fails the outstanding calls
//    (retryable) and reconnects with exponential backoff and jitter. Subscriptions do not
//    survive a reconnect: watch ConnectionGeneration() / the connection handler and subscribe
//    again. Notifications and connection changes are delivered on the client's I/O thread:
//    handlers must return quickly and must not call Call()/CallMany() themselves.
//  * HTTP: keep-alive connections; CallMany uses JSON-RPC batches (falls back to single calls
//    if the server refuses batches). No subscriptions.
//  * TLS (wss://, https://) verifies the peer certificate against the system store (or
//    ca_file) and the host name; SNI is sent.
//  * Errors: kTimeout (retryable) for calls that ran out of time; kUnavailable (retryable) for
//    connection failures, HTTP 429/5xx and node errors that may pass; kPrecondition
//    (non-retryable) for errors that will not (method not found, invalid params, execution
//    reverted, TLS verification failure). Node errors keep their code and data in the message,
//    in the form "<method>: rpc error <code>: <message>[ (data <data>)]"; ParseRpcError reads
//    them back.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cvmwatch/core/result.h"

namespace cvmwatch::indexer {

struct RpcSettings {
  std::string url;
  std::chrono::milliseconds call_timeout{10'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::size_t max_message_bytes = 64u << 20;
  std::size_t max_in_flight = 128;
  std::size_t max_batch = 50;  // HTTP batch size
  std::chrono::milliseconds reconnect_initial{200};
  std::chrono::milliseconds reconnect_max{30'000};
  double reconnect_jitter = 0.5;  // each delay is drawn from [d * (1 - jitter), d]
  // WebSocket keep-alive: ping when idle this long; a peer silent for twice as long is dropped.
  std::chrono::milliseconds idle_ping{15'000};
  std::string ca_file;  // extra trust anchors (PEM); empty: the system store
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
};

struct RpcRequest {
  std::string method;
  std::string params = "[]";  // a JSON array
};

class RpcClient {
 public:
  // (subscription id, raw JSON of params.result)
  using NotificationHandler = std::function<void(std::string_view, std::string_view)>;
  // (connected, connection generation, reason when disconnected)
  using ConnectionHandler = std::function<void(bool, std::uint64_t, std::string_view)>;

  virtual ~RpcClient() = default;

  // Start connecting (WebSocket) in the background. Idempotent.
  virtual void Start() = 0;
  // Close and stop reconnecting; outstanding calls fail. Idempotent; also run by the destructor.
  virtual void Stop() = 0;
  // Drop the current connection and reconnect (e.g. a subscription that went silent).
  virtual void Reconnect(std::string_view reason) = 0;

  virtual Result<std::string> Call(std::string_view method, std::string_view params,
                                   std::optional<std::chrono::milliseconds> timeout = {}) = 0;
  // All requests in flight at once (bounded by max_in_flight); results in request order.
  virtual std::vector<Result<std::string>> CallMany(std::span<const RpcRequest> requests) = 0;

  virtual bool SupportsSubscriptions() const = 0;
  virtual void SetNotificationHandler(NotificationHandler handler) = 0;
  virtual void SetConnectionHandler(ConnectionHandler handler) = 0;
  // Wait until connected (HTTP: immediately OK).
  virtual Status WaitConnected(std::chrono::milliseconds timeout) = 0;
  virtual bool Connected() const = 0;
  // Incremented by every successful (re)connect; 0 before the first.
  virtual std::uint64_t ConnectionGeneration() const = 0;
  // The endpoint with credentials and path removed, for logs.
  virtual std::string Endpoint() const = 0;

  struct Counters {
    std::uint64_t calls = 0;
    std::uint64_t errors = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t notifications = 0;
    std::uint64_t bad_messages = 0;  // unparsable, oversize, or replies to unknown ids
  };
  virtual Counters GetCounters() const = 0;
};

// ws:// wss:// http:// https:// → the matching client. kPrecondition for other URLs.
Result<std::unique_ptr<RpcClient>> MakeRpcClient(const RpcSettings& settings);

// URL parts. Accepts scheme://[user:pass@]host[:port][/path][?query]; IPv6 hosts in brackets.
struct ParsedUrl {
  std::string scheme;  // lower case
  std::string host;    // without brackets
  std::uint16_t port = 0;
  std::string target;  // path + query, "/" if empty
  bool tls = false;
  bool websocket = false;
};
Result<ParsedUrl> ParseUrl(std::string_view url);
// "wss://mainnet.example.com/…" — no credentials, no path or query (API keys often live there).
std::string RedactUrl(std::string_view url);

// A node error as carried in Error::message (see the contract above).
struct RpcErrorInfo {
  std::int64_t code = 0;
  std::string message;
  std::string data;  // raw JSON of "data" (a hex string keeps its quotes removed), may be empty
};
std::optional<RpcErrorInfo> ParseRpcError(const Error& error);
// Builds the Error for a node error reply; classifies retryability.
Error MakeRpcError(std::string_view method, std::int64_t code, std::string_view message,
                   std::string_view data);
bool IsRetryableRpcCode(std::int64_t code, std::string_view message);

// JSON helpers for building params.
std::string JsonQuote(std::string_view s);
std::string HexQuantity(std::uint64_t v);  // "0x1a"

}  // namespace cvmwatch::indexer
