// The crash-safe, reorg-safe RocksDB history of every CVM identity (docs/store.md).
//
// Writes: ApplyBlock derives a block's effects with the lifecycle model (lifecycle.h) and writes
// them, the block header, the cursor, an undo record, the audit records and any alert rows in ONE
// WriteBatch, so after a crash (kill -9 at any instant) the store holds every block up to its
// cursor exactly once. Blocks must come in order (number = cursor + 1, parent = cursor's hash);
// a block that is already applied (same number and hash) is a no-op, so replays are harmless.
// RollbackTo(n) undoes the blocks above n (newest first) in one batch and restores the exact
// earlier state; alerts raised by those blocks are retracted and the audit chain records the
// rollback. Undo records are kept for the last `retained_blocks` blocks.
//
// Reads: a ReadView is a RocksDB snapshot. Views never block the writer and see one consistent
// state; they keep the database open while they live.
//
// Thread safety: Store is thread-safe; writes (ApplyBlock, RollbackTo, AppendAlerts, Mark*) are
// serialised by an internal mutex. A ReadView may be used from one thread at a time; any number
// of views may exist.
//
// Errors: kPrecondition for a refused operation (wrong chain/registry, block out of order,
// rollback beyond the retained window, an illegal alert transition, a foreign directory),
// kInvalidLength for a corrupt row or cursor token (named in the message), kNotFound for an
// absent identity/alert/block, kIo for RocksDB failures (message carries RocksDB's status;
// retryable when RocksDB says busy or try-again).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/store/audit.h"
#include "cvmwatch/store/lifecycle.h"
#include "cvmwatch/store/model.h"
#include "cvmwatch/store/outbox.h"

namespace cvmwatch::store {

namespace detail {
struct Database;
struct Counters;
}  // namespace detail

inline constexpr std::uint32_t kSchemaVersion = 1;

// When a batch's WAL record is fsynced. Every policy survives a process crash (kill -9) with
// nothing lost: RocksDB hands each batch to the OS before Write returns. The policies differ on
// an OS crash or power loss.
enum class WalSync : std::uint8_t {
  kEveryBatch,  // fsync before each write returns (default): nothing acknowledged is ever lost
  kInterval,    // fsync a batch when the last fsync is older than wal_sync_interval: at most
                // that much acknowledged work lost, at a fraction of the cost during backfill
  kNever,       // leave it to the OS
};

struct StoreOptions {
  std::filesystem::path path;
  // The deployment this store follows. Opening a store made for another one is refused.
  std::uint64_t chain_id = 0;
  Address registry;  // the CVMRegistry proxy
  // Other contracts whose events the store's facts rest on (WorkloadVerifier proxy,
  // TpmAttestation), in a fixed order; part of the binding (at most 1024).
  std::vector<Address> watched_contracts;
  bool create_if_missing = true;
  WalSync wal_sync = WalSync::kEveryBatch;
  std::chrono::milliseconds wal_sync_interval{100};  // for kInterval
  std::uint32_t retained_blocks = 512;  // headers + undo records kept: the deepest reorg handled
  LifecycleSettings lifecycle;
  std::size_t block_cache_bytes = 32u << 20;
  std::size_t memtable_budget_bytes = 64u << 20;  // all column families together
};

struct ApplyResult {
  bool already_applied = false;  // same number and hash as a block already in the store
  std::size_t changed_identities = 0;
  std::size_t history_entries = 0;
  std::vector<std::uint64_t> alert_ids;
};

// Key-based pagination: `cursor` is the opaque token of the previous page ("" = from the start).
// Tokens stay valid while the store changes: a page never repeats or skips an item that existed
// across both requests.
struct PageRequest {
  std::string cursor;
  std::size_t limit = 100;  // clamped to [1, 1000]
};
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // "" when there is nothing more
};

struct IdentityFilter {
  std::optional<IdentityStatus> status;
  std::optional<std::uint8_t> cloud_type;
  std::optional<std::uint8_t> tee_type;
};

enum class Order { kAscending, kDescending };

using StatusCounts = std::array<std::uint64_t, kStatusCount>;  // indexed by IdentityStatus

struct ExpiryNotice {
  Hash32 identity_hash;
  ExpiryWindow window = ExpiryWindow::kTee;
  std::uint64_t at = 0;  // first invalid second
  friend bool operator==(const ExpiryNotice&, const ExpiryNotice&) = default;
};

struct ColumnFamilyStats {
  std::string name;
  std::uint64_t sst_bytes = 0;
  std::uint64_t memtable_bytes = 0;
  std::uint64_t estimated_keys = 0;
};

class ReadView {
 public:
  ~ReadView();
  ReadView(ReadView&&) noexcept;
  ReadView& operator=(ReadView&&) noexcept;

