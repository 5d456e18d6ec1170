#include "cvmwatch/store/model.h"

#include <array>
#include <utility>

#include "detail/arith.h"

namespace cvmwatch::store {

std::string_view VerdictOutcomeName(VerdictOutcome outcome) {
  switch (outcome) {
    case VerdictOutcome::kPassed:
      return "passed";
    case VerdictOutcome::kFailed:
      return "failed";
    case VerdictOutcome::kUnverifiable:
      return "unverifiable";
  }
  return "unknown";
}

namespace {
constexpr std::array<std::string_view, kStatusCount> kStatusNames = {
    "fresh", "tee-expired", "tpm-expired", "rotated-away", "mismatch", "unverifiable"};
}  // namespace

std::string_view StatusName(IdentityStatus status) {
  const auto index = static_cast<std::size_t>(status);
  return index < kStatusNames.size() ? kStatusNames[index] : "unknown";
}

std::optional<IdentityStatus> ParseStatus(std::string_view name) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<IdentityStatus>(i);
  }
  return std::nullopt;
}

std::string_view WindowName(ExpiryWindow window) {
  return window == ExpiryWindow::kTee ? "tee" : "tpm";
}

std::uint64_t IdentityState::TeeInvalidFrom() const {
  if (rules == ExpiryRules::kSingleExpiry) {
    // checkCvmValidity is inclusive (now <= expiredAt), so the first invalid second is +1.
    return expired_at == kNever ? kNever : expired_at + 1;
  }
  return detail::SaturatingAdd(tee_attested_at, tee_ttl);
}

std::uint64_t IdentityState::TpmInvalidFrom() const {
  if (rules == ExpiryRules::kSingleExpiry) return kNever;  // D has no TPM window
  return detail::SaturatingAdd(tpm_attested_at, tpm_ttl);
}

Freshness EvaluateFreshness(const IdentityState& state, std::uint64_t now) {
  Freshness f;
  f.tee_invalid_from = state.TeeInvalidFrom();
  f.tpm_invalid_from = state.TpmInvalidFrom();
  if (!state.IsRegistered()) return f;  // the views revert CVM_NOT_REGISTERED
  f.tee_valid = now < f.tee_invalid_from;
  f.tpm_valid = now < f.tpm_invalid_from;
  return f;
}

IdentityStatus DeriveStatus(const IdentityState& state) {
  if (state.rotated_away) return IdentityStatus::kRotatedAway;
  if (state.verdict_outcome == VerdictOutcome::kFailed || state.measurement_disputed) {
    return IdentityStatus::kMismatch;
  }
  if (state.tee_expired) return IdentityStatus::kTeeExpired;
  if (state.tpm_expired) return IdentityStatus::kTpmExpired;
  if (state.verdict_outcome == VerdictOutcome::kUnverifiable) return IdentityStatus::kUnverifiable;
  return IdentityStatus::kFresh;
}

std::string_view HistoryKindName(HistoryKind kind) {
  switch (kind) {
    case HistoryKind::kRegistered:
      return "registered";
    case HistoryKind::kReattested:
      return "re-attested";
    case HistoryKind::kMeasurementChanged:
      return "measurement-changed";
    case HistoryKind::kRotated:
      return "rotated";
    case HistoryKind::kTtlChanged:
      return "ttl-changed";
    case HistoryKind::kExpired:
      return "expired";
    case HistoryKind::kVerdictMismatch:
      return "verdict-mismatch";
    case HistoryKind::kReconciledDiff:
      return "reconciled-diff";
    case HistoryKind::kCallReverted:
      return "call-reverted";
  }
  return "unknown";
}

std::string_view MismatchKindName(MismatchKind kind) {
  switch (kind) {
    case MismatchKind::kChainAcceptedWeReject:
      return "chain-accepted-we-reject";
    case MismatchKind::kChainRejectedWeAccept:
      return "chain-rejected-we-accept";
    case MismatchKind::kMeasurementDiffers:
      return "measurement-differs";
  }
  return "unknown";
}

HistoryKind HistoryEntry::kind() const {
  // The variant's alternatives are declared in HistoryKind order, starting at 1.
  return static_cast<HistoryKind>(detail.index() + 1);
}

std::string_view RevertName(const Selector& selector) {
  // contracts.md §1.6: the registry's custom errors and the ones that bubble up through it.
  static constexpr std::pair<std::uint32_t, std::string_view> kNames[] = {
      {0x75a1d53a, "CVM_NOT_REGISTERED"},
      {0x8883052d, "CVM_REGISTERED"},
      {0xca6c9eb5, "CVM_IDENTITY_MISMATCH"},
      {0xa3402a38, "INVALID_SIGNATURE"},
      {0x4fed17f6, "UNSUPPORTED_HASH_ALGORITHM"},
      {0x322dbc63, "INVALID_TPM_DATA_LENGTH"},
      {0x0e847c98, "INVALID_TPM_QUOTE"},
      {0x1600a833, "INVALID_TPM_MEASUREMENT"},
      {0xe875c28a, "TPM_AK_MISMATCH"},
      {0x5c73c927, "TEE_COLLATERAL_EXPIRED"},
      {0xadfbdda3, "TPM_COLLATERAL_EXPIRED"},
      {0x96dd72be, "CVM_IDENTITY_INVALID"},
      {0x110f794d, "CVM_IDENTITY_REVOKED"},
      {0xd9e480f8, "CVM_ALREADY_REGISTERED"},
      {0x44a96b05, "TEE_REPORT_ALREADY_USED"},
      {0x5019d9d1, "TPM_QUOTE_ALREADY_USED"},
      {0xf616b298, "AK_ALREADY_BOUND"},
      {0xe61d68e9, "AK_BINDING_MISMATCH"},
      {0x39df005d, "CVM_EXPIRED"},
      {0x8d35c978, "MOCK_ATTESTATION_NOT_ALLOWED"},
      {0xddf0d9a4, "INVALID_TEE_REPORT_TYPE"},
      {0x4536070c, "INVALID_TEE_TYPE"},
      {0x0ccce91b, "INVALID_CLOUD_TYPE"},
      {0x8512b796, "FAILED_TO_VERIFY_TEE"},
      {0x2a2eafda, "INVALID_TEE_REPORT"},
      {0x0a6fdd83, "TEE_REPORT_DATA_MISMATCH"},
      {0x70c6a010, "FAILED_TO_VERIFY_TPM_QUOTE"},
      {0xc5ee0cd0, "FAILED_TO_CHECK_PCR_MEASUREMENTS"},
      {0x08c379a0, "Error(string)"},
      {0x4e487b71, "Panic(uint256)"},
  };
  const std::uint32_t value = std::uint32_t{selector.bytes[0]} << 24 |
                              std::uint32_t{selector.bytes[1]} << 16 |
                              std::uint32_t{selector.bytes[2]} << 8 | selector.bytes[3];
  for (const auto& [code, name] : kNames) {
    if (code == value) return name;
  }
  return "";
}

}  // namespace cvmwatch::store
