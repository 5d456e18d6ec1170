#include "cvmwatch/verifier/verdict.h"

namespace cvmwatch::verifier {

std::string_view CheckName(CheckId id) {
  switch (id) {
    case CheckId::kSubmissionShape: return "submission-shape";
    case CheckId::kTeeReportParse: return "tee-report-parse";
    case CheckId::kZkJournal: return "zk-journal";
    case CheckId::kZkProof: return "zk-proof";
    case CheckId::kTeeCertChain: return "tee-cert-chain";
    case CheckId::kTeeSignature: return "tee-signature";
    case CheckId::kTeeTcb: return "tee-tcb";
    case CheckId::kTeePolicy: return "tee-policy";
    case CheckId::kAkTrust: return "ak-trust";
    case CheckId::kTpmQuoteParse: return "tpm-quote-parse";
    case CheckId::kTpmSignature: return "tpm-signature";
    case CheckId::kPcrSelection: return "pcr-selection";
    case CheckId::kPcrDigest: return "pcr-digest";
    case CheckId::kPcrEvents: return "pcr-events";
    case CheckId::kReportIdBinding: return "report-id-binding";
    case CheckId::kIdentityBinding: return "identity-binding";
    case CheckId::kMaintenanceSignature: return "maintenance-signature";
    case CheckId::kRegisteredState: return "registered-state";
  }
  return "unknown-check";
}

std::string_view CheckStateName(CheckState s) {
  switch (s) {
    case CheckState::kPassed: return "passed";
    case CheckState::kFailed: return "failed";
    case CheckState::kNotChecked: return "not-checked";
  }
  return "?";
}

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kVerified: return "verified";
    case Outcome::kRejected: return "rejected";
    case Outcome::kIncomplete: return "incomplete";
  }
  return "?";
}

const CheckResult* Verdict::Find(CheckId id) const {
  for (const auto& c : checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

void Verdict::Add(CheckId id, CheckState state, std::string reason) {
  checks.push_back(CheckResult{id, state, std::move(reason)});
  bool any_failed = false;
  bool any_unchecked = false;
  for (const auto& c : checks) {
    any_failed = any_failed || c.state == CheckState::kFailed;
    any_unchecked = any_unchecked || c.state == CheckState::kNotChecked;
  }
  outcome = any_failed ? Outcome::kRejected : any_unchecked ? Outcome::kIncomplete : Outcome::kVerified;
}

std::string Verdict::Summary() const {
  // Failures first (they decide the outcome), then what could not be checked.
  std::string out;
  for (CheckState wanted : {CheckState::kFailed, CheckState::kNotChecked}) {
    for (const auto& c : checks) {
      if (c.state != wanted) continue;
      if (!out.empty()) out += "; ";
      out += std::string(CheckName(c.id)) + " " + std::string(CheckStateName(c.state)) + ": " + c.reason;
    }
  }
  return out.empty() ? "all checks passed" : out;
}

}  // namespace cvmwatch::verifier
