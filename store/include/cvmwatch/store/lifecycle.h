// The CVM identity lifecycle model: a pure function from (state before a block, the block) to
// the block's effects (new identity states and history entries), following the registry's rules
// per generation (contracts.md §2.3-§2.8):
//
//  * A0/A1/A2 and C (two windows, strict): attestCvm registers or re-registers (types and TTLs
//    kept on re-registration, defaults 30 d / 60 d, both timestamps = block time);
//    reattestCvmWithTpm bumps the nonce, sets the TPM timestamp and rotates when the named
//    identity differs from the target (config copied, TEE timestamp kept, nonce stays under the
//    old hash); setCollateralTTL bumps the nonce and sets both TTLs.
//  * D (single expiredAt, inclusive): registerCvm, refreshCvm (expiredAt = now + ttl, default
//    30 d), rotateCvmIdentityKey (expiredAt and measurement kept).
//  * A reverted call changes no identity state; it is recorded as a call-reverted fact.
//  * Windows close without events: at each block, every window whose first invalid second is
//    <= the block time is reported once (`expired`), in (time, window, hash) order.
//
// Order inside a block: windows that closed since the previous block, then the submissions in
// execution order, then reconciliation reads, then windows closed by this block's own changes.
//
// Thread safety: DeriveBlockEffects is reentrant; the IdentitySource it is given is used only
// during the call. InMemoryIdentities is not thread-safe. Errors come only from the source.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "cvmwatch/core/result.h"
#include "cvmwatch/store/model.h"

namespace cvmwatch::store {

struct LifecycleSettings {
  // The suggested sane TTL range (contracts.md §5 item 4); TTLs outside are flagged, not refused.
  std::uint64_t min_ttl = 86'400;          // 1 day
  std::uint64_t max_ttl = 90ull * 86'400;  // 90 days
};

// A not-yet-reported window close.
struct ExpiryIndexEntry {
  std::uint64_t at = 0;  // first invalid second
  ExpiryWindow window = ExpiryWindow::kTee;
  Hash32 identity_hash;
  auto operator<=>(const ExpiryIndexEntry&) const = default;
};

// The windows of `state` that are still open or closed-but-unreported, earliest first.
// Rotated-away identities and windows that never close have none.
std::vector<ExpiryIndexEntry> PendingExpiries(const IdentityState& state);

// What the expiry index holds for `state`: its earliest pending window only. The later window
// cannot close first, so it is found through the state once the earlier one is reported; and a
// TPM-only re-attestation, which moves only the later window in the usual TTLs (TEE 30 d <
// TPM 60 d), leaves the index untouched.
std::optional<ExpiryIndexEntry> IndexedExpiry(const IdentityState& state);

// What the derivation reads: the state as of the end of the previous block.
class IdentitySource {
 public:
  virtual ~IdentitySource() = default;
  virtual Result<std::optional<IdentityState>> LoadIdentity(const Hash32& identity_hash) = 0;
  // Every expiry index entry (IndexedExpiry of some identity) with at <= up_to, ascending.
  virtual Result<std::vector<ExpiryIndexEntry>> DueExpiries(std::uint64_t up_to) = 0;
};

struct IdentityChange {
  Hash32 identity_hash;
  std::optional<IdentityState> before;  // none: first seen in this block
  std::optional<IdentityState> after;   // never none in practice (identities are not deleted)
};

struct BlockEffects {
  BlockHeader header;
  std::vector<IdentityChange> changes;  // identities whose state changed, ascending by hash
  std::vector<HistoryEntry> history;    // in the order the facts happened (seq = 0)
  std::vector<EventRecord> events;      // one per submission, in block order
};

Result<BlockEffects> DeriveBlockEffects(const InputBlock& block, IdentitySource& source,
                                        const LifecycleSettings& settings = {});

// A reference implementation of the state the store keeps, in memory: used by tests as the
// oracle and by tools that replay a few blocks without a database.
class InMemoryIdentities final : public IdentitySource {
 public:
  Result<std::optional<IdentityState>> LoadIdentity(const Hash32& identity_hash) override;
  Result<std::vector<ExpiryIndexEntry>> DueExpiries(std::uint64_t up_to) override;

  // Derive the block's effects against this state and apply them; returns the effects.
  Result<BlockEffects> Apply(const InputBlock& block, const LifecycleSettings& settings = {});
  void ApplyEffects(const BlockEffects& effects);

  const std::map<Hash32, IdentityState>& identities() const { return identities_; }
  // History entries in application order, seq numbered from 1.
  const std::vector<HistoryEntry>& history() const { return history_; }

 private:
  std::map<Hash32, IdentityState> identities_;
  std::set<ExpiryIndexEntry> expiry_;
  std::vector<HistoryEntry> history_;
};

}  // namespace cvmwatch::store
