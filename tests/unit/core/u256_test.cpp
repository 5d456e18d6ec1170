#include "cvmwatch/core/u256.h"

#include <gtest/gtest.h>

namespace cvmwatch {
namespace {

TEST(U256, DecimalAndHexRoundTrip) {
  const std::string max_dec =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  auto max = U256::FromString(max_dec);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, U256::Max());
  EXPECT_EQ(max->ToDecimal(), max_dec);
  EXPECT_EQ(U256(0).ToHex(), "0x0");
  EXPECT_EQ(U256(255).ToHex(), "0xff");
  auto from_hex = U256::FromString("0x1fe9");
  ASSERT_TRUE(from_hex.ok());
  EXPECT_EQ(from_hex->ToU64(), 0x1fe9u);
}

TEST(U256, OverflowIsAnError) {
  EXPECT_FALSE(
      U256::FromString("115792089237316195423570985008687907853269984665640564039457584007913129639936")
          .ok());
  EXPECT_FALSE(U256::FromString("0x1" + std::string(64, '0')).ok());
  EXPECT_FALSE(U256::FromString("12a").ok());
}

TEST(U256, BigEndianWordRoundTrip) {
  std::array<std::uint8_t, 32> word{};
  word[0] = 0x80;
  word[31] = 0x01;
  const U256 v = U256::FromBe32(word);
  EXPECT_EQ(v.ToBe32(), word);
  EXPECT_EQ(v.BitLength(), 256u);
  EXPECT_FALSE(v.FitsU64());
}

TEST(U256, AddAndSubtractWrapAround) {
  EXPECT_EQ(U256::Max() + U256(1), U256(0));
  EXPECT_EQ(U256(0) - U256(1), U256::Max());
  const U256 big = U256(~0ULL) + U256(1);
  EXPECT_EQ(big.ToHex(), "0x10000000000000000");
  EXPECT_EQ(big - U256(1), U256(~0ULL));
  EXPECT_LT(U256(~0ULL), big);
}

}  // namespace
}  // namespace cvmwatch
