#include "cvmwatch/indexer/indexer.h"

#include <algorithm>
#include <deque>
#include <map>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/indexer/log.h"
#include "detail/json.h"
#include "detail/rpc_util.h"

namespace cvmwatch::indexer {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

std::vector<Hash32> AllTopic0s() {
  std::vector<Hash32> out;
  for (const auto& ev : registry::KnownEvents()) {
    const Hash32 t = EventTopic(ev.signature);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

LogFilter MakeFilter(const IndexerSettings& s) {
  LogFilter f;
  f.addresses.push_back(s.registry);
  for (const auto& a : s.extra_addresses) {
    if (std::find(f.addresses.begin(), f.addresses.end(), a) == f.addresses.end()) f.addresses.push_back(a);
  }
  f.topic0s = AllTopic0s();
  return f;
}

FetcherSettings MakeFetcherSettings(const IndexerSettings& s) {
  FetcherSettings f;
  f.registry = s.registry;
  f.extra_addresses = s.extra_addresses;
  f.scan_all_transactions = s.scan_all_transactions;
  f.use_trace = s.use_trace;
  f.reconcile = s.reconcile;
  f.max_upgrade_rereads = s.max_upgrade_rereads;
  return f;
}

std::string Short(const Hash32& h) { return h.ToHex().substr(0, 10) + "…"; }

}  // namespace

// Notifications and connection changes from the client's I/O thread, and the indexer's wake-up
// condition. Shared, so a late callback never touches a destroyed Indexer.
struct Indexer::Hints {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::string>> queue;
  std::size_t capacity = 4096;
  bool overflow = false;
  bool connection_changed = false;
  bool stop = false;
  std::vector<std::pair<bool, std::string>> connection_events;  // (connected, reason)
};

Indexer::Indexer(IndexerSettings settings, RpcClient& client, BlockSink& sink, const Clock& clock,
                 std::vector<RpcClient*> cross_check)
    : settings_(std::move(settings)),
      client_(client),
      sink_(sink),
      clock_(clock),
      cross_check_(std::move(cross_check)),
      hints_(std::make_shared<Hints>()),
      log_source_(client, MakeFilter(settings_), settings_.log_ranges),
      fetcher_(client, MakeFetcherSettings(settings_), &stats_),
      tracker_(settings_.reorg_window) {
  hints_->capacity = std::max<std::size_t>(16, settings_.hint_queue_capacity);
}

Indexer::~Indexer() {
  Stop();
  client_.SetNotificationHandler({});
  client_.SetConnectionHandler({});
}

void Indexer::Stop() {
  stop_ = true;
  std::lock_guard lock(hints_->mu);
  hints_->stop = true;
  hints_->cv.notify_all();
}

SyncStatus Indexer::GetSyncStatus() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

IngestStats Indexer::Stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_snapshot_;
}

void Indexer::PublishStats() {
  std::lock_guard lock(stats_mu_);
  stats_snapshot_ = stats_;
}

void Indexer::SetProgressHandler(std::function<void(const Progress&)> handler) { progress_ = std::move(handler); }

void Indexer::UpdateStatus(const std::function<void(SyncStatus&)>& f) {
  std::lock_guard lock(status_mu_);
  f(status_);
}

std::optional<std::uint64_t> Indexer::CursorNumber() const {
  if (!cursor_) return std::nullopt;
  return cursor_->block_number;
}

void Indexer::Fact(LivenessFact fact) {
  fact.at = clock_.Now();
  if (fact.head == 0) fact.head = head_;
  if (fact.endpoint.empty()) fact.endpoint = client_.Endpoint();
  log::Warn("liveness", {{"kind", std::string(LivenessKindName(fact.kind))},
                         {"head", fact.head},
                         {"endpoint", fact.endpoint},
                         {"detail", fact.detail}});
  sink_.OnLiveness(fact);
}

bool Indexer::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(hints_->mu);
  hints_->cv.wait_for(lock, d, [&] { return hints_->stop; });
  return !stop_.load();
}

void Indexer::WaitForWork(std::chrono::milliseconds timeout) {
  std::unique_lock lock(hints_->mu);
  hints_->cv.wait_for(lock, timeout,
                      [&] { return hints_->stop || !hints_->queue.empty() || hints_->connection_changed; });
}

