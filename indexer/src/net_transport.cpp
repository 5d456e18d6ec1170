// The Beast-based RPC clients: JSON-RPC over WebSocket (one connection, id-matched replies,
// reconnect with backoff) and over HTTP (keep-alive pool, batches). The only file of the
// indexer that includes Boost.Beast / Asio.
#include <utility>  // Boost 1.74 asio needs std::exchange before its own headers (GCC 12, C++20)

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <semaphore>
#include <thread>
#include <unordered_map>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <simdjson.h>

#include "cvmwatch/indexer/rpc.h"
#include "detail/json.h"
#include "detail/net.h"

namespace cvmwatch::indexer::detail {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Done = std::function<void(Result<std::string>)>;

constexpr const char* kUserAgent = "cvmwatch/0.1";

std::string Envelope(std::uint64_t id, std::string_view method, std::string_view params) {
  std::string out;
  out.reserve(48 + method.size() + params.size());
  out += "{\"jsonrpc\":\"2.0\",\"id\":";
  out += std::to_string(id);
  out += ",\"method\":";
  out += JsonQuote(method);
  out += ",\"params\":";
  out += params.empty() ? std::string_view("[]") : params;
  out += "}";
  return out;
}

// The result or error of one reply object. `text` is the object's exact JSON text.
Result<std::string> InterpretReply(std::string_view method, simdjson::dom::element obj,
                                   std::string_view text) {
  simdjson::dom::element err;
  if (!obj["error"].get(err) && !err.is_null()) {
    std::int64_t code = 0;
    std::string_view message;
    if (err.is_object()) {
      if (err["code"].get_int64().get(code)) {
    }
      if (err["message"].get_string().get(message)) {
    }
    }
    std::string data;
    simdjson::dom::element d;
    if (err.is_object() && !err["data"].get(d)) {
      std::string_view ds;
      if (!d.get_string().get(ds)) {
        data = std::string(ds);
      } else if (d.is_object()) {
        simdjson::dom::element inner;  // {"data": {"data": "0x..."}} (some clients)
        if (!d["data"].get(inner) && !inner.get_string().get(ds)) {
          data = std::string(ds);
        } else {
          data = simdjson::to_string(d);
        }
      } else {
        data = simdjson::to_string(d);
      }
    }
    return MakeRpcError(method, code, message, data);
  }
  auto raw = RawMember(text, "result");
  if (!raw) return MakeError(ErrorCode::kInvalidJson, std::string(method) + ": reply without result");
  return std::string(*raw);
}

bool IsCertificateError(const beast::error_code& ec) {
  if (ec.category() != net::error::get_ssl_category()) return false;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

std::shared_ptr<ssl::context> MakeTlsContext(const RpcSettings& settings, std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  beast::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) *error = "cannot load the system trust store: " + ec.message();
  if (!settings.ca_file.empty()) {
    ctx->load_verify_file(settings.ca_file, ec);
    if (ec) {
      *error = "cannot load ca_file " + settings.ca_file + ": " + ec.message();
      return nullptr;
    }
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// WebSocket

class WsClient;

class WsSessionBase : public std::enable_shared_from_this<WsSessionBase> {
 public:
  virtual ~WsSessionBase() = default;
  virtual void Run() = 0;
  virtual void Send(std::shared_ptr<const std::string> message) = 0;
  virtual void Close() = 0;
};

class WsClient final : public RpcClient {
 public:
  WsClient(const RpcSettings& settings, ParsedUrl url)
      : settings_(settings), url_(std::move(url)), slots_(static_cast<std::ptrdiff_t>(std::min<std::size_t>(settings.max_in_flight, 1 << 20))),
        sweep_timer_(ioc_), reconnect_timer_(ioc_), rng_(std::random_device{}()) {
    if (url_.tls) tls_ctx_ = MakeTlsContext(settings_, &tls_setup_error_);
  }
  ~WsClient() override { Stop(); }

  void Start() override {
    std::lock_guard lock(lifecycle_mu_);
    if (started_ || stopped_) return;
    started_ = true;
    work_.emplace(net::make_work_guard(ioc_));
    thread_ = std::thread([this] { ioc_.run(); });
    net::post(ioc_, [this] {
      StartSweep();
      Connect();
    });
  }

  void Stop() override {
    {
      std::lock_guard lock(lifecycle_mu_);
      if (stopped_) return;
      stopped_ = true;
      if (!started_) return;
    }
    net::post(ioc_, [this] {
      stopping_ = true;
      sweep_timer_.cancel();
      reconnect_timer_.cancel();
      if (session_) session_->Close();
      session_.reset();
      FailAll(MakeError(ErrorCode::kUnavailable, "RPC client stopped", false), true);
      SetConnected(false);
    });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  void Reconnect(std::string_view reason) override {
    std::string why(reason);
    net::post(ioc_, [this, why] {
      if (stopping_ || !session_) return;
      OnClosed(session_.get(), "reconnect requested: " + why, false);
    });
  }

  Result<std::string> Call(std::string_view method, std::string_view params,
                           std::optional<std::chrono::milliseconds> timeout) override {
    const auto t = timeout.value_or(settings_.call_timeout);
    std::promise<Result<std::string>> promise;
    auto future = promise.get_future();
    if (!Submit(std::string(method), std::string(params), t,
                [&promise](Result<std::string> r) { promise.set_value(std::move(r)); })) {
      return MakeError(ErrorCode::kTimeout,
                       std::string(method) + ": too many requests in flight", true);
    }
    return future.get();
  }

  std::vector<Result<std::string>> CallMany(std::span<const RpcRequest> requests) override {
    std::vector<std::promise<Result<std::string>>> promises(requests.size());
    std::vector<std::future<Result<std::string>>> futures;
    futures.reserve(requests.size());
    std::vector<bool> submitted(requests.size(), false);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      futures.push_back(promises[i].get_future());
      auto* p = &promises[i];
      submitted[i] = Submit(requests[i].method, requests[i].params, settings_.call_timeout,
                            [p](Result<std::string> r) { p->set_value(std::move(r)); });
    }
    std::vector<Result<std::string>> out;
    out.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (!submitted[i]) {
        out.push_back(MakeError(ErrorCode::kTimeout, requests[i].method + ": too many requests in flight", true));
      } else {
        out.push_back(futures[i].get());
      }
    }
    return out;
  }

  bool SupportsSubscriptions() const override { return true; }
  void SetNotificationHandler(NotificationHandler handler) override {
    std::lock_guard lock(handler_mu_);
    notification_handler_ = std::move(handler);
  }
  void SetConnectionHandler(ConnectionHandler handler) override {
    std::lock_guard lock(handler_mu_);
    connection_handler_ = std::move(handler);
  }
  Status WaitConnected(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(state_mu_);
    if (!state_cv_.wait_for(lock, timeout, [this] { return connected_ || !fatal_error_.empty(); })) {
      return MakeError(ErrorCode::kTimeout,
                       "no WebSocket connection to " + RedactUrl(settings_.url) + " within " +
                           std::to_string(timeout.count()) + " ms" +
                           (last_close_reason_.empty() ? "" : " (" + last_close_reason_ + ")"),
                       true);
    }
    if (!connected_) return MakeError(ErrorCode::kPrecondition, fatal_error_, false);
    return OkStatus();
  }
  bool Connected() const override {
    std::lock_guard lock(state_mu_);
    return connected_;
  }
  std::uint64_t ConnectionGeneration() const override { return generation_.load(); }
  std::string Endpoint() const override { return RedactUrl(settings_.url); }
  Counters GetCounters() const override {
    Counters c;
    c.calls = calls_.load();
    c.errors = errors_.load();
    c.timeouts = timeouts_.load();
    c.reconnects = reconnects_.load();
    c.notifications = notifications_.load();
    c.bad_messages = bad_messages_.load();
    return c;
  }

  // Session callbacks (I/O thread).
  void OnOpen(WsSessionBase* s);
  void OnMessage(WsSessionBase* s, std::string&& text);
  void OnClosed(WsSessionBase* s, std::string reason, bool fatal);

  net::io_context& ioc() { return ioc_; }
  const RpcSettings& settings() const { return settings_; }
  const ParsedUrl& url() const { return url_; }
  ssl::context* tls() { return tls_ctx_.get(); }

 private:
  struct Pending {
    std::string method;
    std::shared_ptr<const std::string> message;
    SteadyClock::time_point deadline;
    SteadyClock::time_point sent_at;
    std::chrono::milliseconds timeout;
    Done done;
    bool sent = false;
  };

  // Any thread. False when no slot frees up within the timeout.
  bool Submit(std::string method, std::string params, std::chrono::milliseconds timeout, Done done) {
    if (!slots_.try_acquire_for(timeout)) return false;
    calls_.fetch_add(1);
    {
      std::lock_guard lock(lifecycle_mu_);
      if (!started_ || stopped_) {
        slots_.release();
        done(MakeError(ErrorCode::kUnavailable, method + ": RPC client not running", !stopped_));
        return true;
      }
    }
    auto wrapped = [this, done = std::move(done)](Result<std::string> r) mutable {
      if (!r.ok()) {
        errors_.fetch_add(1);
        if (r.error().code == ErrorCode::kTimeout) timeouts_.fetch_add(1);
      }
      slots_.release();
      done(std::move(r));
    };
    net::post(ioc_, [this, method = std::move(method), params = std::move(params), timeout,
                     wrapped = std::move(wrapped)]() mutable {
      if (stopping_) {
        wrapped(MakeError(ErrorCode::kUnavailable, method + ": RPC client stopped", false));
        return;
      }
      if (!fatal_error_copy_.empty()) {
        wrapped(MakeError(ErrorCode::kPrecondition, method + ": " + fatal_error_copy_, false));
        return;
      }
      const std::uint64_t id = next_id_++;
      Pending p;
      p.method = method;
      p.message = std::make_shared<const std::string>(Envelope(id, method, params));
      p.timeout = timeout;
      p.deadline = SteadyClock::now() + timeout;
      p.done = std::move(wrapped);
      if (open_ && session_) {
        p.sent = true;
        p.sent_at = SteadyClock::now();
        session_->Send(p.message);
      }
      pending_.emplace(id, std::move(p));
    });
    return true;
  }

  void SetConnected(bool connected) {
    std::lock_guard lock(state_mu_);
    connected_ = connected;
    state_cv_.notify_all();
  }

  void Connect();
  void ScheduleReconnect();
  void StartSweep();
  void Sweep();
  void FailAll(const Error& error, bool include_unsent);
  void HandleReply(simdjson::dom::element obj, std::string_view text);

  RpcSettings settings_;
  ParsedUrl url_;
  std::counting_semaphore<1 << 20> slots_;

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::thread thread_;
  std::shared_ptr<ssl::context> tls_ctx_;
  std::string tls_setup_error_;

  std::mutex lifecycle_mu_;
  bool started_ = false;
  bool stopped_ = false;

  // I/O thread only.
  bool stopping_ = false;
  std::shared_ptr<WsSessionBase> session_;
  bool open_ = false;
  SteadyClock::time_point open_since_{};
  SteadyClock::time_point last_message_{};
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  net::steady_timer sweep_timer_;
  net::steady_timer reconnect_timer_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
  simdjson::dom::parser parser_;
  std::string fatal_error_copy_;

  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;
  bool connected_ = false;
  std::string fatal_error_;
  std::string last_close_reason_;

  std::mutex handler_mu_;
  NotificationHandler notification_handler_;
  ConnectionHandler connection_handler_;

  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> calls_{0}, errors_{0}, timeouts_{0}, reconnects_{0},
      notifications_{0}, bad_messages_{0};
};

template <bool kTls>
class WsSession final : public WsSessionBase {
  using Next = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  template <bool T = kTls, std::enable_if_t<!T, int> = 0>
  explicit WsSession(WsClient* client) : client_(client), resolver_(client->ioc()), ws_(client->ioc()) {}
  template <bool T = kTls, std::enable_if_t<T, int> = 0>
  explicit WsSession(WsClient* client)
      : client_(client), resolver_(client->ioc()), ws_(client->ioc(), *client->tls()) {}

  void Run() override {
    auto self = shared_from_this();
    const auto& url = client_->url();
    resolver_.async_resolve(url.host, std::to_string(url.port),
                            [this, self](beast::error_code ec, tcp::resolver::results_type results) {
                              if (ec) return Fail("resolve " + client_->url().host + ": " + ec.message(), false);
                              OnResolved(results);
                            });
  }

  void Send(std::shared_ptr<const std::string> message) override {
    if (closed_) return;
    queue_.push_back(std::move(message));
    if (!writing_ && open_) WriteNext();
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    resolver_.cancel();
    // anvil answers a close frame by dropping TCP: close the socket directly.
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  void OnResolved(const tcp::resolver::results_type& results) {
    if (closed_) return;
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).expires_after(client_->settings().connect_timeout);
    beast::get_lowest_layer(ws_).async_connect(
        results, [this, self](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return Fail("connect: " + ec.message(), false);
          beast::error_code ignored;
          beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
          if constexpr (kTls) {
            TlsHandshake();
          } else {
            WsHandshake();
          }
        });
  }

  void TlsHandshake() {
    if constexpr (kTls) {
      auto self = shared_from_this();
      const std::string& host = client_->url().host;
      if (!SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), host.c_str())) {
        return Fail("TLS: cannot set SNI host name", true);
      }
      ws_.next_layer().set_verify_mode(ssl::verify_peer);
      ws_.next_layer().set_verify_callback(ssl::host_name_verification(host));
      ws_.next_layer().async_handshake(ssl::stream_base::client, [this, self](beast::error_code ec) {
        if (ec) {
          const bool fatal = IsCertificateError(ec);
          return Fail(std::string("TLS handshake") + (fatal ? " (certificate verification failed)" : "") +
                          ": " + ec.message(),
                      fatal);
        }
        WsHandshake();
      });
    }
  }

