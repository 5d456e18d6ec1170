#include "cvmwatch/store/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>
#include <utility>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/store/detail/codec.h"
#include "cvmwatch/store/detail/serialize.h"
#include "detail/database.h"
#include "detail/keys.h"
#include "detail/read_view_impl.h"

namespace cvmwatch::store {

using detail::Cf;
using detail::Counters;
using detail::Database;
using detail::FromRocks;
using detail::GetRow;

namespace {

constexpr std::uint8_t kSchemaRowV1 = 1;

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// A WriteBatch that remembers its first failure (RocksDB refuses only oversized entries).
class Batch {
 public:
  Batch(const Database& db) : db_(db) {}
  void Put(Cf cf, std::string_view key, std::string_view value) {
    Keep(batch_.Put(db_.cf(cf), AsSlice(key), AsSlice(value)));
  }
  void Delete(Cf cf, std::string_view key) { Keep(batch_.Delete(db_.cf(cf), AsSlice(key))); }
  Status Commit(bool sync, std::string_view what) {
    if (!status_.ok()) return FromRocks(status_, what);
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    const rocksdb::Status s = db_.db->Write(wo, &batch_);
    if (!s.ok()) return FromRocks(s, what);
    return OkStatus();
  }

 private:
  void Keep(const rocksdb::Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  const Database& db_;
  rocksdb::WriteBatch batch_;
  rocksdb::Status status_;
};

// Moves the secondary indexes of one identity from state `from` to state `to` (either may be
// absent), writing only the entries that differ: most calls leave the status and the earliest
// window as they were, and every skipped write is a skipped memtable insert.
// `expiry_floor` is lowered to any expiry entry written.
void MoveIndexes(Batch& batch, const std::optional<IdentityState>& from,
                 const std::optional<IdentityState>& to, std::uint64_t& expiry_floor) {
  auto status_key = [](const std::optional<IdentityState>& s) -> std::optional<std::string> {
    if (!s || !detail::IsIndexedStatus(s->status)) return std::nullopt;
    return detail::StatusIndexKey(s->status, s->identity_hash);
  };
  const std::optional<std::string> old_status = status_key(from);
  const std::optional<std::string> new_status = status_key(to);
  if (old_status != new_status) {
    if (old_status) batch.Delete(Cf::kStatusIndex, *old_status);
    if (new_status) batch.Put(Cf::kStatusIndex, *new_status, "");
  }
  const std::optional<ExpiryIndexEntry> old_expiry = from ? IndexedExpiry(*from) : std::nullopt;
  const std::optional<ExpiryIndexEntry> new_expiry = to ? IndexedExpiry(*to) : std::nullopt;
  if (old_expiry != new_expiry) {
    if (old_expiry) batch.Delete(Cf::kExpiry, detail::ExpiryKey(*old_expiry));
    if (new_expiry) {
      batch.Put(Cf::kExpiry, detail::ExpiryKey(*new_expiry), "");
      expiry_floor = std::min(expiry_floor, new_expiry->at);
    }
  }
}

void AppendAudit(Batch& batch, Counters& counters, AuditKind kind, const BlockHeader& block,
                 std::optional<HistoryEntry> entry) {
  AuditRecord record;
  record.seq = ++counters.audit_seq;
  record.prev_hash = counters.audit_head;
  record.kind = kind;
  record.block_number = block.number;
  record.block_hash = block.hash;
  record.entry = std::move(entry);
  const Bytes bytes = EncodeAuditRecord(record);
  batch.Put(Cf::kAudit, detail::Be64Key(record.seq),
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  counters.audit_head = Sha256(bytes);
}

std::string IdempotencyKey(std::string_view domain, const BlockHeader& block,
                           const AlertDraft& draft, std::uint64_t discriminator) {
  Bytes pre(domain.begin(), domain.end());
  pre.insert(pre.end(), block.hash.bytes.begin(), block.hash.bytes.end());
  AppendBe64(pre, block.number);
  pre.insert(pre.end(), draft.rule.begin(), draft.rule.end());
  pre.push_back(0);  // the rule name ends here
  pre.insert(pre.end(), draft.identity_hash.bytes.begin(), draft.identity_hash.bytes.end());
  AppendBe64(pre, discriminator);
  return Sha256(pre).ToHex(false);
}

Status CheckDrafts(const std::vector<AlertDraft>& drafts) {
  for (const AlertDraft& d : drafts) {
    if (d.body.size() > detail::kMaxBlobBytes || d.rule.size() > detail::kMaxStringBytes) {
      return MakeError(ErrorCode::kInvalidLength,
                       "store: alert '" + d.rule.substr(0, 64) + "' exceeds the row size limits");
    }
  }
  return OkStatus();
}

// Rows for `drafts`, raised by `block`; `key_of(draft, index)` gives the idempotency key.
template <typename KeyFn>
std::vector<std::uint64_t> AddAlertRows(Batch& batch, Counters& counters, const BlockHeader& block,
                                        const std::vector<AlertDraft>& drafts, KeyFn key_of) {
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    const AlertDraft& d = drafts[i];
    AlertRow row;
    row.id = ++counters.alert_id;
    row.idempotency_key = key_of(d, i);
    row.block_number = block.number;
    row.block_hash = block.hash;
    row.block_time = block.timestamp;
    row.rule = d.rule;
    row.identity_hash = d.identity_hash;
    row.severity = d.severity;
    row.body = d.body;
    batch.Put(Cf::kOutbox, detail::OutboxKey(detail::kOutboxRow, row.id),
              detail::EncodeAlertRow(row));
    batch.Put(Cf::kOutbox, detail::OutboxKey(detail::kOutboxPending, row.id), "");
    batch.Put(Cf::kOutbox, detail::OutboxBlockKey(block.number, row.id), "");
    ids.push_back(row.id);
  }
  return ids;
}

// Reads the pre-block state for the lifecycle model straight from the database: the writer is
// the only one changing it, under the store's write mutex.
class DatabaseSource final : public IdentitySource {
 public:
  // `expiry_floor`: no expiry index entry is earlier than this (0: unknown). Most blocks close
  // no window, and the floor lets them skip the index scan altogether.
  DatabaseSource(const Database& db, std::uint64_t expiry_floor)
      : db_(db), expiry_floor_(expiry_floor) {}