Status Indexer::Run() {
  std::weak_ptr<Hints> weak = hints_;
  client_.SetNotificationHandler([weak](std::string_view sub, std::string_view result) {
    auto h = weak.lock();
    if (!h) return;
    std::lock_guard lock(h->mu);
    if (h->queue.size() >= h->capacity) {
      h->queue.pop_front();
      h->overflow = true;
    }
    h->queue.emplace_back(std::string(sub), std::string(result));
    h->cv.notify_all();
  });
  client_.SetConnectionHandler([weak](bool connected, std::uint64_t, std::string_view reason) {
    auto h = weak.lock();
    if (!h) return;
    std::lock_guard lock(h->mu);
    h->connection_changed = true;
    if (h->connection_events.size() < 64) h->connection_events.emplace_back(connected, std::string(reason));
    h->cv.notify_all();
  });
  client_.Start();
  for (auto* c : cross_check_) c->Start();
  UpdateStatus([](SyncStatus& s) { s.phase = "starting"; });

  auto delay = settings_.retry_initial;
  auto backoff = [&](const Error& e) {
    UpdateStatus([&](SyncStatus& s) { s.last_error = e.message; });
    log::Warn("retrying", {{"error", e.message}, {"in_ms", static_cast<std::uint64_t>(delay.count())}});
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(delay.count()) * jitter(rng_)));
    delay = std::min(settings_.retry_max, delay * 2);
    return Sleep(wait);
  };

  Status result = OkStatus();
  // Start-up, retried while the errors are retryable.
  for (;;) {
    if (stop_) break;
    Status s = Startup();
    if (s.ok()) break;
    if (!s.error().retryable) {
      result = s;
      break;
    }
    CheckStall();
    if (!backoff(s.error())) break;
  }
  if (result.ok() && !stop_) {
    delay = settings_.retry_initial;
    while (!stop_) {
      Status s = Step();
      PublishStats();
      if (s.ok()) {
        delay = settings_.retry_initial;
        continue;
      }
      if (!s.error().retryable) {
        result = s;
        break;
      }
      CheckStall();
      if (!backoff(s.error())) break;
    }
  }
  Status flushed = sink_.Flush();
  if (result.ok() && !flushed.ok()) result = flushed;
  PublishStats();
  Report(true);
  UpdateStatus([&](SyncStatus& s) {
    s.phase = result.ok() ? "stopped" : "failed";
    if (!result.ok()) s.last_error = result.error().message;
  });
  if (!result.ok()) log::Error("indexer_failed", {{"error", result.error().message}});
  return result;
}

Status Indexer::Startup() {
  // Wait for the connection in slices, so a Stop() during start-up is quick.
  const auto connect_deadline = std::chrono::steady_clock::now() + settings_.connect_timeout;
  for (;;) {
    Status c = client_.WaitConnected(std::chrono::milliseconds(200));
    if (c.ok()) break;
    if (!c.error().retryable || stop_ || std::chrono::steady_clock::now() >= connect_deadline) return c;
  }
  UpdateStatus([](SyncStatus& s) { s.connected = true; });
  // Chain id: a mismatch is a configuration error; never index the wrong chain.
  if (settings_.chain_id != 0) {
    CVMW_ASSIGN_OR_RETURN(auto reply, client_.Call("eth_chainId", "[]"));
    detail::JsonParser p;
    CVMW_ASSIGN_OR_RETURN(auto text, detail::ParseString(p, reply));
    auto id = detail::ParseQuantity(text);
    if (!id.ok()) return MakeError(ErrorCode::kInvalidJson, "eth_chainId: " + id.error().message, true);
    if (*id != settings_.chain_id) {
      return MakeError(ErrorCode::kPrecondition,
                       "chain id mismatch: the configuration expects " + std::to_string(settings_.chain_id) +
                           (settings_.network.empty() ? "" : " (" + settings_.network + ")") + " but " +
                           client_.Endpoint() + " reports " + std::to_string(*id) +
                           "; refusing to index the wrong chain",
                       false);
    }
  }
  CVMW_ASSIGN_OR_RETURN(cursor_, sink_.LoadCursor());
  tracker_.Seed(sink_.RecentBlocks(settings_.reorg_window));
  if (cursor_ && !tracker_.At(cursor_->block_number)) {
    tracker_.Push(BlockRef{cursor_->block_number, cursor_->block_hash, Hash32{}, 0});
  }
  next_ = cursor_ ? cursor_->block_number + 1 : settings_.start_block;
  run_start_block_ = next_;
  const std::string tag = "\"" + HexQuantity(cursor_ ? cursor_->block_number : settings_.start_block) + "\"";
  if (Status s = fetcher_.InitImplementation(tag); !s.ok()) {
    if (s.error().retryable) return s;
    log::Warn("implementation_unknown", {{"error", s.error().message}});
  }
  log::Info("indexer_start", {{"endpoint", client_.Endpoint()},
                              {"chain_id", settings_.chain_id},
                              {"registry", settings_.registry.ToHex()},
                              {"from_block", next_},
                              {"resumed", cursor_.has_value()},
                              {"implementation", fetcher_.implementation() ? fetcher_.implementation()->ToHex() : "-"}});
  // The cursor block may have been reorged away while we were down.
  if (cursor_) CVMW_RETURN_IF_ERROR(CheckHeight(cursor_->block_number));
  last_head_change_ = clock_.Now();
  rate_t0_ = SteadyClock::now();
  rate_b0_ = next_;
  return OkStatus();
}

