#include "cvmwatch/core/abi.h"

#include <gtest/gtest.h>

#include <random>

namespace cvmwatch::abi {
namespace {

std::string Words(std::initializer_list<std::string> words) {
  std::string out;
  for (const std::string& w : words) {
    std::string s(w);
    // A word written as "0x…" is a right-aligned number, "'…" a left-aligned byte string.
    if (s.starts_with("'")) {
      s = s.substr(1);
      s.resize(64, '0');
    } else {
      s = std::string(64 - s.size(), '0') + s;
    }
    out += s;
  }
  return out;
}

Bytes Hex(const std::string& h) { return HexToBytes(h).value(); }

Function Fn(std::string_view sig) {
  auto fn = ParseFunction(sig);
  EXPECT_TRUE(fn.ok()) << sig;
  return fn.value();
}

Value U(std::uint64_t v) { return Value::Uint(U256(v)); }
Value Str(std::string s) { return Value::Str(std::move(s)); }
Value Blob(std::string s) { return Value::Blob(Bytes(s.begin(), s.end())); }

// The examples of the Solidity ABI specification ("Examples" and "Use of Dynamic Types").
TEST(AbiSpecExamples, BazUint32Bool) {
  const Function fn = Fn("baz(uint32,bool)");
  EXPECT_EQ(fn.selector.ToHex(), "0xcdcd77c0");
  auto enc = EncodeCall(fn, Value::List({U(69), Value::Bool(true)}));
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ToHex(*enc), "0xcdcd77c0" + Words({"45", "1"}));
}

TEST(AbiSpecExamples, BarFixedArrayOfBytes3) {
  const Function fn = Fn("bar(bytes3[2])");
  EXPECT_EQ(fn.selector.ToHex(), "0xfce353f6");
  const Value args = Value::List({Value::List({Blob("abc"), Blob("def")})});
  auto enc = EncodeCall(fn, args);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ToHex(*enc), "0xfce353f6" + Words({"'616263", "'646566"}));
  auto dec = DecodeCall(fn, *enc);
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_EQ(*dec, args);
}

TEST(AbiSpecExamples, SamBytesBoolUintArray) {
  const Function fn = Fn("sam(bytes,bool,uint256[])");
  EXPECT_EQ(fn.selector.ToHex(), "0xa5643bf2");
  const Value args = Value::List({Blob("dave"), Value::Bool(true), Value::List({U(1), U(2), U(3)})});
  auto enc = EncodeCall(fn, args);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ToHex(*enc), "0xa5643bf2" + Words({"60", "1", "a0", "4", "'64617665", "3", "1", "2", "3"}));
  auto dec = DecodeCall(fn, *enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, args);
}

TEST(AbiSpecExamples, FDynamicTypesMixedWithStatic) {
  const Function fn = Fn("f(uint256,uint32[],bytes10,bytes)");
  EXPECT_EQ(fn.selector.ToHex(), "0x8be65246");
  const Value args = Value::List({U(0x123), Value::List({U(0x456), U(0x789)}), Blob("1234567890"),
                                  Blob("Hello, world!")});
  auto enc = EncodeCall(fn, args);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ToHex(*enc), "0x8be65246" + Words({"123", "80", "'3132333435363738393", "e0", "2",
                                               "456", "789", "d", "'48656c6c6f2c20776f726c6421"}));
  auto dec = DecodeCall(fn, *enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, args);
}

TEST(AbiSpecExamples, GNestedArraysAndStrings) {
  const Function fn = Fn("g(uint256[][],string[])");
  EXPECT_EQ(fn.selector.ToHex(), "0x2289b18c");
  const Value args = Value::List({Value::List({Value::List({U(1), U(2)}), Value::List({U(3)})}),
                                  Value::List({Str("one"), Str("two"), Str("three")})});
  auto enc = EncodeCall(fn, args);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ToHex(*enc),
            "0x2289b18c" + Words({"40", "140", "2", "40", "a0", "2", "1", "2", "1", "3", "3", "60",
                                  "a0", "e0", "3", "'6f6e65", "3", "'74776f", "5", "'7468726565"}));
  auto dec = DecodeCall(fn, *enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, args);
}

TEST(AbiTypes, ParsesAndPrintsCanonicalTypes) {
  for (const char* t : {"uint8", "int256", "address", "bool", "bytes32", "bytes", "string",
                        "uint16[]", "bytes32[4]", "(uint256,bytes32,bytes32[],uint256[],bool)[]",
                        "((uint16,uint16,bytes),(uint16,uint16))", "()", "string[2][]"}) {
    auto parsed = ParseType(t);
    ASSERT_TRUE(parsed.ok()) << t << ": " << parsed.error().ToString();
    EXPECT_EQ(parsed->Canonical(), t);
  }
}

