// Real TPM 2.0 quotes, made at test time by a software TPM (scripts/tpm-quotes), checked with our
// verifier: what a TPM really emits must parse, verify under its AK and nothing else, match the
// PCR values it reports, and chain to the AK certificate. Hand-minted quotes (tpm_mint.h) cover the
// malformed cases a real TPM refuses to sign; these cover "the real thing is accepted".
// Skips when swtpm or tpm2-tools are not installed (the script exits 77).
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/verifier/tpm.h"
#include "detail/ak_trust.h"
#include "detail/openssl_util.h"
#include "testdata.h"
#include "tpm_mint.h"

namespace cvmwatch::verifier {
namespace {

namespace fs = std::filesystem;
using cvmwatch::testing::ReadBinary;
using cvmwatch::testing::ReadText;

// Few quotes and few test cases: ctest runs each case in its own process, so the script runs once
// per case (and again under the sanitizers).
constexpr int kQuotesPerAk = 3;
// Per AK: the N quotes with 33-byte extraData, then the 50- and the 65-byte one.
constexpr std::size_t kQuotesPerKind = kQuotesPerAk + 2;
// The selection the script quotes: a GCE quote's PCR set, pcrSelect 97 8a 81.
const std::vector<int> kSelection = {0, 1, 2, 4, 7, 9, 11, 15, 16, 23};
const Bytes kPcrSelect = {0x97, 0x8a, 0x81};

Bytes Append(Bytes a, ByteView b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct RealQuote {
  std::string name;  // e.g. "rsa-001", "ecc-ed65"
  bool rsa = true;
  Bytes attest, sig, qd_file;
  Bytes expected_extra;  // recomputed here from the script's documented rule
};

struct AkKeys {
  registry::CertPubkey pem;  // from ak-*.pem via OpenSSL
  Bytes tpm2b_public;        // as the TPM reported it
  Bytes cert;                // ak-*.crt.der
};

class SwtpmQuotes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string dir = (fs::temp_directory_path() / "cvmwatch-swtpm-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
      failure_ = "cannot create a temp dir like " + dir;
      return;
    }
    base_ = dir;
    out_ = base_ / "out";
    const fs::path script = fs::path(CVMWATCH_SOURCE_DIR) / "scripts" / "tpm-quotes";
    const fs::path log = base_ / "tpm-quotes.log";
    const std::string cmd = "bash '" + script.string() + "' '" + out_.string() + "' " +
                            std::to_string(kQuotesPerAk) + " >'" + log.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 77 || code == 127) {
      skip_ = "swtpm / tpm2-tools not available (install them with scripts/bootstrap): " +
              ReadText(log);
      while (!skip_.empty() && std::isspace(static_cast<unsigned char>(skip_.back())))
        skip_.pop_back();
      return;
    }
    if (code != 0) {
      failure_ =
          "scripts/tpm-quotes failed (status " + std::to_string(status) + "): " + ReadText(log);
      return;
    }
    Load();
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    if (!base_.empty()) fs::remove_all(base_, ec);
    base_.clear();
    quotes_.clear();
    pcrs_.clear();
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(failure_.empty()) << failure_;
  }

