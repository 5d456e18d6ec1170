// The seed's real calldata through the store: each registration then its re-attestation (which,
// in all three seed vectors, rotates to a new identity), then the two TTL vectors, which belong
// to registrations not in the seed and revert CVM_NOT_REGISTERED on replay (contracts.md §4.1).
#include <gtest/gtest.h>

#include "cvmwatch/core/registry.h"
#include "cvmwatch/store/store.h"
#include "store/store_test_util.h"
#include "testdata.h"

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

struct SeedPair {
  const char* registration;
  const char* reattestation;
  std::uint64_t time;  // a block time inside the vector's validity window (contracts.md §4.1)
  const char* identity;
  const char* rotated_to;
};

const SeedPair kPairs[] = {
    {"gcp/snp/gcp-snp-registration.json", "gcp/snp/gcp-snp-reattestation.json", 1756282879,
     "b6e639a42388d6197d1e31d6ecb5e2d3b05a4612cc9174fc0ce220446ab67acd",
     "e68aba54cba25797883c961b645972b499d4d8c0dda3623bf147e416ea3da269"},
    {"gcp/tdx/gcp-tdx-registration.json", "gcp/tdx/gcp-tdx-reattestation.json", 1756980900,
     "53637977ded737a23f317c171b09b91f0cdb4e23cb2b04157d968f8d605e6710",
     "03bbaabdfb0158d5a7bcf12ff7867c35080b54ebe7a0c41e3ed81c53e50345b5"},
    {"azure/snp/azure-snp-registration.json", "azure/snp/azure-snp-reattestation.json", 1757040538,
     "8794efec58473ca97fdc6adb355100579746d218fca184f0d5d4d1a7284270c4",
     "ddd360fcac81d48cdf54710a71de4ee90ae740b9eebaf79161d84fd312edb4c2"},
};

registry::RegistryCall Decode(const std::filesystem::path& file) {
  auto call = registry::DecodeRegistryCall(cvmwatch::testing::ReadSeedCalldata(file));
  EXPECT_TRUE(call.ok()) << file << ": " << call.error().ToString();
  return call.ok() ? *call : registry::RegistryCall{};
}

TEST(SeedReplay, TheSeedsReattestationsAreRecognisedAsRotationsAndItsTtlVectorsAsReverts) {
  CVMWATCH_REQUIRE_TESTDATA(data);
  TempDir dir;
  auto store = OpenOrDie(OptionsAt(dir.path()));

  // One block per call, at the times the vectors need.
  Chain blocks(1, 0);
  std::vector<InputBlock> input;
  for (const SeedPair& pair : kPairs) {
    input.push_back(
        blocks.Next(pair.time - blocks.time(), {Sub(Decode(data / "seed" / pair.registration))}));
    input.push_back(blocks.Next(600, {Sub(Decode(data / "seed" / pair.reattestation))}));
  }
  for (const char* ttl : {"gcp/tdx/gcp-tdx-update-ttl.json", "gcp/snp/gcp-snp-update-ttl.json"}) {
    input.push_back(blocks.Next(12, {Reverted(Decode(data / "seed" / ttl), 0x75a1d53a)}));
  }
  for (const InputBlock& b : input) ASSERT_TRUE(store->ApplyBlock(b).ok());

  const ReadView view = store->Read();
  for (const SeedPair& pair : kPairs) {
    const Hash32 identity = Hash32::FromHex(pair.identity).value();
    const Hash32 successor = Hash32::FromHex(pair.rotated_to).value();
    auto old_state = view.GetIdentity(identity);
    ASSERT_TRUE(old_state.ok()) << pair.registration;
    EXPECT_EQ(old_state->status, IdentityStatus::kRotatedAway);
    EXPECT_EQ(old_state->rotated_to, successor);
    EXPECT_EQ(old_state->nonce, 1u) << "the re-attestation is nonce 0, consumed under the old hash";
    auto new_state = view.GetIdentity(successor);
    ASSERT_TRUE(new_state.ok());
    EXPECT_EQ(new_state->rotated_from, identity);
    EXPECT_EQ(new_state->cloud_type, old_state->cloud_type);
    EXPECT_EQ(new_state->tee_attested_at, pair.time) << "TEE time copied from the registration";
    EXPECT_EQ(new_state->tpm_attested_at, pair.time + 600);
    EXPECT_EQ(registry::IdentityHash(new_state->key), successor);
    auto history = view.History(successor, Order::kAscending, {});
    ASSERT_TRUE(history.ok());
    ASSERT_FALSE(history->items.empty());
    EXPECT_EQ(history->items[0].kind(), HistoryKind::kRotated);
  }
  const Hash32 ttl_target =
      Hash32::FromHex("17c7bb7b794e50177bc50f46a53f6ee57e4ca4377b7276b208b39c915988d80b").value();
  EXPECT_EQ(view.GetIdentity(ttl_target).error().code, ErrorCode::kNotFound);
  auto ttl_history = view.History(ttl_target, Order::kAscending, {});
  ASSERT_TRUE(ttl_history.ok());
  ASSERT_EQ(ttl_history->items.size(), 1u);
  const auto& reverted = std::get<CallRevertedDetail>(ttl_history->items[0].detail);
  EXPECT_EQ(reverted.function, "setCollateralTTL");
  EXPECT_EQ(RevertName(*reverted.revert_selector), "CVM_NOT_REGISTERED");
}

}  // namespace
}  // namespace cvmwatch::store
