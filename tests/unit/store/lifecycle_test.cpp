// The lifecycle model on its own (no RocksDB): table tests of the registry's rules per
// generation, contracts.md §2.3-§2.8.
#include <gtest/gtest.h>

#include <algorithm>

#include "cvmwatch/store/lifecycle.h"
#include "store/store_test_util.h"

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

std::vector<HistoryKind> KindsFor(const BlockEffects& effects, const Hash32& identity) {
  std::vector<HistoryKind> out;
  for (const HistoryEntry& e : effects.history) {
    if (e.identity_hash == identity) out.push_back(e.kind());
  }
  return out;
}

template <typename Detail>
const Detail* FindDetail(const BlockEffects& effects, const Hash32& identity) {
  for (const HistoryEntry& e : effects.history) {
    if (e.identity_hash != identity) continue;
    if (const auto* d = std::get_if<Detail>(&e.detail)) return d;
  }
  return nullptr;
}

class Lifecycle : public ::testing::Test {
 protected:
  BlockEffects Apply(std::uint64_t seconds_later, std::vector<AppliedSubmission> subs,
                     std::vector<ChainConfigObservation> observations = {}) {
    InputBlock block = chain_.Next(seconds_later, std::move(subs));
    block.observations = std::move(observations);
    auto effects = model_.Apply(block, settings_);
    EXPECT_TRUE(effects.ok()) << effects.error().ToString();
    return effects.ok() ? std::move(effects).value() : BlockEffects{};
  }
  const IdentityState& State(const Hash32& h) {
    static const IdentityState kMissing;
    auto it = model_.identities().find(h);
    EXPECT_NE(it, model_.identities().end()) << "no state for " << h.ToHex();
    return it == model_.identities().end() ? kMissing : it->second;
  }
  bool Known(const Hash32& h) const { return model_.identities().count(h) == 1; }

  Chain chain_;
  InMemoryIdentities model_;
  LifecycleSettings settings_;
};

// ----------------------------------------------------------------------------------------------
// A0 / A1(A2 semantics) / C: the two-window generations share their state rules.

class TwoWindowGenerations : public Lifecycle,
                             public ::testing::WithParamInterface<registry::Generation> {
 protected:
  registry::Generation gen() const { return GetParam(); }
  registry::AttestCall AttestKey(std::uint32_t key, std::uint8_t cloud = 1, std::uint8_t tee = 1) {
    return Attest(key, cloud, tee, gen());
  }
  registry::ReattestCall ReattestTo(const Hash32& target, std::uint32_t new_key) {
    return Reattest(target, new_key, gen());
  }
};

TEST_P(TwoWindowGenerations,
       RegistrationStoresTheArgumentsDefaultTtlsAndBlockTimeForBothTimestamps) {
  const auto call = AttestKey(1, /*cloud=*/2, /*tee=*/2);
  const BlockEffects fx = Apply(12, {Sub(call, Passed(Digest("m1")))});
  const IdentityState& s = State(call.identity_hash);
  EXPECT_EQ(s.cloud_type, 2);
  EXPECT_EQ(s.tee_type, 2);
  EXPECT_EQ(s.tee_ttl, kDefaultTeeTtl);
  EXPECT_EQ(s.tpm_ttl, kDefaultTpmTtl);
  EXPECT_EQ(s.tee_attested_at, chain_.time());
  EXPECT_EQ(s.tpm_attested_at, chain_.time());
  EXPECT_EQ(s.nonce, 0u);
  EXPECT_EQ(s.measurement_hash, Digest("m1"));
  EXPECT_EQ(s.measurement_version, 1u);
  EXPECT_EQ(s.status, IdentityStatus::kFresh);
  EXPECT_EQ(s.rules, ExpiryRules::kTwoWindows);
  EXPECT_EQ(KindsFor(fx, call.identity_hash), std::vector{HistoryKind::kRegistered});
  const auto* d = FindDetail<RegisteredDetail>(fx, call.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->re_registration);
}