  static void Load() {
    std::map<std::string, std::string> manifest;
    std::istringstream in(ReadText(out_ / "manifest"));
    for (std::string line; std::getline(in, line);) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) manifest[line.substr(0, eq)] = line.substr(eq + 1);
    }
    uuid_ = manifest["uuid"];
    selection_text_ = manifest["selection"];
    if (manifest["quotes"] != std::to_string(kQuotesPerAk) || uuid_.empty()) {
      failure_ = "unexpected manifest: " + ReadText(out_ / "manifest");
      return;
    }
    const Hash32 nonce = Sha256(AsBytes("cvm-nonce"));
    std::vector<std::string> ids;
    for (int i = 1; i <= kQuotesPerAk; ++i) {
      char id[8];
      std::snprintf(id, sizeof id, "%03d", i);
      ids.emplace_back(id);
    }
    ids.emplace_back("ed50");
    ids.emplace_back("ed65");
    for (const char* ak : {"rsa", "ecc"}) {
      for (const std::string& id : ids) {
        RealQuote q;
        q.name = std::string(ak) + "-" + id;
        q.rsa = std::string(ak) == "rsa";
        q.attest = ReadBinary(out_ / (q.name + ".attest"));
        q.sig = ReadBinary(out_ / (q.name + ".sig"));
        q.qd_file = ReadBinary(out_ / (q.name + ".qd"));
        // 0xff || identity hash (|| nonce), like the registry's binding.
        q.expected_extra = Append({0xff}, Sha256(AsBytes("cvm-identity-" + id)).view());
        if (id == "ed50") q.expected_extra = Append(q.expected_extra, nonce.view().first(17));
        if (id == "ed65") q.expected_extra = Append(q.expected_extra, nonce.view());
        quotes_.push_back(std::move(q));
      }
    }
    for (const char* ak : {"rsa", "ecc"}) {
      AkKeys& keys = std::string(ak) == "rsa" ? rsa_ : ecc_;
      auto pem = KeyFromPem(out_ / ("ak-" + std::string(ak) + ".pem"));
      if (!pem.ok()) {
        failure_ = pem.error().ToString();
        return;
      }
      keys.pem = *pem;
      keys.tpm2b_public = ReadBinary(out_ / ("ak-" + std::string(ak) + ".tpm2b_public"));
      keys.cert = ReadBinary(out_ / ("ak-" + std::string(ak) + ".crt.der"));
    }
    root_ = ReadBinary(out_ / "root.der");
    intermediate_ = ReadBinary(out_ / "int.der");
    const Bytes values = ReadBinary(out_ / "pcrs.values");
    if (values.size() != 32 * kSelection.size()) {
      failure_ = "pcrs.values has " + std::to_string(values.size()) + " bytes";
      return;
    }
    for (std::size_t i = 0; i < kSelection.size(); ++i) {
      registry::MeasurablePcr p;
      p.index = U256(static_cast<std::uint64_t>(kSelection[i]));
      p.pcr = Hash32::FromBytes(ByteView(values).subspan(32 * i, 32)).value();
      p.measure_pcr = true;
      pcrs_.push_back(std::move(p));
    }
  }

  static Result<registry::CertPubkey> KeyFromPem(const fs::path& path) {
    BIO* bio = BIO_new_file(path.c_str(), "r");
    if (bio == nullptr) return MakeError(ErrorCode::kIo, "cannot open " + path.string());
    detail::PkeyPtr key(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    if (!key)
      return MakeError(ErrorCode::kUnsupportedKey, "not a PEM public key: " + path.string());
    return detail::CertPubkeyOf(key.get());
  }

  static const AkKeys& KeysOf(const RealQuote& q) { return q.rsa ? rsa_ : ecc_; }
  static const AkKeys& OtherKeysOf(const RealQuote& q) { return q.rsa ? ecc_ : rsa_; }
  static TimePoint Now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  }
  static const registry::MeasurablePcr& PcrAt(int index) {
    return *std::find_if(pcrs_.begin(), pcrs_.end(),
                         [&](const auto& p) { return p.index == U256(index); });
  }

  static inline fs::path base_, out_;
  static inline std::string skip_, failure_, uuid_, selection_text_;
  static inline std::vector<RealQuote> quotes_;
  static inline AkKeys rsa_, ecc_;
  static inline Bytes root_, intermediate_;
  static inline std::vector<registry::MeasurablePcr> pcrs_;
};

TEST_F(SwtpmQuotes, EveryRealQuoteParsesWithTheRequestedExtraDataSelectionAndSigner) {
  ASSERT_EQ(quotes_.size(), 2u * kQuotesPerKind);
  EXPECT_EQ(selection_text_, "0,1,2,4,7,9,11,15,16,23");
  for (const RealQuote& q : quotes_) {
    SCOPED_TRACE(q.name);
    auto parsed = ParseTpmQuote(q.attest);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    EXPECT_EQ(parsed->magic, kTpmGeneratedValue);
    EXPECT_EQ(parsed->type, kTpmStAttestQuote);
    EXPECT_EQ(q.qd_file, q.expected_extra);
    EXPECT_EQ(parsed->extra_data, q.expected_extra);
    EXPECT_EQ(parsed->selection_count, 1u);
    EXPECT_EQ(parsed->selection_hash, registry::kTpmAlgSha256);
    EXPECT_EQ(parsed->pcr_select, kPcrSelect);
    EXPECT_EQ(parsed->pcr_digest.size(), 32u);
    // qualifiedSigner is a SHA-256 name (nameAlg || digest), and nothing follows pcrDigest.
    ASSERT_EQ(parsed->qualified_signer.size(), 34u);
    EXPECT_EQ(parsed->qualified_signer[0], 0x00);
    EXPECT_EQ(parsed->qualified_signer[1], 0x0b);
    EXPECT_EQ(q.attest.size(), 113u + q.expected_extra.size());
  }
  // One AK: one signer name, one reset count, a clock that never goes back. Two AKs: two names.
  for (std::size_t group : {std::size_t{0}, kQuotesPerKind}) {
    const TpmQuote first = ParseTpmQuote(quotes_[group].attest).value();
    std::uint64_t clock = first.clock;
    for (std::size_t i = group + 1; i < group + kQuotesPerKind; ++i) {
      SCOPED_TRACE(quotes_[i].name);
      const TpmQuote next = ParseTpmQuote(quotes_[i].attest).value();
      EXPECT_EQ(next.qualified_signer, first.qualified_signer);
      EXPECT_EQ(next.reset_count, first.reset_count);
      EXPECT_GE(next.clock, clock);
      clock = next.clock;
    }
  }
  EXPECT_NE(ParseTpmQuote(quotes_.front().attest).value().qualified_signer,
            ParseTpmQuote(quotes_.back().attest).value().qualified_signer);
}