  void WsHandshake() {
    if (closed_) return;
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout opt{};
    opt.handshake_timeout = client_->settings().connect_timeout;
    opt.idle_timeout = client_->settings().idle_ping * 2;
    opt.keep_alive_pings = true;
    ws_.set_option(opt);
    auto headers = client_->settings().headers;
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      req.set(http::field::user_agent, kUserAgent);
      for (const auto& [k, v] : headers) req.set(k, v);
    }));
    ws_.read_message_max(client_->settings().max_message_bytes);
    ws_.text(true);
    const auto& url = client_->url();
    const bool default_port = url.port == (url.tls ? 443 : 80);
    const std::string host = default_port ? url.host : url.host + ":" + std::to_string(url.port);
    ws_.async_handshake(host, url.target, [this, self](beast::error_code ec) {
      if (ec) return Fail("WebSocket handshake: " + ec.message(), false);
      open_ = true;
      client_->OnOpen(this);
      if (!queue_.empty() && !writing_) WriteNext();
      Read();
    });
  }

  void Read() {
    auto self = shared_from_this();
    ws_.async_read(buffer_, [this, self](beast::error_code ec, std::size_t) {
      if (ec) {
        if (ec == websocket::error::message_too_big) {
          return Fail("message larger than max_message_bytes (" +
                          std::to_string(client_->settings().max_message_bytes) + ")",
                      false);
        }
        return Fail("read: " + ec.message(), false);
      }
      std::string text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      client_->OnMessage(this, std::move(text));
      if (!closed_) Read();
    });
  }

  void WriteNext() {
    if (closed_ || queue_.empty()) return;
    writing_ = true;
    auto self = shared_from_this();
    auto message = queue_.front();
    ws_.async_write(net::buffer(*message), [this, self, message](beast::error_code ec, std::size_t) {
      writing_ = false;
      if (ec) return Fail("write: " + ec.message(), false);
      queue_.pop_front();
      WriteNext();
    });
  }

  void Fail(std::string reason, bool fatal) {
    if (closed_) return;
    Close();
    client_->OnClosed(this, std::move(reason), fatal);
  }

  WsClient* client_;
  tcp::resolver resolver_;
  websocket::stream<Next> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool open_ = false;
  bool closed_ = false;
};

