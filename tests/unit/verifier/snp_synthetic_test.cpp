// Synthetic SNP reports and VCEK chains: each SNP check fails in isolation, including product
// layouts the real data does not show (Turin's TCB order and 8-byte hwID, a wrapped hwID).
#include <gtest/gtest.h>

#include <cstring>

#include "cvmwatch/verifier/snp.h"
#include "snp_mint.h"

namespace cvmwatch::verifier {
namespace {

using namespace mint;

const TimePoint kAt = FromUnixSeconds(1800000000);

SnpVerification VerifyMinted(const SnpChain& c, const Bytes& report, bool pin = true, TimePoint at = kAt) {
  auto parsed = ParseSnpReport(report);
  EXPECT_TRUE(parsed.ok()) << parsed.error().ToString();
  return VerifySnpReport(*parsed, c.vcek, {c.ask, c.ark}, pin ? std::vector<Bytes>{c.ark} : std::vector<Bytes>{}, at);
}

TEST(SnpSynthetic, AMintedMilanReportVerifiesEndToEnd) {
  const SnpChain c = MintSnpChain({});
  const auto v = VerifyMinted(c, MintSnpReport({}, c.vcek_key.get()));
  EXPECT_TRUE(v.chain.ok) << v.chain.reason;
  EXPECT_TRUE(v.signature.ok) << v.signature.reason;
  EXPECT_TRUE(v.tcb.ok) << v.tcb.reason;
  EXPECT_TRUE(v.policy.ok) << v.policy.reason;
  EXPECT_EQ(v.product, SnpProduct::kMilan);
}

struct TcbCase {
  const char* name;
  VcekSpec vcek;
  const char* reason;
};

class SnpTcbMismatch : public ::testing::TestWithParam<TcbCase> {};

TEST_P(SnpTcbMismatch, FailsOnlyTheTcbCheckWithItsField) {
  const SnpChain c = MintSnpChain(GetParam().vcek);
  const auto v = VerifyMinted(c, MintSnpReport({}, c.vcek_key.get()));
  EXPECT_TRUE(v.chain.ok && v.signature.ok && v.policy.ok);
  EXPECT_FALSE(v.tcb.ok);
  EXPECT_NE(v.tcb.reason.find(GetParam().reason), std::string::npos) << v.tcb.reason;
}

VcekSpec With(void (*f)(VcekSpec&)) {
  VcekSpec s;
  f(s);
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    EachField, SnpTcbMismatch,
    ::testing::Values(TcbCase{"BootLoader", With([](VcekSpec& s) { s.bl = 4; }), "blSPL"},
                      TcbCase{"Tee", With([](VcekSpec& s) { s.tee = 1; }), "teeSPL"},
                      TcbCase{"Snp", With([](VcekSpec& s) { s.snp = 21; }), "snpSPL"},
                      TcbCase{"Microcode", With([](VcekSpec& s) { s.ucode = 200; }), "ucodeSPL"},
                      TcbCase{"HwId", With([](VcekSpec& s) { s.hw_id[63] ^= 1; }), "hwID"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SnpSynthetic, AWrappedHwIdIsRecognisedByItsLength) {
  VcekSpec spec;
  spec.wrap_hw_id = true;
  spec.hw_id[0] = 0x04;  // a raw id may start like a DER header: decided by length, not content
  const SnpChain c = MintSnpChain(spec);
  ReportSpec r;
  r.chip_id = spec.hw_id;
  EXPECT_TRUE(VerifyMinted(c, MintSnpReport(r, c.vcek_key.get())).tcb.ok);
}

TEST(SnpSynthetic, TurinUsesItsOwnTcbOrderFmcAndAnEightByteHwId) {
  VcekSpec spec;
  spec.product_name = "Turin-B0";
  spec.fmc = 1;
  spec.bl = 2;
  spec.tee = 3;
  spec.snp = 4;
  spec.ucode = 5;
  spec.hw_id = Bytes(8, 0x77);
  const SnpChain c = MintSnpChain(spec, "Turin");
  ReportSpec r;
  const std::uint8_t turin_tcb[8] = {1, 2, 3, 4, 0, 0, 0, 5};  // fmc, bl, tee, snp, ..., ucode
  std::memcpy(r.reported_tcb, turin_tcb, 8);
  r.cpuid_family = 0x1a;
  r.chip_id = Bytes(64, 0);
  std::fill(r.chip_id.begin(), r.chip_id.begin() + 8, 0x77);
  const auto v = VerifyMinted(c, MintSnpReport(r, c.vcek_key.get()));
  EXPECT_EQ(v.product, SnpProduct::kTurin);
  EXPECT_TRUE(v.tcb.ok) << v.tcb.reason;
  VcekSpec wrong_fmc = spec;
  wrong_fmc.fmc = 2;
  const SnpChain c2 = MintSnpChain(wrong_fmc, "Turin");
  const auto v2 = VerifyMinted(c2, MintSnpReport(r, c2.vcek_key.get()));
  EXPECT_FALSE(v2.tcb.ok);
  EXPECT_NE(v2.tcb.reason.find("fmcSPL"), std::string::npos) << v2.tcb.reason;
}

TEST(SnpSynthetic, SignatureChainAndPolicyEachFailAlone) {
  const SnpChain c = MintSnpChain({});
  Bytes report = MintSnpReport({}, c.vcek_key.get());
  {  // another key signed it
    const SnpChain other = MintSnpChain({});
    const auto v = VerifyMinted(c, MintSnpReport({}, other.vcek_key.get()));
    EXPECT_FALSE(v.signature.ok);
    EXPECT_TRUE(v.chain.ok && v.tcb.ok && v.policy.ok);
  }
  {  // the test ARK is not pinned
    const auto v = VerifyMinted(c, report, false);
    EXPECT_FALSE(v.chain.ok);
    EXPECT_TRUE(v.signature.ok && v.tcb.ok);
  }
  {  // outside the certificates' validity
    const auto v = VerifyMinted(c, report, true, FromUnixSeconds(2100000000));
    EXPECT_FALSE(v.chain.ok);
    EXPECT_TRUE(v.signature.ok);
  }
  {  // debug allowed, and signed by the reported key
    ReportSpec r;
    r.policy |= 1ULL << 19;
    const auto v = VerifyMinted(c, MintSnpReport(r, c.vcek_key.get()));
    EXPECT_FALSE(v.policy.ok);
    EXPECT_TRUE(v.signature.ok);
  }
  {  // a signature algorithm other than ECDSA P-384
    ReportSpec r;
    r.signature_algo = 2;
    EXPECT_FALSE(VerifyMinted(c, MintSnpReport(r, c.vcek_key.get())).policy.ok);
  }
}

TEST(SnpSynthetic, VersionFiveReportsParse) {
  const SnpChain c = MintSnpChain({});
  ReportSpec r;
  r.version = 5;
  EXPECT_TRUE(VerifyMinted(c, MintSnpReport(r, c.vcek_key.get())).ok());
}

}  // namespace
}  // namespace cvmwatch::verifier
