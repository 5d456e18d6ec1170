#include "watchdog_sink.h"

#include <map>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/evidence.h"
#include "cvmwatch/verifier/tdx.h"

namespace cvmwatch::app {
namespace {

using registry::AttestCall;
using registry::ReattestCall;
using registry::TtlCall;

verifier::Submission MakeSubmission(const registry::RegistryCall& call, const WatchdogSettings& s) {
  verifier::Submission sub{call, {}, std::nullopt};
  sub.signing.chain_id = s.chain_id;
  sub.signing.registry = s.registry;
  sub.signing.chain_id_width = s.chain_id_width;
  return sub;
}

// What the chain holds for an identity before a call, as the verifier needs it.
struct Known {
  verifier::RegisteredIdentity identity;
  bool registered = true;
};

store::ChainOutcome ToStoreOutcome(indexer::ChainOutcome o) {
  return o == indexer::ChainOutcome::kSuccess ? store::ChainOutcome::kSuccess : store::ChainOutcome::kReverted;
}

store::ChainConfigObservation ToObservation(const indexer::ChainConfig& c) {
  store::ChainConfigObservation o;
  o.identity_hash = c.identity_hash;
  o.registered = c.registered;
  if (c.registered) {
    o.tee_type = c.tee_type;
    o.cloud_type = c.cloud_type;
  }
  o.tee_ttl = c.tee_ttl;
  o.tpm_ttl = c.tpm_ttl;
  o.tee_recent_timestamp = c.tee_recent_timestamp;
  o.tpm_recent_timestamp = c.tpm_recent_timestamp;
  o.expired_at = c.expired_at;
  o.measurement_hash = c.measurement_hash;
  return o;
}

}  // namespace

bool VerifiedOnPool(const indexer::ObservedCall& call) {
  return call.decoded && std::holds_alternative<AttestCall>(*call.decoded);
}

verifier::Verdict VerifyRegistration(const indexer::ObservedCall& call, TimePoint at,
                                     const verifier::TrustStore& trust, const WatchdogSettings& settings) {
  return verifier::Verify(MakeSubmission(*call.decoded, settings), trust, at);
}

store::VerdictRecord ToVerdictRecord(const verifier::Verdict& v) {
  store::VerdictRecord r;
  switch (v.outcome) {
    case verifier::Outcome::kVerified: r.outcome = store::VerdictOutcome::kPassed; break;
    case verifier::Outcome::kRejected: r.outcome = store::VerdictOutcome::kFailed; break;
    case verifier::Outcome::kIncomplete: r.outcome = store::VerdictOutcome::kUnverifiable; break;
  }
  r.measurement_hash = v.measurement_hash;
  for (const auto& c : v.checks) {
    if (c.state == verifier::CheckState::kPassed) continue;
    r.checks.push_back({std::string(verifier::CheckName(c.id)), c.reason, c.state == verifier::CheckState::kFailed});
  }
  r.summary = std::string(verifier::OutcomeName(v.outcome)) + ": " + v.Summary();
  return r;
}

Result<std::optional<indexer::Cursor>> WatchdogSink::LoadCursor() {
  CVMW_ASSIGN_OR_RETURN(auto cursor, store_.Read().Cursor());
  if (!cursor) return std::optional<indexer::Cursor>{};
  return std::optional<indexer::Cursor>(indexer::Cursor{cursor->number, cursor->hash});
}

Status WatchdogSink::ApplyVerifiedBlock(const indexer::ChainBlock& block,
                                        std::vector<std::optional<verifier::Verdict>> verdicts) {
  store::InputBlock input;
  input.header = {block.block_number, block.block_hash, block.parent_hash, block.timestamp};
  const TimePoint at = FromUnixSeconds(static_cast<std::int64_t>(block.timestamp));
  const store::ReadView view = store_.Read();
  // Effects of this block's earlier calls on what later calls need (same-block registration +
  // re-attestation, rotations, nonces).
  std::map<Hash32, Known> overlay;
  auto lookup = [&](const Hash32& h) -> std::optional<verifier::RegisteredIdentity> {
    if (auto it = overlay.find(h); it != overlay.end()) {
      if (!it->second.registered) return std::nullopt;
      return it->second.identity;
    }
    auto state = view.GetIdentity(h);
    if (!state.ok() || state->rotated_away) return std::nullopt;
    verifier::RegisteredIdentity r;
    r.identity = state->key;
    r.cloud_type = state->cloud_type;
    r.tee_type = state->tee_type;
    r.nonce = U256(state->nonce);
    if (!state->verifier_evidence.empty()) {
      if (auto e = verifier::DecodeRegisteredEvidence(state->verifier_evidence); e.ok()) {
        r.ak = e->ak;
        r.tee = e->tee;
      }
    }
    return r;
  };

  for (std::size_t i = 0; i < block.calls.size(); ++i) {
    const indexer::ObservedCall& call = block.calls[i];
    if (!call.decoded) continue;  // upgrades, unknown selectors: not lifecycle calls
    const bool success = call.outcome == indexer::ChainOutcome::kSuccess;
    std::optional<verifier::Verdict> verdict = std::move(verdicts[i]);
    store::AppliedSubmission sub;
    sub.tx_hash = call.tx_hash;
    sub.tx_index = call.tx_index;
    sub.log_index = call.log_index;
    sub.call = *call.decoded;
    sub.outcome = ToStoreOutcome(call.outcome);
    if (call.revert_data && call.revert_data->size() >= 4) {
      sub.revert_selector = Selector::FromBytes(ByteView(*call.revert_data).first(4)).value();
    }
    if (call.return_data) sub.chain_measurement_hash = Keccak256(*call.return_data);

    if (const auto* a = std::get_if<AttestCall>(&*call.decoded)) {
      if (verdict && success) {
        auto previous = lookup(a->identity_hash);
        Known k;
        k.identity.identity = a->identity;
        // A re-registration keeps the stored types (the registry ignores the arguments).
        k.identity.cloud_type = previous ? previous->cloud_type : a->cloud_type;
        k.identity.tee_type = previous ? previous->tee_type : a->tee_type;
        k.identity.ak = verdict->ak;
        k.identity.tee = verdict->tee;
        k.identity.nonce = previous ? previous->nonce : U256(0);
        overlay[a->identity_hash] = k;
        sub.verifier_evidence = verifier::EncodeRegisteredEvidence({verdict->ak, verdict->tee});
      }
    } else if (const auto* r = std::get_if<ReattestCall>(&*call.decoded)) {
      auto sub_in = MakeSubmission(*call.decoded, settings_);
      sub_in.registered = lookup(r->target_identity_hash);
      verdict = verifier::Verify(sub_in, trust_, at);
      if (success && sub_in.registered) {
        Known old{*sub_in.registered, true};
        old.identity.nonce = old.identity.nonce + U256(1);
        if (r->IsRotation()) {
          Known moved = old;
          moved.identity.identity = r->new_identity;
          auto existing = lookup(r->new_identity_hash);
          moved.identity.nonce = existing ? existing->nonce : U256(0);
          old.registered = false;
          overlay[r->new_identity_hash] = moved;
        }
        overlay[r->target_identity_hash] = old;
      }
    } else if (const auto* t = std::get_if<TtlCall>(&*call.decoded)) {
      auto sub_in = MakeSubmission(*call.decoded, settings_);
      sub_in.registered = lookup(t->target_identity_hash);
      verdict = verifier::Verify(sub_in, trust_, at);
      if (success && sub_in.registered) {
        Known k{*sub_in.registered, true};
        k.identity.nonce = k.identity.nonce + U256(1);
        overlay[t->target_identity_hash] = k;
      }
    }
    if (verdict) sub.verdict = ToVerdictRecord(*verdict);
    input.submissions.push_back(std::move(sub));
  }
  for (const auto& c : block.chain_state) {
    if (c.answered) input.observations.push_back(ToObservation(c));
  }
  auto applied = store_.ApplyBlock(input, rules_);
  if (!applied.ok()) return applied.error();
  ++blocks_applied_;
  return OkStatus();
}

Status WatchdogSink::RollbackTo(std::uint64_t block_number) { return store_.RollbackTo(block_number); }

std::vector<indexer::BlockRef> WatchdogSink::RecentBlocks(std::size_t n) {
  std::vector<indexer::BlockRef> out;
  const store::ReadView view = store_.Read();
  auto cursor = view.Cursor();
  if (!cursor.ok() || !*cursor) return out;
  const std::uint64_t last = (*cursor)->number;
  const std::uint64_t first = last + 1 > n ? last + 1 - n : 0;
  for (std::uint64_t b = first; b <= last; ++b) {
    auto h = view.Block(b);
    if (h.ok()) out.push_back({h->number, h->hash, h->parent_hash, h->timestamp});
  }
  return out;
}

void WatchdogSink::OnLiveness(const indexer::LivenessFact& fact) {
  constexpr std::size_t kKeep = 256;
  liveness_.push_back(fact);
  while (liveness_.size() > kKeep) liveness_.pop_front();
}

std::vector<Hash32> WatchdogSink::KnownIdentities(std::size_t max) {
  std::vector<Hash32> out;
  const store::ReadView view = store_.Read();
  store::PageRequest page;
  page.limit = 1000;
  while (out.size() < max) {
    auto p = view.ListIdentities({}, page);
    if (!p.ok()) break;
    for (const auto& s : p->items) {
      if (out.size() < max && !s.rotated_away) out.push_back(s.identity_hash);
    }
    if (p->next_cursor.empty()) break;
    page.cursor = p->next_cursor;
  }
  return out;
}

namespace {

// Owns the store, the trust store and both sinks; forwards to the verifying front.
class OwnedWatchdogSink final : public indexer::BlockSink {
 public:
  OwnedWatchdogSink(std::unique_ptr<store::Store> store, verifier::TrustStore trust, WatchdogSettings settings,
                    indexer::PipelineSettings pipeline)
      : store_(std::move(store)),
        trust_(std::move(trust)),
        settings_(settings),
        inner_(*store_, trust_, settings_),
        front_(inner_,
               [this](const indexer::ObservedCall& call, TimePoint at) {
                 return VerifyRegistration(call, at, trust_, settings_);
               },
               pipeline, &VerifiedOnPool) {}