void WsClient::Connect() {
  if (stopping_) return;
  if (url_.tls && !tls_ctx_) {
    OnClosed(nullptr, tls_setup_error_, true);
    return;
  }
  if (url_.tls) {
    session_ = std::make_shared<WsSession<true>>(this);
  } else {
    session_ = std::make_shared<WsSession<false>>(this);
  }
  open_ = false;
  session_->Run();
}

void WsClient::ScheduleReconnect() {
  if (stopping_) return;
  const double base = static_cast<double>(settings_.reconnect_initial.count());
  const double cap = static_cast<double>(settings_.reconnect_max.count());
  double delay = base;
  for (int i = 0; i < attempt_ && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  const double jitter = std::clamp(settings_.reconnect_jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> dist(delay * (1.0 - jitter), delay);
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(dist(rng_)));
  ++attempt_;
  reconnect_timer_.expires_after(wait);
  reconnect_timer_.async_wait([this](beast::error_code ec) {
    if (ec || stopping_) return;
    reconnects_.fetch_add(1);
    Connect();
  });
}

void WsClient::OnOpen(WsSessionBase* s) {
  if (s != session_.get() || stopping_) return;
  open_ = true;
  open_since_ = SteadyClock::now();
  last_message_ = open_since_;
  fatal_error_copy_.clear();
  const auto gen = generation_.fetch_add(1) + 1;
  {
    std::lock_guard lock(state_mu_);
    fatal_error_.clear();
  }
  SetConnected(true);
  for (auto& [id, p] : pending_) {
    if (!p.sent) {
      p.sent = true;
      p.sent_at = SteadyClock::now();
      session_->Send(p.message);
    }
  }
  ConnectionHandler handler;
  {
    std::lock_guard lock(handler_mu_);
    handler = connection_handler_;
  }
  if (handler) handler(true, gen, "");
}

void WsClient::OnClosed(WsSessionBase* s, std::string reason, bool fatal) {
  if (s != nullptr && s != session_.get()) return;
  if (session_) session_->Close();
  const bool was_open = open_;
  open_ = false;
  session_.reset();
  if (was_open && SteadyClock::now() - open_since_ > std::chrono::seconds(5)) attempt_ = 0;
  {
    std::lock_guard lock(state_mu_);
    connected_ = false;
    last_close_reason_ = reason;
    if (fatal) fatal_error_ = "WebSocket " + RedactUrl(settings_.url) + ": " + reason;
    state_cv_.notify_all();
  }
  if (fatal) {
    fatal_error_copy_ = "WebSocket " + RedactUrl(settings_.url) + ": " + reason;
    FailAll(MakeError(ErrorCode::kPrecondition, fatal_error_copy_, false), true);
  } else {
    FailAll(MakeError(ErrorCode::kUnavailable,
                      "connection to " + RedactUrl(settings_.url) + " lost: " + reason, true),
            false);
  }
  if (was_open) {
    ConnectionHandler handler;
    {
      std::lock_guard lock(handler_mu_);
      handler = connection_handler_;
    }
    if (handler) handler(false, generation_.load(), reason);
  }
  ScheduleReconnect();
}

void WsClient::FailAll(const Error& error, bool include_unsent) {
  std::vector<Done> to_fail;
  std::vector<std::string> methods;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.sent || include_unsent) {
      to_fail.push_back(std::move(it->second.done));
      methods.push_back(it->second.method);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (std::size_t i = 0; i < to_fail.size(); ++i) {
    Error e = error;
    e.message = methods[i] + ": " + e.message;
    to_fail[i](std::move(e));
  }
}

void WsClient::StartSweep() {
  sweep_timer_.expires_after(std::chrono::milliseconds(25));
  sweep_timer_.async_wait([this](beast::error_code ec) {
    if (ec || stopping_) return;
    Sweep();
    StartSweep();
  });
}

void WsClient::Sweep() {
  const auto now = SteadyClock::now();
  bool stalled = false;
  std::vector<std::pair<Done, Error>> expired;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline <= now) {
      const Pending& p = it->second;
      // Sent, and nothing at all arrived on the connection since: the connection is dead.
      if (p.sent && open_ && last_message_ < p.sent_at) stalled = true;
      expired.emplace_back(std::move(it->second.done),
                           MakeError(ErrorCode::kTimeout,
                                     p.method + ": no reply within " + std::to_string(p.timeout.count()) +
                                         " ms" + (p.sent ? "" : " (not connected)"),
                                     true));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [done, err] : expired) done(std::move(err));
  if (stalled && session_) OnClosed(session_.get(), "requests timed out with no traffic from the node", false);
}

