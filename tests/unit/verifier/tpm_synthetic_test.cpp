// Synthetic TPM quotes, signatures and AK chains: each check made to fail in isolation, including
// the cases the real data cannot show (the absent-NULL DigestInfo, high-s ECDSA, chain rules).
#include <gtest/gtest.h>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/tpm.h"
#include "detail/ak_trust.h"
#include "tpm_mint.h"

namespace cvmwatch::verifier {
namespace {

using namespace mint;

TEST(TpmSignatureSynthetic, EcdsaVerifiesIncludingHighS) {
  Key ak = NewP256();
  const Bytes quote = MintQuote({});
  EXPECT_TRUE(VerifyTpmSignature(quote, SignEcdsa(quote, ak.get()), PublicOf(ak.get())).ok());
  // The RIP-7212 / Daimo verifiers impose no low-s rule, and neither does the chain.
  EXPECT_TRUE(VerifyTpmSignature(quote, SignEcdsa(quote, ak.get(), true), PublicOf(ak.get())).ok());
}

TEST(TpmSignatureSynthetic, EcdsaWithAnotherKeyOrQuoteFails) {
  Key ak = NewP256();
  Key other = NewP256();
  const Bytes quote = MintQuote({});
  const Bytes sig = SignEcdsa(quote, ak.get());
  EXPECT_FALSE(VerifyTpmSignature(quote, sig, PublicOf(other.get())).ok());
  Bytes changed = quote;
  changed.back() ^= 1;
  EXPECT_FALSE(VerifyTpmSignature(changed, sig, PublicOf(ak.get())).ok());
  Bytes zero_r = sig;
  std::fill(zero_r.begin() + 6, zero_r.begin() + 38, 0);
  EXPECT_FALSE(VerifyTpmSignature(quote, zero_r, PublicOf(ak.get())).ok());
}

EVP_PKEY* SharedRsaAk() {
  static Key key = NewRsa(2048);
  return key.get();
}

TEST(TpmSignatureSynthetic, RsaAcceptsBothDigestInfoFormsAsOpenZeppelinDoes) {
  struct {
    EVP_PKEY* get() const { return SharedRsaAk(); }
  } ak;
  const Bytes quote = MintQuote({});
  EXPECT_TRUE(VerifyTpmSignature(quote, SignRsa(quote, ak.get(), DigestInfoForm::kExplicitNull), PublicOf(ak.get())).ok());
  auto absent = VerifyTpmSignature(quote, SignRsa(quote, ak.get(), DigestInfoForm::kAbsentNull), PublicOf(ak.get()));
  EXPECT_TRUE(absent.ok()) << absent.error().ToString();
}

TEST(TpmSignatureSynthetic, RsaRejectsBadPaddingOtherSchemesAndHashes) {
  struct {
    EVP_PKEY* get() const { return SharedRsaAk(); }
  } ak;
  const Bytes quote = MintQuote({});
  auto bad_pad = VerifyTpmSignature(quote, SignRsa(quote, ak.get(), DigestInfoForm::kExplicitNull, 0xfe), PublicOf(ak.get()));
  ASSERT_FALSE(bad_pad.ok());
  EXPECT_NE(bad_pad.error().message.find("PKCS#1"), std::string::npos) << bad_pad.error().message;
  // RSAPSS (0x0016) is never accepted on chain.
  EXPECT_FALSE(VerifyTpmSignature(quote, SignRsa(quote, ak.get(), DigestInfoForm::kExplicitNull, 0xff, 0x0016),
                                  PublicOf(ak.get()))
                   .ok());
  Bytes sha1 = SignRsa(quote, ak.get(), DigestInfoForm::kExplicitNull);
  sha1[3] = 0x04;  // hashAlg SHA-1
  EXPECT_FALSE(VerifyTpmSignature(quote, sha1, PublicOf(ak.get())).ok());
  // A signature shorter than the modulus: 255 bytes for a 256-byte key.
  Bytes short_sig = SignRsa(quote, ak.get(), DigestInfoForm::kExplicitNull);
  short_sig.pop_back();
  short_sig[4] = 0x00;
  short_sig[5] = 0xff;
  EXPECT_FALSE(VerifyTpmSignature(quote, short_sig, PublicOf(ak.get())).ok());
  // An ECDSA signature under an RSA AK.
  Key ec = NewP256();
  EXPECT_FALSE(VerifyTpmSignature(quote, SignEcdsa(quote, ec.get()), PublicOf(ak.get())).ok());
}

TEST(TpmSignatureSynthetic, RsaKeysBelow2048BitsAreRejected) {
  Key small = NewRsa(1024);
  const Bytes quote = MintQuote({});
  EXPECT_FALSE(VerifyTpmSignature(quote, SignRsa(quote, small.get(), DigestInfoForm::kExplicitNull), PublicOf(small.get())).ok());
}

TEST(TpmQuoteSynthetic, ParserEnforcesTypeSelectionBankAndDigestSize) {
  EXPECT_TRUE(ParseTpmQuote(MintQuote({})).ok());
  QuoteSpec wrong_type;
  wrong_type.type = 0x8017;
  EXPECT_FALSE(ParseTpmQuote(MintQuote(wrong_type)).ok());
  QuoteSpec two;
  two.selection_count = 2;
  EXPECT_FALSE(ParseTpmQuote(MintQuote(two)).ok());
  QuoteSpec sha1;
  sha1.bank = 0x0004;
  EXPECT_FALSE(ParseTpmQuote(MintQuote(sha1)).ok());
  QuoteSpec short_digest;
  short_digest.pcr_digest = Bytes(20, 1);
  EXPECT_FALSE(ParseTpmQuote(MintQuote(short_digest)).ok());
  const Bytes q = MintQuote({});
  for (std::size_t cut = 0; cut < q.size(); ++cut) {
    EXPECT_FALSE(ParseTpmQuote(ByteView(q.data(), cut)).ok()) << cut;
  }
  // The magic is not required (the contract ignores it), and trailing bytes are ignored.
  Bytes no_magic = q;
  no_magic[0] = 0;
  no_magic.push_back(7);
  EXPECT_TRUE(ParseTpmQuote(no_magic).ok());
}

registry::MeasurablePcr Pcr(std::uint64_t index, std::uint8_t fill) {
  registry::MeasurablePcr p;
  p.index = U256(index);
  p.pcr.bytes.fill(fill);
  p.measure_pcr = true;
  return p;
}

TEST(PcrChecksSynthetic, SelectionComparesFourBytesWithRightPadding) {
  QuoteSpec spec;
  spec.pcr_select = {0x03, 0x00, 0x00};  // PCR 0 and 1
  auto q = ParseTpmQuote(MintQuote(spec)).value();
  const std::vector<registry::MeasurablePcr> both = {Pcr(0, 1), Pcr(1, 2)};
  EXPECT_TRUE(CheckPcrSelection(q, both).ok());
  EXPECT_FALSE(CheckPcrSelection(q, std::vector<registry::MeasurablePcr>{Pcr(0, 1)}).ok());
  EXPECT_FALSE(CheckPcrSelection(q, std::vector<registry::MeasurablePcr>{Pcr(0, 1), Pcr(32, 2)}).ok());
  // Bytes beyond the fourth of sizeofSelect are ignored, as Solidity's bytes4(slice) does.
  spec.pcr_select = {0x03, 0x00, 0x00, 0x00, 0xff};
  EXPECT_TRUE(CheckPcrSelection(ParseTpmQuote(MintQuote(spec)).value(), both).ok());
}

TEST(PcrChecksSynthetic, DigestReplaysEventsForZeroPcrsInArrayOrder) {
  registry::MeasurablePcr zero = Pcr(0, 0);
  zero.all_events = {Hash32::FromBytes(Bytes(32, 5)).value(), Hash32::FromBytes(Bytes(32, 6)).value()};
  const registry::MeasurablePcr one = Pcr(1, 9);
  const Hash32 replay = ReplayEvents(zero.all_events);
  QuoteSpec spec;
  spec.pcr_select = {0x03, 0x00, 0x00};
  const Hash32 digest = Sha256(Concat({replay.view(), one.pcr.view()}));
  spec.pcr_digest.assign(digest.bytes.begin(), digest.bytes.end());
  auto q = ParseTpmQuote(MintQuote(spec)).value();
  EXPECT_TRUE(CheckPcrDigest(q, std::vector<registry::MeasurablePcr>{zero, one}).ok());
  // Order matters: the contract does not sort.
  EXPECT_FALSE(CheckPcrDigest(q, std::vector<registry::MeasurablePcr>{one, zero}).ok());
  // A non-zero PCR with events must replay to its value.
  registry::MeasurablePcr inconsistent = one;
  inconsistent.all_events = zero.all_events;
  EXPECT_FALSE(CheckPcrEvents(std::vector<registry::MeasurablePcr>{inconsistent}).ok());
}

// A Google-shaped chain: root CA -> intermediate CA -> AK leaf, all minted here.
class AkChainSynthetic : public ::testing::Test {
 protected:
  void Build(const CertSpec& root_spec, const CertSpec& inter_spec, const CertSpec& leaf_spec) {
    root_ = MintCert(root_spec, root_key_.get(), nullptr, root_key_.get());
    inter_ = MintCert(inter_spec, inter_key_.get(), &root_, root_key_.get());
    leaf_ = MintCert(leaf_spec, ak_.get(), &inter_, inter_key_.get());
  }
  void TearDown() override {
    FreeCert(root_);
    FreeCert(inter_);
    FreeCert(leaf_);
  }
  Result<registry::CertPubkey> Verify(long at = 1800000000) {
    return detail::VerifyAkCertChain({leaf_.der, inter_.der, root_.der}, {root_.der}, FromUnixSeconds(at));
  }
  static CertSpec Ca(const char* cn) {
    CertSpec s;
    s.subject_cn = cn;
    s.ca = true;
    s.key_cert_sign = true;
    return s;
  }
  static CertSpec Leaf() {
    CertSpec s;
    s.subject_cn = "ak";
    return s;
  }
  // RSA key generation is slow (more so under ASan): one set of keys for the whole suite.
  static EVP_PKEY* SharedRsa(int which) {
    static Key keys[3] = {NewRsa(2048), NewRsa(2048), NewRsa(2048)};
    return keys[which].get();
  }
  EVP_PKEY* const root_key_ptr_ = SharedRsa(0);
  EVP_PKEY* const inter_key_ptr_ = SharedRsa(1);
  struct Borrowed {
    EVP_PKEY* p;
    EVP_PKEY* get() const { return p; }
  };
  Borrowed root_key_{root_key_ptr_}, inter_key_{inter_key_ptr_};
  Key ak_ = NewP256();
  MintedCert root_, inter_, leaf_;
};

TEST_F(AkChainSynthetic, AValidChainYieldsTheLeafKey) {
  Build(Ca("root"), Ca("intermediate"), Leaf());
  auto key = Verify();
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(*key, PublicOf(ak_.get()));
}

TEST_F(AkChainSynthetic, ALeafThatIsACaIsRejected) {
  CertSpec leaf = Ca("ak");
  Build(Ca("root"), Ca("intermediate"), leaf);
  auto r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("leaf is a CA"), std::string::npos) << r.error().message;
}

TEST_F(AkChainSynthetic, AnIssuerWithoutKeyCertSignIsRejected) {
  CertSpec inter = Ca("intermediate");
  inter.key_cert_sign = false;
  Build(Ca("root"), inter, Leaf());
  auto r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("keyCertSign"), std::string::npos) << r.error().message;
}

