#include <algorithm>
#include <deque>
#include <tuple>
#include <utility>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/store/detail/codec.h"
#include "cvmwatch/store/detail/serialize.h"
#include "cvmwatch/store/store.h"
#include "detail/database.h"
#include "detail/keys.h"
#include "detail/read_view_impl.h"

namespace cvmwatch::store {

using detail::Cf;
using detail::FromRocks;
using detail::GetRow;

namespace {

constexpr std::size_t kMaxPageLimit = 1000;
// A filtered listing looks at no more than this many rows per call (plus the page itself).
constexpr std::size_t kScanBudget = 5000;
// Expiring() looks at no more index entries than this (a horizon that wide is a misuse).
constexpr std::size_t kMaxExpiryScan = 200'000;

std::size_t ClampLimit(std::size_t limit) {
  return std::clamp<std::size_t>(limit, 1, kMaxPageLimit);
}

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view AsView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Page cursor tokens: hex of (format byte, kind byte, the last key returned). Opaque to callers,
// checked on the way back in so a token of one listing cannot steer another.
enum class TokenKind : std::uint8_t {
  kIdentities = 1,
  kIdentitiesByStatus = 2,
  kHistoryAscending = 3,
  kHistoryDescending = 4,
  kAlerts = 5,
};
constexpr std::uint8_t kTokenFormat = 1;

std::string MakeToken(TokenKind kind, std::string_view key) {
  Bytes raw{kTokenFormat, static_cast<std::uint8_t>(kind)};
  raw.insert(raw.end(), key.begin(), key.end());
  return ToHex(raw, false);
}

// The key inside `token` ("" for an empty token).
Result<std::string> ParseToken(std::string_view token, TokenKind kind, std::size_t key_size) {
  if (token.empty()) return std::string();
  auto raw = HexToBytes(token);
  if (!raw.ok() || raw->size() != 2 + key_size || (*raw)[0] != kTokenFormat ||
      (*raw)[1] != static_cast<std::uint8_t>(kind)) {
    return MakeError(ErrorCode::kInvalidLength, "store: malformed page cursor for this listing");
  }
  return std::string(raw->begin() + 2, raw->end());
}

// Scans run in total order unless `within_prefix` (the history family, whose prefix is the
// identity hash: a prefix scan reads one memtable bucket instead of sorting the memtable).
class Iter {
 public:
  Iter(const detail::Database& db, rocksdb::ReadOptions ro, Cf cf, bool within_prefix = false)
      : it_(Make(db, ro, cf, within_prefix)) {}
  rocksdb::Iterator* operator->() { return it_.get(); }
  Status Check(std::string_view what) const {
    if (!it_->status().ok()) return FromRocks(it_->status(), what);
    return OkStatus();
  }

 private:
  static rocksdb::Iterator* Make(const detail::Database& db, rocksdb::ReadOptions ro, Cf cf,
                                 bool within_prefix) {
    ro.total_order_seek = !within_prefix;
    ro.prefix_same_as_start = within_prefix;
    return db.db->NewIterator(ro, db.cf(cf));
  }
  std::unique_ptr<rocksdb::Iterator> it_;
};

Result<IdentityState> DecodeIdentity(std::string_view row, const Hash32& hash) {
  return detail::DecodeIdentityState(row, "identities row " + hash.ToHex());
}

bool Matches(const IdentityFilter& f, const IdentityState& s) {
  return (!f.status || s.status == *f.status) && (!f.cloud_type || s.cloud_type == *f.cloud_type) &&
         (!f.tee_type || s.tee_type == *f.tee_type);
}

}  // namespace

ReadView::ReadView(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReadView::~ReadView() = default;
ReadView::ReadView(ReadView&&) noexcept = default;
ReadView& ReadView::operator=(ReadView&&) noexcept = default;

Result<std::optional<BlockHeader>> ReadView::Cursor() const {
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> row,
                        GetRow(*impl_->db, impl_->Options(), Cf::kMeta, detail::kMetaCursor));
  if (!row) return std::optional<BlockHeader>();
  CVMW_ASSIGN_OR_RETURN(BlockHeader h, detail::DecodeBlockHeader(*row, "meta row cursor"));
  return std::optional<BlockHeader>(h);
}

Result<BlockHeader> ReadView::Block(std::uint64_t number) const {
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> row,
                        GetRow(*impl_->db, impl_->Options(), Cf::kBlocks, detail::Be64Key(number)));
  if (!row) {
    return MakeError(ErrorCode::kNotFound,
                     "store: block " + std::to_string(number) + " not retained");
  }
  return detail::DecodeBlockHeader(*row, "blocks row " + std::to_string(number));
}