  Result<std::optional<IdentityState>> LoadIdentity(const Hash32& hash) override {
    CVMW_ASSIGN_OR_RETURN(
        std::optional<std::string> row,
        GetRow(db_, rocksdb::ReadOptions(), Cf::kIdentities, detail::HashKey(hash)));
    if (!row) return std::optional<IdentityState>();
    CVMW_ASSIGN_OR_RETURN(IdentityState s,
                          detail::DecodeIdentityState(*row, "identities row " + hash.ToHex()));
    raw_rows_.emplace(hash, std::move(*row));
    return std::optional<IdentityState>(std::move(s));
  }

  // The row LoadIdentity read for `hash` (the undo record keeps it as it was, unencoded again).
  std::optional<std::string> TakeRawRow(const Hash32& hash) {
    auto it = raw_rows_.find(hash);
    if (it == raw_rows_.end()) return std::nullopt;
    std::optional<std::string> out = std::move(it->second);
    raw_rows_.erase(it);
    return out;
  }

  Result<std::vector<ExpiryIndexEntry>> DueExpiries(std::uint64_t up_to) override {
    std::vector<ExpiryIndexEntry> out;
    if (up_to < expiry_floor_) return out;
    std::unique_ptr<rocksdb::Iterator> it(
        db_.db->NewIterator(rocksdb::ReadOptions(), db_.cf(Cf::kExpiry)));
    expiry_floor_ = kNever;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const rocksdb::Slice key = it->key();
      if (key.size() != detail::kExpiryKeySize || static_cast<std::uint8_t>(key[8]) > 1) {
        return MakeError(ErrorCode::kInvalidLength, "store: corrupt expiry index key of " +
                                                        std::to_string(key.size()) + " bytes");
      }
      const std::string_view k(key.data(), key.size());
      const std::uint64_t at = detail::ReadBe64(k, 0);
      if (at > up_to) {
        expiry_floor_ = at;  // the first entry left after this block's sweep
        break;
      }
      out.push_back({at, static_cast<ExpiryWindow>(k[8]), detail::HashFromKey(k, 9)});
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scan expiry index");
    return out;
  }

  // The floor once the entries returned by DueExpiries are gone (before this block's new ones).
  std::uint64_t expiry_floor() const { return expiry_floor_; }

 private:
  const Database& db_;
  std::uint64_t expiry_floor_;
  std::map<Hash32, std::string> raw_rows_;
};

std::string EncodeSchemaRow() {
  detail::RowWriter w;
  w.U8(kSchemaRowV1);
  w.Varint(kSchemaVersion);
  return w.Take();
}

// The deployment a store follows: chain id, registry proxy, and the other contracts it watches.
struct Binding {
  std::uint64_t chain_id = 0;
  Address registry;
  std::vector<Address> contracts;
  bool operator==(const Binding&) const = default;

