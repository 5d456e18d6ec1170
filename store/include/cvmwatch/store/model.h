// The store's data model: what goes in (a block of applied registry calls with our verdicts) and
// what comes out (identity states, history entries, event records).
//
// Plain value types: copyable, comparable, no I/O, safe to move between threads. Times are Unix
// seconds of block timestamps (the registry never uses any other clock, contracts.md §2.0).
// The store does not depend on the verifier: VerdictRecord is the indexer's summary of the
// verifier's verdict for one submission.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/registry.h"

namespace cvmwatch::store {

// A time that is never reached ("this window never closes"): a saturated ts + TTL.
inline constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint64_t kDefaultTeeTtl = 2'592'000;  // 30 days (A, C, D)
inline constexpr std::uint64_t kDefaultTpmTtl = 5'184'000;  // 60 days (A, C)

// ---------------------------------------------------------------------------------------------
// Input

enum class VerdictOutcome : std::uint8_t { kPassed = 0, kFailed = 1, kUnverifiable = 2 };
std::string_view VerdictOutcomeName(VerdictOutcome outcome);

// One check the verifier failed or could not run, with its reason.
struct CheckNote {
  std::string check;   // e.g. "tdx.qe_report_signature"
  std::string reason;  // human-readable
  bool failed = true;  // false: not checked (missing collateral, unsupported TEE, ...)
  friend bool operator==(const CheckNote&, const CheckNote&) = default;
};

struct VerdictRecord {
  VerdictOutcome outcome = VerdictOutcome::kUnverifiable;
  std::optional<Hash32> measurement_hash;  // our recomputation, when the verifier got that far
  std::vector<CheckNote> checks;           // failed and not-checked checks only
  std::string summary;                     // one line
  friend bool operator==(const VerdictRecord&, const VerdictRecord&) = default;
};

struct BlockHeader {
  std::uint64_t number = 0;
  Hash32 hash;
  Hash32 parent_hash;
  std::uint64_t timestamp = 0;
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

enum class ChainOutcome : std::uint8_t { kSuccess = 0, kReverted = 1 };

// Reverted calls have no logs; they carry this log index.
inline constexpr std::uint32_t kNoLogIndex = std::numeric_limits<std::uint32_t>::max();

// One registry call as it was executed in the block.
struct AppliedSubmission {
  Hash32 tx_hash;
  std::uint32_t tx_index = 0;
  std::uint32_t log_index = kNoLogIndex;
  registry::RegistryCall call;
  ChainOutcome outcome = ChainOutcome::kSuccess;
  std::optional<Selector> revert_selector;  // first 4 bytes of the revert data, when known
  // keccak256 of the call's return data (= the measurementHash the chain stored, contracts.md
  // §2.0), when the indexer had a call trace. Compared with the verdict's own measurement.
  std::optional<Hash32> chain_measurement_hash;
  std::optional<VerdictRecord> verdict;  // absent: not verified (e.g. setCollateralTTL)
  // Registrations: what the verifier needs to check this identity's later calls (its AK and TEE
  // facts, verifier/evidence.h), opaque to the store. Empty: keep what the identity has.
  Bytes verifier_evidence;
};

// getCvmConfig(h) read at the block (state after the whole block), for reconciliation
// (contracts.md §3.1, §3.2). Fields a layout lacks stay empty and are not compared.
struct ChainConfigObservation {
  Hash32 identity_hash;
  bool registered = false;  // false: the view reverted CVM_NOT_REGISTERED
  std::optional<std::uint8_t> tee_type;
  std::optional<std::uint8_t> cloud_type;
  std::optional<std::uint64_t> tee_ttl;
  std::optional<std::uint64_t> tpm_ttl;
  std::optional<std::uint64_t> tee_recent_timestamp;
  std::optional<std::uint64_t> tpm_recent_timestamp;
  std::optional<std::uint64_t> expired_at;  // D
  std::optional<Hash32> measurement_hash;
  std::optional<std::uint64_t> nonce;  // nonces(h), A/C
};

// One block as the indexer hands it over: in chain order, every block (with or without calls).
struct InputBlock {
  BlockHeader header;
  std::vector<AppliedSubmission> submissions;        // in execution order
  std::vector<ChainConfigObservation> observations;  // optional reconciliation reads
};

// ---------------------------------------------------------------------------------------------
// Identity state

enum class IdentityStatus : std::uint8_t {
  kFresh = 0,
  kTeeExpired = 1,
  kTpmExpired = 2,
  kRotatedAway = 3,
  kMismatch = 4,      // the chain accepted what we reject, or its measurement differs from ours
  kUnverifiable = 5,  // we could not check the last submission
};
inline constexpr std::size_t kStatusCount = 6;
std::string_view StatusName(IdentityStatus status);
std::optional<IdentityStatus> ParseStatus(std::string_view name);

// Which freshness rules an identity follows.
enum class ExpiryRules : std::uint8_t {
  kTwoWindows = 0,    // A/C: TEE and TPM windows, valid while now - ts < ttl (strict)
  kSingleExpiry = 1,  // D: one expiredAt, valid while now <= expiredAt (inclusive)
};

enum class ExpiryWindow : std::uint8_t { kTee = 0, kTpm = 1 };  // D's single window is kTee
std::string_view WindowName(ExpiryWindow window);

struct IdentityState {
  Hash32 identity_hash;
  registry::IdentityKey key;  // empty when first learnt from a reconciliation read
  registry::Generation generation = registry::Generation::kA1;  // of the last call applied
  ExpiryRules rules = ExpiryRules::kTwoWindows;
  std::uint8_t cloud_type = 0;
  std::uint8_t tee_type = 0;
  std::uint8_t tee_report_type = 0;  // of the last attestation