Status Indexer::EnsureSubscribed() {
  // Connection events → facts.
  std::vector<std::pair<bool, std::string>> events;
  {
    std::lock_guard lock(hints_->mu);
    events.swap(hints_->connection_events);
    hints_->connection_changed = false;
  }
  for (const auto& [connected, reason] : events) {
    if (!connected) {
      LivenessFact f;
      f.kind = LivenessKind::kDisconnected;
      f.detail = reason;
      Fact(f);
      UpdateStatus([](SyncStatus& s) { s.connected = false; });
    }
  }
  if (!client_.SupportsSubscriptions() || !settings_.subscribe) return OkStatus();
  const std::uint64_t gen = client_.ConnectionGeneration();
  if (gen == 0 || gen == subscribed_generation_) return OkStatus();
  detail::JsonParser p;
  CVMW_ASSIGN_OR_RETURN(auto heads, client_.Call("eth_subscribe", "[\"newHeads\"]"));
  CVMW_ASSIGN_OR_RETURN(heads_sub_, detail::ParseString(p, heads));
  CVMW_ASSIGN_OR_RETURN(auto logs, client_.Call("eth_subscribe", "[\"logs\"," + FilterJson(log_source_.filter()) + "]"));
  CVMW_ASSIGN_OR_RETURN(logs_sub_, detail::ParseString(p, logs));
  if (subscribed_generation_ != 0) {
    LivenessFact f;
    f.kind = LivenessKind::kReconnected;
    f.detail = "resubscribed; backfilling from the cursor";
    Fact(f);
    UpdateStatus([](SyncStatus& s) { ++s.reconnects; });
  }
  subscribed_generation_ = gen;
  UpdateStatus([](SyncStatus& s) { s.connected = true; });
  log::Debug("subscribed", {{"newHeads", heads_sub_}, {"logs", logs_sub_}, {"generation", gen}});
  return OkStatus();
}

void Indexer::DrainHints(std::set<std::uint64_t>& suspicious, bool& overflow) {
  std::deque<std::pair<std::string, std::string>> items;
  {
    std::lock_guard lock(hints_->mu);
    items.swap(hints_->queue);
    overflow = hints_->overflow;
    hints_->overflow = false;
  }
  if (items.empty()) return;
  detail::JsonParser p;
  for (const auto& [sub, text] : items) {
    if (sub == heads_sub_) {
      auto b = detail::ParseBlock(p, text);
      if (!b.ok() || !*b) continue;
      ++head_hints_;
      last_hint_ = SteadyClock::now();
      const BlockRef& r = (*b)->ref;
      if (auto held = tracker_.At(r.number); held && held->hash != r.hash) suspicious.insert(r.number);
      // A new head whose parent is not what we hold at number-1 (a replacement chain).
      if (r.number > 0) {
        if (auto held = tracker_.At(r.number - 1); held && held->hash != r.parent_hash) suspicious.insert(r.number - 1);
      }
    } else if (sub == logs_sub_) {
      auto root = p.Parse(text);
      if (!root.ok()) continue;
      auto log = detail::ParseLog(*root);
      if (!log.ok()) continue;
      auto held = tracker_.At(log->block_number);
      if (log->removed) {
        if (held && held->hash == log->block_hash) suspicious.insert(log->block_number);
      } else if (held && held->hash != log->block_hash) {
        suspicious.insert(log->block_number);
      }
    }
  }
}

