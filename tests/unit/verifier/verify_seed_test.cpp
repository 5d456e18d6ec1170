// The seed's real vectors through Verify(): the chain accepted each one, so no check may fail;
// the measurement hash must equal the seed's golden files; what cannot be checked offline is
// reported as not-checked, never passed.
#include <gtest/gtest.h>

#include "cvmwatch/core/hash.h"
#include "verifier_fixtures.h"

namespace cvmwatch::verifier {
namespace {

using namespace testing;

struct SeedCase {
  const char* name;
  const char* registration;
  const char* reattestation;
  const char* golden;
  std::int64_t at;
  std::uint8_t cloud, tee;
  unsigned chain_id_width;  // of the re-attestation signature (GROUND-TRUTH §7)
};

const SeedCase kCases[] = {
    {"GcpTdx", "gcp/tdx/gcp-tdx-registration.json", "gcp/tdx/gcp-tdx-reattestation.json",
     "gcp/tdx/gcp-tdx-test-golden_measurements.json", kTdxAt, 1, 1, 32},
    {"GcpSnp", "gcp/snp/gcp-snp-registration.json", "gcp/snp/gcp-snp-reattestation.json",
     "gcp/snp/gcp-snp-test-golden_measurements.json", kGcpSnpAt, 1, 2, 2},
    {"AzureSnp", "azure/snp/azure-snp-registration.json", "azure/snp/azure-snp-reattestation.json",
     "azure/snp/azure-snp-test-golden_measurements.json", kAzureSnpAt, 2, 2, 32},
};

class SeedVerdicts : public ::testing::TestWithParam<SeedCase> {};

void ExpectNoFailure(const Verdict& v) {
  for (const auto& c : v.checks) {
    EXPECT_NE(c.state, CheckState::kFailed) << CheckName(c.id) << ": " << c.reason;
  }
}

CheckState StateOf(const Verdict& v, CheckId id) {
  const CheckResult* c = v.Find(id);
  EXPECT_NE(c, nullptr) << CheckName(id);
  return c ? c->state : CheckState::kNotChecked;
}

TEST_P(SeedVerdicts, RegistrationGivesTheChainsVerdictAndTheGoldenMeasurementHash) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SeedCase& c = GetParam();
  const TrustStore trust = SeedTrustStore(dir);
  Submission s{DecodeSeed(dir, c.registration), SeedSigning(), std::nullopt};
  const Verdict v = Verify(s, trust, FromUnixSeconds(c.at));
  ExpectNoFailure(v);
  EXPECT_NE(v.outcome, Outcome::kRejected) << v.Summary();
  ASSERT_TRUE(v.measurement_hash.has_value());
  EXPECT_EQ(*v.measurement_hash, GoldenHash(dir / "seed" / c.golden));
  EXPECT_EQ(v.cloud_type, c.cloud);
  EXPECT_EQ(v.tee_type, c.tee);
  // The binding checks all ran and passed.
  for (CheckId id : {CheckId::kAkTrust, CheckId::kTpmQuoteParse, CheckId::kTpmSignature, CheckId::kPcrSelection,
                     CheckId::kPcrDigest, CheckId::kPcrEvents, CheckId::kReportIdBinding,
                     CheckId::kIdentityBinding}) {
    EXPECT_EQ(StateOf(v, id), CheckState::kPassed) << CheckName(id);
  }
  ASSERT_TRUE(v.ak.has_value());
  if (c.tee == 1) {
    // TDX: every signature and the collateral are checkable offline.
    EXPECT_EQ(v.outcome, Outcome::kVerified) << v.Summary();
    ASSERT_TRUE(v.tee && v.tee->tcb_status);
    EXPECT_EQ(*v.tee->tcb_status, "UpToDate");
  } else {
    // SNP in a ZK journal: the report signature needs a VCEK the seed does not carry.
    EXPECT_EQ(v.outcome, Outcome::kIncomplete);
    EXPECT_EQ(StateOf(v, CheckId::kTeeSignature), CheckState::kNotChecked);
    EXPECT_NE(v.Find(CheckId::kTeeSignature)->reason.find("no VCEK for chip"), std::string::npos);
    EXPECT_EQ(StateOf(v, CheckId::kZkProof), CheckState::kNotChecked);
    EXPECT_EQ(StateOf(v, CheckId::kTeePolicy), CheckState::kPassed);
  }
}

TEST_P(SeedVerdicts, ReattestationVerifiesWithTheStoredAkAndKeepsTheMeasurement) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SeedCase& c = GetParam();
  const TrustStore trust = SeedTrustStore(dir);
  const auto reg_call = DecodeSeed(dir, c.registration);
  const auto& reg = std::get<registry::AttestCall>(reg_call);
  const Verdict reg_verdict = Verify(Submission{reg_call, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(c.at));

  Submission s{DecodeSeed(dir, c.reattestation), SeedSigning(), FromRegistration(reg, reg_verdict)};
  const Verdict v = Verify(s, trust, FromUnixSeconds(c.at + 60));
  ExpectNoFailure(v);
  EXPECT_EQ(v.outcome, Outcome::kVerified) << v.Summary();
  EXPECT_EQ(StateOf(v, CheckId::kMaintenanceSignature), CheckState::kPassed);
  ASSERT_TRUE(v.chain_id_width.has_value());
  EXPECT_EQ(*v.chain_id_width, c.chain_id_width);
  ASSERT_TRUE(v.measurement_hash.has_value());
  EXPECT_EQ(*v.measurement_hash, GoldenHash(dir / "seed" / c.golden));  // no "workload changed"
  const auto& reattest = std::get<registry::ReattestCall>(s.call);
  EXPECT_EQ(v.identity_hash, reattest.new_identity_hash);
  EXPECT_EQ(*v.target_identity_hash, reg.identity_hash);
}

TEST_P(SeedVerdicts, ReattestationSignatureFailsUnderTheOtherChainIdWidthAndAWrongNonce) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SeedCase& c = GetParam();
  const TrustStore trust = SeedTrustStore(dir);
  const auto reg_call = DecodeSeed(dir, c.registration);
  const Verdict reg_verdict = Verify(Submission{reg_call, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(c.at));
  Submission s{DecodeSeed(dir, c.reattestation), SeedSigning(),
               FromRegistration(std::get<registry::AttestCall>(reg_call), reg_verdict)};
  s.signing.chain_id_width = c.chain_id_width == 32 ? ChainIdWidth::k2Bytes : ChainIdWidth::k32Bytes;
  EXPECT_EQ(StateOf(Verify(s, trust, FromUnixSeconds(c.at)), CheckId::kMaintenanceSignature), CheckState::kFailed);
  s.signing.chain_id_width = ChainIdWidth::kAuto;
  s.registered->nonce = U256(1);
  EXPECT_EQ(StateOf(Verify(s, trust, FromUnixSeconds(c.at)), CheckId::kMaintenanceSignature), CheckState::kFailed);
  s.registered->nonce = U256(0);
  s.signing.chain_id = 1;
  EXPECT_EQ(StateOf(Verify(s, trust, FromUnixSeconds(c.at)), CheckId::kMaintenanceSignature), CheckState::kFailed);
}

INSTANTIATE_TEST_SUITE_P(AllPlatforms, SeedVerdicts, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(SeedVerdictsTtl, TtlVectorsOfUnknownIdentitiesAreNotCheckedRatherThanPassed) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const TrustStore trust = SeedTrustStore(dir);
  for (const char* f : {"gcp/tdx/gcp-tdx-update-ttl.json", "gcp/snp/gcp-snp-update-ttl.json"}) {
    const Verdict v = Verify(Submission{DecodeSeed(dir, f), SeedSigning(), std::nullopt}, trust, FromUnixSeconds(kTdxAt));
    EXPECT_EQ(v.outcome, Outcome::kIncomplete) << f;
    EXPECT_EQ(StateOf(v, CheckId::kRegisteredState), CheckState::kNotChecked);
  }
}

}  // namespace
}  // namespace cvmwatch::verifier