  std::optional<Hash32> measurement_hash;  // the last measurement a submission proved
  std::uint32_t measurement_version = 0;   // 1 for the first, +1 on every change

  std::uint64_t tee_ttl = 0;          // A/C; D: the TTL of the last register/refresh
  std::uint64_t tpm_ttl = 0;          // A/C only
  std::uint64_t tee_attested_at = 0;  // teeRecentTimestamp (D: last register/refresh)
  std::uint64_t tpm_attested_at = 0;  // tpmRecentTimestamp
  std::uint64_t expired_at = 0;       // D only
  std::uint64_t nonce = 0;            // successful signed operations under this hash (A/C)

  // A window that closed and was reported (an `expired` history entry exists for it).
  bool tee_expired = false;
  bool tpm_expired = false;

  VerdictOutcome verdict_outcome = VerdictOutcome::kUnverifiable;
  std::string verdict_summary;
  bool measurement_disputed = false;  // chain's measurement ≠ ours for the last submission

  bool rotated_away = false;  // _configs[h] was deleted by a rotation (the row stays as history)
  IdentityStatus status = IdentityStatus::kFresh;  // DeriveStatus of the fields above
  std::optional<Hash32> rotated_from;              // the identity this one replaced
  std::optional<Hash32> rotated_to;  // the successor (none when only reconciliation saw it go)

  std::uint64_t registered_block = 0;
  std::uint64_t registered_at = 0;
  std::uint64_t updated_block = 0;
  Bytes verifier_evidence;  // from the last registration; copied on rotation (A2 copies tpmAk)

  bool IsRegistered() const { return !rotated_away; }
  // The first second at which the window is invalid (kNever: it never closes).
  std::uint64_t TeeInvalidFrom() const;
  std::uint64_t TpmInvalidFrom() const;
  std::uint64_t InvalidFrom(ExpiryWindow window) const {
    return window == ExpiryWindow::kTee ? TeeInvalidFrom() : TpmInvalidFrom();
  }

