// Every single-field tamper of a real vector is rejected, and the check that rejects it is the one
// that enforces the tampered rule.
#include <gtest/gtest.h>

#include <functional>

#include "cvmwatch/core/hash.h"
#include "verifier_fixtures.h"

namespace cvmwatch::verifier {
namespace {

using namespace testing;

// Offsets inside the ZK teeAttestationReport of the SNP vectors (GROUND-TRUTH §1, §9): the journal
// starts at report byte 128, its rawReport at journal byte 288, its certs[0] at journal byte 1504.
constexpr std::size_t kJournal = 128;
constexpr std::size_t kSnpReport = kJournal + 288;

struct Tamper {
  const char* name;
  const char* vector;
  std::int64_t at;
  std::function<void(registry::AttestCall&, std::int64_t& at)> mutate;
  CheckId expect_failed;
};

void Rehash(registry::AttestCall& c) { c.identity_hash = registry::IdentityHash(c.identity); }

const char* kGcpTdx = "gcp/tdx/gcp-tdx-registration.json";
const char* kGcpSnp = "gcp/snp/gcp-snp-registration.json";
const char* kAzureSnp = "azure/snp/azure-snp-registration.json";

const Tamper kTampers[] = {
    {"TpmSignatureByte", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.tpm_signature[20] ^= 1; },
     CheckId::kTpmSignature},
    {"PcrValue", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.pcrs[0].pcr.bytes[0] ^= 1; }, CheckId::kPcrDigest},
    {"PcrRemoved", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.pcrs.pop_back(); }, CheckId::kPcrSelection},
    {"PcrEventLog", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.pcrs[1].all_events[0].bytes[0] ^= 1; },
     CheckId::kPcrEvents},
    {"MeasuredEventIndex", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.pcrs[1].measure_events_idx[0] = U256(99); },
     CheckId::kPcrEvents},
    {"ReportIdUuid", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.report_id[0] ^= 1; }, CheckId::kReportIdBinding},
    {"AkLeafCertificate", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.certs[0][c.wc.certs[0].size() - 10] ^= 1; },
     CheckId::kAkTrust},
    {"AkRootNotTrusted", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.wc.certs.pop_back(); }, CheckId::kAkTrust},
    {"IdentityKey", kGcpTdx, kTdxAt,
     [](auto& c, auto&) {
       c.identity.data[5] ^= 1;
       Rehash(c);
     },
     CheckId::kIdentityBinding},
    {"TdQuoteBodyMrtd", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.tee_report[48 + 136] ^= 1; },
     CheckId::kTeeSignature},
    {"CollateralWindow", kGcpTdx, kTdxAt, [](auto&, auto& at) { at = 1763000000; }, CheckId::kTeeTcb},
    {"CloudType", kGcpTdx, kTdxAt, [](auto& c, auto&) { c.cloud_type = 3; }, CheckId::kSubmissionShape},
    {"ZkJournalResult", kGcpSnp, kGcpSnpAt, [](auto& c, auto&) { c.tee_report[kJournal + 63] = 1; },
     CheckId::kZkJournal},
    {"ZkJournalRoot", kGcpSnp, kGcpSnpAt, [](auto& c, auto&) { c.tee_report[kJournal + 1504] ^= 1; },
     CheckId::kZkJournal},
    {"ZkJournalTimestampAfterBlock", kGcpSnp, kGcpSnpAt, [](auto&, auto& at) { at = 1756282879 - 1; },
     CheckId::kZkJournal},
    {"SnpDebugPolicy", kGcpSnp, kGcpSnpAt, [](auto& c, auto&) { c.tee_report[kSnpReport + 10] |= 0x08; },
     CheckId::kTeePolicy},
    {"SnpReportId", kGcpSnp, kGcpSnpAt, [](auto& c, auto&) { c.tee_report[kSnpReport + 0x140] ^= 1; },
     CheckId::kReportIdBinding},
    {"Pcr15", kGcpSnp, kGcpSnpAt,
     [](auto& c, auto&) {
       for (auto& p : c.wc.pcrs) {
         if (p.index == U256(15)) p.pcr.bytes[3] ^= 1;
       }
     },
     CheckId::kReportIdBinding},
    {"AkLeafNotYetValid", kGcpSnp, kGcpSnpAt, [](auto&, auto& at) { at = 1756282736 - 1; }, CheckId::kAkTrust},
    {"AzureRuntimeJson", kAzureSnp, kAzureSnpAt, [](auto& c, auto&) { c.wc.ak_pub[30] ^= 1; }, CheckId::kAkTrust},
    {"AzureReportData", kAzureSnp, kAzureSnpAt, [](auto& c, auto&) { c.tee_report[kSnpReport + 0x50] ^= 1; },
     CheckId::kAkTrust},
    {"AzureTpmSignature", kAzureSnp, kAzureSnpAt, [](auto& c, auto&) { c.wc.tpm_signature[100] ^= 1; },
     CheckId::kTpmSignature},
    {"AzureIdentityKey", kAzureSnp, kAzureSnpAt,
     [](auto& c, auto&) {
       c.identity.data[0] ^= 1;
       Rehash(c);
     },
     CheckId::kIdentityBinding},
    {"TpmQuoteType", kAzureSnp, kAzureSnpAt, [](auto& c, auto&) { c.wc.tpm_quote[5] = 0x17; },
     CheckId::kTpmQuoteParse},
};

