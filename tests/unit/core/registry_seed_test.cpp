// Every calldata file of the seed decodes, re-encodes byte for byte, and yields the selector,
// types, sizes and identity hashes listed in testdata/seed/GROUND-TRUTH.md.
#include <gtest/gtest.h>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/registry.h"
#include "testdata.h"

namespace cvmwatch::registry {
namespace {

struct SeedVector {
  const char* file;
  std::size_t calldata_bytes;
  const char* selector;
  std::uint8_t cloud, tee, report_type;  // attest only
  const char* identity;      // attest: the identity; reattest: target; ttl: target
  const char* new_identity;  // reattest: the rotated-to identity (= quote extraData[1,33))
  std::size_t pcr_count, cert_count, ak_pub_length, report_length;
};

// Values from GROUND-TRUTH.md §1 and §2.
const SeedVector kVectors[] = {
    {"gcp/tdx/gcp-tdx-registration.json", 17028, "0xdf42b054", 1, 1, 1,
     "53637977ded737a23f317c171b09b91f0cdb4e23cb2b04157d968f8d605e6710", nullptr, 10, 3, 0, 8000},
    {"gcp/snp/gcp-snp-registration.json", 11172, "0xdf42b054", 1, 2, 3,
     "b6e639a42388d6197d1e31d6ecb5e2d3b05a4612cc9174fc0ce220446ab67acd", nullptr, 10, 3, 0, 2176},
    {"azure/snp/azure-snp-registration.json", 6980, "0xdf42b054", 2, 2, 3,
     "8794efec58473ca97fdc6adb355100579746d218fca184f0d5d4d1a7284270c4", nullptr, 9, 0, 1200, 2176},
    {"gcp/tdx/gcp-tdx-reattestation.json", 4004, "0x60ca2da1", 0, 0, 0,
     "53637977ded737a23f317c171b09b91f0cdb4e23cb2b04157d968f8d605e6710",
     "03bbaabdfb0158d5a7bcf12ff7867c35080b54ebe7a0c41e3ed81c53e50345b5", 10, 0, 0, 0},
    {"gcp/snp/gcp-snp-reattestation.json", 4004, "0x60ca2da1", 0, 0, 0,
     "b6e639a42388d6197d1e31d6ecb5e2d3b05a4612cc9174fc0ce220446ab67acd",
     "e68aba54cba25797883c961b645972b499d4d8c0dda3623bf147e416ea3da269", 10, 0, 0, 0},
    {"azure/snp/azure-snp-reattestation.json", 3588, "0x60ca2da1", 0, 0, 0,
     "8794efec58473ca97fdc6adb355100579746d218fca184f0d5d4d1a7284270c4",
     "ddd360fcac81d48cdf54710a71de4ee90ae740b9eebaf79161d84fd312edb4c2", 9, 0, 0, 0},
    {"gcp/tdx/gcp-tdx-update-ttl.json", 228, "0xf473d8ea", 0, 0, 0,
     "17c7bb7b794e50177bc50f46a53f6ee57e4ca4377b7276b208b39c915988d80b", nullptr, 0, 0, 0, 0},
    {"gcp/snp/gcp-snp-update-ttl.json", 228, "0xf473d8ea", 0, 0, 0,
     "1fe9147ef3a853e1412adcd1d01ed876f5aac76ffae7417a87c28da4870202f0", nullptr, 0, 0, 0, 0},
};

void PrintTo(const SeedVector& v, std::ostream* os) { *os << v.file; }

class SeedCalldata : public ::testing::TestWithParam<SeedVector> {};

// The identity hash a TPM quote binds: TPMS_ATTEST extraData = 0xff ‖ hash. Parsed here by hand
// (magic, type, qualifiedSigner TPM2B, extraData TPM2B) as an independent cross-check.
std::optional<Hash32> QuoteBoundIdentity(const Bytes& quote) {
  if (quote.size() < 8) return std::nullopt;
  std::size_t pos = 6;
  const std::size_t signer = quote[pos] << 8 | quote[pos + 1];
  pos += 2 + signer;
  if (quote.size() < pos + 2) return std::nullopt;
  const std::size_t extra = quote[pos] << 8 | quote[pos + 1];
  pos += 2;
  if (extra != 33 || quote.size() < pos + extra || quote[pos] != 0xff) return std::nullopt;
  return Hash32::FromBytes(ByteView(quote.data() + pos + 1, 32)).value();
}

TEST_P(SeedCalldata, DecodesToTheGroundTruthAndReencodesByteForByte) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const SeedVector& v = GetParam();
  const Bytes calldata = testing::ReadSeedCalldata(dir / "seed" / v.file);
  ASSERT_EQ(calldata.size(), v.calldata_bytes);
  EXPECT_EQ(ToHex(ByteView(calldata.data(), 4)), v.selector);

