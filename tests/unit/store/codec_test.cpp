// Row formats: every row kind round-trips, and damaged bytes are a clear error, never a crash
// or an outsized allocation.
#include <gtest/gtest.h>

#include <random>

#include "cvmwatch/store/audit.h"
#include "cvmwatch/store/detail/codec.h"
#include "cvmwatch/store/detail/serialize.h"
#include "store/store_test_util.h"

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

IdentityState FullState() {
  IdentityState s;
  s.identity_hash = HashFor(1);
  s.key = KeyFor(1, registry::IdentityForm::kTpmtPublic);
  s.key.tpmt_public = Bytes(90, 0x5a);
  s.generation = registry::Generation::kD;
  s.rules = ExpiryRules::kSingleExpiry;
  s.cloud_type = 2;
  s.tee_type = 2;
  s.tee_report_type = 3;
  s.measurement_hash = Digest("m");
  s.measurement_version = 4;
  s.tee_ttl = kNever;
  s.tpm_ttl = 1;
  s.tee_attested_at = kT0;
  s.tpm_attested_at = kT0 + 1;
  s.expired_at = kT0 + 99;
  s.nonce = 1ull << 40;
  s.tee_expired = true;
  s.verdict_outcome = VerdictOutcome::kFailed;
  s.verdict_summary = "rejected";
  s.measurement_disputed = true;
  s.status = IdentityStatus::kMismatch;
  s.rotated_from = HashFor(2);
  s.registered_block = 7;
  s.registered_at = kT0;
  s.updated_block = 9;
  return s;
}

std::vector<HistoryDetail> EveryDetail() {
  return {
      RegisteredDetail{1, 2, 3, 4, 5, 6, true, 2, 1, true, true, Digest("m")},
      ReattestedDetail{ReattestScope::kFull, 1, 2, 3, 4, true, true, true},
      MeasurementChangedDetail{Digest("a"), Digest("b"), 3},
      RotatedDetail{HashFor(1), HashFor(2), true, false},
      TtlChangedDetail{1, 2, 3, kNever, 5, true, true, true},
      ExpiredDetail{ExpiryWindow::kTpm, kT0},
      VerdictMismatchDetail{
          MismatchKind::kMeasurementDiffers,
          {CheckNote{"tdx.mrtd", "differs", true}, CheckNote{"crl", "absent", false}},
          "two problems",
          Digest("ours"),
          Digest("theirs")},
      ReconciledDiffDetail{{FieldDiff{"teeTTL", "1", "2"}}},
      CallRevertedDetail{"attestCvm", Selector{{0x75, 0xa1, 0xd5, 0x3a}}},
  };
}

HistoryEntry EntryWith(HistoryDetail detail) {
  HistoryEntry e;
  e.seq = 42;
  e.identity_hash = HashFor(3);
  e.block_number = 1000;
  e.block_time = kT0;
  e.tx_hash = Digest("tx");
  e.tx_index = 5;
  e.log_index = kNoLogIndex;
  e.generation = registry::Generation::kC;
  e.detail = std::move(detail);
  return e;
}

TEST(RowCodec, AnIdentityStateRoundTrips) {
  const IdentityState s = FullState();
  auto back = detail::DecodeIdentityState(detail::EncodeIdentityState(s), "test");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, s);
}

TEST(RowCodec, EveryHistoryKindRoundTrips) {
  for (const HistoryDetail& d : EveryDetail()) {
    const HistoryEntry e = EntryWith(d);
    auto back = detail::DecodeHistoryEntry(detail::EncodeHistoryEntry(e), "test");
    ASSERT_TRUE(back.ok()) << HistoryKindName(e.kind()) << ": " << back.error().ToString();
    EXPECT_EQ(*back, e) << HistoryKindName(e.kind());
  }
}

TEST(RowCodec, AnEventRecordWithAVerdictRoundTrips) {
  EventRecord e;
  e.block_number = 3;
  e.ordinal = 1;
  e.tx_hash = Digest("tx");
  e.function = "reattestCvmWithTpm";
  e.outcome = ChainOutcome::kReverted;
  e.revert_selector = Selector{{1, 2, 3, 4}};
  e.target_identity = HashFor(1);
  e.new_identity = HashFor(2);
  e.tee_ttl = 5;
  e.tpm_quote_digest = Digest("q");
  e.verdict = Failed("tpm.quote_signature", "bad");
  auto back = detail::DecodeEventRecord(detail::EncodeEventRecord(e), "test");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, e);
}

TEST(RowCodec, AnAlertRowRoundTrips) {
  AlertRow a;
  a.id = 9;
  a.idempotency_key = "abc";
  a.block_number = 4;
  a.block_hash = Digest("b");
  a.rule = "tee-expired";
  a.identity_hash = HashFor(1);
  a.severity = 2;
  a.body = std::string("{\"x\":1}\0binary", 14);
  a.state = AlertState::kRetractionPending;
  a.attempts = 3;
  a.last_error = "timeout";
  auto back = detail::DecodeAlertRow(detail::EncodeAlertRow(a), "test");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, a);
}

