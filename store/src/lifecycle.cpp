#include "cvmwatch/store/lifecycle.h"

#include <algorithm>
#include <string>
#include <utility>

#include "cvmwatch/core/hash.h"
#include "detail/arith.h"

namespace cvmwatch::store {

using registry::Generation;

std::vector<ExpiryIndexEntry> PendingExpiries(const IdentityState& state) {
  std::vector<ExpiryIndexEntry> out;
  if (!state.IsRegistered()) return out;
  if (!state.tee_expired && state.TeeInvalidFrom() != kNever) {
    out.push_back({state.TeeInvalidFrom(), ExpiryWindow::kTee, state.identity_hash});
  }
  if (!state.tpm_expired && state.TpmInvalidFrom() != kNever) {
    out.push_back({state.TpmInvalidFrom(), ExpiryWindow::kTpm, state.identity_hash});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<ExpiryIndexEntry> IndexedExpiry(const IdentityState& state) {
  const std::vector<ExpiryIndexEntry> pending = PendingExpiries(state);
  if (pending.empty()) return std::nullopt;
  return pending.front();
}

namespace {

// The identities a block touches, each with its state before the block and as modified so far.
class WorkingSet {
 public:
  explicit WorkingSet(IdentitySource& source) : source_(source) {}

  // The current (modified) state, or nullptr when the identity is unknown.
  Result<IdentityState*> Find(const Hash32& hash) {
    auto it = slots_.find(hash);
    if (it == slots_.end()) {
      CVMW_ASSIGN_OR_RETURN(std::optional<IdentityState> loaded, source_.LoadIdentity(hash));
      it = slots_.emplace(hash, Slot{loaded, loaded}).first;
    }
    return it->second.after ? &*it->second.after : nullptr;
  }

  // Replaces (or creates) the state of an identity already looked up with Find.
  IdentityState& Put(IdentityState state) {
    Slot& slot = slots_[state.identity_hash];
    slot.after = std::move(state);
    return *slot.after;
  }

  template <typename Fn>
  void ForEachModified(Fn&& fn) {
    for (auto& [hash, slot] : slots_) {
      if (slot.after && slot.after != slot.before) fn(*slot.after);
    }
  }

  std::vector<IdentityChange> TakeChanges() {
    std::vector<IdentityChange> out;
    for (auto& [hash, slot] : slots_) {
      if (slot.after == slot.before) continue;
      out.push_back({hash, std::move(slot.before), std::move(slot.after)});
    }
    return out;
  }

 private:
  struct Slot {
    std::optional<IdentityState> before;
    std::optional<IdentityState> after;
  };
  IdentitySource& source_;
  std::map<Hash32, Slot> slots_;  // ordered: changes come out ascending by hash
};

bool TtlOutOfBounds(std::uint64_t ttl, const LifecycleSettings& settings) {
  return ttl < settings.min_ttl || ttl > settings.max_ttl;
}

std::string Decimal(std::uint64_t v) { return std::to_string(v); }
std::string OptHex(const std::optional<Hash32>& h) { return h ? h->ToHex() : "none"; }

Hash32 TargetOf(const registry::RegistryCall& call) {
  struct Visitor {
    Hash32 operator()(const registry::AttestCall& c) const { return c.identity_hash; }
    Hash32 operator()(const registry::ReattestCall& c) const { return c.target_identity_hash; }
    Hash32 operator()(const registry::ReattestFullyCall& c) const { return c.target_identity_hash; }
    Hash32 operator()(const registry::TtlCall& c) const { return c.target_identity_hash; }
    Hash32 operator()(const registry::RefreshCall& c) const { return c.target_identity_hash; }
    Hash32 operator()(const registry::RotateCall& c) const { return c.target_identity_hash; }
  };
  return std::visit(Visitor{}, call);
}

Generation GenerationOf(const registry::RegistryCall& call) {
  return std::visit([](const auto& c) { return c.generation; }, call);
}

// Calls that carry attestation material our verifier judges (TTL and D rotation do not).
bool CarriesAttestation(const registry::RegistryCall& call) {
  return !std::holds_alternative<registry::TtlCall>(call) &&
         !std::holds_alternative<registry::RotateCall>(call);
}

EventRecord MakeEventRecord(const BlockHeader& header, std::uint32_t ordinal,
                            const AppliedSubmission& sub) {
  EventRecord e;
  e.block_number = header.number;
  e.ordinal = ordinal;
  e.tx_hash = sub.tx_hash;
  e.tx_index = sub.tx_index;
  e.log_index = sub.log_index;
  e.function = std::string(registry::CallName(sub.call));
  e.generation = GenerationOf(sub.call);
  e.outcome = sub.outcome;
  e.revert_selector = sub.revert_selector;
  e.target_identity = TargetOf(sub.call);
  e.chain_measurement_hash = sub.chain_measurement_hash;
  e.verdict = sub.verdict;
  auto quote = [](const registry::WorkloadCollaterals& wc) { return Keccak256(wc.tpm_quote); };
  if (const auto* c = std::get_if<registry::AttestCall>(&sub.call)) {
    e.cloud_type = c->cloud_type;
    e.tee_type = c->tee_type;
    e.tee_report_type = c->tee_report_type;
    e.tee_ttl = c->tee_ttl;
    e.tee_report_digest = Keccak256(c->tee_report);
    e.tpm_quote_digest = quote(c->wc);
  } else if (const auto* c = std::get_if<registry::ReattestCall>(&sub.call)) {
    e.new_identity = c->new_identity_hash;
    e.tpm_quote_digest = quote(c->wc);
  } else if (const auto* c = std::get_if<registry::ReattestFullyCall>(&sub.call)) {
    e.new_identity = c->new_identity_hash;
    e.tee_report_type = c->tee_report_type;
    e.tee_report_digest = Keccak256(c->tee_report);
    e.tpm_quote_digest = quote(c->wc);
  } else if (const auto* c = std::get_if<registry::TtlCall>(&sub.call)) {
    e.tee_ttl = c->tee_ttl;
    e.tpm_ttl = c->tpm_ttl;
  } else if (const auto* c = std::get_if<registry::RefreshCall>(&sub.call)) {
    e.tee_ttl = c->tee_ttl;
    e.tee_report_type = c->tee_report_type;
    e.tee_report_digest = Keccak256(c->tee_report);
    e.tpm_quote_digest = quote(c->wc);
  } else if (const auto* c = std::get_if<registry::RotateCall>(&sub.call)) {
    e.new_identity = c->new_identity_hash;
  }
  return e;
}

class BlockDeriver {
 public:
  BlockDeriver(const InputBlock& block, IdentitySource& source, const LifecycleSettings& settings)
      : block_(block),
        source_(source),
        settings_(settings),
        ws_(source),
        now_(block.header.timestamp) {}

  Result<BlockEffects> Run() {
    effects_.header = block_.header;
    CVMW_RETURN_IF_ERROR(ReportWindowsClosedSincePreviousBlock());
    for (std::size_t i = 0; i < block_.submissions.size(); ++i) {
      const AppliedSubmission& sub = block_.submissions[i];
      effects_.events.push_back(MakeEventRecord(block_.header, static_cast<std::uint32_t>(i), sub));
      CVMW_RETURN_IF_ERROR(ApplySubmission(sub));
    }
    for (const ChainConfigObservation& obs : block_.observations) {
      CVMW_RETURN_IF_ERROR(Reconcile(obs));
    }
    ReportWindowsClosedByThisBlock();
    ws_.ForEachModified([&](IdentityState& s) {
      s.status = DeriveStatus(s);
      s.updated_block = block_.header.number;
    });
    effects_.changes = ws_.TakeChanges();
    return std::move(effects_);
  }

 private:
  // --- history -------------------------------------------------------------------------------

  void Record(const Hash32& identity, HistoryDetail detail, const AppliedSubmission* sub) {
    HistoryEntry e;
    e.identity_hash = identity;
    e.block_number = block_.header.number;
    e.block_time = now_;
    e.generation = current_generation_;
    if (sub != nullptr) {
      e.tx_hash = sub->tx_hash;
      e.tx_index = sub->tx_index;
      e.log_index = sub->log_index;
    }
    e.detail = std::move(detail);
    effects_.history.push_back(std::move(e));
  }

  // --- expiry --------------------------------------------------------------------------------

  void MarkExpired(IdentityState& state, ExpiryWindow window, std::uint64_t at) {
    (window == ExpiryWindow::kTee ? state.tee_expired : state.tpm_expired) = true;
    current_generation_ = state.generation;
    Record(state.identity_hash, ExpiredDetail{window, at}, nullptr);
  }

  Status ReportWindowsClosedSincePreviousBlock() {
    CVMW_ASSIGN_OR_RETURN(std::vector<ExpiryIndexEntry> due, source_.DueExpiries(now_));
    std::vector<ExpiryIndexEntry> closed;
    for (const ExpiryIndexEntry& entry : due) {
      CVMW_ASSIGN_OR_RETURN(IdentityState * state, ws_.Find(entry.identity_hash));
      if (state == nullptr || IndexedExpiry(*state) != entry) {
        // The index is derived from the states in the same batch; disagreement means damage.
        return MakeError(ErrorCode::kPrecondition,
                         "store: expiry index entry (" + Decimal(entry.at) + ", " +
                             std::string(WindowName(entry.window)) + ", " +
                             entry.identity_hash.ToHex() + ") does not match the identity state");
      }
      // The indexed window is the earliest; the other may have closed by now as well.
      for (const ExpiryIndexEntry& e : PendingExpiries(*state)) {
        if (e.at <= now_) closed.push_back(e);
      }
    }
    std::sort(closed.begin(), closed.end());
    for (const ExpiryIndexEntry& e : closed) {
      MarkExpired(*ws_.Find(e.identity_hash).value(), e.window, e.at);
    }
    return OkStatus();
  }

  void ReportWindowsClosedByThisBlock() {
    std::vector<ExpiryIndexEntry> closed;
    ws_.ForEachModified([&](IdentityState& s) {
      for (const ExpiryIndexEntry& e : PendingExpiries(s)) {
        if (e.at <= now_) closed.push_back(e);
      }
    });
    std::sort(closed.begin(), closed.end());
    for (const ExpiryIndexEntry& e : closed) {
      IdentityState* state = ws_.Find(e.identity_hash).value();  // loaded above
      MarkExpired(*state, e.window, e.at);
    }
  }

  // --- evidence (verdict and measurement) ----------------------------------------------------

  // Applies the verdict and measurement of an attestation-bearing submission to `state` and
  // returns the history details it implies, to be recorded after the call's own entry.
  std::vector<HistoryDetail> ApplyEvidence(IdentityState& state, const AppliedSubmission& sub) {
    std::vector<HistoryDetail> out;
    const VerdictRecord verdict = sub.verdict.value_or(
        VerdictRecord{VerdictOutcome::kUnverifiable, std::nullopt, {}, "no verdict supplied"});
    state.verdict_outcome = verdict.outcome;
    state.verdict_summary = verdict.summary;
    if (verdict.outcome == VerdictOutcome::kFailed) {
      out.push_back(VerdictMismatchDetail{MismatchKind::kChainAcceptedWeReject, verdict.checks,
                                          verdict.summary, verdict.measurement_hash,
                                          sub.chain_measurement_hash});
    }
    state.measurement_disputed = verdict.measurement_hash && sub.chain_measurement_hash &&
                                 *verdict.measurement_hash != *sub.chain_measurement_hash;
    if (state.measurement_disputed) {
      out.push_back(VerdictMismatchDetail{MismatchKind::kMeasurementDiffers,
                                          {},
                                          "the chain stored a different measurement hash",
                                          verdict.measurement_hash,
                                          sub.chain_measurement_hash});
    }
    // What the chain stored wins when we know it; else what the verifier proved.
    const std::optional<Hash32> proven =
        sub.chain_measurement_hash ? sub.chain_measurement_hash : verdict.measurement_hash;
    if (proven && proven != state.measurement_hash) {
      const std::optional<Hash32> old = state.measurement_hash;
      state.measurement_hash = proven;
      ++state.measurement_version;
      if (old) out.push_back(MeasurementChangedDetail{old, *proven, state.measurement_version});
    }
    return out;
  }

  void RecordAll(const Hash32& identity, std::vector<HistoryDetail> details,
                 const AppliedSubmission& sub) {
    for (HistoryDetail& d : details) Record(identity, std::move(d), &sub);
  }

  // --- submissions ---------------------------------------------------------------------------

  Status ApplySubmission(const AppliedSubmission& sub) {
    current_generation_ = GenerationOf(sub.call);
    if (sub.outcome == ChainOutcome::kReverted) {
      RecordRevert(sub);
      return OkStatus();
    }
    return std::visit([&](const auto& call) { return Apply(call, sub); }, sub.call);
  }

  void RecordRevert(const AppliedSubmission& sub) {
    const Hash32 target = TargetOf(sub.call);
    Record(target,
           CallRevertedDetail{std::string(registry::CallName(sub.call)), sub.revert_selector},
           &sub);
    if (CarriesAttestation(sub.call) && sub.verdict &&
        sub.verdict->outcome == VerdictOutcome::kPassed) {
      Record(target,
             VerdictMismatchDetail{MismatchKind::kChainRejectedWeAccept, sub.verdict->checks,
                                   sub.verdict->summary, sub.verdict->measurement_hash,
                                   sub.chain_measurement_hash},
             &sub);
    }
  }

  // The chain accepted a call for an identity this store does not hold as registered: our
  // derived state is missing something (a block never seen, an unknown generation).
  void RecordUnknownTarget(const Hash32& target, const AppliedSubmission& sub) {
    Record(target,
           ReconciledDiffDetail{
               {FieldDiff{"registered", "no",
                          "yes (" + std::string(registry::CallName(sub.call)) + " accepted)"}}},
           &sub);
  }

  Status Apply(const registry::AttestCall& call, const AppliedSubmission& sub) {
    if (call.generation == Generation::kD) return ApplyRegisterD(call, sub);
    CVMW_ASSIGN_OR_RETURN(IdentityState * existing, ws_.Find(call.identity_hash));
    IdentityState s;
    RegisteredDetail detail;
    if (existing != nullptr && existing->IsRegistered()) {
      // Re-registration: the stored types and TTLs win; the arguments are silently ignored.
      s = *existing;
      detail.re_registration = true;
      detail.requested_cloud_type = call.cloud_type;
      detail.requested_tee_type = call.tee_type;
      detail.parameters_ignored = call.cloud_type != s.cloud_type || call.tee_type != s.tee_type;
    } else {
      if (existing != nullptr) {
        // A rotated-away hash registers afresh; its nonce was never cleared (§2.2) and its
        // measurement history continues.
        s.nonce = existing->nonce;
        s.measurement_hash = existing->measurement_hash;
        s.measurement_version = existing->measurement_version;
        s.rotated_from = existing->rotated_from;
      }
      s.identity_hash = call.identity_hash;
      s.cloud_type = call.cloud_type;
      s.tee_type = call.tee_type;
      s.tee_ttl = kDefaultTeeTtl;
      s.tpm_ttl = kDefaultTpmTtl;
      s.registered_block = block_.header.number;
      s.registered_at = now_;
    }
    s.key = call.identity;
    if (!sub.verifier_evidence.empty()) s.verifier_evidence = sub.verifier_evidence;
    s.generation = call.generation;
    s.rules = ExpiryRules::kTwoWindows;
    s.tee_report_type = call.tee_report_type;
    s.tee_attested_at = now_;
    s.tpm_attested_at = now_;
    s.tee_expired = false;
    s.tpm_expired = false;
    std::vector<HistoryDetail> evidence = ApplyEvidence(s, sub);
    detail.cloud_type = s.cloud_type;
    detail.tee_type = s.tee_type;
    detail.tee_report_type = s.tee_report_type;
    detail.tee_ttl = s.tee_ttl;
    detail.tpm_ttl = s.tpm_ttl;
    detail.measurement_hash = s.measurement_hash;
    ws_.Put(std::move(s));
    Record(call.identity_hash, detail, &sub);
    RecordAll(call.identity_hash, std::move(evidence), sub);
    return OkStatus();
  }

  // D registerCvm: one expiredAt, re-registration impossible (CVM_ALREADY_REGISTERED).
  Status ApplyRegisterD(const registry::AttestCall& call, const AppliedSubmission& sub) {
    CVMW_ASSIGN_OR_RETURN(IdentityState * existing, ws_.Find(call.identity_hash));
    if (existing != nullptr && existing->IsRegistered()) {
      Record(call.identity_hash,
             ReconciledDiffDetail{
                 {FieldDiff{"registered", "yes", "registerCvm accepted again (D refuses that)"}}},
             &sub);
    }
    IdentityState s;
    if (existing != nullptr) {
      s.measurement_hash = existing->measurement_hash;
      s.measurement_version = existing->measurement_version;
      s.rotated_from = existing->rotated_from;
    }
    const std::uint64_t requested_ttl = call.tee_ttl.value_or(0);
    s.identity_hash = call.identity_hash;
    s.key = call.identity;
    s.verifier_evidence = sub.verifier_evidence;
    s.generation = call.generation;
    s.rules = ExpiryRules::kSingleExpiry;
    s.cloud_type = call.cloud_type;
    s.tee_type = call.tee_type;
    s.tee_report_type = call.tee_report_type;
    s.tee_ttl = requested_ttl > 0 ? requested_ttl : kDefaultTeeTtl;
    s.tee_attested_at = now_;
    s.expired_at = detail::SaturatingAdd(now_, s.tee_ttl);
    s.registered_block = block_.header.number;
    s.registered_at = now_;
    std::vector<HistoryDetail> evidence = ApplyEvidence(s, sub);
    RegisteredDetail detail;
    detail.cloud_type = s.cloud_type;
    detail.tee_type = s.tee_type;
    detail.tee_report_type = s.tee_report_type;
    detail.tee_ttl = s.tee_ttl;
    detail.expired_at = s.expired_at;
    detail.ttl_out_of_bounds = requested_ttl > 0 && TtlOutOfBounds(requested_ttl, settings_);
    detail.measurement_hash = s.measurement_hash;
    ws_.Put(std::move(s));
    Record(call.identity_hash, detail, &sub);
    RecordAll(call.identity_hash, std::move(evidence), sub);
    return OkStatus();
  }

  bool AnyWindowClosed(const IdentityState& s) const {
    return s.TeeInvalidFrom() <= now_ || s.TpmInvalidFrom() <= now_;
  }

  // reattestCvmWithTpm (A/C) and reattestCvmFully (A0): signed, nonce++, optional rotation.
  Status ApplyReattest(const Hash32& target_hash, const Hash32& new_hash,
                       const registry::IdentityKey& new_key, ReattestScope scope,
                       std::uint8_t report_type, const AppliedSubmission& sub) {
    CVMW_ASSIGN_OR_RETURN(IdentityState * target, ws_.Find(target_hash));
    if (target == nullptr || !target->IsRegistered()) {
      RecordUnknownTarget(target_hash, sub);
      return OkStatus();
    }
    const bool was_expired = AnyWindowClosed(*target);
    ++target->nonce;  // consumed under the hash the signature was checked against
    target->generation = current_generation_;

    auto refresh = [&](IdentityState& s) {
      s.tpm_attested_at = now_;
      s.tpm_expired = false;
      if (scope == ReattestScope::kFull) {
        s.tee_attested_at = now_;
        s.tee_expired = false;
        s.tee_report_type = report_type;
      }
    };

    if (new_hash == target_hash) {
      target->key = new_key;
      refresh(*target);
      std::vector<HistoryDetail> evidence = ApplyEvidence(*target, sub);
      ReattestedDetail detail;
      detail.scope = scope;
      detail.tee_attested_at = target->tee_attested_at;
      detail.tpm_attested_at = target->tpm_attested_at;
      detail.nonce_after = target->nonce;
      detail.was_expired = was_expired;
      detail.tee_still_expired = target->TeeInvalidFrom() <= now_;
      Record(target_hash, detail, &sub);
      RecordAll(target_hash, std::move(evidence), sub);
      return OkStatus();
    }

    // Rotation: the registry emits only CVMUpdated(new); the calldata's target names the old.
    CVMW_ASSIGN_OR_RETURN(IdentityState * previous_at_new, ws_.Find(new_hash));
    const bool overwrote = previous_at_new != nullptr && previous_at_new->IsRegistered();
    IdentityState successor = *target;  // teeType, cloudType, TTLs, TEE timestamp copied
    successor.identity_hash = new_hash;
    successor.key = new_key;
    successor.nonce = previous_at_new != nullptr ? previous_at_new->nonce : 0;
    successor.rotated_away = false;
    successor.rotated_from = target_hash;
    successor.rotated_to = std::nullopt;
    successor.registered_block = block_.header.number;
    successor.registered_at = now_;
    refresh(successor);
    std::vector<HistoryDetail> evidence = ApplyEvidence(successor, sub);

    target->rotated_away = true;
    target->rotated_to = new_hash;
    ws_.Put(std::move(successor));

    const RotatedDetail rotated{target_hash, new_hash, overwrote, false};
    Record(target_hash, rotated, &sub);
    Record(new_hash, rotated, &sub);
    RecordAll(new_hash, std::move(evidence), sub);
    return OkStatus();
  }

  Status Apply(const registry::ReattestCall& call, const AppliedSubmission& sub) {
    return ApplyReattest(call.target_identity_hash, call.new_identity_hash, call.new_identity,
                         ReattestScope::kTpmOnly, 0, sub);
  }

  Status Apply(const registry::ReattestFullyCall& call, const AppliedSubmission& sub) {
    return ApplyReattest(call.target_identity_hash, call.new_identity_hash, call.new_identity,
                         ReattestScope::kFull, call.tee_report_type, sub);
  }

  Status Apply(const registry::TtlCall& call, const AppliedSubmission& sub) {
    CVMW_ASSIGN_OR_RETURN(IdentityState * s, ws_.Find(call.target_identity_hash));
    if (s == nullptr || !s->IsRegistered()) {
      RecordUnknownTarget(call.target_identity_hash, sub);
      return OkStatus();
    }
    TtlChangedDetail detail;
    detail.old_tee_ttl = s->tee_ttl;
    detail.old_tpm_ttl = s->tpm_ttl;
    const bool tee_was_closed = s->TeeInvalidFrom() <= now_;
    const bool tpm_was_closed = s->TpmInvalidFrom() <= now_;
    ++s->nonce;
    s->generation = call.generation;
    s->tee_ttl = call.tee_ttl;
    s->tpm_ttl = call.tpm_ttl;
    // A window the new TTL reopens is no longer expired; one it closes is reported at block end.
    const bool tee_open = s->TeeInvalidFrom() > now_;
    const bool tpm_open = s->TpmInvalidFrom() > now_;
    if (tee_open) s->tee_expired = false;
    if (tpm_open) s->tpm_expired = false;
    detail.new_tee_ttl = s->tee_ttl;
    detail.new_tpm_ttl = s->tpm_ttl;
    detail.nonce_after = s->nonce;
    detail.was_expired = tee_was_closed || tpm_was_closed;
    detail.revalidated = (tee_was_closed && tee_open) || (tpm_was_closed && tpm_open);
    detail.out_of_bounds =
        TtlOutOfBounds(call.tee_ttl, settings_) || TtlOutOfBounds(call.tpm_ttl, settings_);
    Record(call.target_identity_hash, detail, &sub);
    if (call.generation == Generation::kC && detail.was_expired) {
      // C checks freshness before a TTL change; acceptance means our times are off.
      Record(call.target_identity_hash,
             ReconciledDiffDetail{{FieldDiff{"freshness", "expired",
                                             "fresh (setCollateralTTL accepted; C requires it)"}}},
             &sub);
    }
    return OkStatus();
  }

  Status Apply(const registry::RefreshCall& call, const AppliedSubmission& sub) {
    CVMW_ASSIGN_OR_RETURN(IdentityState * s, ws_.Find(call.target_identity_hash));
    if (s == nullptr || !s->IsRegistered()) {
      RecordUnknownTarget(call.target_identity_hash, sub);
      return OkStatus();
    }
    const bool was_expired = s->TeeInvalidFrom() <= now_;  // refresh is D's only way back
    s->generation = call.generation;
    s->rules = ExpiryRules::kSingleExpiry;
    s->tee_ttl = call.tee_ttl > 0 ? call.tee_ttl : kDefaultTeeTtl;
    s->tee_report_type = call.tee_report_type;
    s->tee_attested_at = now_;
    s->expired_at = detail::SaturatingAdd(now_, s->tee_ttl);
    s->tee_expired = false;
    std::vector<HistoryDetail> evidence = ApplyEvidence(*s, sub);
    ReattestedDetail detail;
    detail.scope = ReattestScope::kFull;
    detail.tee_attested_at = s->tee_attested_at;
    detail.tpm_attested_at = s->tpm_attested_at;
    detail.nonce_after = s->nonce;
    detail.expired_at = s->expired_at;
    detail.was_expired = was_expired;
    detail.ttl_out_of_bounds = call.tee_ttl > 0 && TtlOutOfBounds(call.tee_ttl, settings_);
    Record(call.target_identity_hash, detail, &sub);
    RecordAll(call.target_identity_hash, std::move(evidence), sub);
    return OkStatus();
  }

  // D rotateCvmIdentityKey: expiredAt and measurement kept, the old hash revoked.
  Status Apply(const registry::RotateCall& call, const AppliedSubmission& sub) {
    CVMW_ASSIGN_OR_RETURN(IdentityState * target, ws_.Find(call.target_identity_hash));
    if (target == nullptr || !target->IsRegistered()) {
      RecordUnknownTarget(call.target_identity_hash, sub);
      return OkStatus();
    }
    if (target->TeeInvalidFrom() <= now_) {
      Record(call.target_identity_hash,
             ReconciledDiffDetail{{FieldDiff{
                 "freshness", "expired", "fresh (rotateCvmIdentityKey accepted; D requires it)"}}},
             &sub);
    }
    CVMW_ASSIGN_OR_RETURN(IdentityState * previous_at_new, ws_.Find(call.new_identity_hash));
    const bool overwrote = previous_at_new != nullptr && previous_at_new->IsRegistered();
    IdentityState successor = *target;
    successor.identity_hash = call.new_identity_hash;
    successor.key = call.new_identity;
    successor.generation = call.generation;
    successor.nonce = previous_at_new != nullptr ? previous_at_new->nonce : 0;
    successor.rotated_from = call.target_identity_hash;
    successor.rotated_to = std::nullopt;
    successor.registered_block = block_.header.number;
    successor.registered_at = now_;
    std::vector<HistoryDetail> evidence;
    if (sub.verdict) {
      // Only the key certification is judged; the measurement stays what it was.
      successor.verdict_outcome = sub.verdict->outcome;
      successor.verdict_summary = sub.verdict->summary;
      if (sub.verdict->outcome == VerdictOutcome::kFailed) {
        evidence.push_back(VerdictMismatchDetail{MismatchKind::kChainAcceptedWeReject,
                                                 sub.verdict->checks, sub.verdict->summary,
                                                 std::nullopt, std::nullopt});
      }
    }
    target->rotated_away = true;
    target->rotated_to = call.new_identity_hash;
    target->generation = call.generation;
    ws_.Put(std::move(successor));
    const RotatedDetail rotated{call.target_identity_hash, call.new_identity_hash, overwrote,
                                false};
    Record(call.target_identity_hash, rotated, &sub);
    Record(call.new_identity_hash, rotated, &sub);
    RecordAll(call.new_identity_hash, std::move(evidence), sub);
    return OkStatus();
  }

  // --- reconciliation ------------------------------------------------------------------------

  Status Reconcile(const ChainConfigObservation& obs) {
    CVMW_ASSIGN_OR_RETURN(IdentityState * s, ws_.Find(obs.identity_hash));
    std::vector<FieldDiff> diffs;
    if (!obs.registered) {
      if (s != nullptr && s->IsRegistered()) {
        // A hash that was valid and now reverts CVM_NOT_REGISTERED was rotated away (§3.3).
        diffs.push_back({"registered", "yes", "no"});
        s->rotated_away = true;
        current_generation_ = s->generation;
        Record(obs.identity_hash, ReconciledDiffDetail{std::move(diffs)}, nullptr);
      }
      return OkStatus();
    }
    if (s == nullptr || !s->IsRegistered()) {
      IdentityState fresh;
      if (s != nullptr) fresh = *s;
      fresh.identity_hash = obs.identity_hash;
      fresh.rotated_away = false;
      fresh.rotated_to = std::nullopt;
      fresh.rules = obs.expired_at ? ExpiryRules::kSingleExpiry : ExpiryRules::kTwoWindows;
      fresh.registered_block = block_.header.number;
      fresh.registered_at = now_;
      fresh.verdict_summary = "learnt from a getCvmConfig read; no submission seen";
      s = &ws_.Put(std::move(fresh));
      diffs.push_back({"registered", "no", "yes"});
    }
    auto adopt = [&](const char* field, auto& mine, const auto& chain) {
      if (chain && mine != *chain) {
        diffs.push_back({field, Decimal(mine), Decimal(*chain)});
        mine = *chain;
      }
    };
    adopt("teeType", s->tee_type, obs.tee_type);
    adopt("cloudType", s->cloud_type, obs.cloud_type);
    adopt("teeTTL", s->tee_ttl, obs.tee_ttl);
    adopt("tpmTTL", s->tpm_ttl, obs.tpm_ttl);
    adopt("teeRecentTimestamp", s->tee_attested_at, obs.tee_recent_timestamp);
    adopt("tpmRecentTimestamp", s->tpm_attested_at, obs.tpm_recent_timestamp);
    adopt("expiredAt", s->expired_at, obs.expired_at);
    adopt("nonce", s->nonce, obs.nonce);
    if (obs.measurement_hash && s->measurement_hash != obs.measurement_hash) {
      diffs.push_back(
          {"measurementHash", OptHex(s->measurement_hash), obs.measurement_hash->ToHex()});
      s->measurement_hash = obs.measurement_hash;
      ++s->measurement_version;
    }
    if (diffs.empty()) return OkStatus();
    if (s->TeeInvalidFrom() > now_) s->tee_expired = false;
    if (s->TpmInvalidFrom() > now_) s->tpm_expired = false;
    current_generation_ = s->generation;
    Record(obs.identity_hash, ReconciledDiffDetail{std::move(diffs)}, nullptr);
    return OkStatus();
  }

  const InputBlock& block_;
  IdentitySource& source_;
  const LifecycleSettings& settings_;
  WorkingSet ws_;
  const std::uint64_t now_;
  Generation current_generation_ = Generation::kA1;
  BlockEffects effects_;
};

}  // namespace

Result<BlockEffects> DeriveBlockEffects(const InputBlock& block, IdentitySource& source,
                                        const LifecycleSettings& settings) {
  return BlockDeriver(block, source, settings).Run();
}

// --- InMemoryIdentities ------------------------------------------------------------------------

Result<std::optional<IdentityState>> InMemoryIdentities::LoadIdentity(const Hash32& identity_hash) {
  auto it = identities_.find(identity_hash);
  if (it == identities_.end()) return std::optional<IdentityState>();
  return std::optional<IdentityState>(it->second);
}

Result<std::vector<ExpiryIndexEntry>> InMemoryIdentities::DueExpiries(std::uint64_t up_to) {
  std::vector<ExpiryIndexEntry> out;
  for (const ExpiryIndexEntry& e : expiry_) {
    if (e.at > up_to) break;
    out.push_back(e);
  }
  return out;
}

Result<BlockEffects> InMemoryIdentities::Apply(const InputBlock& block,
                                               const LifecycleSettings& settings) {
  CVMW_ASSIGN_OR_RETURN(BlockEffects effects, DeriveBlockEffects(block, *this, settings));
  ApplyEffects(effects);
  return effects;
}

void InMemoryIdentities::ApplyEffects(const BlockEffects& effects) {
  for (const IdentityChange& change : effects.changes) {
    if (change.before) {
      if (auto e = IndexedExpiry(*change.before)) expiry_.erase(*e);
    }
    if (change.after) {
      if (auto e = IndexedExpiry(*change.after)) expiry_.insert(*e);
      identities_[change.identity_hash] = *change.after;
    } else {
      identities_.erase(change.identity_hash);
    }
  }
  for (const HistoryEntry& entry : effects.history) {
    history_.push_back(entry);
    history_.back().seq = history_.size();
  }
}

}  // namespace cvmwatch::store