  // The last applied block (none: empty store).
  Result<std::optional<BlockHeader>> Cursor() const;
  // A retained block header (kNotFound when never applied, rolled back, or pruned).
  Result<BlockHeader> Block(std::uint64_t number) const;
  Result<std::vector<EventRecord>> EventsOfBlock(std::uint64_t number) const;

  Result<IdentityState> GetIdentity(const Hash32& identity_hash) const;
  // Ascending by identity hash (or within a status when filtered by it). A sparse filter may
  // return a short page with a next_cursor: scanning is bounded per call.
  Result<Page<IdentityState>> ListIdentities(const IdentityFilter& filter,
                                             const PageRequest& page) const;
  Result<StatusCounts> CountByStatus() const;
  // Entries of one identity in seq order (the order the facts happened).
  Result<Page<HistoryEntry>> History(const Hash32& identity_hash, Order order,
                                     const PageRequest& page) const;

  // Windows that close in [from, from + horizon], not yet reported, ascending by time.
  Result<std::vector<ExpiryNotice>> Expiring(std::uint64_t from, std::uint64_t horizon,
                                             std::size_t limit = 1000) const;

  // Audit records with seq in [first_seq, first_seq + limit), and the chain's head and genesis.
  Result<std::vector<AuditRecord>> AuditRecords(std::uint64_t first_seq, std::size_t limit) const;
  Result<AuditHead> AuditHeadNow() const;
  Hash32 AuditGenesisHash() const;

  Result<AlertRow> GetAlert(std::uint64_t id) const;
  // Rows that still need sending (pending, retraction-pending), ascending by id, after `after_id`.
  Result<std::vector<AlertRow>> PendingAlerts(std::size_t limit, std::uint64_t after_id = 0) const;
  // Every row ascending by id.
  Result<Page<AlertRow>> Alerts(const PageRequest& page) const;

  // SHA-256 over the derived state (identities, indexes, history, events, block headers, cursor,
  // history counter and status counts) — not the audit chain or the outbox, which rollbacks
  // extend instead of rewinding. Two stores that applied the same canonical blocks agree on it.
  Result<Hash32> StateDigest() const;

 private:
  friend class Store;
  struct Impl;
  explicit ReadView(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // Opens (or creates) the store. Refuses, with the reason: a directory that holds something
  // other than a cvmwatch store, a store of another schema version, chain or registry, and a
  // database RocksDB reports as corrupt.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // `rules` (optional) turns the block's effects into alert rows written in the same batch.
  Result<ApplyResult> ApplyBlock(const InputBlock& block, const AlertRules* rules = nullptr);
  // Undo every block above `block_number`. No-op when the cursor is at or below it.
  Status RollbackTo(std::uint64_t block_number);

  ReadView Read() const;

  // Alerts raised outside a block (the alerts module's clock tick), attached to the cursor's
  // block so that rolling it back retracts them. kPrecondition when no block is applied yet.
  Result<std::vector<std::uint64_t>> AppendAlerts(const std::vector<AlertDraft>& drafts);
  // pending → delivered; retraction-pending → retraction-delivered.
  Status MarkAlertDelivered(std::uint64_t id, std::uint64_t at);
  // A failed attempt: attempts + 1, the error kept; the row stays due.
  Status RecordAlertFailure(std::uint64_t id, std::uint64_t at, std::string_view error);
  // pending → dead-lettered; retraction-pending → retraction-dead-lettered.
  Status MarkAlertDeadLettered(std::uint64_t id, std::uint64_t at, std::string_view error);

  // Operations and measurement.
  Status Flush();
  Status CompactAll();
  Result<std::vector<ColumnFamilyStats>> Stats() const;
  const StoreOptions& options() const { return options_; }

 private:
  enum class AlertAction { kDelivered, kFailedAttempt, kDeadLettered };
  Store(StoreOptions options, std::shared_ptr<detail::Database> db);

  Status LoadWriterState();
  // Whether the next batch must be fsynced under the configured policy (call with the mutex).
  bool SyncThisBatch();
  Status UpdateAlert(std::uint64_t id, std::uint64_t at, std::string_view error,
                     AlertAction action);

  StoreOptions options_;
  std::shared_ptr<detail::Database> db_;
  std::mutex write_mutex_;
  // Writer-side copies of meta rows, changed only after a batch is written.
  std::optional<BlockHeader> cursor_;
  std::unique_ptr<detail::Counters> counters_;
  std::uint64_t expiry_floor_ = 0;  // no expiry index entry is earlier (0: unknown)
  std::chrono::steady_clock::time_point last_sync_{};
};

}  // namespace cvmwatch::store