  Result<std::optional<indexer::Cursor>> LoadCursor() override { return front_.LoadCursor(); }
  Status ApplyBlock(const indexer::ChainBlock& block) override { return front_.ApplyBlock(block); }
  Status RollbackTo(std::uint64_t n) override { return front_.RollbackTo(n); }
  std::vector<indexer::BlockRef> RecentBlocks(std::size_t n) override { return front_.RecentBlocks(n); }
  void OnLiveness(const indexer::LivenessFact& fact) override { front_.OnLiveness(fact); }
  Status Flush() override {
    CVMW_RETURN_IF_ERROR(front_.Flush());
    return store_->Flush();
  }
  std::vector<Hash32> KnownIdentities(std::size_t max) override { return front_.KnownIdentities(max); }

 private:
  std::unique_ptr<store::Store> store_;
  verifier::TrustStore trust_;
  WatchdogSettings settings_;
  WatchdogSink inner_;
  indexer::VerifyingSink<verifier::Verdict> front_;
};

}  // namespace

Result<std::unique_ptr<indexer::BlockSink>> OpenWatchdogSink(const config::Config& config,
                                                             const WatchdogOpenOptions& options) {
  CVMW_ASSIGN_OR_RETURN(verifier::TrustStore trust, verifier::TrustStore::LoadFromDirectory(options.trust_dir));
  if (!options.collateral_dir.empty()) {
    trust.tdx_collateral = std::make_shared<verifier::DirectoryTdxCollateralSource>(options.collateral_dir);
  }
  if (!options.vcek_dir.empty()) trust.vceks = std::make_shared<verifier::DirectoryVcekSource>(options.vcek_dir);
  store::StoreOptions so;
  so.path = options.store_path;
  so.chain_id = config.chain.chain_id;
  so.registry = config.chain.registry;
  CVMW_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::Open(so));
  WatchdogSettings ws;
  ws.chain_id = config.chain.chain_id;
  ws.registry = config.chain.registry;
  indexer::PipelineSettings ps;
  ps.workers = static_cast<std::size_t>(config.pipeline.workers);
  ps.max_queued_tasks = static_cast<std::size_t>(config.pipeline.max_queued_tasks);
  ps.max_pending_blocks = static_cast<std::size_t>(config.pipeline.max_pending_blocks);
  return std::unique_ptr<indexer::BlockSink>(
      std::make_unique<OwnedWatchdogSink>(std::move(store), std::move(trust), ws, ps));
}

}  // namespace cvmwatch::app