TEST(AbiTypes, RejectsNonCanonicalOrMalformedTypes) {
  for (const char* t : {"uint", "uint7", "uint264", "bytes0", "bytes33", "int", "(uint8", "uint8[",
                        "uint8[0]", "uint8[01]", "foo", "(uint8,)", "uint8 x"}) {
    auto parsed = ParseType(t);
    EXPECT_FALSE(parsed.ok()) << t;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kAbiTypeSyntax);
    }
  }
}

TEST(AbiTypes, DynamicAndHeadSizes) {
  EXPECT_FALSE(ParseType("(uint8,bytes32[3])")->IsDynamic());
  EXPECT_EQ(ParseType("(uint8,bytes32[3])")->HeadSize(), 128u);
  EXPECT_TRUE(ParseType("(uint8,bytes)")->IsDynamic());
  EXPECT_EQ(ParseType("string[2]")->HeadSize(), 32u);
}

TEST(AbiDecode, SignedIntegersRoundTripAndRejectBadSignExtension) {
  const Type t = ParseType("(int8,int256)").value();
  const Value v = Value::List({Value::Uint(U256(0) - U256(2)), Value::Uint(U256(0) - U256(1))});
  auto enc = Encode(t, v);
  ASSERT_TRUE(enc.ok());
  auto dec = Decode(t, *enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, v);
  Bytes bad = *enc;
  bad[0] = 0x00;  // no longer a sign extension of 0xfe
  auto r = Decode(t, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAbiNonCanonical);
  EXPECT_FALSE(Encode(ParseType("(int8)").value(), Value::List({U(200)})).ok());
}

TEST(AbiDecode, OutOfRangeStaticValuesAreRejected) {
  const Type t = ParseType("(uint8,bool,address,bytes2)").value();
  const Bytes good = Hex(Words({"ff", "1", "3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac", "'abcd"}));
  ASSERT_TRUE(Decode(t, good).ok());
  const std::string cases[] = {
      Words({"100", "1", "1", "'abcd"}),            // uint8 overflow
      Words({"1", "2", "1", "'abcd"}),              // bool 2
      Words({"1", "1", "1" + std::string(40, '0'), "'abcd"}),  // address high bits
      Words({"1", "1", "1", "'abcd01"}),            // bytes2 padding
  };
  for (const auto& c : cases) {
    auto r = Decode(t, Hex(c));
    ASSERT_FALSE(r.ok()) << c;
    EXPECT_EQ(r.error().code, ErrorCode::kAbiNonCanonical) << r.error().ToString();
  }
}

TEST(AbiDecode, HugeArrayCountInSmallInputFailsFastWithoutAllocating) {
  // 100 bytes of input claiming 2^60 elements.
  const Type t = ParseType("(uint256[])").value();
  Bytes input = Hex(Words({"20", "1000000000000000"}));
  input.resize(100, 0);
  auto r = Decode(t, input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAbiBadLength);
  // A count below the input size whose elements still cannot fit in what remains.
  Bytes small = Hex(Words({"20", "3"}));
  small.resize(100, 0);
  auto r2 = Decode(t, small);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ErrorCode::kAbiBadLength);
  EXPECT_NE(r2.error().message.find("cannot fit"), std::string::npos) << r2.error().message;
}

TEST(AbiDecode, LengthOrOffsetBeyondInputIsRejectedWithFieldPath) {
  const Type t = ParseType("(uint8,bytes)").value();
  auto bad_offset = Decode(t, Hex(Words({"1", "1000", "0"})));
  ASSERT_FALSE(bad_offset.ok());
  EXPECT_EQ(bad_offset.error().code, ErrorCode::kAbiBadOffset);
  EXPECT_NE(bad_offset.error().message.find("field 1"), std::string::npos)
      << bad_offset.error().message;
  auto bad_len = Decode(t, Hex(Words({"1", "40", "21", "'00"})));
  ASSERT_FALSE(bad_len.ok());
  EXPECT_EQ(bad_len.error().code, ErrorCode::kAbiBadLength);
  auto huge = Decode(t, Hex(Words({"1", "ff" + std::string(62, '0'), "0"})));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::kAbiBadOffset);
}