Result<std::vector<EventRecord>> ReadView::EventsOfBlock(std::uint64_t number) const {
  std::vector<EventRecord> out;
  const std::string prefix = detail::Be64Key(number);
  Iter it(*impl_->db, impl_->Options(), Cf::kEvents);
  for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix));
       it->Next()) {
    CVMW_ASSIGN_OR_RETURN(
        EventRecord e, detail::DecodeEventRecord(AsView(it->value()),
                                                 "events row of block " + std::to_string(number)));
    out.push_back(std::move(e));
  }
  CVMW_RETURN_IF_ERROR(it.Check("scan events"));
  return out;
}

Result<IdentityState> ReadView::GetIdentity(const Hash32& identity_hash) const {
  CVMW_ASSIGN_OR_RETURN(
      std::optional<std::string> row,
      GetRow(*impl_->db, impl_->Options(), Cf::kIdentities, detail::HashKey(identity_hash)));
  if (!row)
    return MakeError(ErrorCode::kNotFound, "store: unknown identity " + identity_hash.ToHex());
  return DecodeIdentity(*row, identity_hash);
}

Result<Page<IdentityState>> ReadView::ListIdentities(const IdentityFilter& filter,
                                                     const PageRequest& page) const {
  const std::size_t limit = ClampLimit(page.limit);
  Page<IdentityState> out;
  const rocksdb::ReadOptions ro = impl_->Options();

  if (filter.status && detail::IsIndexedStatus(*filter.status)) {
    const std::string prefix(1, static_cast<char>(*filter.status));
    CVMW_ASSIGN_OR_RETURN(std::string after,
                          ParseToken(page.cursor, TokenKind::kIdentitiesByStatus, 33));
    if (!after.empty() && after[0] != prefix[0]) {
      return MakeError(ErrorCode::kInvalidLength, "store: page cursor belongs to another status");
    }
    Iter it(*impl_->db, ro, Cf::kStatusIndex);
    it->Seek(AsSlice(after.empty() ? prefix : after));
    if (!after.empty() && it->Valid() && AsView(it->key()) == after) it->Next();
    std::size_t scanned = 0;
    for (; it->Valid() && it->key().starts_with(AsSlice(prefix)); it->Next()) {
      const std::string key(AsView(it->key()));
      if (key.size() != 33)
        return MakeError(ErrorCode::kInvalidLength, "store: corrupt status index key");
      if (out.items.size() == limit || scanned == kScanBudget) {
        // More remain: resume after the last key looked at.
        out.next_cursor = MakeToken(TokenKind::kIdentitiesByStatus, after);
        break;
      }
      ++scanned;
      after = key;
      const Hash32 hash = detail::HashFromKey(key, 1);
      CVMW_ASSIGN_OR_RETURN(IdentityState s, GetIdentity(hash));
      if (Matches(filter, s)) out.items.push_back(std::move(s));
    }
    CVMW_RETURN_IF_ERROR(it.Check("scan status index"));
    return out;
  }

  CVMW_ASSIGN_OR_RETURN(std::string after, ParseToken(page.cursor, TokenKind::kIdentities, 32));
  Iter it(*impl_->db, ro, Cf::kIdentities);
  if (after.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(AsSlice(after));
    if (it->Valid() && AsView(it->key()) == after) it->Next();
  }
  std::size_t scanned = 0;
  for (; it->Valid(); it->Next()) {
    if (out.items.size() == limit || scanned == kScanBudget) {
      out.next_cursor = MakeToken(TokenKind::kIdentities, after);
      break;
    }
    ++scanned;
    const std::string key(AsView(it->key()));
    if (key.size() != 32)
      return MakeError(ErrorCode::kInvalidLength, "store: corrupt identities key");
    after = key;
    CVMW_ASSIGN_OR_RETURN(IdentityState s,
                          DecodeIdentity(AsView(it->value()), detail::HashFromKey(key, 0)));
    if (Matches(filter, s)) out.items.push_back(std::move(s));
  }
  CVMW_RETURN_IF_ERROR(it.Check("scan identities"));
  return out;
}