void WsClient::OnMessage(WsSessionBase* s, std::string&& text) {
  if (s != session_.get()) return;
  last_message_ = SteadyClock::now();
  simdjson::dom::element root;
  if (parser_.parse(text.data(), text.size(), true).get(root)) {
    bad_messages_.fetch_add(1);
    return;
  }
  if (root.is_array()) {
    simdjson::dom::array items;
    if (root.get_array().get(items)) {
    }
    for (auto e : items) {
      if (!e.is_object()) {
        bad_messages_.fetch_add(1);
        continue;
      }
      const std::string item = simdjson::to_string(e);
      HandleReply(e, item);
    }
    return;
  }
  if (!root.is_object()) {
    bad_messages_.fetch_add(1);
    return;
  }
  std::string_view method;
  if (!root["method"].get_string().get(method)) {
    if (method != "eth_subscription") {
      bad_messages_.fetch_add(1);
      return;
    }
    std::string_view sub;
    auto params = RawMember(text, "params");
    auto result = params ? RawMember(*params, "result") : std::nullopt;
    if (root["params"]["subscription"].get_string().get(sub) || !result) {
      bad_messages_.fetch_add(1);
      return;
    }
    notifications_.fetch_add(1);
    NotificationHandler handler;
    {
      std::lock_guard lock(handler_mu_);
      handler = notification_handler_;
    }
    if (handler) handler(sub, *result);
    return;
  }
  HandleReply(root, text);
}

