// The verifier's registration evidence is kept with the identity: stored at registration, kept
// by TPM-only re-attestations, copied to the successor on rotation, restored by rollback.
#include <gtest/gtest.h>

#include "cvmwatch/store/store.h"
#include "store/store_test_util.h"

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

TEST(VerifierEvidence, IsStoredAtRegistrationKeptOnReattestAndCopiedOnRotation) {
  TempDir dir;
  auto store = OpenOrDie(OptionsAt(dir.path()));
  Chain blocks(1, kT0);
  const registry::AttestCall reg = Attest(1);
  AppliedSubmission reg_sub = Sub(reg);
  reg_sub.verifier_evidence = {0xe1, 0x0d, 0x01};
  ASSERT_TRUE(store->ApplyBlock(blocks.Next(12, {reg_sub})).ok());
  EXPECT_EQ(store->Read().GetIdentity(reg.identity_hash)->verifier_evidence, reg_sub.verifier_evidence);

  // Same identity re-attests (no evidence in the call): the stored evidence stays.
  ASSERT_TRUE(store->ApplyBlock(blocks.Next(12, {Sub(Reattest(reg.identity_hash, 1))})).ok());
  EXPECT_EQ(store->Read().GetIdentity(reg.identity_hash)->verifier_evidence, reg_sub.verifier_evidence);

  // Rotation to key 2: the successor carries the evidence (A2 copies the stored AK and TEE output).
  const registry::ReattestCall rotate = Reattest(reg.identity_hash, 2);
  ASSERT_TRUE(store->ApplyBlock(blocks.Next(12, {Sub(rotate)})).ok());
  const auto successor = store->Read().GetIdentity(rotate.new_identity_hash);
  ASSERT_TRUE(successor.ok());
  EXPECT_EQ(successor->verifier_evidence, reg_sub.verifier_evidence);

  // Rolling the rotation back restores the exact earlier state.
  ASSERT_TRUE(store->RollbackTo(2).ok());
  EXPECT_FALSE(store->Read().GetIdentity(rotate.new_identity_hash).ok());
  EXPECT_EQ(store->Read().GetIdentity(reg.identity_hash)->verifier_evidence, reg_sub.verifier_evidence);
}

}  // namespace
}  // namespace cvmwatch::store