  static Binding Of(const StoreOptions& o) { return {o.chain_id, o.registry, o.watched_contracts}; }
  std::string Encode() const {
    detail::RowWriter w;
    w.U8(kSchemaRowV1);
    w.Varint(chain_id);
    w.Fixed(registry);
    const std::size_t n = w.Count(contracts.size());
    for (std::size_t i = 0; i < n; ++i) w.Fixed(contracts[i]);
    return w.Take();
  }
  static Result<Binding> Decode(std::string_view row) {
    detail::RowReader r(row, "meta row binding");
    r.ExpectVersion(kSchemaRowV1);
    Binding b;
    b.chain_id = r.Varint();
    b.registry = r.Fixed<20>();
    b.contracts.resize(r.Count(detail::kMaxListItems, 20));
    for (Address& a : b.contracts) a = r.Fixed<20>();
    CVMW_RETURN_IF_ERROR(r.Finish());
    return b;
  }
  std::string Describe() const {
    std::string out = "chain " + std::to_string(chain_id) + " registry " + registry.ToHex();
    if (!contracts.empty()) {
      out += " (with";
      for (const Address& a : contracts) out += " " + a.ToHex();
      out += ")";
    }
    return out;
  }
};

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Result<std::shared_ptr<Database>> OpenDatabase(const StoreOptions& options, bool& created) {
  namespace fs = std::filesystem;
  const fs::path& path = options.path;
  const std::string where = path.string();
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  if (exists && !fs::is_directory(path, ec)) {
    return MakeError(ErrorCode::kPrecondition, "store: " + where + " is not a directory");
  }
  const bool has_db = exists && fs::exists(path / "CURRENT", ec);
  if (!has_db) {
    if (!options.create_if_missing) {
      return MakeError(ErrorCode::kNotFound, "store: no database at " + where);
    }
    if (exists && !fs::is_empty(path, ec)) {
      return MakeError(
          ErrorCode::kPrecondition,
          "store: " + where + " holds files but no database; refusing to create a store there");
    }
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !has_db;
  db_options.create_missing_column_families = !has_db;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  db_options.max_log_file_size = 1 << 20;
  // The WAL already holds everything; flushing ten families at every close only costs time.
  db_options.avoid_flush_during_shutdown = true;
  // One writer (the store's mutex); the hash-bucketed memtables below require this.
  db_options.allow_concurrent_memtable_write = false;
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.memtable_budget_bytes);

  if (has_db) {
    std::vector<std::string> names;
    const rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, where, &names);
    if (!s.ok()) return FromRocks(s, "read the database at " + where);
    std::set<std::string> expected{rocksdb::kDefaultColumnFamilyName};
    for (std::string_view n : detail::kCfNames) expected.emplace(n);
    if (std::set<std::string>(names.begin(), names.end()) != expected) {
      // A damaged manifest can list just "default"; a read-only open tells damage from foreign.
      std::vector<rocksdb::ColumnFamilyDescriptor> listed;
      for (const std::string& n : names) listed.emplace_back(n, rocksdb::ColumnFamilyOptions());
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      rocksdb::DB* probe = nullptr;
      const rocksdb::Status opened =
          rocksdb::DB::OpenForReadOnly(db_options, where, listed, &handles, &probe);
      if (probe != nullptr) {
        for (auto* h : handles) probe->DestroyColumnFamilyHandle(h).PermitUncheckedError();
        delete probe;
      }
      if (!opened.ok()) return FromRocks(opened, "read the database at " + where);
      return MakeError(ErrorCode::kPrecondition,
                       "store: " + where +
                           " is not a cvmwatch store (column families: " + JoinNames(names) + ")");
    }
  }

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks stay resident outside the cache (about 2% of the data): a Get then
  // costs at most one data-block read, and point lookups dominate the write path.
  table.cache_index_and_filter_blocks = false;
  rocksdb::ColumnFamilyOptions ordered;
  ordered.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  ordered.write_buffer_size = std::max<std::size_t>(options.memtable_budget_bytes / 4, 1 << 20);
  ordered.compression = rocksdb::kLZ4Compression;
  // Identities and history take one random-key insert per event each. A skip list per key
  // prefix makes those inserts ~3x cheaper than one big skip list; the price is that a
  // total-order scan of the memtable sorts it first, which only listings and digests do.
  // History keys share a prefix per identity (its history is one bucket, scanned in order).
  auto hashed = [&](std::size_t prefix) {
    rocksdb::ColumnFamilyOptions o = ordered;
    o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(prefix));
    o.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(/*bucket_count=*/100'000));
    o.memtable_whole_key_filtering = true;  // cheap misses for never-seen identities
    o.memtable_prefix_bloom_size_ratio = 0.05;
    return o;
  };

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, ordered);
  for (std::size_t i = 0; i < detail::kCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    const rocksdb::ColumnFamilyOptions o = cf == Cf::kIdentities ? hashed(8)
                                           : cf == Cf::kHistory  ? hashed(32)
                                                                 : ordered;
    descriptors.emplace_back(std::string(detail::kCfNames[i]), o);
  }

  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, where, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, "open " + where);
  auto db = std::make_shared<Database>();
  db->db.reset(raw);
  // handles[0] is the unused default family; RocksDB requires it to exist.
  raw->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  for (std::size_t i = 0; i < detail::kCfCount; ++i) db->handles[i] = handles[i + 1];
  db->audit_genesis = AuditGenesis(options.chain_id, options.registry);
  created = !has_db;
  return db;
}

