// Azure TDX end to end through Verify(), with synthetic vectors built to the spec (no real Azure
// TDX vector is available): a minted TDX quote whose REPORTDATA[0..32) is SHA-256 of an HCL
// runtime JSON carrying the AK as a JWK, a TPM quote signed by that AK binding the identity.
#include <gtest/gtest.h>

#include <openssl/core_names.h>

#include "cvmwatch/core/base64.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/tdx.h"
#include "cvmwatch/verifier/verifier.h"
#include "detail/openssl_util.h"
#include "tdx_mint.h"
#include "tpm_mint.h"

namespace cvmwatch::verifier {
namespace {

constexpr std::int64_t kAt = 1761350400;  // inside the minted collateral window

std::string B64Url(ByteView b) {
  std::string s = Base64Encode(b);
  for (auto& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

const testing::TdxMinter& Minter() {
  static const testing::TdxMinter* minter = new testing::TdxMinter();
  return *minter;
}

struct AzureTdxVector {
  registry::AttestCall call;
  TrustStore trust;
};

AzureTdxVector Build(bool bind_report_data = true, bool pcr15_zero = true) {
  static mint::Key ak = mint::NewRsa(2048);
  const auto numbers = detail::RsaNumbersOf(ak.get()).value();
  const std::string json = std::string(R"({"keys":[{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":")") +
                           B64Url(numbers.e) + R"(","n":")" + B64Url(numbers.n) +
                           R"("},{"kid":"HCLEkPub","key_ops":["encrypt"],"kty":"RSA","e":"AQAB","n":"AA"}],"vm-configuration":{}})";
  testing::TdxMintConfig cfg;
  const Hash32 h = Sha256(AsBytes(json));
  if (bind_report_data) std::copy(h.bytes.begin(), h.bytes.end(), cfg.report_data.bytes.begin());
  const testing::TdxMinted minted = Minter().Mint(cfg);

  AzureTdxVector v;
  v.call.generation = registry::Generation::kA1;
  v.call.cloud_type = 2;
  v.call.tee_type = 1;
  v.call.tee_report_type = 1;
  v.call.tee_report = minted.quote;
  v.call.identity.form = registry::IdentityForm::kPubkey;
  v.call.identity.sig_scheme = registry::kTpmAlgEcdsa;
  v.call.identity.curve = registry::kTpmEccNistP256;
  v.call.identity.hash_algo = registry::kTpmAlgSha256;
  v.call.identity.data = Bytes(64, 0x42);
  v.call.identity_hash = registry::IdentityHash(v.call.identity);
  // PCR 0 and 15; PCR15 zero (Azure TDX: no UUID, RTMR3 zero).
  registry::MeasurablePcr p0;
  p0.index = U256(0);
  p0.pcr.bytes.fill(0x10);
  p0.measure_pcr = true;
  registry::MeasurablePcr p15;
  p15.index = U256(15);
  if (!pcr15_zero) p15.pcr.bytes.fill(0x15);
  v.call.wc.pcrs = {p0, p15};
  mint::QuoteSpec q;
  q.extra_data = Concat({Bytes{0xff}, v.call.identity_hash.view()});
  q.pcr_select = {0x01, 0x80, 0x00};  // PCR 0 and 15
  const Hash32 digest = Sha256(Concat({p0.pcr.view(), p15.pcr.view()}));
  q.pcr_digest.assign(digest.bytes.begin(), digest.bytes.end());
  v.call.wc.tpm_quote = mint::MintQuote(q);
  v.call.wc.tpm_signature = mint::SignRsa(v.call.wc.tpm_quote, ak.get(), mint::DigestInfoForm::kExplicitNull);
  v.call.wc.ak_pub = Bytes(json.begin(), json.end());
  v.trust.intel_roots = {Minter().RootDer()};
  v.trust.tdx_collateral = testing::OneBundle(minted.collateral);
  return v;
}

Verdict VerifyVector(const AzureTdxVector& v) {
  return Verify(Submission{v.call, {}, std::nullopt}, v.trust, FromUnixSeconds(kAt));
}

TEST(AzureTdxVerify, ASpecConformantAzureTdxSubmissionVerifiesEndToEnd) {
  const AzureTdxVector v = Build();
  const Verdict verdict = VerifyVector(v);
  EXPECT_EQ(verdict.outcome, Outcome::kVerified) << verdict.Summary();
  EXPECT_EQ(verdict.Find(CheckId::kAkTrust)->state, CheckState::kPassed);
  EXPECT_EQ(verdict.Find(CheckId::kReportIdBinding)->state, CheckState::kPassed);
  ASSERT_TRUE(verdict.measurement_hash.has_value());
  ASSERT_TRUE(verdict.ak.has_value());
  EXPECT_EQ(verdict.ak->algo, registry::kTpmAlgRsa);
}

TEST(AzureTdxVerify, AReportDataThatDoesNotBindTheRuntimeJsonFailsAkTrust) {
  const Verdict verdict = VerifyVector(Build(/*bind_report_data=*/false));
  EXPECT_EQ(verdict.outcome, Outcome::kRejected);
  EXPECT_EQ(verdict.Find(CheckId::kAkTrust)->state, CheckState::kFailed);
  // Without a trusted AK the quote signature cannot be checked: reported, not passed.
  EXPECT_EQ(verdict.Find(CheckId::kTpmSignature)->state, CheckState::kNotChecked);
}

TEST(AzureTdxVerify, AnEditedRuntimeJsonOrANonZeroPcr15WithoutUuidIsRejected) {
  AzureTdxVector edited = Build();
  edited.call.wc.ak_pub.back() = ' ';
  EXPECT_EQ(VerifyVector(edited).Find(CheckId::kAkTrust)->state, CheckState::kFailed);
  const Verdict pcr15 = VerifyVector(Build(true, /*pcr15_zero=*/false));
  EXPECT_EQ(pcr15.Find(CheckId::kReportIdBinding)->state, CheckState::kFailed);
}

}  // namespace
}  // namespace cvmwatch::verifier