Result<std::uint64_t> Indexer::FetchHead() {
  const auto t0 = SteadyClock::now();
  auto reply = client_.Call("eth_blockNumber", "[]");
  stats_.rpc_seconds += Seconds(SteadyClock::now() - t0);
  ++stats_.rpc_requests;
  if (!reply.ok()) return reply.error();
  detail::JsonParser p;
  CVMW_ASSIGN_OR_RETURN(auto text, detail::ParseString(p, *reply));
  auto head = detail::ParseQuantity(text);
  if (!head.ok()) return MakeError(ErrorCode::kInvalidJson, "eth_blockNumber: " + head.error().message, true);
  const auto now = clock_.Now();
  if (*head > last_head_seen_) {
    if (stalled_) {
      stalled_ = false;
      UpdateStatus([](SyncStatus& s) { s.head_stalled = false; });
      LivenessFact f;
      f.kind = LivenessKind::kHeadResumed;
      f.head = *head;
      f.detail = "head advanced to " + std::to_string(*head);
      Fact(f);
    }
    if (last_head_seen_ != 0 && head_hints_ == 0 && subscribed_generation_ != 0) {
      ++head_advances_without_hint_;
    } else {
      head_advances_without_hint_ = 0;
    }
    head_hints_ = 0;
    last_head_seen_ = *head;
    last_head_change_ = now;
  }
  head_ = *head;
  // Polling sees progress but newHeads stays silent: the subscription died quietly.
  if (head_advances_without_hint_ >= 3 &&
      SteadyClock::now() - last_hint_ > 3 * settings_.poll_interval) {
    head_advances_without_hint_ = 0;
    LivenessFact f;
    f.kind = LivenessKind::kSubscriptionSilent;
    f.detail = "the head advanced three times without a newHeads notification; reconnecting";
    Fact(f);
    subscribed_generation_ = 0;
    client_.Reconnect("newHeads silent");
  }
  const bool need_finalized = settings_.confirmations.mode == ConfirmationPolicy::Mode::kFinalized;
  if (need_finalized || now - last_finalized_poll_ >= std::chrono::seconds(30)) {
    last_finalized_poll_ = now;
    auto fin = client_.Call("eth_getBlockByNumber", "[\"finalized\",false]");
    if (fin.ok()) {
      auto b = detail::ParseBlock(p, *fin);
      if (b.ok() && *b) finalized_ = (*b)->ref.number;
    } else if (need_finalized) {
      return fin.error();
    }
  }
  UpdateStatus([&](SyncStatus& s) {
    s.head = head_;
    s.finalized = finalized_;
    s.last_head_change = last_head_change_;
    s.head_stalled = stalled_;
  });
  return *head;
}

std::uint64_t Indexer::Target(std::uint64_t head) const {
  std::uint64_t t = 0;
  if (settings_.confirmations.mode == ConfirmationPolicy::Mode::kFinalized) {
    t = std::min(finalized_.value_or(0), head);
  } else if (head >= settings_.confirmations.depth) {
    t = head - settings_.confirmations.depth;
  }
  if (settings_.stop_at_block) t = std::min(t, *settings_.stop_at_block);
  return t;
}

