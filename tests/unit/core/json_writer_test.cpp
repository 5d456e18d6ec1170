#include "cvmwatch/core/json_writer.h"

#include <gtest/gtest.h>

namespace cvmwatch {
namespace {

TEST(JsonWriter, WritesNestedCompactJson) {
  JsonWriter w;
  w.BeginObject().Key("a").Uint(1).Key("b").BeginArray().Bool(true).Null().String("x").EndArray();
  w.Key("c").BeginObject().EndObject().Key("d").Int(-5).EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":[true,null,"x"],"c":{},"d":-5})");
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

}  // namespace
}  // namespace cvmwatch
