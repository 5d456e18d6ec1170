#include "cvmwatch/core/registry.h"

#include <gtest/gtest.h>

#include <map>

#include "cvmwatch/core/hash.h"

namespace cvmwatch::registry {
namespace {

// Selectors from specs/contracts.md §1.4, computed there independently.
TEST(RegistryCalls, EveryKnownCallHasTheSelectorTheSpecLists) {
  const std::map<std::string, std::string> expected = {
      {"A1 attestCvm", "0xdf42b054"},       {"A1 reattestCvmWithTpm", "0x60ca2da1"},
      {"A1 setCollateralTTL", "0xf473d8ea"}, {"A0 registerCvm", "0xcd5cb56a"},
      {"A0 reattestCvmFully", "0xf52cd500"}, {"C attestCvm", "0x4a231d6f"},
      {"C reattestCvmWithTpm", "0x4f973076"}, {"D registerCvm", "0x95e268a8"},
      {"D refreshCvm", "0xb782bc71"},       {"D rotateCvmIdentityKey", "0x3538b662"},
  };
  ASSERT_EQ(KnownCalls().size(), expected.size());
  for (const auto& spec : KnownCalls()) {
    const std::string key = std::string(GenerationName(spec.generation)) + " " +
                            std::string(spec.function);
    ASSERT_TRUE(expected.count(key)) << key;
    EXPECT_EQ(FunctionSelector(spec.signature).ToHex(), expected.at(key)) << key;
    const CallSpec* found = nullptr;
    EXPECT_NE(FindCall(FunctionSelector(spec.signature), &found), nullptr);
    EXPECT_EQ(found, &spec);
  }
}

// topic0 values from specs/contracts.md §1.1 and §1.2.
TEST(RegistryEvents, TopicsMatchTheSpecTable) {
  const std::map<std::string, std::string> expected = {
      {"CVMUpdated(bytes32)", "0x64845dc53622ebb8d6b8e49053189f4124fb52f8104b1cd0d15b8bfc04d9c3d7"},
      {"CVMTTLUpdated(bytes32)", "0xc349c2001acb5fa3f0a5956ae37120f02a24bd3122277bfc779e4d4b54d16083"},
      {"CVMRegistered(bytes32)", "0xfa6baae215cba00d150ee78e5c40ef96d0653fbd1461870ac91058acaf014159"},
      {"CVMIdentityRotated(bytes32,bytes32)",
       "0xbe11b5c9e985ccdc4f45fb4f17ebdc3e6503bc0746be8220ec731ae25d7b8650"},
      {"CVMCollateralUpdated(bytes32,uint64,uint64)",
       "0x77da81f201e4a2f6ebd6d801589c6e1312c75ca4b274cee36c2254791d9f3c18"},
      {"CVMTTLUpdated(bytes32,uint64,uint64)",
       "0x15933e68a05ec2de92393de0fc9d2a3731e37026c7ab95331a97a00c38d4563a"},
      {"CVMRefreshed(bytes32)", "0x2949271b4da06be1505e1e274c6f3bf98de824da1112228c4dd0029a80fa01ea"},
      {"Upgraded(address)", "0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b"},
      {"OwnershipTransferred(address,address)",
       "0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0"},
      {"Initialized(uint64)", "0xc7f505b2f371ae2175ee4913f4499e1f2633a7b5936321eed1cdaeb6115181d2"},
      {"Initialized(uint8)", "0x7f26b83ff96e1f2b6a682f133852f6798a09c465da95921460cefb3847402498"},
      {"AdminChanged(address,address)",
       "0x7e644d79422f17c01e4894b5f4f588d331ebfa28653d42ae832dc59e38c9798f"},
      {"TpmSignatureVerified(bytes32)",
       "0x2c17d3d94d8af4f1c0c204587ea9a4b36d46e7de6c5cd7a60789cfee51d2f54b"},
      {"TpmMeasurementChecked(bytes32,bytes32,bytes)",
       "0x9a5be49730d12e895c077038ba6ddc661175ac9ebb1d48df56cdc54435e6c846"},
      {"AddCA(bytes)", "0xd461c913fce314baf01ff0a42420ced03018026a298b95ad3ec46f4604ec451c"},
      {"RemoveCA(bytes)", "0xf56d29d6456f0e12f118299cfe5b45569de747486f18d749059eb22e38fda465"},
      {"IntermediateCertRemoved(bytes32)",
       "0x48393c55f053f998d4f840952fa6093dd30058d0c60153989725296d18e44007"},
      {"CertificateRevoked(bytes32,bytes,bytes,uint256,string)",
       "0x3a4161073d52ace9c9c79f0c7876ba08f3826495a39c9c3c97f8ddded56e4f28"},
      {"CRLUpdated(bytes32,bytes,bytes,bytes32,uint256,uint256)",
       "0x773d775829fbfe4eb46303f479a570bd461e3d614b8db5f39c6738306b76fcd9"},
      {"StrictCRLModeChanged(bool)",
       "0x76a974f657fb198228e716f86c56210c70d3c58fa4f9662c65667a67d53ebbc4"},
  };
  ASSERT_EQ(KnownEvents().size(), expected.size());
  for (const auto& ev : KnownEvents()) {
    const std::string sig(ev.signature);
    ASSERT_TRUE(expected.count(sig)) << sig;
    const Hash32 topic = EventTopic(sig);
    EXPECT_EQ(topic.ToHex(), expected.at(sig)) << sig;
    ASSERT_NE(FindEvent(topic), nullptr);
    EXPECT_EQ(FindEvent(topic)->signature, ev.signature);
  }
  EXPECT_EQ(FindEvent(Hash32{}), nullptr);
}

Bytes Repeat(std::uint8_t b, std::size_t n) { return Bytes(n, b); }

// specs/contracts.md §6: the made-up key x = 0x11…11, y = 0x22…22.
TEST(IdentityHash, PubkeyFormHashesSchemeCurveHashAndRawXY) {
  IdentityKey key;
  key.sig_scheme = kTpmAlgEcdsa;
  key.curve = kTpmEccNistP256;
  key.hash_algo = kTpmAlgSha256;
  key.data = Concat({Repeat(0x11, 32), Repeat(0x22, 32)});
  EXPECT_EQ(IdentityHash(key).ToHex(),
            "0x1e083ea3f120e1275ac875a2c033e47841f5669805ee28f80d21ca7dfe388117");
}

TEST(IdentityHash, CertPubkeyFormPrefixesTheUncompressedPoint) {
  IdentityKey key;
  key.form = IdentityForm::kCertPubkey;
  key.key_algo = kTpmAlgEcc;
  key.sig_scheme = kTpmAlgEcdsa;
  key.curve = kTpmEccNistP256;
  key.hash_algo = kTpmAlgSha256;
  key.data = Concat({Bytes{0x04}, Repeat(0x11, 32), Repeat(0x22, 32)});
  EXPECT_EQ(IdentityHash(key).ToHex(),
            "0x58dc3e8d18615af2ea971fef446edfad199ec8495a337849a09d70b395a8411c");
}

Bytes EccTpmtPublic(bool with_scheme) {
  Bytes t;
  AppendBe16(t, kTpmAlgEcc);
  AppendBe16(t, kTpmAlgSha256);
  t.insert(t.end(), {0x00, 0x05, 0x04, 0x72});  // objectAttributes
  AppendBe16(t, 0);                             // empty authPolicy
  AppendBe16(t, kTpmAlgNull);                   // symmetric
  if (with_scheme) {
    AppendBe16(t, kTpmAlgEcdsa);
    AppendBe16(t, kTpmAlgSha256);
  } else {
    AppendBe16(t, kTpmAlgNull);
  }
  AppendBe16(t, kTpmEccNistP256);
  AppendBe16(t, kTpmAlgNull);  // kdf
  AppendBe16(t, 32);
  t.insert(t.end(), 32, 0x11);
  AppendBe16(t, 32);
  t.insert(t.end(), 32, 0x22);
  return t;
}

TEST(TpmtPublic, EccKeyBecomesUncompressedPointAndHashesLikeCertPubkey) {
  for (bool with_scheme : {false, true}) {
    auto pub = CertPubkeyFromTpmtPublic(EccTpmtPublic(with_scheme));
    ASSERT_TRUE(pub.ok()) << pub.error().ToString();
    EXPECT_EQ(pub->algo, kTpmAlgEcc);
    EXPECT_EQ(pub->params, kTpmEccNistP256);
    EXPECT_EQ(pub->data, Concat({Bytes{0x04}, Repeat(0x11, 32), Repeat(0x22, 32)}));
  }
}

TEST(TpmtPublic, RsaKeyBecomesDerRsaPublicKeyWithDefaultExponent) {
  Bytes t;
  AppendBe16(t, kTpmAlgRsa);
  AppendBe16(t, kTpmAlgSha256);
  t.insert(t.end(), {0x00, 0x05, 0x04, 0x72});
  AppendBe16(t, 0);
  AppendBe16(t, kTpmAlgNull);
  AppendBe16(t, kTpmAlgNull);
  AppendBe16(t, 2048);
  t.insert(t.end(), {0, 0, 0, 0});  // exponent 0 = 65537
  AppendBe16(t, 256);
  Bytes n(256, 0xc3);
  t.insert(t.end(), n.begin(), n.end());
  auto pub = CertPubkeyFromTpmtPublic(t);
  ASSERT_TRUE(pub.ok()) << pub.error().ToString();
  EXPECT_EQ(pub->algo, kTpmAlgRsa);
  // SEQUENCE(270) { INTEGER(257) 00‖n, INTEGER(3) 010001 }: the layout of the Azure AK in the seed.
  const Bytes expected = Concat({HexToBytes("3082010a0282010100").value(), n,
                                 HexToBytes("0203010001").value()});
  EXPECT_EQ(pub->data, expected);
}

TEST(TpmtPublic, TruncationAndUnknownTypesAreErrors) {
  Bytes t = EccTpmtPublic(false);
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{12}, std::size_t{20}, t.size() - 1}) {
    auto r = CertPubkeyFromTpmtPublic(ByteView(t.data(), cut));
    EXPECT_FALSE(r.ok()) << cut;
  }
  t[1] = 0x08;  // TPM_ALG_KEYEDHASH
  auto r = CertPubkeyFromTpmtPublic(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupportedKey);
}