class TamperTable : public ::testing::TestWithParam<Tamper> {};

TEST_P(TamperTable, IsRejectedByTheCheckThatEnforcesTheRule) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const Tamper& t = GetParam();
  const TrustStore trust = SeedTrustStore(dir);
  auto call = std::get<registry::AttestCall>(DecodeSeed(dir, t.vector));
  std::int64_t at = t.at;
  // Untampered, nothing fails.
  const Verdict clean = Verify(Submission{call, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(at));
  ASSERT_NE(clean.outcome, Outcome::kRejected) << clean.Summary();
  t.mutate(call, at);
  const Verdict v = Verify(Submission{call, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(at));
  EXPECT_EQ(v.outcome, Outcome::kRejected);
  const CheckResult* c = v.Find(t.expect_failed);
  ASSERT_NE(c, nullptr) << CheckName(t.expect_failed) << " not run; " << v.Summary();
  EXPECT_EQ(c->state, CheckState::kFailed) << CheckName(t.expect_failed) << ": " << c->reason << "; "
                                           << v.Summary();
  EXPECT_FALSE(c->reason.empty());
}

INSTANTIATE_TEST_SUITE_P(RealVectors, TamperTable, ::testing::ValuesIn(kTampers),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TamperReattest, AStoredAkThatIsNotTheSignersIsRejected) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const TrustStore trust = SeedTrustStore(dir);
  const auto tdx = DecodeSeed(dir, kGcpTdx);
  const auto snp = DecodeSeed(dir, kGcpSnp);
  const Verdict tdx_v = Verify(Submission{tdx, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(kTdxAt));
  const Verdict snp_v = Verify(Submission{snp, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(kGcpSnpAt));
  // The TDX re-attestation, but the registered state claims the SNP VM's AK.
  RegisteredIdentity reg = FromRegistration(std::get<registry::AttestCall>(tdx), tdx_v);
  reg.ak = snp_v.ak;
  const Verdict v = Verify(Submission{DecodeSeed(dir, "gcp/tdx/gcp-tdx-reattestation.json"), SeedSigning(), reg},
                           trust, FromUnixSeconds(kTdxAt));
  EXPECT_EQ(v.Find(CheckId::kTpmSignature)->state, CheckState::kFailed);
  EXPECT_EQ(v.Find(CheckId::kMaintenanceSignature)->state, CheckState::kPassed);
}

}  // namespace
}  // namespace cvmwatch::verifier
