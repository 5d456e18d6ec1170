#include "cvmwatch/indexer/memory_sink.h"

#include <algorithm>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/json_writer.h"
#include "cvmwatch/indexer/reconcile.h"

namespace cvmwatch::indexer {
namespace {

constexpr std::uint64_t kDefaultTeeTtl = 2'592'000;
constexpr std::uint64_t kDefaultTpmTtl = 5'184'000;

std::string Opt(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string OptH(const std::optional<Hash32>& v) { return v ? v->ToHex() : "-"; }

}  // namespace

std::string_view ChainOutcomeName(ChainOutcome outcome) {
  return outcome == ChainOutcome::kSuccess ? "success" : "reverted";
}

std::string_view CallSourceName(CallSource source) {
  return source == CallSource::kTransactionInput ? "tx-input" : "call-trace";
}

std::string_view LivenessKindName(LivenessKind kind) {
  switch (kind) {
    case LivenessKind::kHeadStalled: return "head-stalled";
    case LivenessKind::kHeadResumed: return "head-resumed";
    case LivenessKind::kEndpointDisagreement: return "endpoint-disagreement";
    case LivenessKind::kSubscriptionSilent: return "subscription-silent";
    case LivenessKind::kReorg: return "reorg";
    case LivenessKind::kDisconnected: return "disconnected";
    case LivenessKind::kReconnected: return "reconnected";
  }
  return "unknown";
}

Result<std::optional<Cursor>> MemorySink::LoadCursor() {
  std::lock_guard lock(mu_);
  return cursor_;
}

Status MemorySink::ApplyBlock(const ChainBlock& block) {
  std::function<void(const ChainBlock&)> observer;
  {
    std::lock_guard lock(mu_);
    if (fail_next_) return *fail_next_;
    if (cursor_ && block.block_number <= cursor_->block_number) {
      return MakeError(ErrorCode::kPrecondition,
                       "MemorySink: block " + std::to_string(block.block_number) +
                           " is not after the cursor " + std::to_string(cursor_->block_number));
    }
    cursor_ = Cursor{block.block_number, block.block_hash};
    recent_.push_back(block.Ref());
    while (recent_.size() > recent_window_) recent_.pop_front();
    if (block.HasActivity()) {
      activity_.push_back(block);
      Derive(activity_.back());
    }
    ++applied_;
    observer = observer_;
  }
  cv_.notify_all();
  if (observer) observer(block);
  return OkStatus();
}

Status MemorySink::RollbackTo(std::uint64_t block_number) {
  {
    std::lock_guard lock(mu_);
    while (!recent_.empty() && recent_.back().number > block_number) recent_.pop_back();
    activity_.erase(std::remove_if(activity_.begin(), activity_.end(),
                                   [&](const ChainBlock& b) { return b.block_number > block_number; }),
                    activity_.end());
    if (!recent_.empty()) {
      cursor_ = Cursor{recent_.back().number, recent_.back().hash};
    } else if (!activity_.empty()) {
      cursor_ = Cursor{activity_.back().block_number, activity_.back().block_hash};
    } else {
      cursor_.reset();
    }
    ++rollbacks_;
    Rebuild();
  }
  cv_.notify_all();
  return OkStatus();
}

std::vector<BlockRef> MemorySink::RecentBlocks(std::size_t n) {
  std::lock_guard lock(mu_);
  const std::size_t k = std::min(n, recent_.size());
  return std::vector<BlockRef>(recent_.end() - static_cast<std::ptrdiff_t>(k), recent_.end());
}

void MemorySink::OnLiveness(const LivenessFact& fact) {
  {
    std::lock_guard lock(mu_);
    liveness_.push_back(fact);
    if (liveness_.size() > 10'000) liveness_.erase(liveness_.begin());
  }
  cv_.notify_all();
}

std::vector<Hash32> MemorySink::KnownIdentities(std::size_t max) {
  std::lock_guard lock(mu_);
  std::vector<Hash32> out;
  for (const auto& [h, id] : identities_) {
    if (out.size() >= max) break;
    out.push_back(h);  // rotated-away ones too: an upgrade may change what they read as
  }
  return out;
}

std::optional<Cursor> MemorySink::cursor() const {
  std::lock_guard lock(mu_);
  return cursor_;
}
std::vector<ChainBlock> MemorySink::activity_blocks() const {
  std::lock_guard lock(mu_);
  return activity_;
}
std::map<Hash32, DerivedIdentity> MemorySink::identities() const {
  std::lock_guard lock(mu_);
  return identities_;
}
std::vector<ReconcileDiff> MemorySink::diffs() const {
  std::lock_guard lock(mu_);
  return diffs_;
}
std::vector<LivenessFact> MemorySink::liveness() const {
  std::lock_guard lock(mu_);
  return liveness_;
}
std::uint64_t MemorySink::applied_count() const {
  std::lock_guard lock(mu_);
  return applied_;
}
std::uint64_t MemorySink::rollback_count() const {
  std::lock_guard lock(mu_);
  return rollbacks_;
}

void MemorySink::SetApplyObserver(std::function<void(const ChainBlock&)> observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

void MemorySink::FailNextApply(std::optional<Error> error) {
  std::lock_guard lock(mu_);
  fail_next_ = std::move(error);
}

bool MemorySink::WaitFor(const std::function<bool(const MemorySink&)>& pred,
                         std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::uint64_t seen;
    {
      std::lock_guard lock(mu_);
      seen = applied_ + rollbacks_ + liveness_.size();
    }
    if (pred(*this)) return true;
    std::unique_lock lock(mu_);
    const bool changed = cv_.wait_until(lock, deadline, [&] {
      return applied_ + rollbacks_ + liveness_.size() != seen;
    });
    if (!changed) {
      lock.unlock();
      return pred(*this);
    }
  }
}

void MemorySink::Rebuild() {
  identities_.clear();
  diffs_.clear();
  for (const auto& b : activity_) Derive(b);
}

void MemorySink::Derive(const ChainBlock& block) {
  const std::uint64_t ts = block.timestamp;
  auto get = [&](const Hash32& h) -> DerivedIdentity& {
    auto& id = identities_[h];
    id.identity_hash = h;
    return id;
  };
  for (const auto& call : block.calls) {
    if (call.outcome != ChainOutcome::kSuccess || !call.decoded) continue;
    std::optional<Hash32> measurement;
    if (call.return_data && !call.return_data->empty()) measurement = Keccak256(*call.return_data);
    std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, registry::AttestCall>) {
            auto& id = get(c.identity_hash);
            if (!id.registered || id.from_chain_only) {
              id.tee_type = c.tee_type;
              id.cloud_type = c.cloud_type;
              id.tee_ttl = c.tee_ttl.value_or(kDefaultTeeTtl);
              id.tpm_ttl = kDefaultTpmTtl;
              id.from_chain_only = false;
            }
            id.registered = true;
            id.rotated_to.reset();
            id.tee_recent_timestamp = ts;
            id.tpm_recent_timestamp = ts;
            if (measurement) id.measurement_hash = measurement;
            id.last_block = block.block_number;
            id.last_function = call.function;
            ++id.calls;
          } else if constexpr (std::is_same_v<T, registry::ReattestCall>) {
            auto& old = get(c.target_identity_hash);
            ++old.nonce;
            old.last_block = block.block_number;
            old.last_function = call.function;
            ++old.calls;
            if (c.IsRotation()) {
              DerivedIdentity copy = old;
              auto& neu = get(c.new_identity_hash);
              const std::uint64_t keep_nonce = neu.nonce;
              const std::uint32_t keep_calls = neu.calls;
              neu = copy;
              neu.identity_hash = c.new_identity_hash;
              neu.nonce = keep_nonce;
              neu.calls = keep_calls + 1;
              neu.registered = true;
              neu.rotated_from = c.target_identity_hash;
              neu.rotated_to.reset();
              neu.tpm_recent_timestamp = ts;
              neu.measurement_hash = measurement;
              neu.chain.reset();
              auto& o = get(c.target_identity_hash);  // re-fetch: `get` may have rehashed nothing (map)
              o.registered = false;
              o.rotated_to = c.new_identity_hash;
            } else {
              old.tpm_recent_timestamp = ts;
              if (measurement) old.measurement_hash = measurement;
            }
          } else if constexpr (std::is_same_v<T, registry::TtlCall>) {
            auto& id = get(c.target_identity_hash);
            ++id.nonce;
            id.tee_ttl = c.tee_ttl;
            id.tpm_ttl = c.tpm_ttl;
            id.last_block = block.block_number;
            id.last_function = call.function;
            ++id.calls;
          } else {
            // A0 reattestCvmFully and D calls: not derived here; adopt the chain's answer.
            for (const auto& h : TouchedIdentities(registry::RegistryCall(c))) {
              auto& id = get(h);
              id.from_chain_only = true;
              id.last_block = block.block_number;
              id.last_function = call.function;
              ++id.calls;
            }
          }
        },
        *call.decoded);
  }
  for (const auto& u : block.unrecoverable) {
    for (const auto& e : u.events) {
      if (!e.identity_hash) continue;
      auto& id = get(*e.identity_hash);
      id.from_chain_only = true;
      id.last_block = block.block_number;
    }
  }
  for (const auto& cfg : block.chain_state) {
    if (!cfg.answered) continue;
    auto& id = get(cfg.identity_hash);
    auto diff = [&](std::string field, std::string derived, std::string chain) {
      if (derived != chain) {
        diffs_.push_back(ReconcileDiff{block.block_number, cfg.identity_hash, std::move(field),
                                       std::move(derived), std::move(chain)});
      }
    };
    const bool compare = !id.from_chain_only && (id.calls > 0 || id.registered);
    if (compare) {
      diff("registered", id.registered ? "yes" : "no", cfg.registered ? "yes" : "no");
      if (id.registered && cfg.registered && cfg.layout != "D") {
        diff("teeType", std::to_string(id.tee_type), std::to_string(cfg.tee_type));
        diff("cloudType", std::to_string(id.cloud_type), std::to_string(cfg.cloud_type));
        diff("teeTTL", std::to_string(id.tee_ttl), Opt(cfg.tee_ttl));
        diff("tpmTTL", std::to_string(id.tpm_ttl), Opt(cfg.tpm_ttl));
        diff("teeRecentTimestamp", std::to_string(id.tee_recent_timestamp), Opt(cfg.tee_recent_timestamp));
        diff("tpmRecentTimestamp", std::to_string(id.tpm_recent_timestamp), Opt(cfg.tpm_recent_timestamp));
        if (id.measurement_hash) diff("measurementHash", OptH(id.measurement_hash), OptH(cfg.measurement_hash));
      }
    }
    // The chain's answer becomes the base for what follows.
    id.registered = cfg.registered;
    if (cfg.registered) {
      id.tee_type = cfg.tee_type;
      id.cloud_type = cfg.cloud_type;
      if (cfg.tee_ttl) id.tee_ttl = *cfg.tee_ttl;
      if (cfg.tpm_ttl) id.tpm_ttl = *cfg.tpm_ttl;
      if (cfg.tee_recent_timestamp) id.tee_recent_timestamp = *cfg.tee_recent_timestamp;
      if (cfg.tpm_recent_timestamp) id.tpm_recent_timestamp = *cfg.tpm_recent_timestamp;
      if (cfg.measurement_hash) id.measurement_hash = cfg.measurement_hash;
    }
    if (id.from_chain_only && cfg.layout != "D") id.from_chain_only = false;
    id.chain = cfg;
  }
}