void Indexer::CheckStall() {
  const auto now = clock_.Now();
  if (settings_.head_stall_timeout.count() <= 0) return;  // disabled
  if (stalled_ || last_head_change_ == TimePoint{}) return;
  if (now - last_head_change_ < std::chrono::duration_cast<std::chrono::seconds>(settings_.head_stall_timeout)) return;
  stalled_ = true;
  LivenessFact f;
  f.kind = LivenessKind::kHeadStalled;
  f.head = last_head_seen_;
  f.detail = "no new block for " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - last_head_change_).count()) +
             " s (head " + std::to_string(last_head_seen_) + ")";
  for (auto* c : cross_check_) {
    auto r = c->Call("eth_blockNumber", "[]");
    detail::JsonParser p;
    if (r.ok()) {
      auto t = detail::ParseString(p, *r);
      if (t.ok()) f.detail += "; " + c->Endpoint() + " reports head " + std::to_string(detail::ParseQuantity(*t).ok() ? *detail::ParseQuantity(*t) : 0);
    }
  }
  UpdateStatus([](SyncStatus& s) { s.head_stalled = true; });
  Fact(f);
}

void Indexer::CrossCheck() {
  if (cross_check_.empty() || !cursor_) return;
  const auto now = clock_.Now();
  if (last_cross_check_ != TimePoint{} && now - last_cross_check_ < std::chrono::duration_cast<std::chrono::seconds>(settings_.cross_check_interval)) {
    return;
  }
  last_cross_check_ = now;
  const std::uint64_t h = cursor_->block_number;
  detail::JsonParser p;
  for (auto* c : cross_check_) {
    auto r = c->Call("eth_getBlockByNumber", "[\"" + HexQuantity(h) + "\",false]");
    if (!r.ok()) {
      log::Warn("cross_check_failed", {{"endpoint", c->Endpoint()}, {"error", r.error().message}});
      continue;
    }
    auto b = detail::ParseBlock(p, *r);
    if (!b.ok() || !*b) continue;  // behind us: not a disagreement
    if ((*b)->ref.hash == cursor_->block_hash) continue;
    // Confirm with the primary before calling it a disagreement.
    auto ours = CanonicalHash(h);
    if (!ours.ok() || !*ours) continue;
    if (**ours != cursor_->block_hash) continue;  // our own chain moved: the loop will roll back
    LivenessFact f;
    f.kind = LivenessKind::kEndpointDisagreement;
    f.height = h;
    f.primary_hash = cursor_->block_hash;
    f.other_hash = (*b)->ref.hash;
    f.endpoint = c->Endpoint();
    f.detail = "block " + std::to_string(h) + ": " + client_.Endpoint() + " has " + Short(cursor_->block_hash) +
               ", " + c->Endpoint() + " has " + Short((*b)->ref.hash);
    Fact(f);
  }
}

Result<std::optional<Hash32>> Indexer::CanonicalHash(std::uint64_t number) {
  const auto t0 = SteadyClock::now();
  auto r = client_.Call("eth_getBlockByNumber", "[\"" + HexQuantity(number) + "\",false]");
  stats_.rpc_seconds += Seconds(SteadyClock::now() - t0);
  ++stats_.rpc_requests;
  if (!r.ok()) return r.error();
  detail::JsonParser p;
  auto b = detail::ParseBlock(p, *r);
  if (!b.ok()) {
    Error e = b.error();
    e.retryable = true;
    return e;
  }
  if (!*b) return std::optional<Hash32>();
  return std::optional<Hash32>((*b)->ref.hash);
}

Status Indexer::CheckHeight(std::uint64_t number) {
  auto held = tracker_.At(number);
  if (!held) return OkStatus();
  CVMW_ASSIGN_OR_RETURN(auto canonical, CanonicalHash(number));
  if (!canonical || *canonical == held->hash) return OkStatus();
  return HandleReorg(number, "block " + std::to_string(number) + " is now " + Short(*canonical) + ", we applied " +
                                 Short(held->hash));
}