// True when the meta family holds nothing (a creation that stopped before its first batch).
Result<bool> MetaIsEmpty(const Database& db) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(rocksdb::ReadOptions(), db.cf(Cf::kMeta)));
  it->SeekToFirst();
  if (!it->status().ok()) return FromRocks(it->status(), "scan meta");
  return !it->Valid();
}

Status CheckOrInitialiseMeta(const Database& db, const StoreOptions& options) {
  const std::string where = options.path.string();
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> schema,
                        GetRow(db, rocksdb::ReadOptions(), Cf::kMeta, detail::kMetaSchema));
  if (!schema) {
    CVMW_ASSIGN_OR_RETURN(bool empty, MetaIsEmpty(db));
    if (!empty) {
      return MakeError(ErrorCode::kPrecondition,
                       "store: " + where + " has no schema row; not a cvmwatch store");
    }
    Counters counters;
    counters.audit_head = db.audit_genesis;
    Batch batch(db);
    batch.Put(Cf::kMeta, detail::kMetaSchema, EncodeSchemaRow());
    batch.Put(Cf::kMeta, detail::kMetaBinding, Binding::Of(options).Encode());
    batch.Put(Cf::kMeta, detail::kMetaCounters, detail::EncodeCounters(counters));
    return batch.Commit(options.wal_sync != WalSync::kNever, "initialise " + where);
  }
  detail::RowReader schema_reader(*schema, "meta row schema");
  schema_reader.ExpectVersion(kSchemaRowV1);
  const std::uint64_t version = schema_reader.Varint();
  CVMW_RETURN_IF_ERROR(schema_reader.Finish());
  if (version != kSchemaVersion) {
    return MakeError(ErrorCode::kPrecondition,
                     "store: " + where + " has schema version " + std::to_string(version) +
                         "; this build reads version " + std::to_string(kSchemaVersion));
  }
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> binding,
                        GetRow(db, rocksdb::ReadOptions(), Cf::kMeta, detail::kMetaBinding));
  if (!binding) {
    return MakeError(ErrorCode::kInvalidLength, "store: " + where + " lacks its binding row");
  }
  CVMW_ASSIGN_OR_RETURN(Binding stored, Binding::Decode(*binding));
  const Binding wanted = Binding::Of(options);
  if (stored != wanted) {
    return MakeError(ErrorCode::kPrecondition,
                     "store: " + where + " was made for " + stored.Describe() +
                         "; refusing to open it for " + wanted.Describe());
  }
  return OkStatus();
}

}  // namespace

// --- Store -------------------------------------------------------------------------------------

Store::Store(StoreOptions options, std::shared_ptr<Database> db)
    : options_(std::move(options)), db_(std::move(db)), counters_(std::make_unique<Counters>()) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.retained_blocks == 0) {
    return MakeError(ErrorCode::kPrecondition, "store: retained_blocks must be at least 1");
  }
  bool created = false;
  CVMW_ASSIGN_OR_RETURN(std::shared_ptr<Database> db, OpenDatabase(options, created));
  CVMW_RETURN_IF_ERROR(CheckOrInitialiseMeta(*db, options));
  std::unique_ptr<Store> store(new Store(options, std::move(db)));
  CVMW_RETURN_IF_ERROR(store->LoadWriterState());
  return store;
}