std::string MemorySink::Fingerprint() const {
  std::lock_guard lock(mu_);
  JsonWriter w(true);
  w.BeginObject();
  w.Key("blocks").BeginArray();
  for (const auto& b : activity_) {
    w.BeginObject();
    w.Key("number").Uint(b.block_number);
    w.Key("hash").String(b.block_hash.ToHex());
    w.Key("timestamp").Uint(b.timestamp);
    w.Key("calls").BeginArray();
    for (const auto& c : b.calls) {
      w.BeginObject();
      w.Key("tx").String(c.tx_hash.ToHex());
      w.Key("txIndex").Uint(c.tx_index);
      w.Key("logIndex").Int(c.log_index == kNoLogIndex ? -1 : static_cast<std::int64_t>(c.log_index));
      w.Key("function").String(c.function);
      w.Key("source").String(CallSourceName(c.source));
      w.Key("outcome").String(ChainOutcomeName(c.outcome));
      w.Key("decoded").Bool(c.decoded.has_value());
      w.Key("decodeError").String(c.decode_error);
      w.Key("calldataKeccak").String(Keccak256(c.calldata).ToHex());
      w.Key("revert").String(c.revert_data ? ToHex(*c.revert_data) : "-");
      w.Key("implementation").String(c.implementation ? c.implementation->ToHex() : "-");
      w.Key("events").BeginArray();
      for (const auto& e : c.events) {
        w.String(e.name + "@" + std::to_string(e.log_index) + ":" + OptH(e.identity_hash));
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    w.Key("unrecoverable").BeginArray();
    for (const auto& u : b.unrecoverable) {
      w.String(u.tx_hash.ToHex() + " " + std::to_string(u.events.size()) + " events: " + u.reason);
    }
    w.EndArray();
    w.Key("upgrades").BeginArray();
    for (const auto& u : b.upgrades) w.String(u.implementation.ToHex());
    w.EndArray();
    w.Key("otherEvents").Uint(b.other_events.size());
    w.Key("chainState").BeginArray();
    for (const auto& c : b.chain_state) {
      w.String(c.identity_hash.ToHex() + (c.answered ? (c.registered ? " registered " + c.layout + " " + OptH(c.measurement_hash)
                                                                     : " not-registered")
                                                     : " error " + c.error));
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("identities").BeginArray();
  for (const auto& [h, id] : identities_) {
    w.String(h.ToHex() + " reg=" + (id.registered ? "1" : "0") + " tee=" + std::to_string(id.tee_type) +
             " cloud=" + std::to_string(id.cloud_type) + " ttl=" + std::to_string(id.tee_ttl) + "/" +
             std::to_string(id.tpm_ttl) + " ts=" + std::to_string(id.tee_recent_timestamp) + "/" +
             std::to_string(id.tpm_recent_timestamp) + " nonce=" + std::to_string(id.nonce) +
             " mh=" + OptH(id.measurement_hash) + " to=" + OptH(id.rotated_to) +
             " from=" + OptH(id.rotated_from) + " calls=" + std::to_string(id.calls));
  }
  w.EndArray();
  w.Key("diffs").Uint(diffs_.size());
  w.EndObject();
  return w.str();
}

}  // namespace cvmwatch::indexer
