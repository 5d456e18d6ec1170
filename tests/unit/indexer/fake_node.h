// A scripted JSON-RPC node on 127.0.0.1 (port 0) over WebSocket and HTTP (Beast), answering from
// a FakeChain. The script decides per request: reply, delay, drop the connection, or stay
// silent; replies can be held back and released in reverse order (out-of-order replies);
// garbage and oversized messages and subscription notifications (newHeads, logs with
// removed:true) can be pushed at any time. Runs its own I/O thread; thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fake_chain.h"

namespace cvmwatch::testing {

class FakeNode {
 public:
  enum class Action { kReply, kDelay, kDrop, kIgnore };
  struct Decision {
    Action action = Action::kReply;
    int delay_ms = 0;
    std::string garbage_before;  // sent as its own message before the reply
  };
  using Script = std::function<Decision(std::string_view method, std::uint64_t id)>;

  explicit FakeNode(FakeChain& chain);
  ~FakeNode();
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;

  std::uint16_t port() const;
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port()); }
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

  void SetScript(Script script);
  // Hold the next `n` replies and send them in reverse order once all n are ready.
  void HoldAndReverse(int n);
  // To every WebSocket connection subscribed to `kind` ("newHeads" or "logs").
  void Notify(std::string_view kind, std::string_view result_json);
  void SendRaw(std::string text);  // to every WebSocket connection
  void DropAll();                  // close every connection at the TCP level
  void SetRefuseBatches(bool refuse);

  int connections() const { return connections_.load(); }
  int ws_connections() const { return ws_connections_.load(); }
  int open_ws() const { return open_ws_.load(); }
  int subscriptions() const { return subscriptions_.load(); }

  struct Impl;
  // Counters (updated by the server thread).
  std::atomic<int> connections_{0};
  std::atomic<int> ws_connections_{0};
  std::atomic<int> open_ws_{0};
  std::atomic<int> subscriptions_{0};

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cvmwatch::testing