Result<StatusCounts> ReadView::CountByStatus() const {
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> row,
                        GetRow(*impl_->db, impl_->Options(), Cf::kMeta, detail::kMetaCounters));
  if (!row) return MakeError(ErrorCode::kInvalidLength, "store: meta row counters missing");
  CVMW_ASSIGN_OR_RETURN(detail::Counters c, detail::DecodeCounters(*row));
  return c.status_counts;
}

Result<Page<HistoryEntry>> ReadView::History(const Hash32& identity_hash, Order order,
                                             const PageRequest& page) const {
  const std::size_t limit = ClampLimit(page.limit);
  const TokenKind kind =
      order == Order::kAscending ? TokenKind::kHistoryAscending : TokenKind::kHistoryDescending;
  CVMW_ASSIGN_OR_RETURN(std::string after, ParseToken(page.cursor, kind, 40));
  const std::string prefix = detail::HashKey(identity_hash);
  if (!after.empty() && after.compare(0, 32, prefix) != 0) {
    return MakeError(ErrorCode::kInvalidLength, "store: page cursor belongs to another identity");
  }
  Page<HistoryEntry> out;
  Iter it(*impl_->db, impl_->Options(), Cf::kHistory, /*within_prefix=*/true);
  auto decode = [&](std::string_view value) {
    return detail::DecodeHistoryEntry(value, "history row of " + identity_hash.ToHex());
  };
  if (order == Order::kAscending) {
    it->Seek(AsSlice(after.empty() ? prefix : after));
    if (!after.empty() && it->Valid() && AsView(it->key()) == after) it->Next();
    std::string last_key;
    for (; it->Valid() && it->key().starts_with(AsSlice(prefix)); it->Next()) {
      if (out.items.size() == limit) {
        out.next_cursor = MakeToken(kind, last_key);
        break;
      }
      last_key = std::string(AsView(it->key()));
      CVMW_ASSIGN_OR_RETURN(HistoryEntry e, decode(AsView(it->value())));
      out.items.push_back(std::move(e));
    }
    CVMW_RETURN_IF_ERROR(it.Check("scan history"));
    return out;
  }
  // Descending: the prefix-bucketed memtable only iterates forwards reliably (SeekForPrev is not
  // supported in prefix mode), so scan the identity's entries below the cursor forwards and keep
  // the last limit + 1 of them. Costs O(entries before the cursor) key steps for one identity.
  std::deque<std::pair<std::string, std::string>> window;
  for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix));
       it->Next()) {
    if (!after.empty() && AsView(it->key()) >= after) break;
    window.emplace_back(std::string(AsView(it->key())), std::string(AsView(it->value())));
    if (window.size() > limit + 1) window.pop_front();
  }
  CVMW_RETURN_IF_ERROR(it.Check("scan history"));
  const bool more = window.size() > limit;
  if (more) window.pop_front();
  for (auto rit = window.rbegin(); rit != window.rend(); ++rit) {
    CVMW_ASSIGN_OR_RETURN(HistoryEntry e, decode(rit->second));
    out.items.push_back(std::move(e));
  }
  if (more) out.next_cursor = MakeToken(kind, window.front().first);
  return out;
}