  friend bool operator==(const IdentityState&, const IdentityState&) = default;
};

struct Freshness {
  bool tee_valid = false;
  bool tpm_valid = false;
  std::uint64_t tee_invalid_from = 0;
  std::uint64_t tpm_invalid_from = 0;
  bool Valid() const { return tee_valid && tpm_valid; }
};
// The chain's own answer to checkTEEValidity / checkTPMValidity (or checkCvmValidity) at `now`.
Freshness EvaluateFreshness(const IdentityState& state, std::uint64_t now);

// The status implied by the state's flags: rotated-away > mismatch > tee-expired > tpm-expired >
// unverifiable > fresh (the most alarming fact wins; the other flags stay readable in the state).
IdentityStatus DeriveStatus(const IdentityState& state);

// ---------------------------------------------------------------------------------------------
// History

enum class HistoryKind : std::uint8_t {
  kRegistered = 1,
  kReattested = 2,
  kMeasurementChanged = 3,
  kRotated = 4,
  kTtlChanged = 5,
  kExpired = 6,
  kVerdictMismatch = 7,
  kReconciledDiff = 8,
  kCallReverted = 9,
};
std::string_view HistoryKindName(HistoryKind kind);

struct RegisteredDetail {
  std::uint8_t cloud_type = 0;  // as stored after the call
  std::uint8_t tee_type = 0;
  std::uint8_t tee_report_type = 0;
  std::uint64_t tee_ttl = 0;
  std::uint64_t tpm_ttl = 0;
  std::uint64_t expired_at = 0;  // D
  bool re_registration = false;  // the identity was already registered (A/C)
  // A/C re-registration: the call's cloud/TEE type, which the registry silently ignores.
  std::uint8_t requested_cloud_type = 0;
  std::uint8_t requested_tee_type = 0;
  bool parameters_ignored = false;  // requested ≠ stored
  bool ttl_out_of_bounds = false;   // D's teeTTL argument outside the configured bounds
  std::optional<Hash32> measurement_hash;
  friend bool operator==(const RegisteredDetail&, const RegisteredDetail&) = default;
};

enum class ReattestScope : std::uint8_t {
  kTpmOnly = 0,  // reattestCvmWithTpm: TPM timestamp only
  kFull = 1,     // reattestCvmFully (A0), refreshCvm (D): TEE and TPM
};
struct ReattestedDetail {
  ReattestScope scope = ReattestScope::kTpmOnly;
  std::uint64_t tee_attested_at = 0;
  std::uint64_t tpm_attested_at = 0;
  std::uint64_t nonce_after = 0;
  std::uint64_t expired_at = 0;    // D
  bool was_expired = false;        // some window had closed before this call
  bool tee_still_expired = false;  // A: a TPM-only reattest cannot reopen a closed TEE window
  bool ttl_out_of_bounds = false;  // D refresh's teeTTL argument
  friend bool operator==(const ReattestedDetail&, const ReattestedDetail&) = default;
};

struct MeasurementChangedDetail {
  std::optional<Hash32> old_hash;
  Hash32 new_hash;
  std::uint32_t version = 0;  // the new version number
  friend bool operator==(const MeasurementChangedDetail&,
                         const MeasurementChangedDetail&) = default;
};

struct RotatedDetail {
  Hash32 old_hash;
  Hash32 new_hash;
  bool overwrote_registered = false;  // the new hash was already registered (A/C overwrite it)
  bool inferred = false;              // from reconciliation (no calldata named the successor)
  friend bool operator==(const RotatedDetail&, const RotatedDetail&) = default;
};

struct TtlChangedDetail {
  std::uint64_t old_tee_ttl = 0;
  std::uint64_t old_tpm_ttl = 0;
  std::uint64_t new_tee_ttl = 0;
  std::uint64_t new_tpm_ttl = 0;
  std::uint64_t nonce_after = 0;
  bool was_expired = false;    // a window had already closed (the A1/A2 re-validation hazard)
  bool revalidated = false;    // ... and this call reopened it without a new attestation
  bool out_of_bounds = false;  // a TTL outside the configured bounds
  friend bool operator==(const TtlChangedDetail&, const TtlChangedDetail&) = default;
};

struct ExpiredDetail {
  ExpiryWindow window = ExpiryWindow::kTee;
  std::uint64_t crossed_at = 0;  // the first invalid second (ts + ttl; D: expiredAt + 1)
  friend bool operator==(const ExpiredDetail&, const ExpiredDetail&) = default;
};

enum class MismatchKind : std::uint8_t {
  kChainAcceptedWeReject = 0,
  kChainRejectedWeAccept = 1,
  kMeasurementDiffers = 2,  // chain's stored measurement ≠ the one we computed
};
std::string_view MismatchKindName(MismatchKind kind);
struct VerdictMismatchDetail {
  MismatchKind kind = MismatchKind::kChainAcceptedWeReject;
  std::vector<CheckNote> reasons;
  std::string summary;
  std::optional<Hash32> our_measurement;
  std::optional<Hash32> chain_measurement;
  friend bool operator==(const VerdictMismatchDetail&, const VerdictMismatchDetail&) = default;
};

struct FieldDiff {
  std::string field;
  std::string derived;  // what the store had derived
  std::string chain;    // what the chain reports (adopted)
  friend bool operator==(const FieldDiff&, const FieldDiff&) = default;
};
struct ReconciledDiffDetail {
  std::vector<FieldDiff> diffs;
  friend bool operator==(const ReconciledDiffDetail&, const ReconciledDiffDetail&) = default;
};

struct CallRevertedDetail {
  std::string function;  // "reattestCvmWithTpm"
  std::optional<Selector> revert_selector;
  friend bool operator==(const CallRevertedDetail&, const CallRevertedDetail&) = default;
};

using HistoryDetail = std::variant<RegisteredDetail, ReattestedDetail, MeasurementChangedDetail,
                                   RotatedDetail, TtlChangedDetail, ExpiredDetail,
                                   VerdictMismatchDetail, ReconciledDiffDetail, CallRevertedDetail>;

struct HistoryEntry {
  std::uint64_t seq = 0;  // global order, assigned by the store (0 before it is stored)
  Hash32 identity_hash;
  std::uint64_t block_number = 0;
  std::uint64_t block_time = 0;
  // The submission that caused it (none for expiry and reconciliation entries).
  std::optional<Hash32> tx_hash;
  std::uint32_t tx_index = 0;
  std::uint32_t log_index = kNoLogIndex;
  registry::Generation generation = registry::Generation::kA1;
  HistoryDetail detail;