TEST_P(TwoWindowGenerations, ReRegistrationKeepsStoredTypesAndTtlsAndRecordsTheIgnoredArguments) {
  const auto first = AttestKey(1, 1, 1);
  Apply(12, {Sub(first)});
  Apply(12, {Sub(Ttl(first.identity_hash, 10 * kDay, 20 * kDay, gen()), std::nullopt)});
  const BlockEffects fx = Apply(3600, {Sub(AttestKey(1, /*cloud=*/2, /*tee=*/2))});
  const IdentityState& s = State(first.identity_hash);
  EXPECT_EQ(s.cloud_type, 1);
  EXPECT_EQ(s.tee_type, 1);
  EXPECT_EQ(s.tee_ttl, 10 * kDay);
  EXPECT_EQ(s.tpm_ttl, 20 * kDay);
  EXPECT_EQ(s.nonce, 1u) << "attestCvm does not touch the nonce";
  EXPECT_EQ(s.tee_attested_at, chain_.time());
  EXPECT_EQ(s.tpm_attested_at, chain_.time());
  const auto* d = FindDetail<RegisteredDetail>(fx, first.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->re_registration);
  EXPECT_TRUE(d->parameters_ignored);
  EXPECT_EQ(d->requested_cloud_type, 2);
  EXPECT_EQ(d->requested_tee_type, 2);
  EXPECT_EQ(d->cloud_type, 1);
}

TEST_P(TwoWindowGenerations, ReRegistrationWithTheStoredParametersIsNotFlagged) {
  Apply(12, {Sub(AttestKey(1))});
  const BlockEffects fx = Apply(12, {Sub(AttestKey(1))});
  const auto* d = FindDetail<RegisteredDetail>(fx, AttestKey(1).identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->re_registration);
  EXPECT_FALSE(d->parameters_ignored);
}

TEST_P(TwoWindowGenerations, ReattestOfTheSameIdentityBumpsTheNonceAndSetsOnlyTheTpmTimestamp) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg)});
  const std::uint64_t registered_at = chain_.time();
  const BlockEffects fx = Apply(600, {Sub(ReattestTo(reg.identity_hash, 1))});
  const IdentityState& s = State(reg.identity_hash);
  EXPECT_EQ(s.nonce, 1u);
  EXPECT_EQ(s.tee_attested_at, registered_at);
  EXPECT_EQ(s.tpm_attested_at, chain_.time());
  EXPECT_EQ(KindsFor(fx, reg.identity_hash), std::vector{HistoryKind::kReattested});
  const auto* d = FindDetail<ReattestedDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->scope, ReattestScope::kTpmOnly);
  EXPECT_EQ(d->nonce_after, 1u);
}

TEST_P(TwoWindowGenerations,
       ReattestNamingAnotherIdentityIsARotationRecognisedWithoutARotationEvent) {
  const auto reg = AttestKey(1, 2, 2);
  Apply(12, {Sub(reg, Passed(Digest("m1")))});
  Apply(12, {Sub(Ttl(reg.identity_hash, 5 * kDay, 6 * kDay, gen()), std::nullopt)});
  const std::uint64_t tee_time = State(reg.identity_hash).tee_attested_at;
  const auto rotate = ReattestTo(reg.identity_hash, 2);
  const BlockEffects fx = Apply(600, {Sub(rotate, Passed(Digest("m1")))});

  const IdentityState& old_state = State(reg.identity_hash);
  const IdentityState& new_state = State(rotate.new_identity_hash);
  EXPECT_EQ(old_state.status, IdentityStatus::kRotatedAway);
  EXPECT_EQ(old_state.rotated_to, rotate.new_identity_hash);
  EXPECT_EQ(old_state.nonce, 2u) << "the consumed nonce stays under the old hash";
  EXPECT_EQ(new_state.rotated_from, reg.identity_hash);
  EXPECT_EQ(new_state.nonce, 0u);
  EXPECT_EQ(new_state.cloud_type, 2);
  EXPECT_EQ(new_state.tee_type, 2);
  EXPECT_EQ(new_state.tee_ttl, 5 * kDay);
  EXPECT_EQ(new_state.tpm_ttl, 6 * kDay);
  EXPECT_EQ(new_state.tee_attested_at, tee_time) << "the TEE timestamp is copied, not refreshed";
  EXPECT_EQ(new_state.tpm_attested_at, chain_.time());
  EXPECT_EQ(new_state.key, rotate.new_identity);
  EXPECT_EQ(new_state.status, IdentityStatus::kFresh);
  EXPECT_EQ(KindsFor(fx, reg.identity_hash), std::vector{HistoryKind::kRotated});
  EXPECT_EQ(KindsFor(fx, rotate.new_identity_hash), std::vector{HistoryKind::kRotated});
  const auto* d = FindDetail<RotatedDetail>(fx, rotate.new_identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->old_hash, reg.identity_hash);
  EXPECT_EQ(d->new_hash, rotate.new_identity_hash);
  EXPECT_FALSE(d->overwrote_registered);
}

