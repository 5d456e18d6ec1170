// Builders for registry calls, blocks and stores used by the store's tests, and a seeded
// generator of random lifecycle traffic.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/store/lifecycle.h"
#include "cvmwatch/store/model.h"
#include "cvmwatch/store/store.h"

namespace cvmwatch::store::testing {

using registry::Generation;

inline constexpr std::uint64_t kDay = 86'400;
inline constexpr std::uint64_t kT0 = 1'756'980'900;  // the seed's GCP TDX test time

// A P-256 identity key (A form: x‖y) made from a number.
inline registry::IdentityKey KeyFor(std::uint32_t n,
                                    registry::IdentityForm form = registry::IdentityForm::kPubkey) {
  registry::IdentityKey k;
  k.form = form;
  k.sig_scheme = registry::kTpmAlgEcdsa;
  k.curve = registry::kTpmEccNistP256;
  k.hash_algo = registry::kTpmAlgSha256;
  if (form != registry::IdentityForm::kPubkey) {
    k.key_algo = registry::kTpmAlgEcc;
    k.data.push_back(0x04);
  }
  for (int i = 0; i < 64; ++i) k.data.push_back(static_cast<std::uint8_t>(n >> (8 * (i % 4))) ^ i);
  return k;
}
inline Hash32 HashFor(std::uint32_t n,
                      registry::IdentityForm form = registry::IdentityForm::kPubkey) {
  return registry::IdentityHash(KeyFor(n, form));
}

inline Hash32 Digest(std::string_view label, std::uint64_t n = 0) {
  Bytes b(label.begin(), label.end());
  AppendBe64(b, n);
  return Keccak256(b);
}

inline registry::WorkloadCollaterals Collaterals(std::uint64_t quote_tag) {
  registry::WorkloadCollaterals wc;
  AppendBe64(wc.tpm_quote, quote_tag);
  return wc;
}

inline registry::AttestCall Attest(std::uint32_t key, std::uint8_t cloud = 1, std::uint8_t tee = 1,
                                   Generation gen = Generation::kA1) {
  registry::AttestCall c;
  c.generation = gen;
  c.cloud_type = cloud;
  c.tee_type = tee;
  c.tee_report_type = 1;
  c.tee_report = Bytes{0xaa, static_cast<std::uint8_t>(key)};
  c.identity = KeyFor(key, gen == Generation::kD   ? registry::IdentityForm::kTpmtPublic
                           : gen == Generation::kC ? registry::IdentityForm::kCertPubkey
                                                   : registry::IdentityForm::kPubkey);
  c.wc = Collaterals(key);
  c.identity_hash = registry::IdentityHash(c.identity);
  return c;
}

inline registry::AttestCall RegisterD(std::uint32_t key, std::uint64_t ttl) {
  registry::AttestCall c = Attest(key, 1, 1, Generation::kD);
  c.tee_ttl = ttl;
  c.certification = registry::IdentityCertification{};
  return c;
}

inline registry::ReattestCall Reattest(const Hash32& target, std::uint32_t new_key,
                                       Generation gen = Generation::kA1) {
  registry::ReattestCall c;
  c.generation = gen;
  c.target_identity_hash = target;
  c.new_identity = KeyFor(new_key, gen == Generation::kC ? registry::IdentityForm::kCertPubkey
                                                         : registry::IdentityForm::kPubkey);
  c.new_identity_hash = registry::IdentityHash(c.new_identity);
  c.wc = Collaterals(new_key + 1000);
  return c;
}

inline registry::TtlCall Ttl(const Hash32& target, std::uint64_t tee, std::uint64_t tpm,
                             Generation gen = Generation::kA1) {
  registry::TtlCall c;
  c.generation = gen;
  c.target_identity_hash = target;
  c.tee_ttl = tee;
  c.tpm_ttl = tpm;
  return c;
}

inline registry::RefreshCall RefreshD(const Hash32& target, std::uint64_t ttl) {
  registry::RefreshCall c;
  c.generation = Generation::kD;
  c.target_identity_hash = target;
  c.tee_ttl = ttl;
  c.tee_report_type = 1;
  c.tee_report = Bytes{0xbb};
  return c;
}

inline registry::RotateCall RotateD(const Hash32& target, std::uint32_t new_key) {
  registry::RotateCall c;
  c.generation = Generation::kD;
  c.target_identity_hash = target;
  c.new_identity = KeyFor(new_key, registry::IdentityForm::kTpmtPublic);
  c.new_identity_hash = registry::IdentityHash(c.new_identity);
  return c;
}

inline VerdictRecord Passed(std::optional<Hash32> measurement = std::nullopt) {
  return VerdictRecord{VerdictOutcome::kPassed, measurement, {}, "all checks passed"};
}
inline VerdictRecord Failed(std::string check, std::string reason) {
  return VerdictRecord{VerdictOutcome::kFailed,
                       std::nullopt,
                       {CheckNote{check, reason, true}},
                       "rejected: " + check};
}

inline AppliedSubmission Sub(registry::RegistryCall call,
                             std::optional<VerdictRecord> verdict = Passed(),
                             ChainOutcome outcome = ChainOutcome::kSuccess) {
  static std::uint64_t tx_counter = 0;
  AppliedSubmission s;
  s.tx_hash = Digest("tx", ++tx_counter);
  s.call = std::move(call);
  s.outcome = outcome;
  s.log_index = outcome == ChainOutcome::kSuccess ? 0 : kNoLogIndex;
  s.verdict = std::move(verdict);
  return s;
}
inline AppliedSubmission Reverted(registry::RegistryCall call, std::uint32_t selector) {
  AppliedSubmission s = Sub(std::move(call), std::nullopt, ChainOutcome::kReverted);
  s.revert_selector = Selector{
      {static_cast<std::uint8_t>(selector >> 24), static_cast<std::uint8_t>(selector >> 16),
       static_cast<std::uint8_t>(selector >> 8), static_cast<std::uint8_t>(selector)}};
  return s;
}

// A chain of blocks: each new block links to the previous one. `fork` separates the hashes of
// competing branches at the same height.
class Chain {
 public:
  explicit Chain(std::uint64_t first_number = 1, std::uint64_t first_time = kT0)
      : next_number_(first_number), time_(first_time) {}

