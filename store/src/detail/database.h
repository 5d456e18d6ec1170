// The open RocksDB instance shared by the Store and its ReadViews, the writer's counters row and
// the undo record. Internal to the store library.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvmwatch/core/result.h"
#include "cvmwatch/store/audit.h"
#include "cvmwatch/store/model.h"
#include "detail/keys.h"

namespace cvmwatch::store::detail {

struct Database {
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> handles{};
  Hash32 audit_genesis;

  rocksdb::ColumnFamilyHandle* cf(Cf which) const {
    return handles[static_cast<std::size_t>(which)];
  }
  ~Database();
};

// An error value for a RocksDB status; `what` says which operation failed.
Error FromRocks(const rocksdb::Status& status, std::string_view what);

// Reads one row; nullopt when absent.
Result<std::optional<std::string>> GetRow(const Database& db, const rocksdb::ReadOptions& ro, Cf cf,
                                          std::string_view key);

// The meta "counters" row: sequence numbers and per-status counts, rewritten with every batch.
struct Counters {
  std::uint64_t history_seq = 0;  // last assigned history seq (rolled back with blocks)
  std::uint64_t audit_seq = 0;    // last audit record (never rolled back)
  Hash32 audit_head;              // hash of that record (genesis when none)
  std::uint64_t alert_id = 0;     // last assigned alert id (never rolled back)
  std::array<std::uint64_t, kStatusCount> status_counts{};
  friend bool operator==(const Counters&, const Counters&) = default;
};
std::string EncodeCounters(const Counters& c);
Result<Counters> DecodeCounters(std::string_view row);

// What rolling one block back needs. The indexes are functions of the identity states, so only
// the states before the block are kept; appended rows are named by position.
struct UndoRecord {
  BlockHeader header;
  std::optional<BlockHeader> previous_cursor;
  std::uint64_t previous_history_seq = 0;
  std::array<std::uint64_t, kStatusCount> previous_status_counts{};
  std::uint32_t event_count = 0;
  // The identities rows as they were (none: the identity was new), byte for byte: written back
  // as they are, and decoded only when a rollback needs their index entries.
  std::vector<std::pair<Hash32, std::optional<std::string>>> identities_before;
  std::vector<Hash32> history_identities;  // entry i has seq previous_history_seq + 1 + i
};
std::string EncodeUndo(const UndoRecord& u);
Result<UndoRecord> DecodeUndo(std::string_view row, std::uint64_t number);

}  // namespace cvmwatch::store::detail