void WsClient::HandleReply(simdjson::dom::element obj, std::string_view text) {
  std::uint64_t id = 0;
  if (obj["id"].get_uint64().get(id)) {
    bad_messages_.fetch_add(1);
    return;
  }
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    bad_messages_.fetch_add(1);  // late reply after a timeout, or a node bug
    return;
  }
  Pending p = std::move(it->second);
  pending_.erase(it);
  p.done(InterpretReply(p.method, obj, text));
}

// ---------------------------------------------------------------------------------------------
// HTTP

class HttpClient final : public RpcClient {
 public:
  HttpClient(const RpcSettings& settings, ParsedUrl url) : settings_(settings), url_(std::move(url)) {
    if (url_.tls) tls_ctx_ = MakeTlsContext(settings_, &tls_setup_error_);
  }

  void Start() override {}
  void Stop() override {
    std::lock_guard lock(mu_);
    idle_.clear();
  }
  void Reconnect(std::string_view) override {
    std::lock_guard lock(mu_);
    idle_.clear();
  }

  Result<std::string> Call(std::string_view method, std::string_view params,
                           std::optional<std::chrono::milliseconds> timeout) override {
    calls_.fetch_add(1);
    auto r = CallOne(method, params, timeout.value_or(settings_.call_timeout));
    if (!r.ok()) {
      errors_.fetch_add(1);
      if (r.error().code == ErrorCode::kTimeout) timeouts_.fetch_add(1);
    }
    return r;
  }