TEST(DecodeRegistryCall, UnknownSelectorIsNamed) {
  const Bytes calldata = HexToBytes("0xa9059cbb" + std::string(128, '0')).value();
  auto r = DecodeRegistryCall(calldata);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnknownSelector);
  EXPECT_NE(r.error().message.find("0xa9059cbb"), std::string::npos) << r.error().message;
  EXPECT_FALSE(DecodeRegistryCall(Bytes{0xdf, 0x42}).ok());
}

TEST(DecodeRegistryCall, CGenerationAttestRoundTripsThroughTheEncoder) {
  // Build a C attestCvm with the encoder and check every field comes back.
  const CallSpec* spec = nullptr;
  const abi::Function* fn = FindCall(FunctionSelector(
      "attestCvm(uint8,uint8,uint8,bytes,((uint16,uint16,bytes),(uint16,uint16)),(bytes,bytes,("
      "uint256,bytes32,bytes32[],uint256[],bool)[],bytes,bytes,bytes[]))"), &spec);
  ASSERT_NE(fn, nullptr);
  using abi::Value;
  auto u = [](std::uint64_t v) { return Value::Uint(U256(v)); };
  const Bytes point = Concat({Bytes{0x04}, Repeat(0x11, 32), Repeat(0x22, 32)});
  const Value pcr = Value::List({u(15), Value::Blob(Repeat(0xaa, 32)),
                                 Value::List({Value::Blob(Repeat(0x01, 32))}), Value::List({u(0)}),
                                 Value::Bool(false)});
  const Value args = Value::List({
      u(2), u(1), u(1), Value::Blob(Repeat(0x5a, 100)),
      Value::List({Value::List({u(kTpmAlgEcc), u(kTpmEccNistP256), Value::Blob(point)}),
                   Value::List({u(kTpmAlgEcdsa), u(kTpmAlgSha256)})}),
      Value::List({Value::Blob(Repeat(0x01, 146)), Value::Blob(Repeat(0x02, 72)),
                   Value::List({pcr}), Value::Blob({}), Value::Blob(Repeat(0x03, 10)),
                   Value::List({Value::Blob(Repeat(0x30, 5))})}),
  });
  auto calldata = abi::EncodeCall(*fn, args);
  ASSERT_TRUE(calldata.ok());
  auto call = DecodeRegistryCall(*calldata);
  ASSERT_TRUE(call.ok()) << call.error().ToString();
  const auto* attest = std::get_if<AttestCall>(&*call);
  ASSERT_NE(attest, nullptr);
  EXPECT_EQ(attest->generation, Generation::kC);
  EXPECT_EQ(attest->cloud_type, 2);
  EXPECT_EQ(attest->tee_type, 1);
  EXPECT_EQ(attest->tee_report.size(), 100u);
  EXPECT_EQ(attest->wc.pcrs.size(), 1u);
  EXPECT_EQ(attest->wc.pcrs[0].index, U256(15));
  EXPECT_FALSE(attest->wc.cvm_identity.has_value());
  EXPECT_EQ(attest->identity.key_algo, kTpmAlgEcc);
  EXPECT_EQ(attest->identity_hash.ToHex(),
            "0x58dc3e8d18615af2ea971fef446edfad199ec8495a337849a09d70b395a8411c");
  EXPECT_EQ(CallName(*call), "attestCvm");
}