TEST_F(AkChainSynthetic, PathLengthIsEnforced) {
  CertSpec root = Ca("root");
  root.path_len = 0;  // no CA may follow the root, but the intermediate does
  Build(root, Ca("intermediate"), Leaf());
  auto r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("path length"), std::string::npos) << r.error().message;
}

TEST_F(AkChainSynthetic, AnIssuerWithoutSubjectKeyIdIsRejected) {
  CertSpec inter = Ca("intermediate");
  inter.subject_key_id = false;
  CertSpec leaf = Leaf();
  leaf.authority_key_id = false;  // nothing to point at (the leaf may omit it)
  Build(Ca("root"), inter, leaf);
  auto r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("subject key identifier"), std::string::npos) << r.error().message;
}

TEST_F(AkChainSynthetic, AnIssuerNameThatDiffersFromTheSignersSubjectIsRejected) {
  CertSpec leaf = Leaf();
  leaf.issuer_cn_override = "someone else";
  Build(Ca("root"), Ca("intermediate"), leaf);
  auto r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("issuer name"), std::string::npos) << r.error().message;
}

TEST_F(AkChainSynthetic, ASha1SignatureIsRejected) {
  CertSpec leaf = Leaf();
  leaf.digest = EVP_sha384();  // neither sha256WithRSAEncryption nor ecdsa-with-SHA256
  Build(Ca("root"), Ca("intermediate"), leaf);
  auto r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("signature algorithm"), std::string::npos) << r.error().message;
}