  std::vector<Result<std::string>> CallMany(std::span<const RpcRequest> requests) override {
    std::vector<Result<std::string>> out;
    out.reserve(requests.size());
    const std::size_t chunk = std::max<std::size_t>(1, settings_.max_batch);
    for (std::size_t start = 0; start < requests.size(); start += chunk) {
      const std::size_t end = std::min(requests.size(), start + chunk);
      auto part = Batch(requests.subspan(start, end - start));
      for (auto& r : part) out.push_back(std::move(r));
    }
    return out;
  }

  bool SupportsSubscriptions() const override { return false; }
  void SetNotificationHandler(NotificationHandler) override {}
  void SetConnectionHandler(ConnectionHandler) override {}
  Status WaitConnected(std::chrono::milliseconds) override { return OkStatus(); }
  bool Connected() const override { return true; }
  std::uint64_t ConnectionGeneration() const override { return 1; }
  std::string Endpoint() const override { return RedactUrl(settings_.url); }
  Counters GetCounters() const override {
    Counters c;
    c.calls = calls_.load();
    c.errors = errors_.load();
    c.timeouts = timeouts_.load();
    c.bad_messages = bad_messages_.load();
    return c;
  }

 private:
  struct Conn {
    net::io_context ioc;
    std::unique_ptr<beast::tcp_stream> tcp;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
  };

  // Runs the io_context of `c` until the started operation completes (timeouts come from the
  // stream's expiry, or from `timer` for the resolver).
  static void RunOps(Conn& c) {
    c.ioc.restart();
    c.ioc.run();
  }

