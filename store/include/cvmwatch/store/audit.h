// The audit chain: every history entry, and every rollback of a block, appended as a record that
// carries the SHA-256 of the previous record. An export (the records in seq order plus the head)
// can be checked offline: a missing record breaks the seq run, an edited one breaks the next
// record's prev_hash, and an edited last record differs from the head hash.
//
// The chain starts from a genesis hash bound to the chain id and registry address, so records of
// one deployment cannot be passed off as another's. Rollbacks do not remove records (an earlier
// export must stay verifiable); they append kRollback records naming the orphaned block, and the
// re-applied entries follow.
//
// Pure functions; thread-safe. Decoding is bounded (corrupt input is an error, never a crash).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/store/model.h"

namespace cvmwatch::store {

enum class AuditKind : std::uint8_t { kHistory = 0, kRollback = 1 };

struct AuditRecord {
  std::uint64_t seq = 0;  // 1, 2, 3 ... without gaps
  Hash32 prev_hash;       // record_hash of seq - 1 (genesis for seq 1)
  AuditKind kind = AuditKind::kHistory;
  std::uint64_t block_number = 0;  // kHistory: the entry's block; kRollback: the orphaned block
  Hash32 block_hash;
  std::optional<HistoryEntry> entry;  // kHistory only
  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

struct AuditHead {
  std::uint64_t last_seq = 0;  // 0: empty chain
  Hash32 last_hash;            // genesis when empty
  friend bool operator==(const AuditHead&, const AuditHead&) = default;
};

// The canonical bytes of a record (what the next record's prev_hash covers).
Bytes EncodeAuditRecord(const AuditRecord& record);
Result<AuditRecord> DecodeAuditRecord(ByteView bytes);
Hash32 AuditRecordHash(const AuditRecord& record);  // SHA-256(EncodeAuditRecord)
Hash32 AuditGenesis(std::uint64_t chain_id, const Address& registry);

// Checks a contiguous run of records: seq without gaps starting at `first_seq`, each prev_hash
// equal to the previous record's hash (`prev_of_first` for the first), and, when given, the last
// record's hash equal to `expected_head`. kPrecondition naming the first bad record otherwise.
Status VerifyAuditChain(std::span<const AuditRecord> records, std::uint64_t first_seq,
                        const Hash32& prev_of_first,
                        const std::optional<Hash32>& expected_head = std::nullopt);

}  // namespace cvmwatch::store