TEST_P(TwoWindowGenerations, RotationOntoARegisteredIdentityOverwritesItAndSaysSo) {
  const auto a = AttestKey(1);
  const auto b = AttestKey(2, 2, 2);
  Apply(12, {Sub(a), Sub(b)});
  Apply(12, {Sub(ReattestTo(b.identity_hash, 2))});  // b's nonce becomes 1
  const BlockEffects fx = Apply(12, {Sub(ReattestTo(a.identity_hash, 2))});
  const auto* d = FindDetail<RotatedDetail>(fx, b.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->overwrote_registered);
  const IdentityState& s = State(b.identity_hash);
  EXPECT_EQ(s.cloud_type, 1) << "a's config replaces b's";
  EXPECT_EQ(s.nonce, 1u) << "the new hash keeps whatever _nonces held for it";
}

TEST_P(TwoWindowGenerations, RotationCarriesTheMeasurementVersionAndRecordsAChange) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg, Passed(Digest("m1")))});
  const auto rotate = ReattestTo(reg.identity_hash, 2);
  const BlockEffects fx = Apply(12, {Sub(rotate, Passed(Digest("m2")))});
  const IdentityState& s = State(rotate.new_identity_hash);
  EXPECT_EQ(s.measurement_hash, Digest("m2"));
  EXPECT_EQ(s.measurement_version, 2u);
  const auto* d = FindDetail<MeasurementChangedDetail>(fx, rotate.new_identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->old_hash, Digest("m1"));
  EXPECT_EQ(d->new_hash, Digest("m2"));
  EXPECT_EQ(d->version, 2u);
}

TEST_P(TwoWindowGenerations, SetCollateralTtlBumpsTheNonceAndSetsBothTtls) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg)});
  const BlockEffects fx =
      Apply(12, {Sub(Ttl(reg.identity_hash, 3 * kDay, 4 * kDay, gen()), std::nullopt)});
  const IdentityState& s = State(reg.identity_hash);
  EXPECT_EQ(s.nonce, 1u);
  EXPECT_EQ(s.tee_ttl, 3 * kDay);
  EXPECT_EQ(s.tpm_ttl, 4 * kDay);
  const auto* d = FindDetail<TtlChangedDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->old_tee_ttl, kDefaultTeeTtl);
  EXPECT_EQ(d->old_tpm_ttl, kDefaultTpmTtl);
  EXPECT_EQ(d->new_tee_ttl, 3 * kDay);
  EXPECT_FALSE(d->was_expired);
  EXPECT_FALSE(d->out_of_bounds);
}

TEST_P(TwoWindowGenerations, TheTeeWindowClosesExactlyAtTimestampPlusTtlAndIsReportedOnce) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg)});
  const std::uint64_t closes = chain_.time() + kDefaultTeeTtl;
  Apply(kDefaultTeeTtl - 1, {});  // at ts + ttl - 1: still valid
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kFresh);
  EXPECT_TRUE(EvaluateFreshness(State(reg.identity_hash), chain_.time()).tee_valid);
  const BlockEffects fx = Apply(20, {});  // the first block past the close
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kTeeExpired);
  const auto* d = FindDetail<ExpiredDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->window, ExpiryWindow::kTee);
  EXPECT_EQ(d->crossed_at, closes) << "the exact second, not the block time";
  EXPECT_TRUE(KindsFor(Apply(12, {}), reg.identity_hash).empty()) << "reported once";
}

TEST_P(TwoWindowGenerations, TtlRaisedAfterExpiryIsFlaggedAsRevalidationWithoutAttestation) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg)});
  Apply(31 * kDay, {});
  ASSERT_EQ(State(reg.identity_hash).status, IdentityStatus::kTeeExpired);
  const BlockEffects fx =
      Apply(12, {Sub(Ttl(reg.identity_hash, 60 * kDay, 60 * kDay, gen()), std::nullopt)});
  const auto* d = FindDetail<TtlChangedDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->was_expired);
  EXPECT_TRUE(d->revalidated);
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kFresh);
  if (gen() == registry::Generation::kC) {
    // C refuses TTL changes on stale collateral, so acceptance contradicts our times.
    EXPECT_NE(FindDetail<ReconciledDiffDetail>(fx, reg.identity_hash), nullptr);
  }
}