  Result<std::unique_ptr<Conn>> Open(SteadyClock::time_point deadline) {
    if (url_.tls && !tls_ctx_) return MakeError(ErrorCode::kPrecondition, tls_setup_error_, false);
    auto c = std::make_unique<Conn>();
    tcp::resolver resolver(c->ioc);
    net::steady_timer timer(c->ioc);
    beast::error_code rec;
    tcp::resolver::results_type results;
    bool resolved = false;
    resolver.async_resolve(url_.host, std::to_string(url_.port),
                           [&](beast::error_code ec, tcp::resolver::results_type r) {
                             rec = ec;
                             results = std::move(r);
                             resolved = true;
                             timer.cancel();
                           });
    timer.expires_at(deadline);
    timer.async_wait([&](beast::error_code ec) {
      if (!ec && !resolved) resolver.cancel();
    });
    RunOps(*c);
    if (rec) {
      return MakeError(ErrorCode::kUnavailable, "resolve " + url_.host + ": " + rec.message(), true);
    }
    if (url_.tls) {
      c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(c->ioc, *tls_ctx_);
      if (!SSL_set_tlsext_host_name(c->tls->native_handle(), url_.host.c_str())) {
        return MakeError(ErrorCode::kPrecondition, "TLS: cannot set SNI host name", false);
      }
      c->tls->set_verify_mode(ssl::verify_peer);
      c->tls->set_verify_callback(ssl::host_name_verification(url_.host));
    } else {
      c->tcp = std::make_unique<beast::tcp_stream>(c->ioc);
    }
    beast::error_code ec;
    c->lowest().expires_at(deadline);
    c->lowest().async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    RunOps(*c);
    if (ec) {
      return MakeError(ec == beast::error::timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
                       "connect " + RedactUrl(settings_.url) + ": " + ec.message(), true);
    }
    beast::error_code ignored;
    c->lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (c->tls) {
      c->lowest().expires_at(deadline);
      c->tls->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
      RunOps(*c);
      if (ec) {
        const bool fatal = IsCertificateError(ec);
        return MakeError(fatal ? ErrorCode::kPrecondition : ErrorCode::kUnavailable,
                         std::string("TLS handshake with ") + RedactUrl(settings_.url) +
                             (fatal ? " (certificate verification failed)" : "") + ": " + ec.message(),
                         !fatal);
      }
    }
    return c;
  }

  struct Exchange {
    bool got_response = false;
  };