Result<std::vector<ExpiryNotice>> ReadView::Expiring(std::uint64_t from, std::uint64_t horizon,
                                                     std::size_t limit) const {
  const std::uint64_t until = from > kNever - horizon ? kNever : from + horizon;
  // The index holds each identity's earliest pending window; its other window, if it closes in
  // range too, comes from the state. Collect, then order by time.
  std::vector<ExpiryNotice> out;
  Iter it(*impl_->db, impl_->Options(), Cf::kExpiry);
  std::size_t scanned = 0;
  for (it->Seek(AsSlice(detail::Be64Key(from))); it->Valid(); it->Next()) {
    const std::string_view key = AsView(it->key());
    if (key.size() != detail::kExpiryKeySize || static_cast<std::uint8_t>(key[8]) > 1) {
      return MakeError(ErrorCode::kInvalidLength, "store: corrupt expiry index key");
    }
    if (detail::ReadBe64(key, 0) > until || ++scanned > kMaxExpiryScan) break;
    CVMW_ASSIGN_OR_RETURN(IdentityState s, GetIdentity(detail::HashFromKey(key, 9)));
    for (const ExpiryIndexEntry& e : PendingExpiries(s)) {
      if (e.at >= from && e.at <= until) out.push_back({e.identity_hash, e.window, e.at});
    }
  }
  CVMW_RETURN_IF_ERROR(it.Check("scan expiry index"));
  std::sort(out.begin(), out.end(), [](const ExpiryNotice& a, const ExpiryNotice& b) {
    return std::tie(a.at, a.window, a.identity_hash) < std::tie(b.at, b.window, b.identity_hash);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<std::vector<AuditRecord>> ReadView::AuditRecords(std::uint64_t first_seq,
                                                        std::size_t limit) const {
  std::vector<AuditRecord> out;
  Iter it(*impl_->db, impl_->Options(), Cf::kAudit);
  for (it->Seek(AsSlice(detail::Be64Key(first_seq))); it->Valid() && out.size() < limit;
       it->Next()) {
    const rocksdb::Slice v = it->value();
    CVMW_ASSIGN_OR_RETURN(
        AuditRecord r,
        DecodeAuditRecord(ByteView(reinterpret_cast<const std::uint8_t*>(v.data()), v.size())));
    if (it->key().size() != 8 || detail::ReadBe64(AsView(it->key()), 0) != r.seq) {
      return MakeError(ErrorCode::kInvalidLength, "store: audit record " + std::to_string(r.seq) +
                                                      " is stored under another key");
    }
    out.push_back(std::move(r));
  }
  CVMW_RETURN_IF_ERROR(it.Check("scan audit"));
  return out;
}

Result<AuditHead> ReadView::AuditHeadNow() const {
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> row,
                        GetRow(*impl_->db, impl_->Options(), Cf::kMeta, detail::kMetaCounters));
  if (!row) return MakeError(ErrorCode::kInvalidLength, "store: meta row counters missing");
  CVMW_ASSIGN_OR_RETURN(detail::Counters c, detail::DecodeCounters(*row));
  return AuditHead{c.audit_seq, c.audit_head};
}

Hash32 ReadView::AuditGenesisHash() const { return impl_->db->audit_genesis; }

Result<AlertRow> ReadView::GetAlert(std::uint64_t id) const {
  CVMW_ASSIGN_OR_RETURN(
      std::optional<std::string> row,
      GetRow(*impl_->db, impl_->Options(), Cf::kOutbox, detail::OutboxKey(detail::kOutboxRow, id)));
  if (!row) return MakeError(ErrorCode::kNotFound, "store: no alert " + std::to_string(id));
  return detail::DecodeAlertRow(*row, "outbox row " + std::to_string(id));
}

Result<std::vector<AlertRow>> ReadView::PendingAlerts(std::size_t limit,
                                                      std::uint64_t after_id) const {
  std::vector<AlertRow> out;
  if (after_id == kNever) return out;
  const std::string prefix(1, detail::kOutboxPending);
  Iter it(*impl_->db, impl_->Options(), Cf::kOutbox);
  for (it->Seek(AsSlice(detail::OutboxKey(detail::kOutboxPending, after_id + 1)));
       it->Valid() && it->key().starts_with(AsSlice(prefix)) && out.size() < limit; it->Next()) {
    if (it->key().size() != 9)
      return MakeError(ErrorCode::kInvalidLength, "store: corrupt outbox key");
    CVMW_ASSIGN_OR_RETURN(AlertRow row, GetAlert(detail::ReadBe64(AsView(it->key()), 1)));
    out.push_back(std::move(row));
  }
  CVMW_RETURN_IF_ERROR(it.Check("scan outbox"));
  return out;
}

Result<Page<AlertRow>> ReadView::Alerts(const PageRequest& page) const {
  const std::size_t limit = ClampLimit(page.limit);
  CVMW_ASSIGN_OR_RETURN(std::string after, ParseToken(page.cursor, TokenKind::kAlerts, 9));
  const std::string prefix(1, detail::kOutboxRow);
  Page<AlertRow> out;
  Iter it(*impl_->db, impl_->Options(), Cf::kOutbox);
  it->Seek(AsSlice(after.empty() ? prefix : after));
  if (!after.empty() && it->Valid() && AsView(it->key()) == after) it->Next();
  for (; it->Valid() && it->key().starts_with(AsSlice(prefix)); it->Next()) {
    if (out.items.size() == limit) {
      out.next_cursor = MakeToken(TokenKind::kAlerts, after);
      break;
    }
    after = std::string(AsView(it->key()));
    CVMW_ASSIGN_OR_RETURN(AlertRow row, detail::DecodeAlertRow(AsView(it->value()), "outbox row"));
    out.items.push_back(std::move(row));
  }
  CVMW_RETURN_IF_ERROR(it.Check("scan outbox"));
  return out;
}

Result<Hash32> ReadView::StateDigest() const {
  Hash32 digest;
  auto absorb = [&](std::uint8_t tag, std::string_view key, std::string_view value) {
    Bytes buf(digest.bytes.begin(), digest.bytes.end());
    buf.push_back(tag);
    AppendBe64(buf, key.size());
    buf.insert(buf.end(), key.begin(), key.end());
    AppendBe64(buf, value.size());
    buf.insert(buf.end(), value.begin(), value.end());
    digest = Sha256(buf);
  };
  for (Cf cf :
       {Cf::kBlocks, Cf::kEvents, Cf::kIdentities, Cf::kStatusIndex, Cf::kHistory, Cf::kExpiry}) {
    Iter it(*impl_->db, impl_->Options(), cf);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      absorb(static_cast<std::uint8_t>(cf), AsView(it->key()), AsView(it->value()));
    }
    CVMW_RETURN_IF_ERROR(it.Check("digest"));
  }
  CVMW_ASSIGN_OR_RETURN(std::optional<BlockHeader> cursor, Cursor());
  absorb(0xf0, "cursor", cursor ? detail::EncodeBlockHeader(*cursor) : "");
  CVMW_ASSIGN_OR_RETURN(std::optional<std::string> row,
                        GetRow(*impl_->db, impl_->Options(), Cf::kMeta, detail::kMetaCounters));
  if (!row) return MakeError(ErrorCode::kInvalidLength, "store: meta row counters missing");
  CVMW_ASSIGN_OR_RETURN(detail::Counters c, detail::DecodeCounters(*row));
  std::string rolled_back_with_blocks = detail::Be64Key(c.history_seq);
  for (std::uint64_t n : c.status_counts) rolled_back_with_blocks += detail::Be64Key(n);
  absorb(0xf1, "counters", rolled_back_with_blocks);
  return digest;
}

}  // namespace cvmwatch::store
