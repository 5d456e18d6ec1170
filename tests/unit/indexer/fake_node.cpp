#include <utility>  // Boost 1.74 asio needs std::exchange before its headers (GCC 12, C++20)

#include "fake_node.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "detail/json.h"

namespace cvmwatch::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::string ErrorJson(const Error& e) {
  auto info = indexer::ParseRpcError(e);
  std::int64_t code = info ? info->code : -32000;
  std::string message = info ? info->message : e.message;
  std::string out = "{\"code\":" + std::to_string(code) + ",\"message\":" + indexer::JsonQuote(message);
  if (info && !info->data.empty()) out += ",\"data\":" + indexer::JsonQuote(info->data);
  return out + "}";
}

}  // namespace

class WsSession;

struct FakeNode::Impl {
  Impl(FakeNode* owner, FakeChain& c) : node(owner), chain(c), acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {}

  // Reply text for one request object (without the id framing), or nullopt for notifications.
  std::string Answer(std::string_view method, std::string_view params, std::uint64_t id, WsSession* ws);

  FakeNode* node;
  FakeChain& chain;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::thread thread;
  std::mutex mu;
  Script script;
  int hold = 0;
  bool refuse_batches = false;
  std::vector<std::weak_ptr<WsSession>> ws_sessions;
  std::vector<std::weak_ptr<tcp::socket>> sockets;  // every connection, for DropAll
  std::uint64_t next_sub = 1;

  void Accept();
};

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(FakeNode::Impl* impl, tcp::socket socket) : impl_(impl), ws_(std::move(socket)) {}

  void Start(http::request<http::string_body> req) {
    auto self = shared_from_this();
    ws_.read_message_max(64 << 20);
    ws_.async_accept(req, [this, self](beast::error_code ec) {
      if (ec) return;
      ++impl_->node->open_ws_;
      open_ = true;
      Read();
    });
  }

  void Send(std::string text) {
    auto self = shared_from_this();
    net::post(ws_.get_executor(), [this, self, text = std::move(text)]() mutable {
      if (!open_) return;
      queue_.push_back(std::move(text));
      if (!writing_) WriteNext();
    });
  }

  void SendAfter(std::string text, int delay_ms) {
    auto self = shared_from_this();
    auto timer = std::make_shared<net::steady_timer>(ws_.get_executor());
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    timer->async_wait([this, self, timer, text = std::move(text)](beast::error_code ec) mutable {
      if (!ec) Send(std::move(text));
    });
  }

  void Drop() {
    auto self = shared_from_this();
    net::post(ws_.get_executor(), [this, self] {
      beast::error_code ec;
      beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(ws_).socket().close(ec);
    });
  }

  bool Subscribed(std::string_view kind) {
    for (const auto& [id, k] : subs_) {
      if (k == kind) return true;
    }
    return false;
  }
  std::string SubId(std::string_view kind) {
    for (const auto& [id, k] : subs_) {
      if (k == kind) return id;
    }
    return "";
  }
  std::string AddSub(std::string kind) {
    const std::string id = "0x" + std::to_string(1000 + impl_->next_sub++);
    subs_.emplace_back(id, std::move(kind));
    return id;
  }
  // Held replies (out-of-order tests).
  std::vector<std::string> held;

 private:
  void Read() {
    auto self = shared_from_this();
    ws_.async_read(buffer_, [this, self](beast::error_code ec, std::size_t) {
      if (ec) {
        if (open_) --impl_->node->open_ws_;
        open_ = false;
        return;
      }
      const std::string text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      Handle(text);
      Read();
    });
  }

  void Handle(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(text).get(root) || !root.is_object()) return;
    std::uint64_t id = 0;
    std::string_view method;
    if (root["id"].get_uint64().get(id) || root["method"].get_string().get(method)) return;
    const auto params = indexer::detail::RawMember(text, "params").value_or("[]");
    FakeNode::Decision d;
    FakeNode::Script script;
    int hold = 0;
    {
      std::lock_guard lock(impl_->mu);
      script = impl_->script;
    }
    if (script) d = script(method, id);
    if (d.action == FakeNode::Action::kIgnore) return;
    if (d.action == FakeNode::Action::kDrop) {
      Drop();
      return;
    }
    if (!d.garbage_before.empty()) Send(d.garbage_before);
    std::string reply = impl_->Answer(method, params, id, this);
    {
      std::lock_guard lock(impl_->mu);
      hold = impl_->hold;
      if (hold > 0) {
        held.push_back(reply);
        if (static_cast<int>(held.size()) >= hold) {
          impl_->hold = 0;
          std::vector<std::string> out(held.rbegin(), held.rend());
          held.clear();
          for (auto& r : out) Send(std::move(r));
        }
        return;
      }
    }
    if (d.action == FakeNode::Action::kDelay) {
      SendAfter(std::move(reply), d.delay_ms);
    } else {
      Send(std::move(reply));
    }
  }

  void WriteNext() {
    if (queue_.empty() || !open_) return;
    writing_ = true;
    auto self = shared_from_this();
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()), [this, self](beast::error_code ec, std::size_t) {
      writing_ = false;
      if (ec) {
        queue_.clear();
        return;
      }
      queue_.pop_front();
      WriteNext();
    });
  }

  FakeNode::Impl* impl_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool open_ = false;
  std::vector<std::pair<std::string, std::string>> subs_;
};