TEST_P(TwoWindowGenerations, TtlOfZeroClosesBothWindowsInTheSameBlock) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg)});
  const BlockEffects fx = Apply(12, {Sub(Ttl(reg.identity_hash, 0, 0, gen()), std::nullopt)});
  EXPECT_EQ(KindsFor(fx, reg.identity_hash),
            (std::vector{HistoryKind::kTtlChanged, HistoryKind::kExpired, HistoryKind::kExpired}));
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kTeeExpired);
  EXPECT_TRUE(FindDetail<TtlChangedDetail>(fx, reg.identity_hash)->out_of_bounds);
}

TEST_P(TwoWindowGenerations, ATpmOnlyReattestCannotReopenAClosedTeeWindow) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg)});
  Apply(31 * kDay, {});
  const BlockEffects fx = Apply(12, {Sub(ReattestTo(reg.identity_hash, 1))});
  const auto* d = FindDetail<ReattestedDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->was_expired);
  EXPECT_TRUE(d->tee_still_expired);
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kTeeExpired);
}

TEST_P(TwoWindowGenerations, ARotatedAwayHashCanRegisterAgainAndKeepsItsNonce) {
  const auto reg = AttestKey(1);
  Apply(12, {Sub(reg)});
  Apply(12, {Sub(ReattestTo(reg.identity_hash, 2))});
  const BlockEffects fx = Apply(12, {Sub(AttestKey(1, 2, 1))});
  const IdentityState& s = State(reg.identity_hash);
  EXPECT_EQ(s.status, IdentityStatus::kFresh);
  EXPECT_EQ(s.nonce, 1u);
  EXPECT_EQ(s.cloud_type, 2) << "a fresh registration stores the arguments again";
  EXPECT_FALSE(FindDetail<RegisteredDetail>(fx, reg.identity_hash)->re_registration);
}

INSTANTIATE_TEST_SUITE_P(A0A2AndC, TwoWindowGenerations,
                         ::testing::Values(registry::Generation::kA0, registry::Generation::kA1,
                                           registry::Generation::kC),
                         [](const auto& info) {
                           return std::string(registry::GenerationName(info.param));
                         });

// ----------------------------------------------------------------------------------------------
// TTL bounds (contracts.md §5 item 4): flagged outside [1 day, 90 days], boundaries inclusive.

struct TtlBoundsRow {
  std::uint64_t tee, tpm;
  bool flagged;
};
class TtlBounds : public Lifecycle, public ::testing::WithParamInterface<TtlBoundsRow> {};

TEST_P(TtlBounds, TtlsOutsideTheConfiguredBoundsAreFlagged) {
  const auto reg = Attest(1);
  Apply(12, {Sub(reg)});
  const BlockEffects fx =
      Apply(12, {Sub(Ttl(reg.identity_hash, GetParam().tee, GetParam().tpm), std::nullopt)});
  const auto* d = FindDetail<TtlChangedDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->out_of_bounds, GetParam().flagged);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TtlBounds,
    ::testing::Values(TtlBoundsRow{kDay, kDay, false}, TtlBoundsRow{90 * kDay, 90 * kDay, false},
                      TtlBoundsRow{kDay - 1, kDay, true}, TtlBoundsRow{kDay, 90 * kDay + 1, true},
                      TtlBoundsRow{0, 30 * kDay, true}, TtlBoundsRow{kNever, 30 * kDay, true}));

// ----------------------------------------------------------------------------------------------
// Freshness boundaries: A/C strict (now - ts < ttl), D inclusive (now <= expiredAt).

struct FreshnessRow {
  ExpiryRules rules;
  std::uint64_t since_attest;  // now - ts
  bool valid;
};
class FreshnessBoundary : public ::testing::TestWithParam<FreshnessRow> {};