TEST_F(SwtpmQuotes, EveryRealQuoteVerifiesOnlyWithItsOwnAkAndOnlyUnaltered) {
  for (std::size_t i = 0; i < quotes_.size(); ++i) {
    const RealQuote& q = quotes_[i];
    SCOPED_TRACE(q.name);
    auto own = VerifyTpmSignature(q.attest, q.sig, KeysOf(q).pem);
    EXPECT_TRUE(own.ok()) << own.error().ToString();
    EXPECT_FALSE(VerifyTpmSignature(q.attest, q.sig, OtherKeysOf(q).pem).ok());
    // Nor does a signature carry over to another real quote from the same AK.
    const std::size_t group = i / kQuotesPerKind * kQuotesPerKind;
    const RealQuote& other = quotes_[group + (i - group + 1) % kQuotesPerKind];
    ASSERT_EQ(other.rsa, q.rsa);
    EXPECT_FALSE(VerifyTpmSignature(other.attest, q.sig, KeysOf(q).pem).ok());
  }
  // Every byte of the first and of the 65-byte quote of each AK, and of their signatures.
  for (const RealQuote& q : quotes_) {
    if (!q.name.ends_with("-001") && !q.name.ends_with("-ed65")) continue;
    SCOPED_TRACE(q.name);
    for (std::size_t i = 0; i < q.attest.size(); ++i) {
      Bytes changed = q.attest;
      changed[i] ^= 0xff;
      EXPECT_FALSE(VerifyTpmSignature(changed, q.sig, KeysOf(q).pem).ok()) << "attest byte " << i;
    }
    for (std::size_t i = 0; i < q.sig.size(); ++i) {
      Bytes changed = q.sig;
      changed[i] ^= 0xff;
      EXPECT_FALSE(VerifyTpmSignature(q.attest, changed, KeysOf(q).pem).ok())
          << "signature byte " << i;
    }
  }
}

TEST_F(SwtpmQuotes, TheWrittenPcrValuesMatchTheQuotedDigestAndSelection) {
  const Hash32 values_hash = Sha256(ReadBinary(out_ / "pcrs.values"));
  std::vector<registry::MeasurablePcr> changed = pcrs_;
  changed.back().pcr.bytes[31] ^= 1;
  const std::vector<registry::MeasurablePcr> reversed(pcrs_.rbegin(), pcrs_.rend());
  for (const RealQuote& q : quotes_) {
    SCOPED_TRACE(q.name);
    const TpmQuote parsed = ParseTpmQuote(q.attest).value();
    // Independently of the verifier: the TPM hashes the selected values in ascending order.
    EXPECT_EQ(parsed.pcr_digest, Bytes(values_hash.bytes.begin(), values_hash.bytes.end()));
    auto digest = CheckPcrDigest(parsed, pcrs_);
    EXPECT_TRUE(digest.ok()) << digest.error().ToString();
    // Another value, or the right values in another order (the contract does not sort), fail.
    EXPECT_FALSE(CheckPcrDigest(parsed, changed).ok());
    EXPECT_FALSE(CheckPcrDigest(parsed, reversed).ok());
    auto selection = CheckPcrSelection(parsed, pcrs_);
    EXPECT_TRUE(selection.ok()) << selection.error().ToString();
  }
  // Other sets than the quoted one: one PCR fewer (23), one more (3), one moved (9 -> 8).
  const TpmQuote parsed = ParseTpmQuote(quotes_.front().attest).value();
  const std::vector<registry::MeasurablePcr> missing(pcrs_.begin(), pcrs_.end() - 1);
  EXPECT_FALSE(CheckPcrSelection(parsed, missing).ok());
  std::vector<registry::MeasurablePcr> extra = pcrs_;
  extra.push_back(pcrs_.front());
  extra.back().index = U256(3);
  EXPECT_FALSE(CheckPcrSelection(parsed, extra).ok());
  std::vector<registry::MeasurablePcr> moved = pcrs_;
  ASSERT_EQ(moved[5].index, U256(9));
  moved[5].index = U256(8);
  EXPECT_FALSE(CheckPcrSelection(parsed, moved).ok());
}