Status Store::LoadWriterState() {
  const rocksdb::ReadOptions ro;
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> cursor,
                        GetRow(*db_, ro, Cf::kMeta, detail::kMetaCursor));
  if (cursor) {
    CVMW_ASSIGN_OR_RETURN(BlockHeader h, detail::DecodeBlockHeader(*cursor, "meta row cursor"));
    cursor_ = h;
  }
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> counters,
                        GetRow(*db_, ro, Cf::kMeta, detail::kMetaCounters));
  if (!counters) return MakeError(ErrorCode::kInvalidLength, "store: meta row counters missing");
  CVMW_ASSIGN_OR_RETURN(Counters c, detail::DecodeCounters(*counters));
  *counters_ = c;
  return OkStatus();
}

bool Store::SyncThisBatch() {
  switch (options_.wal_sync) {
    case WalSync::kEveryBatch:
      return true;
    case WalSync::kNever:
      return false;
    case WalSync::kInterval: {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_sync_ < options_.wal_sync_interval) return false;
      last_sync_ = now;  // an fsync of this batch covers every earlier one in the WAL
      return true;
    }
  }
  return true;
}

ReadView Store::Read() const {
  auto impl = std::make_unique<ReadView::Impl>();
  impl->db = db_;
  impl->snapshot = db_->db->GetSnapshot();
  return ReadView(std::move(impl));
}

Result<ApplyResult> Store::ApplyBlock(const InputBlock& block, const AlertRules* rules) {
  const BlockHeader& h = block.header;
  std::lock_guard lock(write_mutex_);
  // RocksDB's per-thread perf counters cost a few percent of the write path; nothing reads them.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  const std::string what = "apply block " + std::to_string(h.number);

  if (cursor_) {
    if (h.number <= cursor_->number) {
      CVMW_ASSIGN_OR_RETURN(
          std::optional<std::string> row,
          GetRow(*db_, rocksdb::ReadOptions(), Cf::kBlocks, detail::Be64Key(h.number)));
      if (!row) {
        return MakeError(ErrorCode::kPrecondition,
                         "store: block " + std::to_string(h.number) + " is below the cursor (" +
                             std::to_string(cursor_->number) + ") and outside the retained window");
      }
      CVMW_ASSIGN_OR_RETURN(BlockHeader stored, detail::DecodeBlockHeader(*row, "blocks row"));
      if (stored.hash == h.hash) {
        ApplyResult replay;
        replay.already_applied = true;
        return replay;
      }
      return MakeError(ErrorCode::kPrecondition, "store: block " + std::to_string(h.number) + " " +
                                                     h.hash.ToHex() + " differs from the applied " +
                                                     stored.hash.ToHex() + "; roll back to " +
                                                     std::to_string(h.number - 1) + " first");
    }
    if (h.number != cursor_->number + 1) {
      return MakeError(ErrorCode::kPrecondition, "store: block " + std::to_string(h.number) +
                                                     " does not follow the cursor " +
                                                     std::to_string(cursor_->number));
    }
    if (h.parent_hash != cursor_->hash) {
      return MakeError(ErrorCode::kPrecondition, "store: block " + std::to_string(h.number) +
                                                     " has parent " + h.parent_hash.ToHex() +
                                                     ", not the cursor's " + cursor_->hash.ToHex() +
                                                     " (a reorg: roll back first)");
    }
    if (h.timestamp < cursor_->timestamp) {
      return MakeError(ErrorCode::kPrecondition,
                       "store: block " + std::to_string(h.number) + " goes back in time");
    }
  }

  DatabaseSource source(*db_, expiry_floor_);
  CVMW_ASSIGN_OR_RETURN(BlockEffects effects,
                        DeriveBlockEffects(block, source, options_.lifecycle));
  // Entries are numbered before the rules see them, so alerts can cite them.
  for (std::size_t i = 0; i < effects.history.size(); ++i) {
    effects.history[i].seq = counters_->history_seq + 1 + i;
  }
  const std::vector<AlertDraft> drafts =
      rules != nullptr ? rules->Evaluate(effects) : std::vector<AlertDraft>{};
  CVMW_RETURN_IF_ERROR(CheckDrafts(drafts));

  Counters next = *counters_;
  detail::UndoRecord undo;
  undo.header = h;
  undo.previous_cursor = cursor_;
  undo.previous_history_seq = next.history_seq;
  undo.previous_status_counts = next.status_counts;
  undo.event_count = static_cast<std::uint32_t>(effects.events.size());

  Batch batch(*db_);
  std::uint64_t expiry_floor = source.expiry_floor();
  for (const IdentityChange& change : effects.changes) {
    MoveIndexes(batch, change.before, change.after, expiry_floor);
    undo.identities_before.emplace_back(
        change.identity_hash,
        change.before ? source.TakeRawRow(change.identity_hash) : std::optional<std::string>());
    if (change.before) --next.status_counts[static_cast<std::size_t>(change.before->status)];
    if (change.after) {
      batch.Put(Cf::kIdentities, detail::HashKey(change.identity_hash),
                detail::EncodeIdentityState(*change.after));
      ++next.status_counts[static_cast<std::size_t>(change.after->status)];
    }
  }
  for (HistoryEntry& entry : effects.history) {
    next.history_seq = entry.seq;
    batch.Put(Cf::kHistory, detail::HistoryKey(entry.identity_hash, entry.seq),
              detail::EncodeHistoryEntry(entry));
    undo.history_identities.push_back(entry.identity_hash);
    AppendAudit(batch, next, AuditKind::kHistory, h, std::move(entry));
  }
  for (const EventRecord& event : effects.events) {
    batch.Put(Cf::kEvents, detail::EventKey(h.number, event.ordinal),
              detail::EncodeEventRecord(event));
  }
  ApplyResult result;
  result.alert_ids = AddAlertRows(batch, next, h, drafts, [&](const AlertDraft& d, std::size_t i) {
    return IdempotencyKey("cvmwatch/alert/block/v1", h, d, i);
  });
  batch.Put(Cf::kBlocks, detail::Be64Key(h.number), detail::EncodeBlockHeader(h));
  batch.Put(Cf::kUndo, detail::Be64Key(h.number), detail::EncodeUndo(undo));
  if (h.number >= options_.retained_blocks) {
    const std::uint64_t pruned = h.number - options_.retained_blocks;
    batch.Delete(Cf::kBlocks, detail::Be64Key(pruned));
    batch.Delete(Cf::kUndo, detail::Be64Key(pruned));
  }
  batch.Put(Cf::kMeta, detail::kMetaCursor, detail::EncodeBlockHeader(h));
  batch.Put(Cf::kMeta, detail::kMetaCounters, detail::EncodeCounters(next));
  CVMW_RETURN_IF_ERROR(batch.Commit(SyncThisBatch(), what));

  cursor_ = h;
  *counters_ = next;
  expiry_floor_ = expiry_floor;
  result.changed_identities = effects.changes.size();
  result.history_entries = effects.history.size();
  return result;
}