TEST_P(FreshnessBoundary, ValidityFollowsTheGenerationsComparison) {
  IdentityState s;
  s.rules = GetParam().rules;
  s.tee_attested_at = kT0;
  s.tpm_attested_at = kT0;
  s.tee_ttl = 1000;
  s.tpm_ttl = 1000;
  s.expired_at = kT0 + 1000;
  const Freshness f = EvaluateFreshness(s, kT0 + GetParam().since_attest);
  EXPECT_EQ(f.tee_valid, GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(Table, FreshnessBoundary,
                         ::testing::Values(FreshnessRow{ExpiryRules::kTwoWindows, 999, true},
                                           FreshnessRow{ExpiryRules::kTwoWindows, 1000, false},
                                           FreshnessRow{ExpiryRules::kSingleExpiry, 1000, true},
                                           FreshnessRow{ExpiryRules::kSingleExpiry, 1001, false}));

TEST(FreshnessOverflow, AHugeTtlNeverCloses) {
  IdentityState s;
  s.tee_attested_at = kT0;
  s.tee_ttl = kNever;
  s.tpm_attested_at = kT0;
  s.tpm_ttl = kNever - 1;
  EXPECT_EQ(s.TeeInvalidFrom(), kNever);
  EXPECT_EQ(s.TpmInvalidFrom(), kNever);
  EXPECT_TRUE(PendingExpiries(s).empty());
  EXPECT_TRUE(EvaluateFreshness(s, kNever - 1).Valid());
}

// ----------------------------------------------------------------------------------------------
// Status precedence.

struct StatusRow {
  bool rotated, failed, disputed, tee_expired, tpm_expired;
  VerdictOutcome outcome;
  IdentityStatus expected;
};
class StatusPrecedence : public ::testing::TestWithParam<StatusRow> {};

TEST_P(StatusPrecedence, TheMostAlarmingFactWins) {
  const StatusRow& r = GetParam();
  IdentityState s;
  s.rotated_away = r.rotated;
  s.verdict_outcome = r.failed ? VerdictOutcome::kFailed : r.outcome;
  s.measurement_disputed = r.disputed;
  s.tee_expired = r.tee_expired;
  s.tpm_expired = r.tpm_expired;
  EXPECT_EQ(DeriveStatus(s), r.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, StatusPrecedence,
    ::testing::Values(StatusRow{false, false, false, false, false, VerdictOutcome::kPassed,
                                IdentityStatus::kFresh},
                      StatusRow{true, true, true, true, true, VerdictOutcome::kPassed,
                                IdentityStatus::kRotatedAway},
                      StatusRow{false, true, false, true, true, VerdictOutcome::kPassed,
                                IdentityStatus::kMismatch},
                      StatusRow{false, false, true, true, false, VerdictOutcome::kPassed,
                                IdentityStatus::kMismatch},
                      StatusRow{false, false, false, true, true, VerdictOutcome::kPassed,
                                IdentityStatus::kTeeExpired},
                      StatusRow{false, false, false, false, true, VerdictOutcome::kUnverifiable,
                                IdentityStatus::kTpmExpired},
                      StatusRow{false, false, false, false, false, VerdictOutcome::kUnverifiable,
                                IdentityStatus::kUnverifiable}));

// ----------------------------------------------------------------------------------------------
// Verdicts, reverts, unknown identities, reconciliation (generation-independent).

TEST_F(Lifecycle, AFailedVerdictOnAnAcceptedCallMakesTheIdentityAMismatchWithReasons) {
  const auto reg = Attest(1);
  const BlockEffects fx = Apply(12, {Sub(reg, Failed("tdx.tcb_status", "OutOfDate"))});
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kMismatch);
  const auto* d = FindDetail<VerdictMismatchDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind, MismatchKind::kChainAcceptedWeReject);
  ASSERT_EQ(d->reasons.size(), 1u);
  EXPECT_EQ(d->reasons[0].check, "tdx.tcb_status");
  EXPECT_EQ(d->reasons[0].reason, "OutOfDate");
  // A later passing attestation clears it.
  Apply(12, {Sub(reg)});
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kFresh);
}