TEST(AbiDecode, TruncatedInputIsRejected) {
  const Type t = ParseType("(uint256,uint256)").value();
  auto r = Decode(t, Bytes(40, 0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAbiTruncated);
}

TEST(AbiDecode, AliasedOffsetsCannotExpandBeyondTheBudget) {
  // bytes[] with many elements all pointing at the same 2 KiB payload: a small input that would
  // decode to count * 2 KiB. The budget stops it.
  const std::size_t count = 64;
  Bytes input;
  auto word = [&](std::uint64_t v) {
    auto w = U256(v).ToBe32();
    input.insert(input.end(), w.begin(), w.end());
  };
  word(0x20);
  word(count);
  for (std::size_t i = 0; i < count; ++i) word(count * 32);  // every element at the same place
  word(2048);
  input.resize(input.size() + 2048, 0xab);
  auto r = Decode(ParseType("(bytes[])").value(), input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAbiBudgetExceeded);
}

TEST(AbiDecode, NestingDepthIsLimited) {
  std::string t = "uint8";
  for (int i = 0; i < 20; ++i) t += "[]";
  const Type type = ParseType("(" + t + ")").value();
  Bytes input;
  auto word = [&](std::uint64_t v) {
    auto w = U256(v).ToBe32();
    input.insert(input.end(), w.begin(), w.end());
  };
  word(0x20);
  for (int i = 0; i < 20; ++i) {
    word(1);     // one element
    word(0x20);  // its offset
  }
  word(0);
  auto r = Decode(type, input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAbiTooDeep);
}

TEST(AbiDecode, SelectorMismatchIsUnknownSelector) {
  const Function fn = Fn("baz(uint32,bool)");
  auto r = DecodeCall(fn, Hex("0xdeadbeef" + Words({"45", "1"})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnknownSelector);
  EXPECT_FALSE(DecodeCall(fn, Hex("0xcdcd")).ok());
}

TEST(AbiEncode, ValueOfTheWrongShapeIsRejected) {
  EXPECT_FALSE(Encode(ParseType("(uint8)").value(), Value::List({Str("x")})).ok());
  EXPECT_FALSE(Encode(ParseType("(uint8,uint8)").value(), Value::List({U(1)})).ok());
  EXPECT_FALSE(Encode(ParseType("(bytes4)").value(), Value::List({Blob("abc")})).ok());
}

// Random values of a registry-shaped type survive encode → decode unchanged.
class RandomValues {
 public:
  explicit RandomValues(unsigned seed) : rng_(seed) {}
  Value Make(const Type& t, int depth = 0) {
    switch (t.kind) {
      case Kind::kUint: {
        Bytes be(t.bits / 8);
        for (auto& b : be) b = static_cast<std::uint8_t>(rng_());
        return Value::Uint(U256::FromBeBytes(be).value());
      }
      case Kind::kInt: return Value::Uint(U256(0) - U256(rng_() % 1000));
      case Kind::kAddress: {
        Address a;
        for (auto& b : a.bytes) b = static_cast<std::uint8_t>(rng_());
        return Value::Addr(a);
      }
      case Kind::kBool: return Value::Bool(rng_() % 2);
      case Kind::kFixedBytes: return Value::Blob(RandomBytes(t.length));
      case Kind::kBytes: return Value::Blob(RandomBytes(rng_() % 100));
      case Kind::kString: return Value::Str(std::string(rng_() % 40, 'z'));
      case Kind::kArray: {
        ValueList items;
        const std::size_t n = depth > 3 ? 0 : rng_() % 4;
        for (std::size_t i = 0; i < n; ++i) items.push_back(Make(t.children[0], depth + 1));
        return Value::List(std::move(items));
      }
      case Kind::kFixedArray: {
        ValueList items;
        for (std::size_t i = 0; i < t.length; ++i) items.push_back(Make(t.children[0], depth + 1));
        return Value::List(std::move(items));
      }
      case Kind::kTuple: {
        ValueList items;
        for (const auto& c : t.children) items.push_back(Make(c, depth + 1));
        return Value::List(std::move(items));
      }
    }
    return Value{};
  }

 private:
  Bytes RandomBytes(std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng_());
    return b;
  }
  std::mt19937 rng_;
};

TEST(AbiRoundTrip, RandomValuesOfRegistryShapedTypesSurviveEncodeDecode) {
  const Type t = ParseType(
                     "(uint8,int64,address,bytes,(bytes,bytes,(uint256,bytes32,bytes32[],uint256[],"
                     "bool)[],bytes,bytes,bytes[],(uint16,uint16,uint16,bytes)),string[2],bytes7[])")
                     .value();
  RandomValues gen(12345);
  for (int i = 0; i < 200; ++i) {
    const Value v = gen.Make(t);
    auto enc = Encode(t, v);
    ASSERT_TRUE(enc.ok()) << enc.error().ToString();
    auto dec = Decode(t, *enc);
    ASSERT_TRUE(dec.ok()) << dec.error().ToString();
    ASSERT_EQ(*dec, v) << "iteration " << i;
    // A prefix of a canonical encoding is rejected, or (when only tail padding was cut) decodes
    // to the same value: it is never misread.
    if (i < 20) {
      for (std::size_t cut = 0; cut < enc->size(); cut += 31) {
        auto prefix = Decode(t, ByteView(enc->data(), cut));
        if (prefix.ok()) {
          EXPECT_EQ(*prefix, v) << "prefix " << cut << " of " << enc->size();
        }
      }
    }
  }
}

}  // namespace
}  // namespace cvmwatch::abi
