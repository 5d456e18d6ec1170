#include "cvmwatch/store/audit.h"

#include "cvmwatch/core/hash.h"
#include "cvmwatch/store/detail/serialize.h"

namespace cvmwatch::store {

namespace {
constexpr std::uint8_t kAuditFormatV1 = 1;
constexpr std::string_view kGenesisDomain = "cvmwatch/audit/v1";
}  // namespace

Bytes EncodeAuditRecord(const AuditRecord& record) {
  detail::RowWriter w;
  w.U8(kAuditFormatV1);
  w.Varint(record.seq);
  w.Fixed(record.prev_hash);
  w.U8(static_cast<std::uint8_t>(record.kind));
  w.Varint(record.block_number);
  w.Fixed(record.block_hash);
  w.Bool(record.entry.has_value());
  if (record.entry) detail::WriteHistoryEntry(w, *record.entry);
  const std::string& s = w.str();
  return Bytes(s.begin(), s.end());
}

Result<AuditRecord> DecodeAuditRecord(ByteView bytes) {
  const std::string_view row(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  detail::RowReader r(row, "audit record");
  r.ExpectVersion(kAuditFormatV1);
  AuditRecord record;
  record.seq = r.Varint();
  record.prev_hash = r.Fixed<32>();
  record.kind = static_cast<AuditKind>(r.Enum(2, "audit kind"));
  record.block_number = r.Varint();
  record.block_hash = r.Fixed<32>();
  if (r.Bool()) record.entry = detail::ReadHistoryEntry(r);
  CVMW_RETURN_IF_ERROR(r.Finish());
  if ((record.kind == AuditKind::kHistory) != record.entry.has_value()) {
    return MakeError(ErrorCode::kInvalidLength,
                     "corrupt audit record " + std::to_string(record.seq) +
                         ": a history record must carry its entry, a rollback record none");
  }
  return record;
}

Hash32 AuditRecordHash(const AuditRecord& record) { return Sha256(EncodeAuditRecord(record)); }

Hash32 AuditGenesis(std::uint64_t chain_id, const Address& registry) {
  Bytes preimage(kGenesisDomain.begin(), kGenesisDomain.end());
  AppendBe64(preimage, chain_id);
  preimage.insert(preimage.end(), registry.bytes.begin(), registry.bytes.end());
  return Sha256(preimage);
}

Status VerifyAuditChain(std::span<const AuditRecord> records, std::uint64_t first_seq,
                        const Hash32& prev_of_first, const std::optional<Hash32>& expected_head) {
  Hash32 prev = prev_of_first;
  std::uint64_t expected_seq = first_seq;
  for (const AuditRecord& record : records) {
    if (record.seq != expected_seq) {
      return MakeError(ErrorCode::kPrecondition, "audit chain gap: expected record " +
                                                     std::to_string(expected_seq) + ", found " +
                                                     std::to_string(record.seq));
    }
    if (record.prev_hash != prev) {
      return MakeError(ErrorCode::kPrecondition,
                       "audit record " + std::to_string(record.seq) + " links to " +
                           record.prev_hash.ToHex() + " but the previous record hashes to " +
                           prev.ToHex() + " (a record was edited, removed or reordered)");
    }
    prev = AuditRecordHash(record);
    ++expected_seq;
  }
  if (expected_head && prev != *expected_head) {
    return MakeError(ErrorCode::kPrecondition, "audit chain ends at " + prev.ToHex() +
                                                   " but the head is " + expected_head->ToHex() +
                                                   " (the last record was edited or cut off)");
  }
  return OkStatus();
}

}  // namespace cvmwatch::store