  // One POST on `c`. Sets ex.got_response when any response byte arrived.
  Result<std::string> Post(Conn& c, const std::string& body, SteadyClock::time_point deadline,
                           Exchange& ex, bool* keep_alive) {
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    const bool default_port = url_.port == (url_.tls ? 443 : 80);
    req.set(http::field::host, default_port ? url_.host : url_.host + ":" + std::to_string(url_.port));
    req.set(http::field::user_agent, kUserAgent);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    for (const auto& [k, v] : settings_.headers) req.set(k, v);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    c.lowest().expires_at(deadline);
    auto on_write = [&](beast::error_code e, std::size_t) { ec = e; };
    if (c.tls) {
      http::async_write(*c.tls, req, on_write);
    } else {
      http::async_write(*c.tcp, req, on_write);
    }
    RunOps(c);
    if (ec) {
      return MakeError(ec == beast::error::timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
                       "HTTP write: " + ec.message(), true);
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(settings_.max_message_bytes);
    parser.header_limit(64 * 1024);
    c.lowest().expires_at(deadline);
    auto on_read = [&](beast::error_code e, std::size_t) { ec = e; };
    // Header first: Boost 1.74's parser does not enforce body_limit against a Content-Length
    // (tested), so the declared length is checked here, and the body size again after reading.
    if (c.tls) {
      http::async_read_header(*c.tls, buffer, parser, on_read);
    } else {
      http::async_read_header(*c.tcp, buffer, parser, on_read);
    }
    RunOps(c);
    ex.got_response = buffer.size() > 0 || parser.got_some();
    if (!ec && parser.is_header_done()) {
      const auto declared = parser.content_length();
      if (declared && *declared > settings_.max_message_bytes) ec = http::error::body_limit;
    }
    if (!ec && !parser.is_done()) {
      if (c.tls) {
        http::async_read(*c.tls, buffer, parser, on_read);
      } else {
        http::async_read(*c.tcp, buffer, parser, on_read);
      }
      RunOps(c);
    }
    if (!ec && parser.get().body().size() > settings_.max_message_bytes) ec = http::error::body_limit;
    if (ec) {
      if (ec == http::error::body_limit) {
        bad_messages_.fetch_add(1);
        return MakeError(ErrorCode::kUnavailable,
                         "HTTP response larger than max_message_bytes (" +
                             std::to_string(settings_.max_message_bytes) + ")",
                         true);
      }
      return MakeError(ec == beast::error::timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
                       "HTTP read: " + ec.message(), true);
    }
    auto res = parser.release();
    *keep_alive = res.keep_alive();
    const unsigned status = res.result_int();
    if (status != 200) {
      // Some nodes send JSON-RPC errors with a 4xx status: let the caller read them.
      const std::string& b = res.body();
      if (status >= 400 && status < 500 && status != 429 && !b.empty() && (b[0] == '{' || b[0] == '[')) {
        return std::move(res.body());
      }
      const bool retryable = status == 429 || status == 408 || status >= 500;
      return MakeError(retryable ? ErrorCode::kUnavailable : ErrorCode::kPrecondition,
                       "HTTP " + std::to_string(status) + " from " + RedactUrl(settings_.url) + ": " +
                           b.substr(0, 200),
                       retryable);
    }
    return std::move(res.body());
  }

  Result<std::string> Roundtrip(const std::string& body, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::unique_ptr<Conn> c;
      bool reused = false;
      {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
          c = std::move(idle_.back());
          idle_.pop_back();
          reused = true;
        }
      }
      if (!c) {
        CVMW_ASSIGN_OR_RETURN(c, Open(deadline));
      }
      Exchange ex;
      bool keep_alive = false;
      auto r = Post(*c, body, deadline, ex, &keep_alive);
      if (r.ok()) {
        if (keep_alive) {
          std::lock_guard lock(mu_);
          if (idle_.size() < 8) idle_.push_back(std::move(c));
        }
        return r;
      }
      // A kept-alive connection the server closed meanwhile: retry once on a fresh one.
      if (reused && !ex.got_response && r.error().code != ErrorCode::kTimeout) continue;
      return r;
    }
    return MakeError(ErrorCode::kUnavailable, "HTTP: connection closed by " + RedactUrl(settings_.url), true);
  }

  Result<std::string> CallOne(std::string_view method, std::string_view params,
                              std::chrono::milliseconds timeout) {
    auto body = Roundtrip(Envelope(1, method, params), timeout);
    if (!body.ok()) {
      Error e = body.error();
      e.message = std::string(method) + ": " + e.message;
      return e;
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(body->data(), body->size(), true).get(root) || !root.is_object()) {
      bad_messages_.fetch_add(1);
      return MakeError(ErrorCode::kInvalidJson, std::string(method) + ": reply is not a JSON-RPC object", true);
    }
    return InterpretReply(method, root, *body);
  }

  std::vector<Result<std::string>> Batch(std::span<const RpcRequest> requests) {
    std::vector<Result<std::string>> out;
    if (requests.size() == 1) {
      out.push_back(Call(requests[0].method, requests[0].params, std::nullopt));
      return out;
    }
    std::string body = "[";
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (i) body += ",";
      body += Envelope(i, requests[i].method, requests[i].params);
    }
    body += "]";
    calls_.fetch_add(requests.size());
    auto reply = Roundtrip(body, settings_.call_timeout);
    if (!reply.ok()) {
      for (const auto& r : requests) {
        Error e = reply.error();
        e.message = r.method + ": " + e.message;
        out.push_back(e);
        errors_.fetch_add(1);
      }
      return out;
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(reply->data(), reply->size(), true).get(root) || !root.is_array()) {
      // The server refused the batch (an error object) or sent junk: one call at a time.
      for (const auto& r : requests) out.push_back(Call(r.method, r.params, std::nullopt));
      return out;
    }
    std::vector<std::optional<Result<std::string>>> slots(requests.size());
    simdjson::dom::array items;
    if (root.get_array().get(items)) {
    }
    for (auto e : items) {
      std::uint64_t id = 0;
      if (!e.is_object() || e["id"].get_uint64().get(id) || id >= requests.size() || slots[id]) {
        bad_messages_.fetch_add(1);
        continue;
      }
      const std::string text = simdjson::to_string(e);
      slots[id] = InterpretReply(requests[id].method, e, text);
    }
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (slots[i]) {
        if (!slots[i]->ok()) errors_.fetch_add(1);
        out.push_back(std::move(*slots[i]));
      } else {
        errors_.fetch_add(1);
        out.push_back(MakeError(ErrorCode::kUnavailable, requests[i].method + ": missing from the batch reply", true));
      }
    }
    return out;
  }

  RpcSettings settings_;
  ParsedUrl url_;
  std::shared_ptr<ssl::context> tls_ctx_;
  std::string tls_setup_error_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::atomic<std::uint64_t> calls_{0}, errors_{0}, timeouts_{0}, bad_messages_{0};
};

}  // namespace

std::unique_ptr<RpcClient> MakeWebSocketClient(const RpcSettings& settings, const ParsedUrl& url) {
  return std::make_unique<WsClient>(settings, url);
}

std::unique_ptr<RpcClient> MakeHttpClient(const RpcSettings& settings, const ParsedUrl& url) {
  return std::make_unique<HttpClient>(settings, url);
}

}  // namespace cvmwatch::indexer::detail