  auto call = DecodeRegistryCall(calldata);
  ASSERT_TRUE(call.ok()) << call.error().ToString();

  // Canonical: the generic codec re-encodes the decoded tree to the identical bytes.
  const CallSpec* spec = nullptr;
  const abi::Function* fn = FindCall(Selector::FromBytes(ByteView(calldata.data(), 4)).value(), &spec);
  ASSERT_NE(fn, nullptr);
  auto tree = abi::DecodeCall(*fn, calldata);
  ASSERT_TRUE(tree.ok());
  auto reencoded = abi::EncodeCall(*fn, *tree);
  ASSERT_TRUE(reencoded.ok());
  EXPECT_EQ(*reencoded, calldata);
  EXPECT_EQ(spec->generation, Generation::kA1);

  const Hash32 identity = Hash32::FromHex(v.identity).value();
  if (const auto* a = std::get_if<AttestCall>(&*call)) {
    EXPECT_EQ(a->cloud_type, v.cloud);
    EXPECT_EQ(a->tee_type, v.tee);
    EXPECT_EQ(a->tee_report_type, v.report_type);
    EXPECT_EQ(a->identity_hash, identity);
    EXPECT_EQ(a->identity.sig_scheme, kTpmAlgEcdsa);
    EXPECT_EQ(a->identity.curve, kTpmEccNistP256);
    EXPECT_EQ(a->identity.data.size(), 64u);
    EXPECT_EQ(a->wc.pcrs.size(), v.pcr_count);
    EXPECT_EQ(a->wc.certs.size(), v.cert_count);
    EXPECT_EQ(a->wc.ak_pub.size(), v.ak_pub_length);
    EXPECT_EQ(a->tee_report.size(), v.report_length);
    EXPECT_EQ(a->wc.tpm_quote.size(), 146u);
    EXPECT_EQ(QuoteBoundIdentity(a->wc.tpm_quote), identity);
  } else if (const auto* r = std::get_if<ReattestCall>(&*call)) {
    EXPECT_EQ(r->target_identity_hash, identity);
    EXPECT_EQ(r->new_identity_hash, Hash32::FromHex(v.new_identity).value());
    EXPECT_TRUE(r->IsRotation());
    EXPECT_EQ(QuoteBoundIdentity(r->wc.tpm_quote), r->new_identity_hash);
    EXPECT_EQ(r->signature.size(), 64u);
    EXPECT_TRUE(r->wc.certs.empty());
    EXPECT_TRUE(r->wc.ak_pub.empty());
    EXPECT_TRUE(r->wc.report_id.empty());
    EXPECT_EQ(r->wc.pcrs.size(), v.pcr_count);
  } else if (const auto* t = std::get_if<TtlCall>(&*call)) {
    EXPECT_EQ(t->target_identity_hash, identity);
    EXPECT_EQ(t->tee_ttl, 12600u);
    EXPECT_EQ(t->tpm_ttl, 12600u);
    EXPECT_EQ(t->signature.size(), 64u);
  } else {
    FAIL() << "unexpected call kind " << CallName(*call);
  }
}

INSTANTIATE_TEST_SUITE_P(AllSeedVectors, SeedCalldata, ::testing::ValuesIn(kVectors),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(SeedCalldataTampering, TruncatedOrOffsetCorruptedCalldataIsRejectedNotMisread) {
  CVMWATCH_REQUIRE_TESTDATA(dir);
  const Bytes calldata = testing::ReadSeedCalldata(dir / "seed/gcp/tdx/gcp-tdx-registration.json");
  ASSERT_FALSE(calldata.empty());
  for (std::size_t cut : {3ul, 4ul, 100ul, 196ul, 8000ul, calldata.size() - 32}) {
    auto r = DecodeRegistryCall(ByteView(calldata.data(), cut));
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
  }
  // The head word of argument 3 (the report's offset) with a high bit set.
  Bytes flipped = calldata;
  flipped[4 + 3 * 32] ^= 0x80;
  auto r = DecodeRegistryCall(flipped);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAbiBadOffset);
  EXPECT_NE(r.error().message.find("attestCvm"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace cvmwatch::registry