Status Indexer::HandleReorg(std::uint64_t from_number, std::string_view why) {
  std::map<std::uint64_t, std::optional<Hash32>> seen;
  auto lookup = [&](std::uint64_t n) -> Result<std::optional<Hash32>> {
    auto it = seen.find(n);
    if (it != seen.end()) return it->second;
    CVMW_ASSIGN_OR_RETURN(auto h, CanonicalHash(n));
    seen[n] = h;
    return h;
  };
  CVMW_ASSIGN_OR_RETURN(auto ancestor, tracker_.FindCommonAncestor(from_number, lookup));
  // Evidence: at least one held block above the ancestor has a different canonical hash.
  bool mismatch = false;
  std::optional<BlockRef> first_orphan;
  for (const auto& r : tracker_.Refs()) {
    if (ancestor && r.number <= ancestor->number) continue;
    auto it = seen.find(r.number);
    std::optional<Hash32> canonical;
    if (it != seen.end()) {
      canonical = it->second;
    } else {
      CVMW_ASSIGN_OR_RETURN(canonical, lookup(r.number));
    }
    if (canonical && *canonical != r.hash) {
      mismatch = true;
      if (!first_orphan) first_orphan = r;
    }
  }
  if (!mismatch) {
    return MakeError(ErrorCode::kUnavailable,
                     "suspected reorg not confirmed (" + std::string(why) +
                         "): the node lacks our newest blocks; waiting",
                     true);
  }
  if (!ancestor) {
    const auto refs = tracker_.Refs();
    return MakeError(ErrorCode::kPrecondition,
                     "reorg deeper than the " + std::to_string(refs.size()) + " blocks held (oldest " +
                         (refs.empty() ? std::string("-") : std::to_string(refs.front().number)) +
                         "): refusing to guess; re-index from an earlier start block (" + std::string(why) + ")",
                     false);
  }
  const std::uint64_t last = tracker_.Last() ? tracker_.Last()->number : ancestor->number;
  const std::uint64_t depth = last - ancestor->number;
  log::Warn("reorg", {{"ancestor", ancestor->number},
                      {"ancestor_hash", ancestor->hash.ToHex()},
                      {"depth", depth},
                      {"reason", std::string(why)}});
  CVMW_RETURN_IF_ERROR(sink_.Flush());
  if (Status s = sink_.RollbackTo(ancestor->number); !s.ok()) {
    Error e = s.error();
    e.message = "sink RollbackTo(" + std::to_string(ancestor->number) + "): " + e.message;
    e.retryable = false;
    return e;
  }
  tracker_.TruncateAfter(ancestor->number);
  cursor_ = Cursor{ancestor->number, ancestor->hash};
  next_ = ancestor->number + 1;
  ++stats_.reorgs;
  if (Status s = fetcher_.InitImplementation("\"" + ancestor->hash.ToHex() + "\""); !s.ok()) {
    if (Status s2 = fetcher_.InitImplementation("\"" + HexQuantity(ancestor->number) + "\""); !s2.ok()) {
      log::Warn("implementation_unknown", {{"error", s2.error().message}});
    }
  }
  LivenessFact f;
  f.kind = LivenessKind::kReorg;
  f.height = ancestor->number + 1;
  f.depth = depth;
  if (first_orphan) {
    f.primary_hash = first_orphan->hash;
    auto it = seen.find(first_orphan->number);
    if (it != seen.end() && it->second) f.other_hash = *it->second;
  }
  f.detail = "rolled back " + std::to_string(depth) + " block(s) to " + std::to_string(ancestor->number) + ": " +
             std::string(why);
  Fact(f);
  UpdateStatus([&](SyncStatus& s) {
    ++s.reorgs;
    s.indexed = ancestor->number;
  });
  return OkStatus();
}

Result<std::vector<BlockRef>> Indexer::FetchHeaders(const std::vector<std::uint64_t>& numbers, bool allow_missing) {
  std::vector<RpcRequest> reqs;
  reqs.reserve(numbers.size());
  for (auto n : numbers) reqs.push_back({"eth_getBlockByNumber", "[\"" + HexQuantity(n) + "\",false]"});
  const auto t0 = SteadyClock::now();
  auto replies = detail::CallManyRetrying(client_, reqs);
  stats_.rpc_seconds += Seconds(SteadyClock::now() - t0);
  stats_.rpc_requests += reqs.size();
  std::vector<BlockRef> out;
  detail::JsonParser p;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) return replies[i].error();
    auto b = detail::ParseBlock(p, *replies[i]);
    if (!b.ok()) {
      Error e = b.error();
      e.message = "block " + std::to_string(numbers[i]) + ": " + e.message;
      e.retryable = true;
      return e;
    }
    if (!*b) {
      if (allow_missing) break;
      return MakeError(ErrorCode::kUnavailable, "block " + std::to_string(numbers[i]) + " not available yet", true);
    }
    if ((*b)->ref.number != numbers[i]) {
      return MakeError(ErrorCode::kInvalidJson, "asked block " + std::to_string(numbers[i]) + ", got " +
                                                    std::to_string((*b)->ref.number), true);
    }
    out.push_back((*b)->ref);
  }
  return out;
}

