// Verdict: the ordered result of re-verifying one submission.
//
// Every check the chain (or a demanding watchdog) performs has a closed CheckId. A check is
// passed, failed (with the specific reason) or not-checked (with the reason it could not be: e.g.
// "TEE signature not checked: no VCEK for chip X at TCB Y") — never silently skipped. The overall
// outcome is kVerified only when every check passed, kRejected when any failed, and kIncomplete
// when none failed but some could not be checked. Plain value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/registry.h"

namespace cvmwatch::verifier {

enum class CheckId {
  kSubmissionShape,       // call kind and fields the registry requires (lengths, counts, types)
  kTeeReportParse,        // TDX quote / SNP report / ZK journal parses within bounds
  kZkJournal,             // journal result == Success, processor model, trusted ARK prefix, time window
  kZkProof,               // the zkVM proof over the journal
  kTeeCertChain,          // PCK chain (TDX) or VCEK <- ASK <- ARK (SNP) to a pinned root
  kTeeSignature,          // quote signature (TDX) / report signature (SNP)
  kTeeTcb,                // TCB: VCEK extensions vs REPORTED_TCB, or TDX collateral status
  kTeePolicy,             // debug bit off, signature algorithm, VMPL
  kAkTrust,               // GCP AK certificate chain, or Azure REPORTDATA = SHA-256(HCL JSON)
  kTpmQuoteParse,         // TPMS_ATTEST layout
  kTpmSignature,          // TPMT_SIGNATURE by the AK over SHA-256(quote)
  kPcrSelection,          // quote selection == the supplied PCR set
  kPcrDigest,             // quote pcrDigest == SHA-256 of the supplied values
  kPcrEvents,             // event logs replay to their PCR; measured event indices in range
  kReportIdBinding,       // TEE report <-> TPM quote (PCR15 / RTMR3 / REPORT_ID)
  kIdentityBinding,       // TPM extraData = prefix || identity hash
  kMaintenanceSignature,  // re-attestation / TTL signature by the registered identity key
  kRegisteredState,       // re-attestation needs the identity's registered AK and TEE data
};

std::string_view CheckName(CheckId id);

enum class CheckState { kPassed, kFailed, kNotChecked };
std::string_view CheckStateName(CheckState s);

struct CheckResult {
  CheckId id;
  CheckState state;
  std::string reason;  // why it failed / could not be checked; a short fact when passed
};

enum class Outcome { kVerified, kRejected, kIncomplete };
std::string_view OutcomeName(Outcome o);

// 48-byte TEE registers as the seed's Bytes48.
using Bytes48 = FixedBytes<48>;

// What the TEE report says, as far as the measurement and bindings need it.
struct TeeFacts {
  std::uint8_t tee_type = 0;  // registry TeeType
  // TDX
  Bytes48 mrtd, mrseam, rtmr0, rtmr1, rtmr2, rtmr3;
  // SNP
  Bytes48 snp_measurement;
  Hash32 snp_report_id;
  std::uint64_t snp_reported_tcb = 0;
  FixedBytes<64> chip_id;
  // both
  FixedBytes<64> report_data;
  std::optional<std::string> tcb_status;  // TDX collateral status when evaluated
};

struct Verdict {
  Outcome outcome = Outcome::kIncomplete;
  std::vector<CheckResult> checks;  // in the order performed
  std::string function;             // "attestCvm", ...
  std::uint8_t cloud_type = 0;
  std::uint8_t tee_type = 0;
  std::uint8_t tee_report_type = 0;
  Hash32 identity_hash;                       // the identity the call leaves registered
  std::optional<Hash32> target_identity_hash;  // reattest / TTL: the addressed identity
  std::optional<Hash32> measurement_hash;      // ours, when every input to it was available
  std::optional<registry::CertPubkey> ak;      // the AK that signed the quote (for later re-attestations)
  std::optional<TeeFacts> tee;                 // parsed TEE facts (for later re-attestations)
  std::optional<unsigned> chain_id_width;      // maintenance signature: 32 or 2 bytes verified

  bool ok() const { return outcome == Outcome::kVerified; }
  const CheckResult* Find(CheckId id) const;
  // Adds a check and keeps `outcome` consistent.
  void Add(CheckId id, CheckState state, std::string reason);
  // "tpm-signature: invalid ECDSA signature; pcr-digest: …" for the failed / not-checked ones.
  std::string Summary() const;
};

}  // namespace cvmwatch::verifier
