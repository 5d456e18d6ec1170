#include <gtest/gtest.h>

#include "cvmwatch/core/abi.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/indexer/reconcile.h"
#include "fake_chain.h"

namespace cvmwatch::indexer {
namespace {

using abi::Value;
using cvmwatch::testing::H;

Value U(std::uint64_t v) { return Value::Uint(U256(v)); }
Value B(const Bytes& b) { return Value::Blob(b); }
Value B32(const Hash32& h) { return Value::Blob(Bytes(h.bytes.begin(), h.bytes.end())); }
Value Pubkey(std::uint16_t scheme, std::uint16_t curve, std::uint16_t hash, Bytes data) {
  return Value::List({U(scheme), U(curve), U(hash), B(data)});
}

Bytes Encode(const std::string& type, Value v) {
  auto t = abi::ParseType(type);
  EXPECT_TRUE(t.ok()) << type;
  auto out = abi::Encode(*t, Value::List({std::move(v)}));
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  return out.ok() ? *out : Bytes{};
}

// The devnet's layout (contracts/README.md): A2.
Bytes EncodeA2(const Hash32& mh) {
  return Encode("((uint8,uint8,uint64,uint64,uint64,uint64,bytes32,bytes,(uint16,uint16,uint16,bytes),(uint16,uint16,uint16,bytes)))",
                Value::List({U(1), U(2), U(2'592'000), U(5'184'000), U(1'756'980'900), U(1'756'980'960), B32(mh),
                             B(Bytes(600, 0x5a)), Pubkey(0x18, 3, 0x0b, Bytes(64, 0x11)), Pubkey(0x18, 3, 0x0b, Bytes(64, 0x22))}));
}

TEST(DecodeCvmConfig, ReadsTheA2LayoutTheDevnetReturns) {
  const Hash32 mh = H(7);
  const auto c = DecodeCvmConfig(H(1), EncodeA2(mh), registry::Generation::kA1);
  ASSERT_TRUE(c.answered) << c.error;
  EXPECT_TRUE(c.registered);
  EXPECT_EQ(c.layout, "A2");
  EXPECT_EQ(c.tee_type, 1);
  EXPECT_EQ(c.cloud_type, 2);
  EXPECT_EQ(c.tee_ttl, 2'592'000u);
  EXPECT_EQ(c.tpm_ttl, 5'184'000u);
  EXPECT_EQ(c.tee_recent_timestamp, 1'756'980'900u);
  EXPECT_EQ(c.tpm_recent_timestamp, 1'756'980'960u);
  EXPECT_EQ(c.measurement_hash, mh);
  EXPECT_EQ(c.tee_attestation_output.size(), 600u);
  ASSERT_TRUE(c.cvm_identity);
  EXPECT_EQ(c.cvm_identity->sig_scheme, 0x18);
  EXPECT_EQ(c.cvm_identity->data, Bytes(64, 0x11));
  ASSERT_TRUE(c.tpm_ak);
  EXPECT_EQ(c.tpm_ak->data, Bytes(64, 0x22));
}

TEST(DecodeCvmConfig, ReadsTheA1CAndDLayouts) {
  const auto a1 = Encode("((uint8,uint8,uint64,uint64,uint64,uint64,bytes32,(uint16,uint16,uint16,bytes),bytes))",
                         Value::List({U(2), U(1), U(10), U(20), U(30), U(40), B32(H(2)),
                                      Pubkey(0x14, 0, 0x0b, Bytes(270, 0x30)), B(Bytes(50, 1))}));
  auto c = DecodeCvmConfig(H(1), a1, registry::Generation::kA1);
  ASSERT_TRUE(c.answered) << c.error;
  EXPECT_EQ(c.layout, "A1");
  EXPECT_EQ(c.tpm_recent_timestamp, 40u);
  EXPECT_EQ(c.cvm_identity->sig_scheme, 0x14);

  const auto cc = Encode(
      "((uint8,uint8,uint64,uint64,uint64,uint64,bytes32,bytes,((uint16,uint16,bytes),(uint16,uint16)),(uint16,uint16,bytes)))",
      Value::List({U(1), U(1), U(1), U(2), U(3), U(4), B32(H(3)), B(Bytes(10, 9)),
                   Value::List({Value::List({U(0x23), U(3), B(Bytes(65, 4))}), Value::List({U(0x18), U(0x0b)})}),
                   Value::List({U(0x23), U(3), B(Bytes(65, 5))})}));
  c = DecodeCvmConfig(H(1), cc, registry::Generation::kC);
  ASSERT_TRUE(c.answered) << c.error;
  EXPECT_EQ(c.layout, "C");
  EXPECT_EQ(c.cvm_identity->key_algo, 0x23);
  EXPECT_EQ(c.cvm_identity->sig_scheme, 0x18);

  const auto d = Encode("((uint8,uint8,uint64,bytes32,(bytes,(uint16,uint16)),(uint16,uint16,bytes),bytes))",
                        Value::List({U(1), U(1), U(1'800'000'000), B32(H(4)),
                                     Value::List({B(Bytes(90, 7)), Value::List({U(0x18), U(0x0b)})}),
                                     Value::List({U(0x23), U(3), B(Bytes(65, 6))}), B(Bytes(8, 8))}));
  c = DecodeCvmConfig(H(1), d, registry::Generation::kD);
  ASSERT_TRUE(c.answered) << c.error;
  EXPECT_EQ(c.layout, "D");
  EXPECT_EQ(c.expired_at, 1'800'000'000u);
  EXPECT_FALSE(c.tee_ttl);
}

TEST(DecodeCvmConfig, GarbageFitsNoLayout) {
  const auto c = DecodeCvmConfig(H(1), Bytes(100, 0xff), std::nullopt);
  EXPECT_FALSE(c.answered);
  EXPECT_NE(c.error.find("fits no known layout"), std::string::npos);
}

TEST(ConfigFromRevert, NotRegisteredIsAnAnswerOtherRevertsAreErrors) {
  auto c = ConfigFromRevert(H(1), *HexToBytes("0x75a1d53a"));
  EXPECT_TRUE(c.answered);
  EXPECT_FALSE(c.registered);
  c = ConfigFromRevert(H(1), *HexToBytes("0x08c379a0"));
  EXPECT_FALSE(c.answered);
}

TEST(Reconciler, ReadsAtTheBlockHashAndMapsReverts) {
  cvmwatch::testing::FakeChain chain;
  chain.MineEmpty(3);
  const Hash32 known = H(10);
  std::uint64_t seen_block = 0;
  chain.SetOnCall([&](std::uint64_t block, const Address& to, ByteView data) -> Result<Bytes> {
    seen_block = block;
    EXPECT_EQ(to, cvmwatch::testing::kRegistry);
    if (Bytes(data.begin() + 4, data.end()) == Bytes(known.bytes.begin(), known.bytes.end())) return EncodeA2(H(11));
    return cvmwatch::testing::FakeChain::Revert(*HexToBytes("0x75a1d53a"));
  });
  cvmwatch::testing::FakeRpcClient client(chain);
  Reconciler r(client, cvmwatch::testing::kRegistry);
  const std::vector<Hash32> ids{known, H(12)};
  auto out = r.Read(chain.BlockAt(2)->hash, ids, std::nullopt);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(seen_block, 2u);
  EXPECT_TRUE((*out)[0].registered);
  EXPECT_EQ((*out)[0].measurement_hash, H(11));
  EXPECT_TRUE((*out)[1].answered);
  EXPECT_FALSE((*out)[1].registered);
}

TEST(Reconciler, TransientFailuresAreErrorsNotChainState) {
  cvmwatch::testing::FakeChain chain;
  chain.MineEmpty(1);
  chain.SetInject([](std::string_view m, std::string_view) -> std::optional<Error> {
    if (m == "eth_call") return MakeError(ErrorCode::kTimeout, "eth_call: no reply within 10 ms", true);
    return std::nullopt;
  });
  cvmwatch::testing::FakeRpcClient client(chain);
  Reconciler r(client, cvmwatch::testing::kRegistry);
  const std::vector<Hash32> ids{H(1)};
  auto out = r.Read(chain.BlockAt(1)->hash, ids, std::nullopt);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.error().retryable);
}

TEST(TouchedIdentities, NamesTargetsAndNewIdentities) {
  registry::ReattestCall re;
  re.target_identity_hash = H(1);
  re.new_identity_hash = H(2);
  EXPECT_EQ(TouchedIdentities(registry::RegistryCall(re)), (std::vector<Hash32>{H(1), H(2)}));
  re.new_identity_hash = H(1);
  EXPECT_EQ(TouchedIdentities(registry::RegistryCall(re)), (std::vector<Hash32>{H(1)}));
  registry::TtlCall ttl;
  ttl.target_identity_hash = H(5);
  EXPECT_EQ(TouchedIdentities(registry::RegistryCall(ttl)), (std::vector<Hash32>{H(5)}));
}

}  // namespace
}  // namespace cvmwatch::indexer
