// Intel TDX DCAP quotes: parsing, the signature chain, collateral and TCB status, on the real GCP
// quotes (shared testdata, GROUND-TRUTH.md §8) and on synthetic evidence from tdx_mint.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include <unistd.h>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/tdx.h"
#include "detail/tdx_x509.h"
#include "tdx_mint.h"
#include "testdata.h"

namespace cvmwatch::verifier {
namespace {

using testing::TdxMintConfig;
using testing::TdxMinted;
using testing::TdxMinter;
using testing::TdxMintLevel;

constexpr std::int64_t kAt = 1761350400;           // 2025-10-25T00:00:00Z
constexpr std::int64_t kWindowStart = 1760896130;  // 2025-10-19T17:48:50Z
constexpr std::int64_t kWindowEnd = 1762944332;    // 2025-11-12T10:45:32Z
constexpr std::size_t kRegQuoteOffset = 196;       // in the registration calldata

Bytes Hex(const std::string& s) { return HexToBytes(s).value(); }

const TdxMinter& Minter() {
  static const TdxMinter* minter = new TdxMinter();
  return *minter;
}

std::string Describe(const TdxVerification& v) {
  auto one = [](const char* n, const TdxStep& s) {
    return std::string(n) + "=" + (s.checked ? (s.ok ? "ok" : "FAIL") : "n/c") + " (" + s.reason +
           ")\n";
  };
  return one("parse", v.parse) + one("pck_chain", v.pck_chain) + one("qe_report", v.qe_report) +
         one("quote_signature", v.quote_signature) + one("collateral", v.collateral);
}

// ---------------------------------------------------------------------------------------------
// Real data: the two GCP quotes of GROUND-TRUTH §8 with the 2025-10 collateral.

struct RealQuote {
  const char* name;
  std::size_t length, l, s6, n, z;
  const char* mrtd;
  const char* rtmr3;
  const char* pck_serial;
  std::int64_t pck_not_before_day;  // unix seconds at 00:00 of the notBefore day
  std::int64_t pck_not_after_day;
};

const RealQuote kRealQuotes[] = {
    {"RegistrationQuote", 4935, 4299, 4165, 32, 3677,
     "c5bf87009d9aaeb2a40633710b2edab43c0b0b8cbe5a036fa45b1057e7086b0726711d0c78ed5859f12b0d76978df"
     "03c",
     "b78e255b23021f29b765467664eb09767265cdcfeff429bcbf60f930725c00282db621002c908fae98997917d1ffc"
     "9bc",
     "3ffcbae81ff9742523334e113a22ff5f927c4260", 1739750400 /* 2025-02-17 */,
     1960588800 /* 2032-02-17 */},
    {"GcpTdxQuoteBin", 4939, 4303, 4169, 32, 3681,
     "a5844e88897b70c318bef929ef4dfd6c7304c52c4bc9c3f39132f0fdccecf3eb5bab70110ee42a12509a31c037288"
     "694",
     "394c6b1900eca3012d6f14d0193742e7f0a7706449b4b170829bbd5755a1d70121e3c830f37fb7e3b314f25746419"
     "57e",
     "ec63e21365c15af0862f3d75476c7fc274cdfa77", 1738886400 /* 2025-02-07 */,
     1959724800 /* 2032-02-07 */},
};

class RealTdxQuote : public ::testing::TestWithParam<RealQuote> {
 protected:
  void SetUp() override {
    auto dir = cvmwatch::testing::TestdataDir();
    if (!dir) GTEST_SKIP() << "shared testdata not found: skipping real-data test";
    dir_ = *dir;
    if (std::string(GetParam().name) == "RegistrationQuote") {
      const Bytes calldata =
          cvmwatch::testing::ReadSeedCalldata(dir_ / "seed/gcp/tdx/gcp-tdx-registration.json");
      ASSERT_GE(calldata.size(), kRegQuoteOffset + 8000);
      quote_.assign(calldata.begin() + kRegQuoteOffset, calldata.begin() + kRegQuoteOffset + 8000);
    } else {
      quote_ = cvmwatch::testing::ReadBinary(dir_ / "tdx/gcp_tdx_quote.bin");
    }
    roots_ =
        TdxPemChainToDer(cvmwatch::testing::ReadText(dir_ / "tdx/intel_sgx_root_ca.pem")).value();
    source_ = std::make_shared<DirectoryTdxCollateralSource>((dir_ / "tdx").string());
  }

  TdxVerification VerifyAt(std::int64_t t) const {
    return VerifyTdxQuote(quote_, roots_, source_.get(), FromUnixSeconds(t));
  }

