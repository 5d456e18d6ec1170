#include "cvmwatch/core/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace cvmwatch {
namespace {

TEST(Keccak256, EmptyInputMatchesEthereumConstant) {
  EXPECT_EQ(Keccak256(AsBytes("")).ToHex(),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(Keccak256, AbcMatchesKnownAnswer) {
  EXPECT_EQ(Keccak256(AsBytes("abc")).ToHex(),
            "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Keccak256, MultiBlockInputSpansTheRate) {
  // 200 bytes > the 136-byte rate: two absorb rounds.
  EXPECT_EQ(Keccak256(AsBytes(std::string(200, 'a'))).ToHex(),
            "0x96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d");
}

TEST(Keccak256, UsesEthereumPaddingNotSha3) {
  // SHA3-256("") is a7ffc6f8…; Ethereum's Keccak differs only by the padding byte.
  EXPECT_NE(Keccak256(AsBytes("")).ToHex().substr(0, 10), "0xa7ffc6f8");
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(Sha256(AsBytes("")).ToHex(),
            "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256(AsBytes("abc")).ToHex(),
            "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).ToHex(),
            "0x248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha384, KnownAnswers) {
  EXPECT_EQ(Sha384(AsBytes("")).ToHex(),
            "0x38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad"
            "2f14898b95b");
  EXPECT_EQ(Sha384(AsBytes("abc")).ToHex(),
            "0xcb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358bae"
            "ca134c825a7");
  EXPECT_EQ(Sha384(AsBytes("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmn"
                           "opjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"))
                .ToHex(),
            "0x09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e"
            "9fa91746039");
}

TEST(Selectors, FunctionSelectorAndEventTopicOfKnownSignatures) {
  EXPECT_EQ(FunctionSelector("transfer(address,uint256)").ToHex(), "0xa9059cbb");
  EXPECT_EQ(EventTopic("Transfer(address,address,uint256)").ToHex(),
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
}

}  // namespace
}  // namespace cvmwatch
