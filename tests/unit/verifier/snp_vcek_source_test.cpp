// The VCEK source seam and TCB layouts: a VCEK found for a report's chip is used (and a wrong one
// is caught), TCB_VERSION decodes per product.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "verifier_fixtures.h"

namespace cvmwatch::verifier {
namespace {

using namespace testing;

TEST(SnpTcbLayout, MilanAndGenoaDifferFromTurin) {
  const std::uint8_t b[8] = {0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x19, 0xdb};
  const SnpTcb milan = DecodeSnpTcb(b, SnpProduct::kMilan);
  EXPECT_EQ(milan.boot_loader, 4);
  EXPECT_EQ(milan.tee, 1);
  EXPECT_EQ(milan.snp, 0x19);
  EXPECT_EQ(milan.microcode, 0xdb);
  const std::uint8_t t[8] = {0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x05};
  const SnpTcb turin = DecodeSnpTcb(t, SnpProduct::kTurin);
  EXPECT_EQ(turin.fmc, 1);
  EXPECT_EQ(turin.boot_loader, 2);
  EXPECT_EQ(turin.tee, 3);
  EXPECT_EQ(turin.snp, 4);
  EXPECT_EQ(turin.microcode, 5);
  EXPECT_EQ(milan.raw, 0xdb19000000000104ULL);
}

TEST(SnpVcekSource, AVcekFoundForTheChipIsCheckedAndAWrongOneFails) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  TrustStore trust = SeedTrustStore(dir);
  const auto call = DecodeSeed(dir, "gcp/snp/gcp-snp-registration.json");
  const Verdict without = Verify(Submission{call, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(kGcpSnpAt));
  ASSERT_TRUE(without.tee.has_value());
  EXPECT_EQ(without.Find(CheckId::kTeeSignature)->state, CheckState::kNotChecked);

  // File the sample VCEK (another chip's) under this report's chip id and TCB.
  const auto vcek_dir = std::filesystem::temp_directory_path() / ("cvmwatch-vcek-" + std::to_string(::getpid()));
  std::filesystem::create_directories(vcek_dir);
  const std::string name = DirectoryVcekSource::FileName(without.tee->chip_id.view(), without.tee->snp_reported_tcb);
  {
    const Bytes vcek = ReadBinary(dir / "snp/vek_sp1.der");
    std::ofstream(vcek_dir / name, std::ios::binary).write(reinterpret_cast<const char*>(vcek.data()),
                                                           static_cast<std::streamsize>(vcek.size()));
  }
  trust.vceks = std::make_shared<DirectoryVcekSource>(vcek_dir.string());
  const Verdict with = Verify(Submission{call, SeedSigning(), std::nullopt}, trust, FromUnixSeconds(kGcpSnpAt));
  std::filesystem::remove_all(vcek_dir);
  EXPECT_EQ(with.Find(CheckId::kTeeSignature)->state, CheckState::kFailed);
  EXPECT_EQ(with.Find(CheckId::kTeeTcb)->state, CheckState::kFailed);
  EXPECT_EQ(with.outcome, Outcome::kRejected);
}

TEST(SnpVcekSource, FileNamesAreChipIdAndTcbInHex) {
  const Bytes chip(64, 0xab);
  const std::string name = DirectoryVcekSource::FileName(chip, 0xdb19000000000004ULL);
  EXPECT_EQ(name, ToHex(chip, false) + "_db19000000000004.der");
}

}  // namespace
}  // namespace cvmwatch::verifier

#include "cvmwatch/verifier/evidence.h"

namespace cvmwatch::verifier {
namespace {

TEST(RegisteredEvidence, RoundTripsWhatARegistrationVerdictCarries) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const TrustStore trust = testing::SeedTrustStore(dir);
  for (const char* f : {"gcp/tdx/gcp-tdx-registration.json", "azure/snp/azure-snp-registration.json"}) {
    const Verdict v = Verify(Submission{testing::DecodeSeed(dir, f), testing::SeedSigning(), std::nullopt}, trust,
                             FromUnixSeconds(testing::kTdxAt));
    const Bytes blob = EncodeRegisteredEvidence({v.ak, v.tee});
    auto back = DecodeRegisteredEvidence(blob);
    ASSERT_TRUE(back.ok()) << back.error().ToString();
    EXPECT_EQ(back->ak, v.ak);
    ASSERT_TRUE(back->tee.has_value());
    EXPECT_EQ(back->tee->mrtd, v.tee->mrtd);
    EXPECT_EQ(back->tee->snp_measurement, v.tee->snp_measurement);
    EXPECT_EQ(back->tee->report_data, v.tee->report_data);
    EXPECT_EQ(back->tee->tcb_status, v.tee->tcb_status);
  }
  EXPECT_TRUE(DecodeRegisteredEvidence(EncodeRegisteredEvidence({})).ok());
}

TEST(RegisteredEvidence, ACorruptBlobIsAClearError) {
  Bytes blob = EncodeRegisteredEvidence({});
  EXPECT_FALSE(DecodeRegisteredEvidence(ByteView(blob.data(), blob.size() / 2)).ok());
  blob[31] = 9;  // version
  auto r = DecodeRegisteredEvidence(blob);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("version"), std::string::npos);
  EXPECT_FALSE(DecodeRegisteredEvidence(Bytes{}).ok());
}

}  // namespace
}  // namespace cvmwatch::verifier