  std::filesystem::path dir_;
  Bytes quote_;
  std::vector<Bytes> roots_;
  std::shared_ptr<const DirectoryTdxCollateralSource> source_;
};

TEST_P(RealTdxQuote, VerifiesUpToDateWithAllSignaturesValidInsideTheCollateralWindow) {
  const TdxVerification v = VerifyAt(kAt);
  EXPECT_TRUE(v.ok()) << Describe(v);
  EXPECT_EQ(v.tcb_status.value_or("-"), "UpToDate");
  EXPECT_EQ(v.platform_status.value_or("-"), "UpToDate");
  EXPECT_EQ(v.module_status.value_or("-"), "UpToDate");
  EXPECT_EQ(v.qe_status.value_or("-"), "UpToDate");
  EXPECT_TRUE(v.advisory_ids.empty());
  EXPECT_NE(v.pck_chain.reason.find("not revoked"), std::string::npos) << v.pck_chain.reason;
}

TEST_P(RealTdxQuote, FailsAsCollateralExpiredAfterTheWindow) {
  for (std::int64_t t : {kWindowEnd + 1, std::int64_t{1762990000}, std::int64_t{1767225600}}) {
    const TdxVerification v = VerifyAt(t);
    EXPECT_FALSE(v.ok());
    EXPECT_TRUE(v.collateral.checked);
    EXPECT_FALSE(v.collateral.ok);
    EXPECT_NE(v.collateral.reason.find("collateral expired"), std::string::npos)
        << v.collateral.reason;
    EXPECT_FALSE(v.tcb_status.has_value());
    // The signatures themselves are still good.
    EXPECT_TRUE(v.quote_signature.ok && v.qe_report.ok && v.pck_chain.ok) << Describe(v);
  }
}

TEST_P(RealTdxQuote, FailsAsCollateralNotYetValidBeforeTheWindow) {
  const TdxVerification v = VerifyAt(kWindowStart - 1);
  EXPECT_FALSE(v.ok());
  EXPECT_FALSE(v.collateral.ok);
  EXPECT_NE(v.collateral.reason.find("collateral not yet valid: TCB info issueDate"),
            std::string::npos)
      << v.collateral.reason;
  EXPECT_TRUE(VerifyAt(kWindowStart).ok());
  EXPECT_TRUE(VerifyAt(kWindowEnd).ok());
}

TEST_P(RealTdxQuote, ParsesToTheGroundTruthValues) {
  const RealQuote& gt = GetParam();
  auto q = ParseTdxQuote(quote_);
  ASSERT_TRUE(q.ok()) << q.error().ToString();
  EXPECT_EQ(q->quote_length, gt.length);
  EXPECT_EQ(q->signature_data_length, gt.l);
  EXPECT_EQ(q->outer_certification_size, gt.s6);
  EXPECT_EQ(q->qe_auth_data.size(), gt.n);
  EXPECT_EQ(q->certification_data.size(), gt.z);
  EXPECT_EQ(q->mrtd.ToHex(false), gt.mrtd);
  EXPECT_EQ(q->rtmr3.ToHex(false), gt.rtmr3);
  // Common to both (GROUND-TRUTH §8).
  EXPECT_EQ(q->version, 4);
  EXPECT_EQ(q->attestation_key_type, 2);
  EXPECT_EQ(q->tee_type, 0x81u);
  EXPECT_EQ(q->qe_svn, 0);
  EXPECT_EQ(q->pce_svn, 0);
  EXPECT_TRUE(q->user_data.IsZero());
  EXPECT_EQ(q->body_type, TdxBodyType::kTd10);
  EXPECT_EQ(q->signed_length, 632u);
  EXPECT_EQ(q->tee_tcb_svn.ToHex(false), "08010800000000000000000000000000");
  EXPECT_EQ(q->mrseam.ToHex(false),
            "bfb360ac8e6233a1bca1433caf7382d95c165b4a77fb00bf1435e5a08f300cdfead5ee68461afd9b6c72"
            "8dce7534602d");
  EXPECT_TRUE(q->mrsignerseam.IsZero());
  EXPECT_TRUE(q->seam_attributes.IsZero());
  EXPECT_EQ(q->td_attributes.ToHex(false), "0000001000000000");
  EXPECT_EQ(q->xfam.ToHex(false), "e700060000000000");
  EXPECT_TRUE(q->report_data.IsZero());
  EXPECT_EQ(q->qe_report.mrsigner.ToHex(false),
            "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  EXPECT_EQ(q->qe_report.isv_prod_id, 2);
  EXPECT_EQ(q->qe_report.isv_svn, 6);
  EXPECT_EQ(q->qe_auth_data, Bytes(32, 0));
  EXPECT_TRUE(CheckTdxTdAttributes(*q).ok());

  const TdxVerification v = VerifyAt(kAt);
  ASSERT_TRUE(v.pck.has_value());
  EXPECT_EQ(ToHex(v.pck_leaf_serial, false), gt.pck_serial);
  EXPECT_EQ(v.pck->fmspc.ToHex(false), "00806f050000");
  EXPECT_EQ(v.pck->pce_id.ToHex(false), "0000");
  EXPECT_EQ(v.pck->pce_svn, 11);
  const std::array<std::uint8_t, 16> comps = {8, 8, 2, 2, 4, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(v.pck->tcb_components, comps);

  // The leaf's validity, from the certificate itself.
  auto ders = TdxPemChainToDer(std::string_view(
      reinterpret_cast<const char*>(q->certification_data.data()), q->certification_data.size()));
  ASSERT_TRUE(ders.ok());
  ASSERT_EQ(ders->size(), 3u);
  auto leaf = tdx_detail::ParseDerCert((*ders)[0]);
  ASSERT_TRUE(leaf.ok()) << leaf.error().ToString();
  const auto day = [](TimePoint t) {
    return ToUnixSeconds(std::chrono::floor<std::chrono::days>(t));
  };
  EXPECT_EQ(day((*leaf)->not_before), gt.pck_not_before_day);
  EXPECT_EQ(day((*leaf)->not_after), gt.pck_not_after_day);
  EXPECT_EQ((*leaf)->subject_cn, "Intel SGX PCK Certificate");
  auto root = tdx_detail::ParseDerCert((*ders)[2]);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Sha256((*ders)[2]).ToHex(false),
            "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
  EXPECT_EQ((*root)->public_key.ToHex(false),
            "0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5"
            "67918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394");
}

TEST_P(RealTdxQuote, ReportsTcbStatusNotEvaluatedWithoutCollateral) {
  const TdxVerification v = VerifyTdxQuote(quote_, roots_, nullptr, FromUnixSeconds(kAt));
  EXPECT_FALSE(v.ok());
  EXPECT_FALSE(v.collateral.checked);
  EXPECT_NE(v.collateral.reason.find("TCB status not evaluated"), std::string::npos);
  EXPECT_TRUE(v.quote_signature.ok && v.qe_report.ok && v.pck_chain.ok) << Describe(v);
  EXPECT_NE(v.pck_chain.reason.find("revocation not checked"), std::string::npos);
}

TEST_P(RealTdxQuote, RejectsAFlippedByteOfTheSignedRegionAndOfTheQeReport) {
  Bytes tampered = quote_;
  tampered[568] ^= 0x01;  // REPORTDATA
  TdxVerification v = VerifyTdxQuote(tampered, roots_, source_.get(), FromUnixSeconds(kAt));
  EXPECT_FALSE(v.quote_signature.ok);
  EXPECT_TRUE(v.qe_report.ok && v.pck_chain.ok && v.collateral.ok) << Describe(v);

  tampered = quote_;
  tampered[770 + 100] ^= 0x01;  // QE report reserved bytes
  v = VerifyTdxQuote(tampered, roots_, source_.get(), FromUnixSeconds(kAt));
  EXPECT_FALSE(v.qe_report.ok);
  EXPECT_NE(v.qe_report.reason.find("QE report signature is invalid"), std::string::npos);
  EXPECT_TRUE(v.quote_signature.ok && v.pck_chain.ok) << Describe(v);
}

INSTANTIATE_TEST_SUITE_P(GroundTruth, RealTdxQuote, ::testing::ValuesIn(kRealQuotes),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RealTdxCollateral, ParsesTheBundleAndIsFoundByFmspcAndPceId) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  auto c = LoadTdxCollateralFile((dir / "tdx/collateral_00806F050000_2510.json").string());
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->tcb_info.id, "TDX");
  EXPECT_EQ(c->tcb_info.version, 3u);
  EXPECT_EQ(c->tcb_info.tcb_evaluation_data_number, 17u);
  EXPECT_EQ(c->tcb_info.fmspc.ToHex(false), "00806f050000");
  EXPECT_EQ(FormatTdxTime(c->tcb_info.issue_date), "2025-10-19T17:48:50Z");
  EXPECT_EQ(c->tcb_info.levels.size(), 4u);
  EXPECT_EQ(c->tcb_info.tdx_module_identities.size(), 2u);
  EXPECT_EQ(c->qe_identity.id, "TD_QE");
  EXPECT_EQ(c->qe_identity.version, 2u);
  EXPECT_EQ(c->qe_identity.isv_prod_id, 2);
  EXPECT_EQ(c->tcb_info_issuer_chain_der.size(), 2u);
  EXPECT_EQ(c->pck_crl_issuer_chain_der.size(), 2u);
  auto crl = tdx_detail::ParseDerCrl(c->pck_crl);
  ASSERT_TRUE(crl.ok()) << crl.error().ToString();
  EXPECT_EQ(FormatTdxTime(*(*crl)->next_update), "2025-11-12T10:45:32Z");
  EXPECT_TRUE((*crl)->IsRevoked(Hex("6fc34e5023e728923435d61aa4b83c618166ad35")));

  const DirectoryTdxCollateralSource source((dir / "tdx").string());
  EXPECT_EQ(source.size(), 1u);
  EXPECT_TRUE(source.load_errors().empty());
  EXPECT_TRUE(source.Find(c->tcb_info.fmspc, c->tcb_info.pce_id).has_value());
  EXPECT_FALSE(source.Find(FixedBytes<6>::FromHex("00906ed50000").value(), c->tcb_info.pce_id));
  EXPECT_FALSE(source.Find(c->tcb_info.fmspc, FixedBytes<2>::FromHex("0001").value()));
}

TEST(RealTdxQuoteParse, ToleratesPaddingAndRejectsEveryTruncation) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const Bytes quote = cvmwatch::testing::ReadBinary(dir / "tdx/gcp_tdx_quote.bin");
  Bytes padded = quote;
  padded.resize(8000, 0);
  auto p = ParseTdxQuote(padded);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->quote_length, quote.size());
  for (std::size_t n = 0; n < quote.size(); n += 7) {
    auto t = ParseTdxQuote(ByteView(quote.data(), n));
    ASSERT_FALSE(t.ok()) << n;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidLength) << n << ": " << t.error().ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// Synthetic evidence: positives.

TdxVerification VerifyMinted(const TdxMinted& m, std::int64_t at = kAt) {
  const InMemoryTdxCollateralSource source({m.collateral});
  return VerifyTdxQuote(m.quote, {Minter().RootDer()}, &source, FromUnixSeconds(at));
}

struct MintedShape {
  const char* name;
  std::uint16_t version;
  TdxBodyType body;
  std::size_t pad_to;
  std::size_t signed_length;
};

class MintedTdxQuote : public ::testing::TestWithParam<MintedShape> {};

TEST_P(MintedTdxQuote, VerifiesUpToDateAndSignsTheWholeSignedRegion) {
  const MintedShape& s = GetParam();
  TdxMintConfig cfg;
  cfg.version = s.version;
  cfg.body_type = s.body;
  cfg.pad_to = s.pad_to;
  const TdxMinted m = Minter().Mint(cfg);
  const TdxVerification v = VerifyMinted(m);
  ASSERT_TRUE(v.ok()) << Describe(v);
  EXPECT_EQ(v.tcb_status.value_or("-"), "UpToDate");
  ASSERT_TRUE(v.quote);
  EXPECT_EQ(v.quote->signed_length, s.signed_length);
  EXPECT_EQ(v.quote->body_type, s.body);
  EXPECT_EQ(v.quote->mrtd, cfg.mrtd);
  // Every byte of the signed region is covered, including v5's type and size.
  for (std::size_t i :
       {std::size_t{0}, std::size_t{47}, std::size_t{48}, std::size_t{53}, s.signed_length - 1}) {
    Bytes t = m.quote;
    t[i] ^= 0x80;
    const InMemoryTdxCollateralSource source({m.collateral});
    const TdxVerification tv =
        VerifyTdxQuote(t, {Minter().RootDer()}, &source, FromUnixSeconds(kAt));
    EXPECT_FALSE(tv.ok()) << "byte " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MintedTdxQuote,
                         ::testing::Values(MintedShape{"V4Td10", 4, TdxBodyType::kTd10, 0, 632},
                                           MintedShape{"V4Td10PaddedTo8000", 4, TdxBodyType::kTd10,
                                                       8000, 632},
                                           MintedShape{"V5Td10", 5, TdxBodyType::kTd10, 0, 638},
                                           MintedShape{"V5Td15", 5, TdxBodyType::kTd15, 0, 702}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Synthetic evidence: every check fails in isolation.

enum class Step { kParse, kPckChain, kQeReport, kQuoteSignature, kCollateral };

struct Scenario {
  TdxMinted minted;
  Bytes quote;
  std::vector<Bytes> roots;
  std::shared_ptr<const TdxCollateralSource> source;
  std::int64_t at = kAt;
};

void PutLe32(Bytes& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

struct Tamper {
  const char* name;
  std::function<void(TdxMintConfig&)> configure;
  std::function<void(Scenario&)> mutate;
  Step step;
  const char* reason;
  bool isolated;  // every other step passes
};

void NoConfig(TdxMintConfig&) {}
void NoMutation(Scenario&) {}

// A character of the leaf certificate's PEM text near its end (inside the signature value).
void ChangeLeafSignatureCharacter(Scenario& s) {
  const std::string_view pem(reinterpret_cast<const char*>(s.quote.data() + s.minted.pem_offset),
                             s.minted.pem_size);
  const std::size_t end = pem.find("-----END CERTIFICATE-----");
  std::size_t pos = end - 8;
  while (pem[pos] == '\n' || pem[pos] == '=') --pos;
  char& c = reinterpret_cast<char&>(s.quote[s.minted.pem_offset + pos]);
  c = c == 'A' ? 'B' : 'A';
}

void ChangeLeafBodyCharacter(Scenario& s) {
  char& c = reinterpret_cast<char&>(s.quote[s.minted.pem_offset + 28 + 65 * 6 + 10]);
  c = c == 'Q' ? 'R' : 'Q';
}

void EditCollateral(Scenario& s, const std::function<void(TdxCollateral&)>& edit) {
  TdxCollateral c = s.minted.collateral;
  edit(c);
  s.source = testing::OneBundle(c);
}

const Tamper kTampers[] = {
    {"SignedRegionByteFlipped", NoConfig, [](Scenario& s) { s.quote[100] ^= 1; },
     Step::kQuoteSignature, "quote signature over the signed region", true},
    {"QeReportByteFlipped", NoConfig,
     [](Scenario& s) { s.quote[s.minted.qe_report_offset + 30] ^= 1; }, Step::kQeReport,
     "QE report signature is invalid", true},
    {"QeAuthDataNotBound", NoConfig,
     [](Scenario& s) { s.quote[s.minted.qe_auth_size_offset + 2] ^= 1; }, Step::kQeReport,
     "!= SHA-256(attestation key || QE auth data)", true},
    {"QeReportDataUpperHalfNotZero", [](TdxMintConfig& c) { c.qe_auth_data = Bytes(32, 7); },
     [](Scenario& s) {
       // REPORTDATA[32..64) lies after the binding; the QE signature then fails too.
       s.quote[s.minted.qe_report_offset + 320 + 40] ^= 1;
     },
     Step::kQeReport, "QE REPORTDATA[32..64) is not zero", false},
    {"PemSignatureCharacterChanged", NoConfig, ChangeLeafSignatureCharacter, Step::kPckChain,
     "PCK leaf certificate: signature is not by Test SGX PCK Platform CA", true},
    {"PemBodyCharacterChanged", NoConfig, ChangeLeafBodyCharacter, Step::kPckChain, "PCK", false},
    {"WrongRoot", NoConfig, [](Scenario& s) { s.roots = {Minter().LookAlikeRootDer()}; },
     Step::kPckChain, "does not carry a pinned Intel SGX Root CA key", false},
    {"NoRootAtAll", NoConfig, [](Scenario& s) { s.roots.clear(); }, Step::kPckChain,
     "does not carry a pinned Intel SGX Root CA key", false},
    {"TimeOutsideEveryWindow", NoConfig,
     [](Scenario& s) {
       s.at = 2840140800; /* 2060 */
     },
     Step::kCollateral, "collateral expired", false},
    {"TimeOutsideEveryWindowExpiresTheChain", NoConfig, [](Scenario& s) { s.at = 2840140800; },
     Step::kPckChain, "PCK leaf certificate expired", false},
    {"PckLeafNotYetValid", [](TdxMintConfig& c) { c.cert_not_before = FromUnixSeconds(kAt + 1); },
     NoMutation, Step::kPckChain, "PCK leaf certificate not yet valid", true},
    {"CollateralForAnotherFmspc",
     [](TdxMintConfig& c) { c.collateral_fmspc = TdxMintConfig::Fixed<6>("00906ed50000"); },
     [](Scenario& s) { s.source = testing::OneBundle(s.minted.collateral); }, Step::kCollateral,
     "TCB info is for FMSPC 00906ed50000", true},
    {"TruncatedBeforeTheSignatureData", NoConfig, [](Scenario& s) { s.quote.resize(600); },
     Step::kParse, "TDX quote truncated: REPORTDATA", false},
    {"TruncatedInsideTheSignatureData", NoConfig,
     [](Scenario& s) { s.quote.resize(s.quote.size() - 1); }, Step::kParse, "signature data length",
     false},
    {"SignatureDataLengthBeyondTheBuffer", NoConfig,
     [](Scenario& s) { PutLe32(s.quote, s.minted.signed_length, 0xfffffff0u); }, Step::kParse,
     "signature data length 4294967280 beyond the quote", false},
    {"QeAuthDataSizeBeyondTheBuffer", NoConfig,
     [](Scenario& s) {
       s.quote[s.minted.qe_auth_size_offset] = 0xff;
       s.quote[s.minted.qe_auth_size_offset + 1] = 0xff;
     },
     Step::kParse, "QE auth data size 65535 beyond", false},
    {"PckChainSizeBeyondTheBuffer", NoConfig,
     [](Scenario& s) { PutLe32(s.quote, s.minted.pck_chain_size_offset, 0x7fffffffu); },
     Step::kParse, "PCK chain size 2147483647 beyond", false},
    {"CertificationDataSizeInconsistent", NoConfig,
     [](Scenario& s) {
       const std::size_t off = s.minted.signed_length + 4 + 130;
       PutLe32(s.quote, off,
               static_cast<std::uint32_t>(s.quote[off] | (s.quote[off + 1] << 8)) - 1);
     },
     Step::kParse, "beyond the certification data", false},
    {"NotATdxQuote", [](TdxMintConfig& c) { c.tee_type = 0; }, NoMutation, Step::kParse,
     "is not TDX", false},
    {"UnsupportedVersion", NoConfig, [](Scenario& s) { s.quote[0] = 3; }, Step::kParse,
     "unsupported TDX quote version 3", false},
    {"RevokedPckLeaf", [](TdxMintConfig& c) { c.revoke_leaf = true; }, NoMutation, Step::kPckChain,
     "is revoked by the PCK CRL", true},
    {"RevokedPckCa", [](TdxMintConfig& c) { c.revoke_ca = true; }, NoMutation, Step::kPckChain,
     "is revoked by the root CA CRL", true},
    {"TcbInfoSignatureFlipped", NoConfig,
     [](Scenario& s) {
       EditCollateral(s, [](TdxCollateral& c) { c.tcb_info_signature.bytes[5] ^= 1; });
     },
     Step::kCollateral, "TCB info signature is invalid", true},
    {"TcbInfoTextEdited", NoConfig,
     [](Scenario& s) {
       EditCollateral(s, [](TdxCollateral& c) {
         c.tcb_info_json.replace(c.tcb_info_json.find("\"tcbEvaluationDataNumber\":17"), 28,
                                 "\"tcbEvaluationDataNumber\":18");
         c.tcb_info_digest = Sha256(AsBytes(c.tcb_info_json));
       });
     },
     Step::kCollateral, "TCB info signature is invalid", true},
    {"QeIdentitySignatureFlipped", NoConfig,
     [](Scenario& s) {
       EditCollateral(s, [](TdxCollateral& c) { c.qe_identity_signature.bytes[40] ^= 1; });
     },
     Step::kCollateral, "QE identity signature is invalid", true},
    {"TcbInfoSignedByAnUnknownKey", NoConfig,
     [](Scenario& s) {
       EditCollateral(s, [](TdxCollateral& c) {
         c.tcb_info_issuer_chain_der = {Minter().LookAlikeRootDer()};
       });
     },
     Step::kCollateral, "TCB signing certificate (Test SGX Root CA)", true},
    {"PckCrlFromAnotherIssuer", NoConfig,
     [](Scenario& s) { EditCollateral(s, [](TdxCollateral& c) { c.pck_crl = c.root_ca_crl; }); },
     Step::kCollateral, "PCK CRL: issuer name is not Test SGX PCK Platform CA", true},
    {"QeMrsignerMismatch", [](TdxMintConfig& c) { c.qe_mrsigner.bytes[0] ^= 1; }, NoMutation,
     Step::kCollateral, "QE MRSIGNER", true},
    {"QeIsvsvnBelowEveryLevel", [](TdxMintConfig& c) { c.qe_isv_svn = 3; }, NoMutation,
     Step::kCollateral, "QE ISVSVN 3 is below every TD QE identity level", true},
    {"QeRevoked", [](TdxMintConfig& c) { c.qe_status = "Revoked"; }, NoMutation, Step::kCollateral,
     "TCB status Revoked", true},
    {"PlatformBelowEveryLevel",
     [](TdxMintConfig& c) {
       TdxMintLevel l;
       l.sgx = c.pck_tcb;
       l.pce_svn = 12;
       c.levels = std::vector<TdxMintLevel>{l};
     },
     NoMutation, Step::kCollateral, "no TCB level matches the PCK's SGX components", true},
    {"TeeTcbSvnBelowEveryLevel",
     [](TdxMintConfig& c) {
       TdxMintLevel l;
       l.sgx = c.pck_tcb;
       l.pce_svn = 11;
       l.tdx = {9, 1, 8};
       c.levels = std::vector<TdxMintLevel>{l};
     },
     NoMutation, Step::kCollateral, "no TCB level matches TEE_TCB_SVN", true},
    {"UnknownTdxModuleVersion",
     [](TdxMintConfig& c) {
       c.tee_tcb_svn = TdxMintConfig::Fixed<16>("08020800000000000000000000000000");
     },
     NoMutation, Step::kCollateral, "no TDX module identity TDX_02", true},
    {"TdxModuleSignerMismatch", [](TdxMintConfig& c) { c.mrsignerseam.bytes[0] = 1; }, NoMutation,
     Step::kCollateral, "MRSIGNERSEAM", true},
    {"TdxModuleBelowEveryLevel",
     [](TdxMintConfig& c) {
       c.module_isv_svn = 9;
       c.tee_tcb_svn = TdxMintConfig::Fixed<16>("08010800000000000000000000000000");
     },
     [](Scenario& s) {
       EditCollateral(s, [](TdxCollateral& c) {
         for (auto& m : c.tcb_info.tdx_module_identities) {
           if (m.id == "TDX_01") m.levels.resize(1);
         }
       });
     },
     Step::kCollateral, "TDX module ISVSVN 8 is below every TDX_01 level", true},
    {"CollateralWindowNotYetOpen", NoConfig, [](Scenario& s) { s.at = kWindowStart - 60; },
     Step::kCollateral, "collateral not yet valid", true},
    {"NoCollateralSource", NoConfig, [](Scenario& s) { s.source = nullptr; }, Step::kCollateral,
     "TCB status not evaluated: no collateral source", true},
    {"NoCollateralForThePlatform", NoConfig,
     [](Scenario& s) {
       TdxMintConfig other;
       other.fmspc = TdxMintConfig::Fixed<6>("00906ed50000");
       s.source = std::make_shared<InMemoryTdxCollateralSource>(
           std::vector<TdxCollateral>{Minter().Mint(other).collateral});
     },
     Step::kCollateral, "TCB status not evaluated: no collateral for FMSPC 00806f050000", true},
};

class TdxTamperTable : public ::testing::TestWithParam<Tamper> {};

const TdxStep& StepOf(const TdxVerification& v, Step s) {
  switch (s) {
    case Step::kParse:
      return v.parse;
    case Step::kPckChain:
      return v.pck_chain;
    case Step::kQeReport:
      return v.qe_report;
    case Step::kQuoteSignature:
      return v.quote_signature;
    case Step::kCollateral:
      return v.collateral;
  }
  return v.parse;
}

TEST_P(TdxTamperTable, FailsTheCheckThatEnforcesTheRule) {
  const Tamper& t = GetParam();
  TdxMintConfig cfg;
  t.configure(cfg);
  Scenario s;
  s.minted = Minter().Mint(cfg);
  s.quote = s.minted.quote;
  s.roots = {Minter().RootDer()};
  s.source = std::make_shared<InMemoryTdxCollateralSource>(
      std::vector<TdxCollateral>{s.minted.collateral});
  t.mutate(s);
  const TdxVerification v = VerifyTdxQuote(s.quote, s.roots, s.source.get(), FromUnixSeconds(s.at));
  EXPECT_FALSE(v.ok()) << Describe(v);
  const TdxStep& step = StepOf(v, t.step);
  EXPECT_FALSE(step.ok) << Describe(v);
  EXPECT_NE(step.reason.find(t.reason), std::string::npos)
      << "expected \"" << t.reason << "\" in:\n"
      << Describe(v);
  if (t.isolated) {
    for (Step other : {Step::kParse, Step::kPckChain, Step::kQeReport, Step::kQuoteSignature,
                       Step::kCollateral}) {
      if (other == t.step) continue;
      EXPECT_TRUE(StepOf(v, other).ok) << "not isolated:\n" << Describe(v);
    }
  }
  if (t.step == Step::kParse) {
    EXPECT_FALSE(v.quote.has_value());
    EXPECT_FALSE(v.collateral.checked);
  }
}

INSTANTIATE_TEST_SUITE_P(Synthetic, TdxTamperTable, ::testing::ValuesIn(kTampers),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// TCB status rules.

struct StatusCase {
  const char* name;
  std::function<void(TdxMintConfig&)> configure;
  const char* status;
  std::vector<std::string> advisories;
};

const StatusCase kStatusCases[] = {
    {"EverythingCurrentIsUpToDate", NoConfig, "UpToDate", {}},
    {"AnOlderPlatformTakesTheLowerLevelAndItsAdvisories",
     [](TdxMintConfig& c) {
       TdxMintLevel newest;
       newest.sgx = c.pck_tcb;
       newest.pce_svn = 11;
       std::copy(c.tee_tcb_svn.bytes.begin(), c.tee_tcb_svn.bytes.end(), newest.tdx.begin());
       TdxMintLevel old;
       old.status = "OutOfDate";
       old.advisory_ids = {"INTEL-SA-00001"};
       c.levels = std::vector<TdxMintLevel>{newest, old};
       c.pck_tcb[1] = 7;
     },
     "OutOfDate",
     {"INTEL-SA-00001"}},
    {"SwHardeningNeededIsReportedWithItsAdvisories",
     [](TdxMintConfig& c) {
       TdxMintLevel l;
       l.sgx = c.pck_tcb;
       l.pce_svn = 11;
       std::copy(c.tee_tcb_svn.bytes.begin(), c.tee_tcb_svn.bytes.end(), l.tdx.begin());
       l.status = "SWHardeningNeeded";
       l.advisory_ids = {"INTEL-SA-00615", "INTEL-SA-00657"};
       c.levels = std::vector<TdxMintLevel>{l};
     },
     "SWHardeningNeeded",
     {"INTEL-SA-00615", "INTEL-SA-00657"}},
    {"AnOutOfDateModuleDegradesUpToDate",
     [](TdxMintConfig& c) { c.module_status = "OutOfDate"; },
     "OutOfDate",
     {}},
    {"AnOutOfDateModuleDegradesConfigurationNeeded",
     [](TdxMintConfig& c) {
       c.module_status = "OutOfDate";
       TdxMintLevel l;
       l.sgx = c.pck_tcb;
       l.pce_svn = 11;
       std::copy(c.tee_tcb_svn.bytes.begin(), c.tee_tcb_svn.bytes.end(), l.tdx.begin());
       l.status = "ConfigurationNeeded";
       c.levels = std::vector<TdxMintLevel>{l};
     },
     "OutOfDateConfigurationNeeded",
     {}},
    {"AnOutOfDateQeDegradesUpToDate",
     [](TdxMintConfig& c) {
       c.qe_status = "OutOfDate";
       c.qe_advisory_ids = {"INTEL-SA-00999"};
     },
     "OutOfDate",
     {"INTEL-SA-00999"}},
    {"ATd15QuoteThatCanReachTheNewestLevelIsAdvisedToRelaunch",
     [](TdxMintConfig& c) {
       c.version = 5;
       c.body_type = TdxBodyType::kTd15;
       c.tee_tcb_svn2 = TdxMintConfig::Fixed<16>("09000900000000000000000000000000");
       TdxMintLevel newest;
       newest.sgx = c.pck_tcb;
       newest.pce_svn = 11;
       newest.tdx = {9, 1, 9};
       TdxMintLevel older = newest;
       older.tdx = {8, 1, 8};
       older.status = "OutOfDate";
       c.levels = std::vector<TdxMintLevel>{newest, older};
     },
     "TDRelaunchAdvised",
     {}},
    {"ATd10QuoteBelowTheNewestLevelIsOutOfDate",
     [](TdxMintConfig& c) {
       TdxMintLevel newest;
       newest.sgx = c.pck_tcb;
       newest.pce_svn = 11;
       newest.tdx = {9, 1, 9};
       TdxMintLevel older = newest;
       older.tdx = {8, 1, 8};
       older.status = "OutOfDate";
       c.levels = std::vector<TdxMintLevel>{newest, older};
     },
     "OutOfDate",
     {}},
};

class TdxStatusTable : public ::testing::TestWithParam<StatusCase> {};

TEST_P(TdxStatusTable, DerivesIntelsTcbStatus) {
  const StatusCase& c = GetParam();
  TdxMintConfig cfg;
  c.configure(cfg);
  const TdxVerification v = VerifyMinted(Minter().Mint(cfg));
  EXPECT_TRUE(v.ok()) << Describe(v);
  EXPECT_EQ(v.tcb_status.value_or("-"), c.status) << Describe(v);
  EXPECT_EQ(v.advisory_ids, c.advisories);
}

INSTANTIATE_TEST_SUITE_P(Synthetic, TdxStatusTable, ::testing::ValuesIn(kStatusCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TdxTcbStatus, NamesRoundTripAndUnknownNamesAreRejected) {
  for (int i = 0; i <= 9; ++i) {
    const auto s = static_cast<TdxTcbStatus>(i);
    if (s == TdxTcbStatus::kUnrecognized) continue;
    EXPECT_EQ(ParseTdxTcbStatus(TdxTcbStatusName(s)), s);
  }
  EXPECT_FALSE(ParseTdxTcbStatus("uptodate"));
  EXPECT_FALSE(ParseTdxTcbStatus("Unrecognized"));
}

// ---------------------------------------------------------------------------------------------
// Azure TDX binding and TD attributes policy.

TEST(AzureTdx, ReportDataBindsTheSha256OfTheRuntimeJson) {
  const std::string runtime = R"({"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"xyz"}]})";
  TdxMintConfig cfg;
  const Hash32 h = Sha256(AsBytes(runtime));
  std::copy(h.bytes.begin(), h.bytes.end(), cfg.report_data.bytes.begin());
  cfg.tee_tcb_svn = TdxMintConfig::Fixed<16>("07010300000000000000000000000000");
  const TdxMinted m = Minter().Mint(cfg);
  const TdxVerification v = VerifyMinted(m);
  ASSERT_TRUE(v.ok()) << Describe(v);
  EXPECT_TRUE(CheckTdxReportDataBindsSha256(*v.quote, AsBytes(runtime)).ok());
  auto wrong = CheckTdxReportDataBindsSha256(*v.quote, AsBytes(runtime + " "));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("REPORTDATA[0..32)"), std::string::npos);
  TdxQuote upper = *v.quote;
  upper.report_data.bytes[40] = 1;
  auto u = CheckTdxReportDataBindsSha256(upper, AsBytes(runtime));
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().message.find("[32..64)"), std::string::npos);
  const TeeFacts f = TdxTeeFacts(*v.quote, v.tcb_status);
  EXPECT_EQ(f.tee_type, 1);
  EXPECT_EQ(f.report_data, v.quote->report_data);
  EXPECT_EQ(f.mrtd, cfg.mrtd);
  EXPECT_EQ(f.tcb_status.value_or("-"), "UpToDate");
}

struct AttributesCase {
  const char* hex;
  bool ok;
  const char* reason;
};

class TdAttributesTable : public ::testing::TestWithParam<AttributesCase> {};

TEST_P(TdAttributesTable, EnforcesDebugOffSeptVeDisableAndReservedBitsZero) {
  TdxQuote q;
  q.td_attributes = FixedBytes<8>::FromHex(GetParam().hex).value();
  const Status s = CheckTdxTdAttributes(q);
  EXPECT_EQ(s.ok(), GetParam().ok) << GetParam().hex;
  if (!s.ok()) {
    EXPECT_NE(s.error().message.find(GetParam().reason), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, TdAttributesTable,
                         ::testing::Values(AttributesCase{"0000001000000000", true, ""},
                                           AttributesCase{"0000001000000080", true, ""},  // PERFMON
                                           AttributesCase{"0000005000000000", true, ""},  // PKS
                                           AttributesCase{"0000009000000000", true, ""},  // KL
                                           AttributesCase{"0100001000000000", false, "TUD"},
                                           AttributesCase{"0000000000000000", false,
                                                          "SEPT_VE_DISABLE"},
                                           AttributesCase{"0000003000000000", false, "reserved"},
                                           AttributesCase{"0001001000000000", false, "reserved"},
                                           AttributesCase{"0000001001000000", false, "reserved"}));

// ---------------------------------------------------------------------------------------------
// Collateral JSON and small parsers.

TEST(TdxCollateralJson, RejectsMalformedBundlesWithTheFieldName) {
  const TdxMinted m = Minter().Mint();
  ASSERT_TRUE(ParseTdxCollateralJson(m.collateral_json).ok());
  struct Case {
    std::string json;
    const char* needle;
  };
  const Case cases[] = {
      {"", "collateral"},
      {"[]", "not a JSON object"},
      {"{}", "missing member \"tcb_info\""},
      {R"({"tcb_info": 5})", "\"tcb_info\" is not a string"},
      {m.collateral_json.substr(0, m.collateral_json.size() / 2), "collateral"},
  };
  for (const auto& c : cases) {
    auto r = ParseTdxCollateralJson(c.json);
    ASSERT_FALSE(r.ok()) << c.json.substr(0, 40);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().ToString();
  }
  auto bad_sig = ParseTdxCollateralJson(
      std::string(m.collateral_json)
          .replace(m.collateral_json.find("\"tcb_info_signature\":\"") + 22, 2, "zz"));
  ASSERT_FALSE(bad_sig.ok());
  EXPECT_EQ(bad_sig.error().code, ErrorCode::kInvalidHex);
}

TEST(TdxCollateralJson, RejectsTcbInfoOfTheWrongKindOrShape) {
  EXPECT_EQ(ParseTdxTcbInfoJson(R"({"id":"SGX","version":3})").error().code,
            ErrorCode::kPrecondition);
  EXPECT_EQ(ParseTdxTcbInfoJson(R"({"id":"TDX","version":2})").error().code,
            ErrorCode::kPrecondition);
  EXPECT_EQ(ParseTdxQeIdentityJson(R"({"id":"QE","version":2})").error().code,
            ErrorCode::kPrecondition);
  const TdxMinted m = Minter().Mint();
  std::string t = m.collateral.tcb_info_json;
  EXPECT_TRUE(ParseTdxTcbInfoJson(t).ok());
  std::string bad_status = t;
  bad_status.replace(bad_status.find("\"tcbStatus\":\"UpToDate\""), 22, "\"tcbStatus\":\"Fine\"");
  EXPECT_NE(ParseTdxTcbInfoJson(bad_status).error().message.find("unknown tcbStatus"),
            std::string::npos);
  std::string bad_time = t;
  bad_time.replace(bad_time.find("\"issueDate\":\"2025"), 17, "\"issueDate\":\"1025");
  EXPECT_TRUE(ParseTdxTcbInfoJson(bad_time).ok());  // a valid (if odd) date
  bad_time.replace(bad_time.find("T17:48:50Z"), 10, "T17:48:50+");
  EXPECT_FALSE(ParseTdxTcbInfoJson(bad_time).ok());
  std::string big_svn = t;
  big_svn.replace(big_svn.find("{\"svn\":8}"), 9, "{\"svn\":256}");
  EXPECT_NE(ParseTdxTcbInfoJson(big_svn).error().message.find("exceeds 255"), std::string::npos);
}

TEST(TdxCollateralDirectory, SkipsUnreadableFilesAndPrefersTheNewestEvaluation) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("cvmwatch-tdx-collateral-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  TdxMintConfig old_cfg, new_cfg, other_cfg;
  new_cfg.tcb_evaluation_data_number = 18;
  other_cfg.fmspc = TdxMintConfig::Fixed<6>("00906ed50000");
  const TdxMinted old_bundle = Minter().Mint(old_cfg);
  const TdxMinted new_bundle = Minter().Mint(new_cfg);
  const TdxMinted other = Minter().Mint(other_cfg);
  auto write = [&](const char* name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
  };
  write("a_eval17.json", old_bundle.collateral_json);
  write("b_eval18.json", new_bundle.collateral_json);
  write("c_other.json", other.collateral_json);
  write("d_broken.json", "{\"tcb_info\":");
  write("e_ignored.txt", "not json");
  const DirectoryTdxCollateralSource source(dir.string());
  EXPECT_EQ(source.size(), 3u);
  ASSERT_EQ(source.load_errors().size(), 1u);
  EXPECT_NE(source.load_errors()[0].find("d_broken.json"), std::string::npos);
  auto found = source.Find(old_cfg.fmspc, old_cfg.pce_id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->tcb_info.tcb_evaluation_data_number, 18u);
  auto found_other = source.Find(other_cfg.fmspc, other_cfg.pce_id);
  ASSERT_TRUE(found_other);
  EXPECT_EQ(found_other->tcb_info.fmspc, other_cfg.fmspc);
  // The newest bundle verifies its own quote.
  const TdxVerification v =
      VerifyTdxQuote(new_bundle.quote, {Minter().RootDer()}, &source, FromUnixSeconds(kAt));
  EXPECT_TRUE(v.ok()) << Describe(v);
  std::filesystem::remove_all(dir);
  const DirectoryTdxCollateralSource missing((dir / "nope").string());
  EXPECT_EQ(missing.size(), 0u);
  EXPECT_FALSE(missing.load_errors().empty());
}

TEST(TdxTime, ParsesOnlyTheIntelFormatAndFormatsBack) {
  auto t = ParseTdxTime("2025-11-12T10:45:32Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ToUnixSeconds(*t), kWindowEnd);
  EXPECT_EQ(FormatTdxTime(*t), "2025-11-12T10:45:32Z");
  for (const char* bad :
       {"2025-11-12 10:45:32Z", "2025-11-12T10:45:32", "2025-13-12T10:45:32Z",
        "2025-02-30T10:45:32Z", "2025-11-12T24:00:00Z", "2025-11-12T10:45:32.5Z", ""}) {
    EXPECT_FALSE(ParseTdxTime(bad).ok()) << bad;
  }
}

TEST(TdxPemChain, SplitsCertificatesAndRejectsBrokenBlocks) {
  const TdxMinted m = Minter().Mint();
  const std::string pem(reinterpret_cast<const char*>(m.quote.data() + m.pem_offset), m.pem_size);
  auto ders = TdxPemChainToDer(pem);
  ASSERT_TRUE(ders.ok());
  ASSERT_EQ(ders->size(), 3u);
  EXPECT_EQ((*ders)[0], m.pck_leaf_der);
  EXPECT_EQ((*ders)[2], Minter().RootDer());
  EXPECT_FALSE(TdxPemChainToDer("no certificates here").ok());
  EXPECT_FALSE(TdxPemChainToDer("-----BEGIN CERTIFICATE-----\nAAAA\n").ok());
  EXPECT_FALSE(
      TdxPemChainToDer("-----BEGIN CERTIFICATE-----\nA*AA\n-----END CERTIFICATE-----").ok());
}

TEST(TdxPckExtensions, ReadsFmspcPceIdAndTheTcbComponentsOfAMintedLeaf) {
  TdxMintConfig cfg;
  cfg.fmspc = TdxMintConfig::Fixed<6>("30606a000000");
  cfg.pce_id = TdxMintConfig::Fixed<2>("0100");
  cfg.pck_tcb = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 200};
  cfg.pck_pce_svn = 300;
  const TdxMinted m = Minter().Mint(cfg);
  auto ext = ParsePckExtensions(m.pck_leaf_der);
  ASSERT_TRUE(ext.ok()) << ext.error().ToString();
  EXPECT_EQ(ext->fmspc, cfg.fmspc);
  EXPECT_EQ(ext->pce_id, cfg.pce_id);
  EXPECT_EQ(ext->tcb_components, cfg.pck_tcb);
  EXPECT_EQ(ext->pce_svn, 300);
  EXPECT_EQ(ext->sgx_type, 0);
  EXPECT_EQ(ParsePckExtensions(Minter().RootDer()).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ParsePckSgxExtension(Bytes{0x30, 0x03, 0x30, 0x01}).ok());
}

TEST(TdxSignatureCache, RepeatVerificationsAgreeAndFailuresAreNotRemembered) {
  ClearTdxSignatureCache();
  const TdxMinted m = Minter().Mint();
  TdxMinted broken = m;
  broken.collateral.tcb_info_signature.bytes[0] ^= 1;
  EXPECT_FALSE(VerifyMinted(broken).collateral.ok);
  EXPECT_TRUE(VerifyMinted(m).ok());
  EXPECT_TRUE(VerifyMinted(m).ok());
  EXPECT_FALSE(VerifyMinted(broken).collateral.ok);
  Bytes q = m.quote;
  q[200] ^= 1;
  TdxMinted tampered = m;
  tampered.quote = q;
  EXPECT_FALSE(VerifyMinted(tampered).quote_signature.ok);
  EXPECT_TRUE(VerifyMinted(m).quote_signature.ok);
}

TEST(TdxQuoteParse, RejectsEveryTruncationOfAMintedV5QuoteWithALengthError) {
  TdxMintConfig cfg;
  cfg.version = 5;
  cfg.body_type = TdxBodyType::kTd15;
  const TdxMinted m = Minter().Mint(cfg);
  ASSERT_TRUE(ParseTdxQuote(m.quote).ok());
  for (std::size_t n = 0; n < m.quote.size(); n += 11) {
    auto r = ParseTdxQuote(ByteView(m.quote.data(), n));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidLength) << n;
  }
  Bytes bad_type = m.quote;
  bad_type[48] = 1;  // SGX body
  EXPECT_EQ(ParseTdxQuote(bad_type).error().code, ErrorCode::kPrecondition);
  Bytes bad_size = m.quote;
  bad_size[50] ^= 1;
  EXPECT_EQ(ParseTdxQuote(bad_size).error().code, ErrorCode::kInvalidLength);
}

}  // namespace
}  // namespace cvmwatch::verifier