Status Indexer::Step() {
  CVMW_RETURN_IF_ERROR(EnsureSubscribed());
  std::set<std::uint64_t> suspicious;
  bool overflow = false;
  DrainHints(suspicious, overflow);
  if (overflow && tracker_.Last()) suspicious.insert(tracker_.Last()->number);
  CVMW_ASSIGN_OR_RETURN(auto head, FetchHead());
  CheckStall();
  for (auto it = suspicious.rbegin(); it != suspicious.rend(); ++it) {
    if (tracker_.At(*it)) {
      CVMW_RETURN_IF_ERROR(CheckHeight(*it));
    }
  }
  const std::uint64_t target = Target(head);
  UpdateStatus([&](SyncStatus& s) {
    s.target = target;
    s.indexed = CursorNumber();
    s.lag = s.indexed ? (head > *s.indexed ? head - *s.indexed : 0) : head;
  });
  if (settings_.stop_at_block && cursor_ && cursor_->block_number >= *settings_.stop_at_block) {
    stop_ = true;
    return OkStatus();
  }
  if (next_ > target) {
    // Caught up. Re-check the hash at min(head, cursor): a replacement chain of the same height
    // (anvil_reorg without subscriptions), a silent rollback, or just a lagging node (no-op).
    if (cursor_) CVMW_RETURN_IF_ERROR(CheckHeight(std::min(head, cursor_->block_number)));
    UpdateStatus([](SyncStatus& s) { s.phase = "live"; });
    CrossCheck();
    Report(false);
    WaitForWork(settings_.poll_interval);
    return OkStatus();
  }
  const std::uint64_t gap = target - next_ + 1;
  if (gap > settings_.live_window && !settings_.scan_all_transactions) {
    UpdateStatus([](SyncStatus& s) { s.phase = "backfill"; });
    CVMW_RETURN_IF_ERROR(Backfill(next_, target));
  } else {
    UpdateStatus([&](SyncStatus& s) { s.phase = gap > settings_.live_window ? "backfill" : "live"; });
    CVMW_RETURN_IF_ERROR(Live(next_, std::min(target, next_ + std::max<std::uint64_t>(1, settings_.max_live_batch) - 1)));
  }
  CrossCheck();
  Report(false);
  return OkStatus();
}

Status Indexer::Backfill(std::uint64_t from, std::uint64_t target) {
  // Still on the chain we applied? (the cursor block of the previous range)
  if (cursor_) CVMW_RETURN_IF_ERROR(CheckHeight(cursor_->block_number));
  if (next_ != from) return OkStatus();  // rolled back: the next step starts over
  CVMW_ASSIGN_OR_RETURN(auto batch, log_source_.Fetch(from, target));
  std::set<std::uint64_t> wanted;
  for (const auto& l : batch.logs) wanted.insert(l.block_number);
  wanted.insert(batch.to);  // the range's last block carries the cursor through empty ranges
  const std::vector<std::uint64_t> numbers(wanted.begin(), wanted.end());
  CVMW_ASSIGN_OR_RETURN(auto headers, FetchHeaders(numbers, false));
  auto known = [this](std::size_t max) { return sink_.KnownIdentities(max); };
  CVMW_ASSIGN_OR_RETURN(auto blocks, fetcher_.Build(headers, batch.logs, known));
  return ApplyBlocks(blocks);
}