std::string FakeNode::Impl::Answer(std::string_view method, std::string_view params, std::uint64_t id, WsSession* ws) {
  const std::string head = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id);
  if (method == "eth_subscribe" && ws) {
    std::string kind = params.find("newHeads") != std::string_view::npos ? "newHeads" : "logs";
    ++node->subscriptions_;
    return head + ",\"result\":\"" + ws->AddSub(kind) + "\"}";
  }
  if (method == "eth_unsubscribe") return head + ",\"result\":true}";
  auto r = chain.Handle(method, params);
  if (!r.ok()) return head + ",\"error\":" + ErrorJson(r.error()) + "}";
  return head + ",\"result\":" + *r + "}";
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(FakeNode::Impl* impl, std::shared_ptr<tcp::socket> socket) : impl_(impl), socket_(std::move(socket)) {}

  void Start() { Read(); }

 private:
  void Read() {
    auto self = shared_from_this();
    req_ = {};
    http::async_read(*socket_, buffer_, req_, [this, self](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (websocket::is_upgrade(req_)) {
        ++impl_->node->ws_connections_;
        auto ws = std::make_shared<WsSession>(impl_, std::move(*socket_));
        {
          std::lock_guard lock(impl_->mu);
          impl_->ws_sessions.push_back(ws);
        }
        ws->Start(std::move(req_));
        return;
      }
      Respond();
    });
  }

  void Respond() {
    const std::string body = req_.body();
    std::string out;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    bool refuse = false;
    FakeNode::Script script;
    {
      std::lock_guard lock(impl_->mu);
      refuse = impl_->refuse_batches;
      script = impl_->script;
    }
    if (parser.parse(body).get(root)) {
      out = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error\"}}";
    } else if (root.is_array()) {
      if (refuse) {
        out = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"batch requests are not supported\"}}";
      } else {
        // Answer in reverse order: clients must match by id.
        std::vector<std::string> parts;
        simdjson::dom::array arr;
        if (!root.get_array().get(arr)) {
          for (auto e : arr) {
            const std::string item = simdjson::to_string(e);
            std::uint64_t id = 0;
            std::string_view method;
            if (e["id"].get_uint64().get(id) || e["method"].get_string().get(method)) continue;
            parts.push_back(impl_->Answer(method, indexer::detail::RawMember(item, "params").value_or("[]"), id, nullptr));
          }
        }
        out = "[";
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += (it == parts.rbegin() ? "" : ",") + *it;
        out += "]";
      }
    } else {
      std::uint64_t id = 0;
      std::string_view method;
      if (root["id"].get_uint64().get(id) || root["method"].get_string().get(method)) {
        out = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"invalid request\"}}";
      } else {
        FakeNode::Decision d;
        if (script) d = script(method, id);
        if (d.action == FakeNode::Action::kDrop || d.action == FakeNode::Action::kIgnore) {
          beast::error_code ec;
          socket_->shutdown(tcp::socket::shutdown_both, ec);
          socket_->close(ec);
          return;
        }
        out = impl_->Answer(method, indexer::detail::RawMember(body, "params").value_or("[]"), id, nullptr);
      }
    }
    auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, req_.version());
    res->set(http::field::content_type, "application/json");
    res->keep_alive(req_.keep_alive());
    res->body() = std::move(out);
    res->prepare_payload();
    auto self = shared_from_this();
    http::async_write(*socket_, *res, [this, self, res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) return;
      Read();
    });
  }

  FakeNode::Impl* impl_;
  std::shared_ptr<tcp::socket> socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
};

void FakeNode::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    ++node->connections_;
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    {
      std::lock_guard lock(mu);
      sockets.push_back(s);
    }
    std::make_shared<HttpSession>(this, s)->Start();
    Accept();
  });
}

FakeNode::FakeNode(FakeChain& chain) : impl_(std::make_unique<Impl>(this, chain)) {
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

FakeNode::~FakeNode() {
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    std::lock_guard lock(impl_->mu);
    for (auto& w : impl_->ws_sessions) {
      if (auto s = w.lock()) s->Drop();
    }
    for (auto& w : impl_->sockets) {
      if (auto s = w.lock()) s->close(ec);
    }
  });
  // Let the drops run, then stop.
  net::post(impl_->ioc, [this] { impl_->ioc.stop(); });
  impl_->thread.join();
}

std::uint16_t FakeNode::port() const { return impl_->acceptor.local_endpoint().port(); }

void FakeNode::SetScript(Script script) {
  std::lock_guard lock(impl_->mu);
  impl_->script = std::move(script);
}

void FakeNode::HoldAndReverse(int n) {
  std::lock_guard lock(impl_->mu);
  impl_->hold = n;
}

void FakeNode::SetRefuseBatches(bool refuse) {
  std::lock_guard lock(impl_->mu);
  impl_->refuse_batches = refuse;
}

void FakeNode::Notify(std::string_view kind, std::string_view result_json) {
  const std::string k(kind), r(result_json);
  net::post(impl_->ioc, [this, k, r] {
    std::vector<std::shared_ptr<WsSession>> live;
    {
      std::lock_guard lock(impl_->mu);
      for (auto& w : impl_->ws_sessions) {
        if (auto s = w.lock()) live.push_back(s);
      }
    }
    for (auto& s : live) {
      if (!s->Subscribed(k)) continue;
      s->Send("{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"" + s->SubId(k) +
              "\",\"result\":" + r + "}}");
    }
  });
}

void FakeNode::SendRaw(std::string text) {
  net::post(impl_->ioc, [this, text = std::move(text)] {
    std::lock_guard lock(impl_->mu);
    for (auto& w : impl_->ws_sessions) {
      if (auto s = w.lock()) s->Send(text);
    }
  });
}

void FakeNode::DropAll() {
  net::post(impl_->ioc, [this] {
    std::lock_guard lock(impl_->mu);
    for (auto& w : impl_->ws_sessions) {
      if (auto s = w.lock()) s->Drop();
    }
    beast::error_code ec;
    for (auto& w : impl_->sockets) {
      if (auto s = w.lock()) s->close(ec);
    }
  });
}

}  // namespace cvmwatch::testing