Status Store::RollbackTo(std::uint64_t block_number) {
  std::lock_guard lock(write_mutex_);
  if (!cursor_ || cursor_->number <= block_number) return OkStatus();
  const rocksdb::ReadOptions ro;
  const std::string what = "roll back to block " + std::to_string(block_number);

  Batch batch(*db_);
  Counters next = *counters_;
  std::optional<BlockHeader> cursor = cursor_;
  // Identity states as rewound so far: a later block's undo runs before an earlier one's.
  std::map<Hash32, std::optional<IdentityState>> rewound;

  while (cursor && cursor->number > block_number) {
    const std::uint64_t n = cursor->number;
    CVMW_ASSIGN_OR_RETURN(std::optional<std::string> row,
                          GetRow(*db_, ro, Cf::kUndo, detail::Be64Key(n)));
    if (!row) {
      return MakeError(ErrorCode::kPrecondition,
                       "store: cannot roll back block " + std::to_string(n) +
                           ": its undo record is gone (retained_blocks = " +
                           std::to_string(options_.retained_blocks) + ")");
    }
    CVMW_ASSIGN_OR_RETURN(detail::UndoRecord undo, detail::DecodeUndo(*row, n));
    if (undo.header != *cursor) {
      return MakeError(
          ErrorCode::kInvalidLength,
          "store: undo record of block " + std::to_string(n) + " names another block header");
    }

    for (const auto& [hash, before_row] : undo.identities_before) {
      std::optional<IdentityState> before;
      if (before_row) {
        CVMW_ASSIGN_OR_RETURN(IdentityState s, detail::DecodeIdentityState(
                                                   *before_row, "undo row of " + hash.ToHex()));
        before = std::move(s);
      }
      std::optional<IdentityState> current;
      if (auto it = rewound.find(hash); it != rewound.end()) {
        current = it->second;
      } else {
        CVMW_ASSIGN_OR_RETURN(std::optional<std::string> state_row,
                              GetRow(*db_, ro, Cf::kIdentities, detail::HashKey(hash)));
        if (state_row) {
          CVMW_ASSIGN_OR_RETURN(IdentityState s, detail::DecodeIdentityState(
                                                     *state_row, "identities row " + hash.ToHex()));
          current = std::move(s);
        }
      }
      std::uint64_t unused_floor = 0;
      MoveIndexes(batch, current, before, unused_floor);
      if (before_row) {
        batch.Put(Cf::kIdentities, detail::HashKey(hash), *before_row);
      } else {
        batch.Delete(Cf::kIdentities, detail::HashKey(hash));
      }
      rewound[hash] = before;
    }
    for (std::size_t i = 0; i < undo.history_identities.size(); ++i) {
      batch.Delete(Cf::kHistory, detail::HistoryKey(undo.history_identities[i],
                                                    undo.previous_history_seq + 1 + i));
    }
    for (std::uint32_t i = 0; i < undo.event_count; ++i) {
      batch.Delete(Cf::kEvents, detail::EventKey(n, i));
    }

    // Alerts of the orphaned block are retracted, never dropped.
    const std::string prefix = detail::OutboxBlockKey(n, 0).substr(0, 9);
    std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->cf(Cf::kOutbox)));
    for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix));
         it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      if (key.size() != 17)
        return MakeError(ErrorCode::kInvalidLength, "store: corrupt outbox key");
      const std::uint64_t id = detail::ReadBe64(key, 9);
      CVMW_ASSIGN_OR_RETURN(
          std::optional<std::string> alert_row,
          GetRow(*db_, ro, Cf::kOutbox, detail::OutboxKey(detail::kOutboxRow, id)));
      if (!alert_row) continue;
      CVMW_ASSIGN_OR_RETURN(AlertRow alert,
                            detail::DecodeAlertRow(*alert_row, "outbox row " + std::to_string(id)));
      switch (alert.state) {
        case AlertState::kPending:
        case AlertState::kDeadLettered:
          alert.state = AlertState::kRetracted;
          batch.Delete(Cf::kOutbox, detail::OutboxKey(detail::kOutboxPending, id));
          break;
        case AlertState::kDelivered:
          alert.state = AlertState::kRetractionPending;
          alert.attempts = 0;
          alert.last_error.clear();
          batch.Put(Cf::kOutbox, detail::OutboxKey(detail::kOutboxPending, id), "");
          break;
        default:
          continue;
      }
      batch.Put(Cf::kOutbox, detail::OutboxKey(detail::kOutboxRow, id),
                detail::EncodeAlertRow(alert));
    }
    if (!it->status().ok()) return FromRocks(it->status(), what);

    AppendAudit(batch, next, AuditKind::kRollback, undo.header, std::nullopt);
    batch.Delete(Cf::kBlocks, detail::Be64Key(n));
    batch.Delete(Cf::kUndo, detail::Be64Key(n));
    next.history_seq = undo.previous_history_seq;
    next.status_counts = undo.previous_status_counts;
    cursor = undo.previous_cursor;
  }

  if (cursor) {
    batch.Put(Cf::kMeta, detail::kMetaCursor, detail::EncodeBlockHeader(*cursor));
  } else {
    batch.Delete(Cf::kMeta, detail::kMetaCursor);
  }
  batch.Put(Cf::kMeta, detail::kMetaCounters, detail::EncodeCounters(next));
  CVMW_RETURN_IF_ERROR(batch.Commit(SyncThisBatch(), what));
  cursor_ = cursor;
  *counters_ = next;
  expiry_floor_ = 0;  // restored entries may be earlier than anything seen: scan next time
  return OkStatus();
}

