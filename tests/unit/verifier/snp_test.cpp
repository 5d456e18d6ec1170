// testdata/snp/report_sp1.bin with its VCEK and the Milan ASK/ARK: the one complete SNP chain
// available offline. Every value is computed from the files and compared with GROUND-TRUTH §9.
#include <gtest/gtest.h>

#include "cvmwatch/core/hash.h"
#include "verifier_fixtures.h"

namespace cvmwatch::verifier {
namespace {

using namespace testing;

constexpr std::int64_t kInsideVcekValidity = 1761350400;  // 2025-10-25

struct SnpFiles {
  Bytes report, vcek;
  std::vector<Bytes> ask_ark;
};

SnpFiles Load(const std::filesystem::path& dir) {
  return SnpFiles{ReadBinary(dir / "snp/report_sp1.bin"), ReadBinary(dir / "snp/vek_sp1.der"),
                  PemCertificatesToDer(ReadText(dir / "snp/milan_ask_ark.pem")).value()};
}

TEST(SnpReport, ParsesTheRealReportsFieldsAsGroundTruthLists) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SnpFiles f = Load(dir);
  auto r = ParseSnpReport(f.report);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->policy, 0x30000u);
  EXPECT_EQ(ToHex(ByteView(r->reported_tcb.data(), 8)), "0x03000000000016d1");
  EXPECT_EQ(r->platform_info, 1u);
  EXPECT_EQ(r->measurement.ToHex(),
            "0x845f8680d7f810d6ee410706d1c845aeb83d18e9a30f59d1b519a7b2e2f2670aab3982a20fec61a85b6771922f44945b");
  EXPECT_EQ(r->report_id.ToHex(), "0x0a207b894c7973d08b953ae734ff27229b4869deda01183676611313ecebefa5");
  EXPECT_EQ(r->chip_id.ToHex(),
            "0x8b58e10b173a779e639942c598df3e386489f476a95d2a0387ecebd48bd3fe633845cd6f5bbcbc8a31d485af4d9039"
            "0bfce07c08e5527b7b59918db6bb96d00e");
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 55);
  EXPECT_EQ(r->current_build, 20);
  EXPECT_FALSE(r->DebugAllowed());
  EXPECT_EQ(Sha256(f.vcek).ToHex(), "0x63cb5ea9eaf6144e22f83c3041c5e5dc3434b9f695f7a79c44b178f048a9ca65");
  ASSERT_EQ(f.ask_ark.size(), 2u);
  EXPECT_EQ(Sha256(f.ask_ark[0]).ToHex(), "0x67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b");
  EXPECT_EQ(Sha256(f.ask_ark[1]).ToHex(), "0x69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd");
}

TEST(SnpReport, VerifiesEndToEndWithItsVcekChain) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SnpFiles f = Load(dir);
  const SnpReport r = ParseSnpReport(f.report).value();
  const SnpVerification v = VerifySnpReport(r, f.vcek, f.ask_ark, {f.ask_ark[1]}, FromUnixSeconds(kInsideVcekValidity));
  EXPECT_TRUE(v.chain.ok) << v.chain.reason;
  EXPECT_TRUE(v.signature.ok) << v.signature.reason;
  EXPECT_TRUE(v.tcb.ok) << v.tcb.reason;
  EXPECT_TRUE(v.policy.ok) << v.policy.reason;
  EXPECT_EQ(v.product, SnpProduct::kMilan);
  ASSERT_TRUE(v.vcek.has_value());
  EXPECT_EQ(v.vcek->ucode_spl, 0xd1u);
  EXPECT_EQ(v.vcek->bl_spl, 3u);
}

