// The watchdog's sink: verified blocks from the indexer's pipeline into the RocksDB store.
//
// Registrations are verified on the pipeline's worker pool (VerifyStateless: pure, no store
// access). Re-attestations and TTL changes need what the chain knew before them — the registered
// identity key, its AK and TEE facts, its nonce — so they are verified here, at apply time, in
// block order, against the store plus the earlier calls of the same block. Each verdict becomes
// the store's VerdictRecord; registrations also hand the store the evidence later calls need.
//
// Thread safety: as VerdictSink (one caller thread). Errors: the store's, unchanged.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "cvmwatch/config/config.h"
#include "cvmwatch/indexer/pipeline.h"
#include "cvmwatch/store/store.h"
#include "cvmwatch/verifier/verifier.h"

namespace cvmwatch::app {

struct WatchdogSettings {
  std::uint64_t chain_id = 31337;
  Address registry;
  verifier::ChainIdWidth chain_id_width = verifier::ChainIdWidth::kAuto;
};

// Which calls the worker pool verifies: registrations (stateless). The rest are verified at apply
// time, against the store.
bool VerifiedOnPool(const indexer::ObservedCall& call);
// A registration's verdict. Pure and thread-safe (runs on the pool).
verifier::Verdict VerifyRegistration(const indexer::ObservedCall& call, TimePoint at,
                                     const verifier::TrustStore& trust, const WatchdogSettings& settings);

// The store's summary of a verdict.
store::VerdictRecord ToVerdictRecord(const verifier::Verdict& v);

class WatchdogSink final : public indexer::VerdictSink<verifier::Verdict> {
 public:
  WatchdogSink(store::Store& store, const verifier::TrustStore& trust, WatchdogSettings settings,
               const store::AlertRules* rules = nullptr)
      : store_(store), trust_(trust), settings_(std::move(settings)), rules_(rules) {}

  Result<std::optional<indexer::Cursor>> LoadCursor() override;
  Status ApplyVerifiedBlock(const indexer::ChainBlock& block,
                            std::vector<std::optional<verifier::Verdict>> verdicts) override;
  Status RollbackTo(std::uint64_t block_number) override;
  std::vector<indexer::BlockRef> RecentBlocks(std::size_t n) override;
  void OnLiveness(const indexer::LivenessFact& fact) override;
  std::vector<Hash32> KnownIdentities(std::size_t max) override;

  std::uint64_t blocks_applied() const { return blocks_applied_; }
  // The most recent liveness facts (bounded: the oldest are dropped).
  const std::deque<indexer::LivenessFact>& liveness() const { return liveness_; }

 private:
  store::Store& store_;
  const verifier::TrustStore& trust_;
  WatchdogSettings settings_;
  const store::AlertRules* rules_;
  std::uint64_t blocks_applied_ = 0;
  std::deque<indexer::LivenessFact> liveness_;
};

struct WatchdogOpenOptions {
  std::string store_path;
  std::string trust_dir = "config/trust";
  std::string collateral_dir;  // TDX collateral bundles ("" = none: TCB status not evaluated)
  std::string vcek_dir;        // VCEKs by chip id ("" = none: SNP report signatures not checked)
};

// The RocksDB store (opened for the configured chain and registry) behind the verifying
// pipeline ([pipeline] settings), as one BlockSink that owns its parts.
Result<std::unique_ptr<indexer::BlockSink>> OpenWatchdogSink(const config::Config& config,
                                                             const WatchdogOpenOptions& options);

}  // namespace cvmwatch::app