  InputBlock Next(std::uint64_t seconds_later, std::vector<AppliedSubmission> subs = {},
                  std::uint32_t fork = 0) {
    InputBlock b;
    time_ += seconds_later;
    b.header.number = next_number_++;
    b.header.hash = Digest("block/" + std::to_string(fork), b.header.number);
    b.header.parent_hash = parent_;
    b.header.timestamp = time_;
    b.submissions = std::move(subs);
    parent_ = b.header.hash;
    return b;
  }
  // Continue from an earlier block (after a rollback to it).
  void ResetTo(const BlockHeader& h) {
    next_number_ = h.number + 1;
    time_ = h.timestamp;
    parent_ = h.hash;
  }
  std::uint64_t time() const { return time_; }

 private:
  std::uint64_t next_number_;
  std::uint64_t time_;
  Hash32 parent_;
};

// A fresh directory, removed with its contents at scope exit. It lives on tmpfs (/dev/shm) when
// there is one: creating a store costs RocksDB some forty fsyncs (manifest, options, one per
// column family), which on a shared disk dominate the suite's time, and nothing tested here
// depends on fsync (a SIGKILLed process loses no page cache). CVMWATCH_TEST_TMPDIR overrides.
class TempDir {
 public:
  TempDir() {
    std::string base = "/tmp";
    if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) base = tmp;
    if (std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0) {
      base = "/dev/shm";
    }
    if (const char* forced = std::getenv("CVMWATCH_TEST_TMPDIR"); forced && *forced) base = forced;
    std::string pattern = base + "/cvmwatch-store-XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp in " << base;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline Address TestRegistry() {
  return Address::FromHex("0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac").value();
}

inline StoreOptions OptionsAt(const std::filesystem::path& path, bool sync = false) {
  StoreOptions o;
  o.path = path;
  o.chain_id = 31337;
  o.registry = TestRegistry();
  // The crash test uses the default policy; elsewhere speed matters more.
  o.wal_sync = sync ? WalSync::kEveryBatch : WalSync::kNever;
  o.block_cache_bytes = 4u << 20;
  o.memtable_budget_bytes = 8u << 20;
  return o;
}

inline std::unique_ptr<Store> OpenOrDie(const StoreOptions& options) {
  auto store = Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.error().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// Seeded random lifecycle traffic over a small pool of keys: registrations (new and repeated,
// A and D), TPM re-attestations with and without rotation, TTL changes (sane, 0, tiny, huge),
// reverted calls, failed verdicts, and time jumps that make windows close.
class TrafficGenerator {
 public:
  explicit TrafficGenerator(std::uint64_t seed, std::uint32_t key_space = 24)
      : rng_(seed), key_space_(key_space) {}

  std::vector<AppliedSubmission> NextSubmissions() {
    std::vector<AppliedSubmission> subs;
    const int n = Pick(0, 3);
    for (int i = 0; i < n; ++i) subs.push_back(NextSubmission());
    return subs;
  }

  std::uint64_t NextGap() {
    const int roll = Pick(0, 99);
    if (roll < 70) return 12;
    if (roll < 90) return static_cast<std::uint64_t>(Pick(1, 48)) * 3600;
    return static_cast<std::uint64_t>(Pick(20, 70)) * kDay;
  }

 private:
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  Hash32 AnyKnownHash(bool d_family) {
    std::vector<Hash32>& pool = d_family ? d_hashes_ : a_hashes_;
    if (pool.empty() || Pick(0, 9) == 0) return HashFor(static_cast<std::uint32_t>(Pick(0, 1000)));
    return pool[static_cast<std::size_t>(Pick(0, static_cast<int>(pool.size()) - 1))];
  }

  std::uint64_t AnyTtl() {
    switch (Pick(0, 6)) {
      case 0:
        return 0;
      case 1:
        return 100;
      case 2:
        return kNever;
      default:
        return static_cast<std::uint64_t>(Pick(1, 80)) * kDay;
    }
  }

  std::optional<VerdictRecord> AnyVerdict(std::uint32_t key) {
    switch (Pick(0, 9)) {
      case 0:
        return Failed("tdx.quote_signature", "signature does not verify");
      case 1:
        return std::nullopt;
      case 2:
        return VerdictRecord{VerdictOutcome::kUnverifiable,
                             std::nullopt,
                             {CheckNote{"collateral", "missing", false}},
                             "no collateral"};
      default:
        return Passed(Digest("measurement", key % 3 + static_cast<std::uint32_t>(Pick(0, 1))));
    }
  }

  AppliedSubmission NextSubmission() {
    const std::uint32_t key = static_cast<std::uint32_t>(Pick(0, static_cast<int>(key_space_) - 1));
    const bool revert = Pick(0, 11) == 0;
    AppliedSubmission sub;
    switch (Pick(0, 9)) {
      case 0:
      case 1: {
        registry::AttestCall c = Attest(key, static_cast<std::uint8_t>(Pick(1, 2)),
                                        static_cast<std::uint8_t>(Pick(1, 2)));
        a_hashes_.push_back(c.identity_hash);
        sub = Sub(c, AnyVerdict(key));
        break;
      }
      case 2: {
        registry::AttestCall c = RegisterD(key + 5000, Pick(0, 1) ? 0 : AnyTtl());
        d_hashes_.push_back(c.identity_hash);
        sub = Sub(c, AnyVerdict(key));
        break;
      }
      case 3:
      case 4: {
        const Hash32 target = AnyKnownHash(false);
        const bool rotate = Pick(0, 2) == 0;
        registry::ReattestCall c = Reattest(target, rotate ? key + 100 : 0);
        if (!rotate) {
          c.new_identity_hash = target;  // same identity: the target re-attests itself
        } else {
          a_hashes_.push_back(c.new_identity_hash);
        }
        sub = Sub(c, AnyVerdict(key));
        if (Pick(0, 3) == 0) sub.chain_measurement_hash = Digest("measurement", key % 4);
        break;
      }
      case 5:
      case 6:
        sub = Sub(Ttl(AnyKnownHash(false), AnyTtl(), AnyTtl()), std::nullopt);
        break;
      case 7:
        sub = Sub(RefreshD(AnyKnownHash(true), Pick(0, 1) ? 0 : AnyTtl()), AnyVerdict(key));
        break;
      default: {
        registry::RotateCall c = RotateD(AnyKnownHash(true), key + 7000);
        d_hashes_.push_back(c.new_identity_hash);
        sub = Sub(c, std::nullopt);
        break;
      }
    }
    sub.tx_hash = Digest("generated-tx", ++tx_counter_);  // deterministic per seed
    if (revert) {
      sub.outcome = ChainOutcome::kReverted;
      sub.log_index = kNoLogIndex;
      sub.revert_selector = Selector{{0xa3, 0x40, 0x2a, 0x38}};
    }
    return sub;
  }

  std::mt19937_64 rng_;
  std::uint32_t key_space_;
  std::vector<Hash32> a_hashes_;
  std::vector<Hash32> d_hashes_;
  std::uint64_t tx_counter_ = 0;
};

}  // namespace cvmwatch::store::testing