  HistoryKind kind() const;
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

// ---------------------------------------------------------------------------------------------
// Event records: a compact, permanent record of each applied submission (the raw fact behind
// the history). Large blobs are kept as digests only.

struct EventRecord {
  std::uint64_t block_number = 0;
  std::uint32_t ordinal = 0;  // position in the block's submission list
  Hash32 tx_hash;
  std::uint32_t tx_index = 0;
  std::uint32_t log_index = kNoLogIndex;
  std::string function;  // CallName
  registry::Generation generation = registry::Generation::kA1;
  ChainOutcome outcome = ChainOutcome::kSuccess;
  std::optional<Selector> revert_selector;
  Hash32 target_identity;              // the hash the call addresses
  std::optional<Hash32> new_identity;  // reattest/rotate: the identity it names
  std::uint8_t cloud_type = 0;         // attest/register arguments
  std::uint8_t tee_type = 0;
  std::uint8_t tee_report_type = 0;
  std::optional<std::uint64_t> tee_ttl;  // ttl/register/refresh arguments
  std::optional<std::uint64_t> tpm_ttl;
  std::optional<Hash32> tee_report_digest;  // keccak256(report), as D's replay map keys it
  std::optional<Hash32> tpm_quote_digest;   // keccak256(tpmQuote), = TpmMeasurementChecked topic1
  std::optional<Hash32> chain_measurement_hash;
  std::optional<VerdictRecord> verdict;
  friend bool operator==(const EventRecord&, const EventRecord&) = default;
};

// Name of a registry revert selector (contracts.md §1.6), or "" when unknown.
std::string_view RevertName(const Selector& selector);

}  // namespace cvmwatch::store
