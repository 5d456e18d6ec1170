// Column families and key layout (docs/store.md). Integers in keys are big-endian so that
// RocksDB's bytewise order is numeric order and range scans come out sorted.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/store/detail/codec.h"
#include "cvmwatch/store/lifecycle.h"
#include "cvmwatch/store/model.h"

namespace cvmwatch::store::detail {

enum class Cf : std::uint8_t {
  kMeta,         // schema, binding, cursor, counters
  kBlocks,       // be64 number → header (retained window)
  kEvents,       // be64 block ‖ be32 ordinal → EventRecord
  kIdentities,   // hash → IdentityState
  kStatusIndex,  // status ‖ hash → "" (statuses other than fresh)
  kHistory,      // hash ‖ be64 seq → HistoryEntry
  kExpiry,       // be64 at ‖ window ‖ hash → ""
  kUndo,         // be64 number → UndoRecord (retained window)
  kOutbox,  // 'r' ‖ be64 id → AlertRow; 'p' ‖ be64 id → ""; 'b' ‖ be64 block ‖ be64 id → ""
  kAudit,  // be64 seq → canonical AuditRecord bytes
};
inline constexpr std::size_t kCfCount = 10;
inline constexpr std::array<std::string_view, kCfCount> kCfNames = {
    "meta",    "blocks", "events", "identities", "status_index",
    "history", "expiry", "undo",   "outbox",     "audit"};

inline constexpr std::string_view kMetaSchema = "schema";
inline constexpr std::string_view kMetaBinding = "binding";
inline constexpr std::string_view kMetaCursor = "cursor";
inline constexpr std::string_view kMetaCounters = "counters";

inline std::string Be64Key(std::uint64_t v) {
  std::string k;
  AppendBe64(k, v);
  return k;
}

inline std::string HashKey(const Hash32& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

inline std::string EventKey(std::uint64_t block, std::uint32_t ordinal) {
  std::string k = Be64Key(block);
  AppendBe32(k, ordinal);
  return k;
}

// The status index is sparse: "fresh", the state of nearly every identity, is not indexed (a
// listing of fresh identities scans the identities family, where nearly every row matches), so
// registrations and re-attestations of healthy CVMs write no index entry at all.
inline bool IsIndexedStatus(IdentityStatus status) { return status != IdentityStatus::kFresh; }

inline std::string StatusIndexKey(IdentityStatus status, const Hash32& h) {
  std::string k(1, static_cast<char>(status));
  k += HashKey(h);
  return k;
}

inline std::string HistoryKey(const Hash32& h, std::uint64_t seq) {
  std::string k = HashKey(h);
  AppendBe64(k, seq);
  return k;
}

inline constexpr std::size_t kExpiryKeySize = 8 + 1 + 32;
inline std::string ExpiryKey(const ExpiryIndexEntry& e) {
  std::string k = Be64Key(e.at);
  k.push_back(static_cast<char>(e.window));
  k += HashKey(e.identity_hash);
  return k;
}

inline constexpr char kOutboxRow = 'r';
inline constexpr char kOutboxPending = 'p';
inline constexpr char kOutboxByBlock = 'b';

inline std::string OutboxKey(char prefix, std::uint64_t id) {
  std::string k(1, prefix);
  AppendBe64(k, id);
  return k;
}

inline std::string OutboxBlockKey(std::uint64_t block, std::uint64_t id) {
  std::string k(1, kOutboxByBlock);
  AppendBe64(k, block);
  AppendBe64(k, id);
  return k;
}

inline Hash32 HashFromKey(std::string_view key, std::size_t pos) {
  Hash32 h;
  for (std::size_t i = 0; i < 32; ++i) h.bytes[i] = static_cast<std::uint8_t>(key[pos + i]);
  return h;
}

}  // namespace cvmwatch::store::detail