// --- outbox ------------------------------------------------------------------------------------

Result<std::vector<std::uint64_t>> Store::AppendAlerts(const std::vector<AlertDraft>& drafts) {
  CVMW_RETURN_IF_ERROR(CheckDrafts(drafts));
  std::lock_guard lock(write_mutex_);
  if (!cursor_) {
    return MakeError(ErrorCode::kPrecondition, "store: no block applied yet to attach alerts to");
  }
  const BlockHeader h = *cursor_;
  Counters next = *counters_;
  Batch batch(*db_);
  std::vector<std::uint64_t> ids =
      AddAlertRows(batch, next, h, drafts, [&](const AlertDraft& d, std::size_t) {
        // Stable for the same alert at the same block: a repeated tick dedupes downstream.
        const Hash32 body = Sha256(AsBytes(d.body));
        std::uint64_t discriminator = 0;
        for (int i = 0; i < 8; ++i) discriminator = discriminator << 8 | body.bytes[i];
        return IdempotencyKey("cvmwatch/alert/tick/v1", h, d, discriminator);
      });
  batch.Put(Cf::kMeta, detail::kMetaCounters, detail::EncodeCounters(next));
  CVMW_RETURN_IF_ERROR(batch.Commit(SyncThisBatch(), "append alerts"));
  *counters_ = next;
  return ids;
}

