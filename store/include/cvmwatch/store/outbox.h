// The alert outbox: rows the alerts module raises, written in the same WriteBatch as the state
// change that caused them, delivered at least once by the dispatcher.
//
// Row life cycle (AlertState):
//   pending ──delivered──► delivered ──(its block rolled back)──► retraction-pending ──►
//   retraction-delivered
//      │  └─dead letter──► dead-lettered                                  └─dead letter─►
//      retraction-dead-lettered └─(its block rolled back before delivery)──► retracted (nothing to
//      send)
// A rolled-back row is never deleted (ARCHITECTURE: alerts of orphaned blocks are retracted, not
// dropped). `idempotency_key` is stable across redeliveries: sha-256 over (block hash, block
// number, rule, identity, position in the block's drafts), hex.
//
// Value types; thread-safe to copy. The operations live on Store / ReadView (store.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cvmwatch/core/bytes.h"

namespace cvmwatch::store {

struct BlockEffects;

enum class AlertState : std::uint8_t {
  kPending = 0,
  kDelivered = 1,
  kDeadLettered = 2,
  kRetracted = 3,          // rolled back before it was ever delivered
  kRetractionPending = 4,  // rolled back after delivery: a retraction must be sent
  kRetractionDelivered = 5,
  kRetractionDeadLettered = 6,
};
inline constexpr std::uint8_t kAlertStateCount = 7;
std::string_view AlertStateName(AlertState state);
// Whether the dispatcher still has something to send for a row in this state.
inline bool NeedsDelivery(AlertState s) {
  return s == AlertState::kPending || s == AlertState::kRetractionPending;
}

// What a rule asks to send.
struct AlertDraft {
  std::string rule;  // e.g. "tee-expired"
  Hash32 identity_hash;
  std::uint8_t severity = 0;
  std::string body;  // the payload as the dispatcher will send it (JSON)
};

struct AlertRow {
  std::uint64_t id = 0;  // ascending in creation order, never reused
  std::string idempotency_key;
  std::uint64_t block_number = 0;  // the block whose effects raised it
  Hash32 block_hash;
  std::uint64_t block_time = 0;
  std::string rule;
  Hash32 identity_hash;
  std::uint8_t severity = 0;
  std::string body;
  AlertState state = AlertState::kPending;
  std::uint32_t attempts = 0;         // delivery attempts of the current message
  std::uint64_t last_attempt_at = 0;  // unix seconds (dispatcher clock)
  std::string last_error;
  friend bool operator==(const AlertRow&, const AlertRow&) = default;
};

// The alerts module's hook into ApplyBlock: drafts for one block's effects, evaluated before the
// batch is written so rows and state land together. Must be pure (no I/O, no clock): it may be
// evaluated again when the block is re-applied after a reorg.
class AlertRules {
 public:
  virtual ~AlertRules() = default;
  virtual std::vector<AlertDraft> Evaluate(const BlockEffects& effects) const = 0;
};

}  // namespace cvmwatch::store