TEST_F(AkChainSynthetic, TimeOutsideAnyValidityIsRejected) {
  Build(Ca("root"), Ca("intermediate"), Leaf());
  EXPECT_FALSE(Verify(1600000000).ok());
  EXPECT_FALSE(Verify(2100000000).ok());
  EXPECT_TRUE(Verify(2000000000).ok());  // notAfter itself is still valid
}

TEST_F(AkChainSynthetic, AnUntrustedRootOrAWrongSignatureIsRejected) {
  Build(Ca("root"), Ca("intermediate"), Leaf());
  EVP_PKEY* imposter_key = SharedRsa(2);
  MintedCert imposter = MintCert(Ca("root"), imposter_key, nullptr, imposter_key);
  auto untrusted = detail::VerifyAkCertChain({leaf_.der, inter_.der, imposter.der}, {root_.der}, FromUnixSeconds(1800000000));
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().message.find("not a trusted"), std::string::npos);
  // The imposter trusted, but the intermediate was not signed by it.
  auto unsigned_link =
      detail::VerifyAkCertChain({leaf_.der, inter_.der, imposter.der}, {imposter.der}, FromUnixSeconds(1800000000));
  ASSERT_FALSE(unsigned_link.ok());
  FreeCert(imposter);
  EXPECT_FALSE(detail::VerifyAkCertChain({}, {root_.der}, FromUnixSeconds(1800000000)).ok());
  EXPECT_FALSE(detail::VerifyAkCertChain({leaf_.der, inter_.der, inter_.der, inter_.der, root_.der}, {root_.der},
                                         FromUnixSeconds(1800000000))
                   .ok());
}

}  // namespace
}  // namespace cvmwatch::verifier
