#include <gtest/gtest.h>

#include "cvmwatch/core/bytes.h"

namespace cvmwatch {
namespace {

TEST(Hex, ParsesWithAndWithoutPrefixInEitherCase) {
  auto a = HexToBytes("0xDEadBe");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (Bytes{0xde, 0xad, 0xbe}));
  auto b = HexToBytes("00ff");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (Bytes{0x00, 0xff}));
  auto empty = HexToBytes("0x");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Hex, OddLengthIsAnError) {
  auto r = HexToBytes("0xabc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidHex);
  EXPECT_NE(r.error().message.find("odd"), std::string::npos);
}

TEST(Hex, NonHexCharacterNamesItsPosition) {
  auto r = HexToBytes("0x00zz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidHex);
  EXPECT_NE(r.error().message.find("position 4"), std::string::npos) << r.error().message;
  auto ws = HexToBytes("00 1");
  ASSERT_FALSE(ws.ok());
  EXPECT_NE(ws.error().message.find("position 2"), std::string::npos) << ws.error().message;
}

TEST(Hex, RoundTripsLowerCaseWithPrefix) {
  const Bytes raw = {0x01, 0xab, 0xff};
  EXPECT_EQ(ToHex(raw), "0x01abff");
  EXPECT_EQ(ToHex(raw, false), "01abff");
}

TEST(FixedBytes, RequiresExactLength) {
  EXPECT_TRUE(Address::FromHex("0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac").ok());
  auto short_addr = Address::FromHex("0x3cd4");
  ASSERT_FALSE(short_addr.ok());
  EXPECT_EQ(short_addr.error().code, ErrorCode::kInvalidLength);
  auto h = Hash32::FromHex(std::string(64, '0'));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->IsZero());
}

TEST(FixedBytes, OrdersLexicographically) {
  auto a = Hash32::FromHex(std::string(63, '0') + "1").value();
  auto b = Hash32::FromHex("1" + std::string(63, '0')).value();
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace cvmwatch