Status Indexer::Live(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> numbers;
  for (std::uint64_t n = from; n <= to; ++n) numbers.push_back(n);
  CVMW_ASSIGN_OR_RETURN(auto headers, FetchHeaders(numbers, true));
  if (headers.empty()) return OkStatus();  // the node is not there yet
  switch (tracker_.Classify(headers.front())) {
    case BlockTracker::Link::kFork: {
      const auto held = tracker_.At(headers.front().number - 1);
      return HandleReorg(headers.front().number - 1,
                         "block " + std::to_string(headers.front().number) + " has parent " +
                             Short(headers.front().parent_hash) + ", we applied " +
                             (held ? Short(held->hash) : std::string("another block")));
    }
    case BlockTracker::Link::kKnown:
    case BlockTracker::Link::kBehind:
      return MakeError(ErrorCode::kUnavailable, "block " + std::to_string(headers.front().number) + " already applied", true);
    default:
      break;
  }
  for (std::size_t i = 1; i < headers.size(); ++i) {
    if (headers[i].parent_hash != headers[i - 1].hash) {
      return MakeError(ErrorCode::kUnavailable,
                       "chain changed during fetch: block " + std::to_string(headers[i].number) + " does not extend " +
                           std::to_string(headers[i - 1].number),
                       true);
    }
  }
  const std::uint64_t last = headers.back().number;
  std::vector<LogEntry> logs;
  for (std::uint64_t f = from; f <= last;) {
    CVMW_ASSIGN_OR_RETURN(auto batch, log_source_.Fetch(f, last));
    for (auto& l : batch.logs) logs.push_back(std::move(l));
    f = batch.to + 1;
  }
  auto known = [this](std::size_t max) { return sink_.KnownIdentities(max); };
  CVMW_ASSIGN_OR_RETURN(auto blocks, fetcher_.Build(headers, logs, known));
  return ApplyBlocks(blocks);
}

Status Indexer::ApplyBlocks(std::vector<ChainBlock>& blocks) {
  for (auto& b : blocks) {
    const auto t0 = SteadyClock::now();
    Status s = sink_.ApplyBlock(b);
    stats_.apply_seconds += Seconds(SteadyClock::now() - t0);
    if (!s.ok()) {
      Error e = s.error();
      e.message = "sink ApplyBlock(" + std::to_string(b.block_number) + "): " + e.message;
      e.retryable = false;
      return e;
    }
    tracker_.Push(b.Ref());
    cursor_ = Cursor{b.block_number, b.block_hash};
    next_ = b.block_number + 1;
    ++stats_.blocks_applied;
    if (b.HasActivity()) {
      log::Debug("block", {{"number", b.block_number}, {"calls", static_cast<std::uint64_t>(b.calls.size())}});
    }
    UpdateStatus([&](SyncStatus& st) {
      ++st.blocks_applied;
      st.calls_applied += b.calls.size();
      st.unrecoverable += b.unrecoverable.size();
      st.indexed = b.block_number;
      st.lag = head_ > b.block_number ? head_ - b.block_number : 0;
      st.last_error.clear();
    });
  }
  if (settings_.stop_at_block && cursor_ && cursor_->block_number >= *settings_.stop_at_block) stop_ = true;
  return OkStatus();
}

void Indexer::Report(bool force) {
  if (!progress_ || !cursor_) return;
  const auto now = SteadyClock::now();
  if (!force && now - last_report_ < std::chrono::milliseconds(500)) return;
  last_report_ = now;
  const double dt = Seconds(now - rate_t0_);
  const std::uint64_t done = next_ > rate_b0_ ? next_ - rate_b0_ : 0;
  if (dt > 0.5) {
    const double inst = static_cast<double>(done) / dt;
    rate_ = rate_ == 0 ? inst : 0.7 * rate_ + 0.3 * inst;
    rate_t0_ = now;
    rate_b0_ = next_;
  }
  Progress p;
  {
    std::lock_guard lock(status_mu_);
    p.phase = status_.phase;
    p.target = status_.target;
  }
  p.start = run_start_block_;
  p.indexed = cursor_->block_number;
  p.head = head_;
  p.blocks_per_second = rate_;
  const std::uint64_t remaining = p.target > p.indexed ? p.target - p.indexed : 0;
  p.eta_seconds = rate_ > 0 ? static_cast<double>(remaining) / rate_ : (remaining == 0 ? 0 : -1);
  progress_(p);
}

}  // namespace cvmwatch::indexer