TEST_F(Lifecycle, AChainMeasurementThatDiffersFromOursIsAMismatch) {
  const auto reg = Attest(1);
  AppliedSubmission sub = Sub(reg, Passed(Digest("ours")));
  sub.chain_measurement_hash = Digest("theirs");
  const BlockEffects fx = Apply(12, {sub});
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kMismatch);
  EXPECT_EQ(State(reg.identity_hash).measurement_hash, Digest("theirs"))
      << "the chain's value is what is stored";
  const auto* d = FindDetail<VerdictMismatchDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind, MismatchKind::kMeasurementDiffers);
  EXPECT_EQ(d->our_measurement, Digest("ours"));
  EXPECT_EQ(d->chain_measurement, Digest("theirs"));
}

TEST_F(Lifecycle, AnAttestationWithoutAVerdictIsUnverifiable) {
  const auto reg = Attest(1);
  Apply(12, {Sub(reg, std::nullopt)});
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kUnverifiable);
}

TEST_F(Lifecycle, EachMeasurementChangeBumpsTheVersionAndRecordsOldAndNew) {
  const auto reg = Attest(1);
  Apply(12, {Sub(reg, Passed(Digest("m1")))});
  Apply(12, {Sub(Reattest(reg.identity_hash, 1), Passed(Digest("m1")))});
  EXPECT_EQ(State(reg.identity_hash).measurement_version, 1u) << "same value: no new version";
  const BlockEffects fx = Apply(12, {Sub(Reattest(reg.identity_hash, 1), Passed(Digest("m2")))});
  EXPECT_EQ(State(reg.identity_hash).measurement_version, 2u);
  EXPECT_EQ(KindsFor(fx, reg.identity_hash),
            (std::vector{HistoryKind::kReattested, HistoryKind::kMeasurementChanged}));
}

TEST_F(Lifecycle, ARevertedCallChangesNoStateAndIsRecordedWithItsSelector) {
  const auto reg = Attest(1);
  Apply(12, {Sub(reg)});
  const IdentityState before = State(reg.identity_hash);
  const BlockEffects fx = Apply(12, {Reverted(Ttl(reg.identity_hash, kDay, kDay), 0xa3402a38)});
  EXPECT_TRUE(fx.changes.empty());
  EXPECT_EQ(State(reg.identity_hash), before);
  const auto* d = FindDetail<CallRevertedDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->function, "setCollateralTTL");
  ASSERT_TRUE(d->revert_selector.has_value());
  EXPECT_EQ(RevertName(*d->revert_selector), "INVALID_SIGNATURE");
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].outcome, ChainOutcome::kReverted);
}

TEST_F(Lifecycle, ARevertedAttestationOurVerifierAcceptsIsARejectionMismatch) {
  const auto reg = Attest(1);
  AppliedSubmission sub = Reverted(reg, 0x8512b796);
  sub.verdict = Passed();
  const BlockEffects fx = Apply(12, {sub});
  EXPECT_FALSE(Known(reg.identity_hash));
  const auto* d = FindDetail<VerdictMismatchDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind, MismatchKind::kChainRejectedWeAccept);
}

TEST_F(Lifecycle, AnAcceptedCallForAnIdentityNeverSeenIsAReconciledDiffNotAState) {
  const Hash32 stranger = HashFor(99);
  const BlockEffects fx = Apply(12, {Sub(Reattest(stranger, 3))});
  EXPECT_FALSE(Known(stranger));
  EXPECT_FALSE(Known(HashFor(3)));
  EXPECT_EQ(KindsFor(fx, stranger), std::vector{HistoryKind::kReconciledDiff});
}

TEST_F(Lifecycle, ReconciliationAdoptsTheChainsValuesAndRecordsEachDifference) {
  const auto reg = Attest(1);
  Apply(12, {Sub(reg, Passed(Digest("m1")))});
  ChainConfigObservation obs;
  obs.identity_hash = reg.identity_hash;
  obs.registered = true;
  obs.tee_ttl = 7 * kDay;
  obs.tpm_ttl = kDefaultTpmTtl;  // agrees: no diff
  obs.measurement_hash = Digest("m9");
  const BlockEffects fx = Apply(12, {}, {obs});
  const auto* d = FindDetail<ReconciledDiffDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->diffs.size(), 2u);
  EXPECT_EQ(d->diffs[0].field, "teeTTL");
  EXPECT_EQ(d->diffs[0].derived, std::to_string(kDefaultTeeTtl));
  EXPECT_EQ(d->diffs[0].chain, std::to_string(7 * kDay));
  EXPECT_EQ(d->diffs[1].field, "measurementHash");
  EXPECT_EQ(State(reg.identity_hash).tee_ttl, 7 * kDay);
  EXPECT_EQ(State(reg.identity_hash).measurement_hash, Digest("m9"));
}