TEST(RowCodec, EveryTruncationOfARowIsAnErrorNamingTheRow) {
  const std::string row = detail::EncodeHistoryEntry(EntryWith(EveryDetail()[6]));
  for (std::size_t n = 0; n < row.size(); ++n) {
    auto r = detail::DecodeHistoryEntry(std::string_view(row).substr(0, n), "history row X");
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidLength);
    EXPECT_NE(r.error().message.find("corrupt history row X"), std::string::npos);
  }
}

TEST(RowCodec, TrailingBytesAreRejected) {
  auto r =
      detail::DecodeIdentityState(detail::EncodeIdentityState(FullState()) + "x", "identities row");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("trailing"), std::string::npos);
}

TEST(RowCodec, AnUnknownFormatVersionIsNamed) {
  std::string row = detail::EncodeIdentityState(FullState());
  row[0] = 7;
  auto r = detail::DecodeIdentityState(row, "identities row");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("format version 7"), std::string::npos) << r.error().message;
}

TEST(RowCodec, AHugeLengthPrefixIsRejectedBeforeAnyAllocation) {
  detail::RowWriter w;
  w.U8(detail::kRowFormatV1);
  w.Varint(1);  // seq
  w.Raw(Digest("h").view());
  w.Varint(1);
  w.Varint(1);
  w.Bool(false);
  w.Varint(0);
  w.Varint(0);
  w.U8(1);  // generation
  w.U8(6);  // VerdictMismatch
  w.U8(0);
  w.Varint(1ull << 60);  // a list of 2^60 check notes
  auto r = detail::DecodeHistoryEntry(w.str(), "history row");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("list of"), std::string::npos) << r.error().message;
}

TEST(RowCodec, OverlongVarintsAndBadEnumsAreRejected) {
  const std::string eleven_continuation_bytes(11, '\xff');
  detail::RowReader overlong(eleven_continuation_bytes, "row");
  overlong.Varint();
  EXPECT_FALSE(overlong.ok());
  std::string row = detail::EncodeIdentityState(FullState());
  // The status byte sits after the fixed-size prefix; flipping it out of range must be caught.
  IdentityState s = FullState();
  s.verdict_summary.clear();
  row = detail::EncodeIdentityState(s);
  // from the end: status, rotated_from, rotated_to, registered_block/at, updated_block, evidence
  const std::size_t status_pos = row.size() - (1 + 33 + 1 + 1 + 5 + 1 + 1);
  row[status_pos] = 9;
  auto r = detail::DecodeIdentityState(row, "identities row");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("status value 9"), std::string::npos) << r.error().message;
}

TEST(RowCodec, RandomDamageNeverCrashesTheDecoders) {
  std::mt19937 rng(7);
  const std::vector<std::string> rows = {
      detail::EncodeIdentityState(FullState()),
      detail::EncodeHistoryEntry(EntryWith(EveryDetail()[0])),
      detail::EncodeHistoryEntry(EntryWith(EveryDetail()[6])),
  };
  int failures = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string row = rows[static_cast<std::size_t>(round) % rows.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) row[rng() % row.size()] = static_cast<char>(rng());
    failures += !detail::DecodeIdentityState(row, "r").ok();
    failures += !detail::DecodeHistoryEntry(row, "r").ok();
    failures += !detail::DecodeEventRecord(row, "r").ok();
    failures += !detail::DecodeAlertRow(row, "r").ok();
    const Bytes bytes(row.begin(), row.end());
    failures += !DecodeAuditRecord(bytes).ok();
  }
  EXPECT_GT(failures, 0);
}

TEST(RowCodec, OversizedStringsAreCutSoWhatIsWrittenCanBeRead) {
  IdentityState s = FullState();
  s.verdict_summary = std::string(detail::kMaxStringBytes + 10, 'x');
  auto back = detail::DecodeIdentityState(detail::EncodeIdentityState(s), "r");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->verdict_summary.size(), detail::kMaxStringBytes);
}

TEST(AuditCodec, ARecordRoundTripsAndAHistoryRecordMustCarryItsEntry) {
  AuditRecord r;
  r.seq = 3;
  r.prev_hash = Digest("prev");
  r.kind = AuditKind::kHistory;
  r.block_number = 5;
  r.block_hash = Digest("block");
  r.entry = EntryWith(EveryDetail()[3]);
  auto back = DecodeAuditRecord(EncodeAuditRecord(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
  r.entry.reset();
  EXPECT_FALSE(DecodeAuditRecord(EncodeAuditRecord(r)).ok());
}

}  // namespace
}  // namespace cvmwatch::store