TEST(DecodeRegistryCall, DGenerationRegisterAndRotateDeriveTheKeyFromTpmtPublic) {
  using abi::Value;
  auto u = [](std::uint64_t v) { return Value::Uint(U256(v)); };
  const Value identity =
      Value::List({Value::Blob(EccTpmtPublic(false)), Value::List({u(kTpmAlgEcdsa), u(kTpmAlgSha256)})});
  const Value cert = Value::List({Value::Blob(Repeat(0x07, 20)), Value::Blob(Repeat(0x08, 64))});
  const Value wc = Value::List({Value::Blob({}), Value::Blob({}), Value::List({}), Value::Blob({}),
                                Value::Blob({}), Value::List({})});
  const abi::Function* reg = FindCall(Selector::FromHex("0x95e268a8").value());
  ASSERT_NE(reg, nullptr);
  auto calldata = abi::EncodeCall(
      *reg, Value::List({u(1), u(2), u(3600), u(3), Value::Blob(Repeat(0x11, 8)), identity, cert, wc}));
  ASSERT_TRUE(calldata.ok()) << calldata.error().ToString();
  auto call = DecodeRegistryCall(*calldata);
  ASSERT_TRUE(call.ok()) << call.error().ToString();
  const auto* attest = std::get_if<AttestCall>(&*call);
  ASSERT_NE(attest, nullptr);
  EXPECT_EQ(attest->generation, Generation::kD);
  EXPECT_EQ(attest->tee_ttl, 3600u);
  ASSERT_TRUE(attest->certification.has_value());
  EXPECT_EQ(attest->identity_hash.ToHex(),
            "0x58dc3e8d18615af2ea971fef446edfad199ec8495a337849a09d70b395a8411c");
  EXPECT_EQ(CallName(*call), "registerCvm");

  const abi::Function* rotate = FindCall(Selector::FromHex("0x3538b662").value());
  ASSERT_NE(rotate, nullptr);
  auto rot_data = abi::EncodeCall(*rotate, Value::List({Value::Blob(Repeat(0x99, 32)), identity, cert}));
  ASSERT_TRUE(rot_data.ok());
  auto rot = DecodeRegistryCall(*rot_data);
  ASSERT_TRUE(rot.ok()) << rot.error().ToString();
  const auto* r = std::get_if<RotateCall>(&*rot);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->target_identity_hash, Hash32::FromBytes(Repeat(0x99, 32)).value());
  EXPECT_EQ(r->new_identity_hash, attest->identity_hash);
}

}  // namespace
}  // namespace cvmwatch::registry