TEST_F(Lifecycle, AnIdentityTheChainNoLongerKnowsIsTakenAsRotatedAway) {
  const auto reg = Attest(1);
  Apply(12, {Sub(reg)});
  ChainConfigObservation obs;
  obs.identity_hash = reg.identity_hash;
  obs.registered = false;
  Apply(12, {}, {obs});
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kRotatedAway);
  EXPECT_FALSE(State(reg.identity_hash).rotated_to.has_value()) << "the successor is unknown";
}

TEST_F(Lifecycle, ExpiriesInOneBlockComeOutInTimeOrder) {
  const auto a = Attest(1);
  const auto b = Attest(2);
  Apply(12, {Sub(a)});
  Apply(100, {Sub(b)});
  Apply(12, {Sub(Ttl(a.identity_hash, 500, kNever), std::nullopt)});
  const BlockEffects fx = Apply(40 * kDay, {});
  std::vector<std::uint64_t> times;
  for (const HistoryEntry& e : fx.history)
    times.push_back(std::get<ExpiredDetail>(e.detail).crossed_at);
  ASSERT_EQ(times.size(), 2u) << "a's TEE (500 s) and b's TEE (30 d); a's TPM never closes";
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
}

TEST_F(Lifecycle, BothWindowsThatClosedBeforeABlockAreReportedBeforeItsCalls) {
  const auto reg = Attest(1);
  Apply(12, {Sub(reg)});
  const BlockEffects fx = Apply(61 * kDay, {Sub(Reattest(reg.identity_hash, 1))});
  EXPECT_EQ(KindsFor(fx, reg.identity_hash),
            (std::vector{HistoryKind::kExpired, HistoryKind::kExpired, HistoryKind::kReattested}));
  const IdentityState& s = State(reg.identity_hash);
  EXPECT_TRUE(s.tee_expired);
  EXPECT_FALSE(s.tpm_expired) << "the TPM re-attestation reopened its window";
  EXPECT_EQ(s.status, IdentityStatus::kTeeExpired);
}

TEST_F(Lifecycle, EveryEntryCarriesItsBlockAndTransaction) {
  const auto reg = Attest(1);
  AppliedSubmission sub = Sub(reg);
  sub.tx_index = 7;
  sub.log_index = 3;
  const BlockEffects fx = Apply(12, {sub});
  ASSERT_EQ(fx.history.size(), 1u);
  const HistoryEntry& e = fx.history[0];
  EXPECT_EQ(e.block_number, fx.header.number);
  EXPECT_EQ(e.block_time, fx.header.timestamp);
  EXPECT_EQ(e.tx_hash, sub.tx_hash);
  EXPECT_EQ(e.tx_index, 7u);
  EXPECT_EQ(e.log_index, 3u);
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].function, "attestCvm");
  EXPECT_EQ(fx.events[0].tpm_quote_digest, Keccak256(reg.wc.tpm_quote));
}

// ----------------------------------------------------------------------------------------------
// D: registerCvm / refreshCvm / rotateCvmIdentityKey, one inclusive expiredAt.

TEST_F(Lifecycle, DRegistrationSetsExpiredAtFromTheTtlOrThirtyDays) {
  const auto explicit_ttl = RegisterD(1, 10 * kDay);
  const auto default_ttl = RegisterD(2, 0);
  Apply(12, {Sub(explicit_ttl), Sub(default_ttl)});
  EXPECT_EQ(State(explicit_ttl.identity_hash).expired_at, chain_.time() + 10 * kDay);
  EXPECT_EQ(State(default_ttl.identity_hash).expired_at, chain_.time() + kDefaultTeeTtl);
  EXPECT_EQ(State(explicit_ttl.identity_hash).rules, ExpiryRules::kSingleExpiry);
  EXPECT_EQ(State(explicit_ttl.identity_hash).TpmInvalidFrom(), kNever);
}

