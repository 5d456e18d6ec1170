#include "cvmwatch/core/base64.h"

#include <gtest/gtest.h>

namespace cvmwatch {
namespace {

TEST(Base64, Rfc4648TestVectorsRoundTrip) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
}

TEST(Base64, RejectsCharactersOutsideTheAlphabetWithPosition) {
  auto r = Base64Decode("Zm9v*mFy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidBase64);
  EXPECT_NE(r.error().message.find("position 4"), std::string::npos) << r.error().message;
}

TEST(Base64, RejectsBadLengthAndMisplacedPadding) {
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zm9v").ok());
  EXPECT_FALSE(Base64Decode("Z===").ok());
  EXPECT_FALSE(Base64Decode("Zm=v").ok());
}

TEST(Base64, RejectsNonZeroBitsUnderPadding) {
  // "Zh==" decodes to 'f' too in lenient decoders; only "Zg==" is canonical.
  EXPECT_FALSE(Base64Decode("Zh==").ok());
  EXPECT_FALSE(Base64Decode("Zm9=").ok());
}

}  // namespace
}  // namespace cvmwatch
