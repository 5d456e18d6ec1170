#include "detail/database.h"

#include "cvmwatch/store/detail/codec.h"
#include "cvmwatch/store/detail/serialize.h"

namespace cvmwatch::store::detail {

namespace {
constexpr std::uint8_t kCountersV1 = 1;
constexpr std::uint8_t kUndoV1 = 1;
// Undo lists are as long as the block is busy; bounded by the bytes that remain.
constexpr std::size_t kMaxUndoItems = std::size_t{1} << 26;
}  // namespace

Database::~Database() {
  if (!db) return;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    if (h != nullptr) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  db->Close().PermitUncheckedError();
}

Error FromRocks(const rocksdb::Status& status, std::string_view what) {
  const bool retry = status.IsBusy() || status.IsTryAgain() || status.IsTimedOut();
  const ErrorCode code = status.IsNotFound() ? ErrorCode::kNotFound : ErrorCode::kIo;
  return MakeError(code, "store: " + std::string(what) + ": " + status.ToString(), retry);
}

Result<std::optional<std::string>> GetRow(const Database& db, const rocksdb::ReadOptions& ro, Cf cf,
                                          std::string_view key) {
  std::string value;
  const rocksdb::Status s =
      db.db->Get(ro, db.cf(cf), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read " + std::string(kCfNames[static_cast<std::size_t>(cf)]));
  return std::optional<std::string>(std::move(value));
}

std::string EncodeCounters(const Counters& c) {
  RowWriter w;
  w.U8(kCountersV1);
  w.Varint(c.history_seq);
  w.Varint(c.audit_seq);
  w.Fixed(c.audit_head);
  w.Varint(c.alert_id);
  w.Varint(c.status_counts.size());
  for (std::uint64_t n : c.status_counts) w.Varint(n);
  return w.Take();
}

Result<Counters> DecodeCounters(std::string_view row) {
  RowReader r(row, "meta row counters");
  r.ExpectVersion(kCountersV1);
  Counters c;
  c.history_seq = r.Varint();
  c.audit_seq = r.Varint();
  c.audit_head = r.Fixed<32>();
  c.alert_id = r.Varint();
  if (r.Varint() != kStatusCount && r.ok()) r.Fail("status count list of the wrong length");
  for (std::uint64_t& n : c.status_counts) n = r.Varint();
  CVMW_RETURN_IF_ERROR(r.Finish());
  return c;
}

std::string EncodeUndo(const UndoRecord& u) {
  RowWriter w;
  w.U8(kUndoV1);
  WriteBlockHeader(w, u.header);
  w.Bool(u.previous_cursor.has_value());
  if (u.previous_cursor) WriteBlockHeader(w, *u.previous_cursor);
  w.Varint(u.previous_history_seq);
  for (std::uint64_t n : u.previous_status_counts) w.Varint(n);
  w.Varint(u.event_count);
  w.Varint(u.identities_before.size());
  for (const auto& [hash, before] : u.identities_before) {
    w.Fixed(hash);
    w.Bool(before.has_value());
    if (before) w.Blob(AsBytes(*before));
  }
  w.Varint(u.history_identities.size());
  for (const Hash32& h : u.history_identities) w.Fixed(h);
  return w.Take();
}

Result<UndoRecord> DecodeUndo(std::string_view row, std::uint64_t number) {
  RowReader r(row, "undo record of block " + std::to_string(number));
  r.ExpectVersion(kUndoV1);
  UndoRecord u;
  u.header = ReadBlockHeader(r);
  if (r.Bool()) u.previous_cursor = ReadBlockHeader(r);
  u.previous_history_seq = r.Varint();
  for (std::uint64_t& n : u.previous_status_counts) n = r.Varint();
  u.event_count = r.Varint32();
  u.identities_before.resize(r.Count(kMaxUndoItems, 33));
  for (auto& [hash, before] : u.identities_before) {
    hash = r.Fixed<32>();
    if (r.Bool()) {
      const Bytes raw = r.Blob();
      before = std::string(raw.begin(), raw.end());
    }
  }
  u.history_identities.resize(r.Count(kMaxUndoItems, 32));
  for (Hash32& h : u.history_identities) h = r.Fixed<32>();
  CVMW_RETURN_IF_ERROR(r.Finish());
  return u;
}

}  // namespace cvmwatch::store::detail