// Each tamper fails exactly the part it touches.
TEST(SnpReport, EachSingleTamperFailsItsOwnCheck) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SnpFiles f = Load(dir);
  const auto at = FromUnixSeconds(kInsideVcekValidity);
  const std::vector<Bytes> pinned = {f.ask_ark[1]};

  {  // a byte of the signed region
    Bytes rep = f.report;
    rep[0x90] ^= 1;
    const auto v = VerifySnpReport(ParseSnpReport(rep).value(), f.vcek, f.ask_ark, pinned, at);
    EXPECT_FALSE(v.signature.ok);
    EXPECT_TRUE(v.chain.ok && v.tcb.ok);
  }
  {  // non-zero bytes above the 48-byte R
    Bytes rep = f.report;
    rep[0x2A0 + 60] = 1;
    const auto v = VerifySnpReport(ParseSnpReport(rep).value(), f.vcek, f.ask_ark, pinned, at);
    EXPECT_FALSE(v.signature.ok);
    EXPECT_NE(v.signature.reason.find("above 48"), std::string::npos);
  }
  {  // another REPORTED_TCB (the VCEK was derived for 0xd1 microcode)
    Bytes rep = f.report;
    rep[0x180 + 7] = 0xd2;
    const auto v = VerifySnpReport(ParseSnpReport(rep).value(), f.vcek, f.ask_ark, pinned, at);
    EXPECT_FALSE(v.tcb.ok);
    EXPECT_NE(v.tcb.reason.find("ucodeSPL"), std::string::npos) << v.tcb.reason;
  }
  {  // another chip
    Bytes rep = f.report;
    rep[0x1A0] ^= 0xff;
    const auto v = VerifySnpReport(ParseSnpReport(rep).value(), f.vcek, f.ask_ark, pinned, at);
    EXPECT_FALSE(v.tcb.ok);
    EXPECT_NE(v.tcb.reason.find("hwID"), std::string::npos);
  }
  {  // debug allowed
    Bytes rep = f.report;
    rep[0x08 + 2] |= 0x08;  // POLICY bit 19
    const auto v = VerifySnpReport(ParseSnpReport(rep).value(), f.vcek, f.ask_ark, pinned, at);
    EXPECT_FALSE(v.policy.ok);
  }
  {  // signature algorithm other than 1
    Bytes rep = f.report;
    rep[0x34] = 2;
    EXPECT_FALSE(CheckSnpPolicy(ParseSnpReport(rep).value()).ok);
  }
  {  // unpinned ARK
    const auto v = VerifySnpReport(ParseSnpReport(f.report).value(), f.vcek, f.ask_ark, {}, at);
    EXPECT_FALSE(v.chain.ok);
    EXPECT_NE(v.chain.reason.find("not pinned"), std::string::npos);
    EXPECT_TRUE(v.signature.ok);  // the other checks still ran
  }
  {  // outside the VCEK's validity (2024-11-19 .. 2031-11-19)
    const auto v = VerifySnpReport(ParseSnpReport(f.report).value(), f.vcek, f.ask_ark, pinned,
                                   FromUnixSeconds(1700000000));
    EXPECT_FALSE(v.chain.ok);
    EXPECT_NE(v.chain.reason.find("not valid before"), std::string::npos) << v.chain.reason;
  }
  {  // a VCEK byte flipped inside its signature: the ASK no longer vouches for it
    Bytes vcek = f.vcek;
    vcek[vcek.size() - 5] ^= 1;
    const auto v = VerifySnpReport(ParseSnpReport(f.report).value(), vcek, f.ask_ark, pinned, at);
    EXPECT_FALSE(v.chain.ok);
  }
}

TEST(SnpReport, RejectsWrongSizesAndVersions) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SnpFiles f = Load(dir);
  EXPECT_FALSE(ParseSnpReport(ByteView(f.report.data(), 100)).ok());
  Bytes longer = f.report;
  longer.push_back(0);
  EXPECT_FALSE(ParseSnpReport(longer).ok());
  EXPECT_TRUE(ParseSnpReport(longer, true).ok());
  Bytes v9 = f.report;
  v9[0] = 9;
  EXPECT_FALSE(ParseSnpReport(v9).ok());
}

}  // namespace
}  // namespace cvmwatch::verifier