Status Store::UpdateAlert(std::uint64_t id, std::uint64_t at, std::string_view error,
                          AlertAction action) {
  std::lock_guard lock(write_mutex_);
  const std::string key = detail::OutboxKey(detail::kOutboxRow, id);
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> row,
                        GetRow(*db_, rocksdb::ReadOptions(), Cf::kOutbox, key));
  if (!row) return MakeError(ErrorCode::kNotFound, "store: no alert " + std::to_string(id));
  CVMW_ASSIGN_OR_RETURN(AlertRow alert,
                        detail::DecodeAlertRow(*row, "outbox row " + std::to_string(id)));
  if (!NeedsDelivery(alert.state)) {
    return MakeError(ErrorCode::kPrecondition, "store: alert " + std::to_string(id) + " is " +
                                                   std::string(AlertStateName(alert.state)) +
                                                   "; nothing is due");
  }
  const bool retraction = alert.state == AlertState::kRetractionPending;
  alert.last_attempt_at = at;
  bool still_due = false;
  switch (action) {
    case AlertAction::kDelivered:
      alert.state = retraction ? AlertState::kRetractionDelivered : AlertState::kDelivered;
      ++alert.attempts;
      alert.last_error.clear();
      break;
    case AlertAction::kFailedAttempt:
      ++alert.attempts;
      alert.last_error = std::string(error.substr(0, detail::kMaxStringBytes));
      still_due = true;
      break;
    case AlertAction::kDeadLettered:
      alert.state = retraction ? AlertState::kRetractionDeadLettered : AlertState::kDeadLettered;
      alert.last_error = std::string(error.substr(0, detail::kMaxStringBytes));
      break;
  }
  Batch batch(*db_);
  batch.Put(Cf::kOutbox, key, detail::EncodeAlertRow(alert));
  if (!still_due) batch.Delete(Cf::kOutbox, detail::OutboxKey(detail::kOutboxPending, id));
  return batch.Commit(SyncThisBatch(), "update alert " + std::to_string(id));
}

Status Store::MarkAlertDelivered(std::uint64_t id, std::uint64_t at) {
  return UpdateAlert(id, at, "", AlertAction::kDelivered);
}

Status Store::RecordAlertFailure(std::uint64_t id, std::uint64_t at, std::string_view error) {
  return UpdateAlert(id, at, error, AlertAction::kFailedAttempt);
}

Status Store::MarkAlertDeadLettered(std::uint64_t id, std::uint64_t at, std::string_view error) {
  return UpdateAlert(id, at, error, AlertAction::kDeadLettered);
}

// --- operations --------------------------------------------------------------------------------

Status Store::Flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles(db_->handles.begin(), db_->handles.end());
  const rocksdb::Status s = db_->db->Flush(fo, handles);
  if (!s.ok()) return FromRocks(s, "flush");
  return OkStatus();
}

Status Store::CompactAll() {
  for (rocksdb::ColumnFamilyHandle* h : db_->handles) {
    const rocksdb::Status s =
        db_->db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, "compact " + h->GetName());
  }
  return OkStatus();
}

Result<std::vector<ColumnFamilyStats>> Store::Stats() const {
  std::vector<ColumnFamilyStats> out;
  for (std::size_t i = 0; i < detail::kCfCount; ++i) {
    ColumnFamilyStats s;
    s.name = std::string(detail::kCfNames[i]);
    db_->db->GetIntProperty(db_->handles[i], "rocksdb.total-sst-files-size", &s.sst_bytes);
    db_->db->GetIntProperty(db_->handles[i], "rocksdb.cur-size-all-mem-tables", &s.memtable_bytes);
    db_->db->GetIntProperty(db_->handles[i], "rocksdb.estimate-num-keys", &s.estimated_keys);
    out.push_back(std::move(s));
  }
  return out;
}

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kPending:
      return "pending";
    case AlertState::kDelivered:
      return "delivered";
    case AlertState::kDeadLettered:
      return "dead-lettered";
    case AlertState::kRetracted:
      return "retracted";
    case AlertState::kRetractionPending:
      return "retraction-pending";
    case AlertState::kRetractionDelivered:
      return "retraction-delivered";
    case AlertState::kRetractionDeadLettered:
      return "retraction-dead-lettered";
  }
  return "unknown";
}

}  // namespace cvmwatch::store