TEST_F(Lifecycle, DExpiryIsInclusiveSoTheWindowClosesOneSecondAfterExpiredAt) {
  const auto reg = RegisterD(1, 1000);
  Apply(12, {Sub(reg)});
  const std::uint64_t expired_at = chain_.time() + 1000;
  Apply(1000, {});  // now == expiredAt: still valid
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kFresh);
  const BlockEffects fx = Apply(1, {});
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kTeeExpired);
  EXPECT_EQ(FindDetail<ExpiredDetail>(fx, reg.identity_hash)->crossed_at, expired_at + 1);
}

TEST_F(Lifecycle, DRefreshAfterExpiryIsTheWayBackAndIsNoted) {
  const auto reg = RegisterD(1, kDay);
  Apply(12, {Sub(reg)});
  Apply(2 * kDay, {});
  const BlockEffects fx = Apply(12, {Sub(RefreshD(reg.identity_hash, 200 * kDay))});
  const IdentityState& s = State(reg.identity_hash);
  EXPECT_EQ(s.status, IdentityStatus::kFresh);
  EXPECT_EQ(s.expired_at, chain_.time() + 200 * kDay);
  const auto* d = FindDetail<ReattestedDetail>(fx, reg.identity_hash);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->scope, ReattestScope::kFull);
  EXPECT_TRUE(d->was_expired);
  EXPECT_TRUE(d->ttl_out_of_bounds);
}

TEST_F(Lifecycle, DRotationKeepsExpiredAtAndMeasurementAndRetiresTheOldHash) {
  const auto reg = RegisterD(1, 10 * kDay);
  Apply(12, {Sub(reg, Passed(Digest("m1")))});
  const std::uint64_t expired_at = State(reg.identity_hash).expired_at;
  const auto rotate = RotateD(reg.identity_hash, 2);
  const BlockEffects fx = Apply(12, {Sub(rotate, std::nullopt)});
  const IdentityState& n = State(rotate.new_identity_hash);
  EXPECT_EQ(n.expired_at, expired_at);
  EXPECT_EQ(n.measurement_hash, Digest("m1"));
  EXPECT_EQ(n.rotated_from, reg.identity_hash);
  EXPECT_EQ(State(reg.identity_hash).status, IdentityStatus::kRotatedAway);
  EXPECT_EQ(KindsFor(fx, rotate.new_identity_hash), std::vector{HistoryKind::kRotated});
}

TEST_F(Lifecycle, DReRegistrationAcceptedByTheChainIsAReconciledDiff) {
  Apply(12, {Sub(RegisterD(1, 0))});
  const BlockEffects fx = Apply(12, {Sub(RegisterD(1, 0))});
  EXPECT_EQ(KindsFor(fx, RegisterD(1, 0).identity_hash),
            (std::vector{HistoryKind::kReconciledDiff, HistoryKind::kRegistered}));
}

TEST_F(Lifecycle, DRegistrationWithAnOutOfBoundsTtlIsFlagged) {
  const auto reg = RegisterD(1, 3600);
  const BlockEffects fx = Apply(12, {Sub(reg)});
  EXPECT_TRUE(FindDetail<RegisteredDetail>(fx, reg.identity_hash)->ttl_out_of_bounds);
  EXPECT_FALSE(FindDetail<RegisteredDetail>(Apply(12, {Sub(RegisterD(2, 0))}),
                                            HashFor(2, registry::IdentityForm::kTpmtPublic))
                   ->ttl_out_of_bounds);
}

// ----------------------------------------------------------------------------------------------
// The derivation's reads: a damaged expiry index is an error, not a silent skip.

class LyingSource final : public IdentitySource {
 public:
  Result<std::optional<IdentityState>> LoadIdentity(const Hash32&) override {
    return std::optional<IdentityState>();
  }
  Result<std::vector<ExpiryIndexEntry>> DueExpiries(std::uint64_t) override {
    return std::vector<ExpiryIndexEntry>{{kT0, ExpiryWindow::kTee, HashFor(1)}};
  }
};

TEST(LifecycleSource, AnExpiryEntryWithoutAMatchingStateIsReportedAsDamage) {
  LyingSource source;
  Chain chain;
  auto fx = DeriveBlockEffects(chain.Next(12), source);
  ASSERT_FALSE(fx.ok());
  EXPECT_EQ(fx.error().code, ErrorCode::kPrecondition);
  EXPECT_NE(fx.error().message.find("expiry index"), std::string::npos);
}

}  // namespace
}  // namespace cvmwatch::store