TEST_F(SwtpmQuotes, Pcr15HoldsTheUuidExtendedAsGceBindsItAndTheUntouchedPcrsAreZero) {
  const Hash32 zero{};
  const Hash32 uuid_hash = Sha256(AsBytes(uuid_));
  EXPECT_EQ(PcrAt(15).pcr, Sha256(Concat({zero.view(), uuid_hash.view()})))
      << PcrAt(15).pcr.ToHex();
  for (int untouched : {1, 2, 9, 11, 23}) EXPECT_TRUE(PcrAt(untouched).pcr.IsZero()) << untouched;
  for (int extended : {0, 4, 7, 16}) {
    const Hash32 event = Sha256(AsBytes("pcr" + std::to_string(extended) + "-event"));
    EXPECT_EQ(PcrAt(extended).pcr, Sha256(Concat({zero.view(), event.view()}))) << extended;
  }
  // PCR15 with its one-event log: the log is consistent, and a zero value with the log replays
  // to the same quoted digest.
  std::vector<registry::MeasurablePcr> with_events = pcrs_;
  auto pcr15 = std::find_if(with_events.begin(), with_events.end(),
                            [](const auto& p) { return p.index == U256(15); });
  pcr15->all_events = {uuid_hash};
  EXPECT_TRUE(CheckPcrEvents(with_events).ok());
  pcr15->pcr = Hash32{};
  const TpmQuote parsed = ParseTpmQuote(quotes_.front().attest).value();
  auto digest = CheckPcrDigest(parsed, with_events);
  EXPECT_TRUE(digest.ok()) << digest.error().ToString();
}

TEST_F(SwtpmQuotes, TheAkCertificateChainYieldsExactlyTheTpmsAkKeyAndOnlyUnderItsRoot) {
  // The PEM keys in the registry's form are what the TPM reports in its own public area.
  EXPECT_EQ(rsa_.pem.algo, registry::kTpmAlgRsa);
  EXPECT_EQ(rsa_.pem.params, 0);
  EXPECT_EQ(ecc_.pem.algo, registry::kTpmAlgEcc);
  EXPECT_EQ(ecc_.pem.params, registry::kTpmEccNistP256);
  ASSERT_EQ(ecc_.pem.data.size(), 65u);
  EXPECT_EQ(ecc_.pem.data[0], 0x04);
  for (const AkKeys* keys : {&rsa_, &ecc_}) {
    ASSERT_GT(keys->tpm2b_public.size(), 2u);
    // TPM2B_PUBLIC = size(2) || TPMT_PUBLIC.
    auto from_tpm = registry::CertPubkeyFromTpmtPublic(ByteView(keys->tpm2b_public).subspan(2));
    ASSERT_TRUE(from_tpm.ok()) << from_tpm.error().ToString();
    EXPECT_EQ(*from_tpm, keys->pem);
  }
  // Each chain yields its AK's key, which verifies that AK's quotes (the GCP path end to end).
  for (const AkKeys* keys : {&rsa_, &ecc_}) {
    auto ak = detail::VerifyAkCertChain({keys->cert, intermediate_, root_}, {root_}, Now());
    ASSERT_TRUE(ak.ok()) << ak.error().ToString();
    EXPECT_EQ(*ak, keys->pem);
    for (const RealQuote& q : quotes_) {
      if (&KeysOf(q) != keys) continue;
      EXPECT_TRUE(VerifyTpmSignature(q.attest, q.sig, *ak).ok()) << q.name;
    }
  }
  // Untrusted roots: none, the intermediate, a stranger's root; and the stranger trusted but not
  // the intermediate's signer.
  const std::vector<Bytes> chain = {rsa_.cert, intermediate_, root_};
  EXPECT_FALSE(detail::VerifyAkCertChain(chain, {}, Now()).ok());
  EXPECT_FALSE(detail::VerifyAkCertChain(chain, {intermediate_}, Now()).ok());
  mint::Key stranger_key = mint::NewP256();  // P-256: cheap to make
  mint::CertSpec spec;
  spec.subject_cn = "stranger root";
  spec.ca = true;
  spec.key_cert_sign = true;
  spec.not_before = 1000000000;  // 2001
  spec.not_after = 4102444800;   // 2100
  mint::MintedCert stranger = mint::MintCert(spec, stranger_key.get(), nullptr, stranger_key.get());
  auto untrusted = detail::VerifyAkCertChain(chain, {stranger.der}, Now());
  EXPECT_FALSE(untrusted.ok());
  if (!untrusted.ok()) {
    EXPECT_NE(untrusted.error().message.find("not a trusted"), std::string::npos)
        << untrusted.error().message;
  }
  EXPECT_FALSE(
      detail::VerifyAkCertChain({rsa_.cert, intermediate_, stranger.der}, {stranger.der}, Now())
          .ok());
  mint::FreeCert(stranger);
  // The chain is only valid from when the script made it.
  EXPECT_FALSE(
      detail::VerifyAkCertChain(chain, {root_}, FromUnixSeconds(946684800)).ok());  // 2000-01-01
}

}  // namespace
}  // namespace cvmwatch::verifier
