// Internal to the store (used by its tests): row encodings of the model types. Each Encode*
// writes a version byte first; each Decode* is bounded and returns kInvalidLength naming the row
// (`what`) and the offset when the bytes are not a valid row of that kind.
#pragma once

#include <string>
#include <string_view>

#include "cvmwatch/core/result.h"
#include "cvmwatch/store/detail/codec.h"
#include "cvmwatch/store/model.h"
#include "cvmwatch/store/outbox.h"

namespace cvmwatch::store::detail {

inline constexpr std::uint8_t kRowFormatV1 = 1;

std::string EncodeIdentityState(const IdentityState& state);
Result<IdentityState> DecodeIdentityState(std::string_view row, std::string what);

std::string EncodeHistoryEntry(const HistoryEntry& entry);
Result<HistoryEntry> DecodeHistoryEntry(std::string_view row, std::string what);
// The same, embedded in a larger row (the audit record).
void WriteHistoryEntry(RowWriter& w, const HistoryEntry& entry);
HistoryEntry ReadHistoryEntry(RowReader& r);

std::string EncodeEventRecord(const EventRecord& event);
Result<EventRecord> DecodeEventRecord(std::string_view row, std::string what);

std::string EncodeBlockHeader(const BlockHeader& header);
Result<BlockHeader> DecodeBlockHeader(std::string_view row, std::string what);
void WriteBlockHeader(RowWriter& w, const BlockHeader& header);
BlockHeader ReadBlockHeader(RowReader& r);

void WriteIdentityState(RowWriter& w, const IdentityState& state);
IdentityState ReadIdentityState(RowReader& r);

std::string EncodeAlertRow(const AlertRow& row);
Result<AlertRow> DecodeAlertRow(std::string_view row, std::string what);

}  // namespace cvmwatch::store::detail
