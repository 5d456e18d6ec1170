#include "cvmwatch/store/detail/serialize.h"

#include <type_traits>
#include <utility>
#include <variant>

namespace cvmwatch::store::detail {

using registry::Generation;
using registry::IdentityForm;
using registry::IdentityKey;

namespace {

constexpr std::uint8_t kGenerationCount = 4;  // kA0, kA1, kC, kD
constexpr std::uint8_t kIdentityFormCount = 3;

template <typename Row>
Result<Row> Finish(RowReader& r, Row row) {
  CVMW_RETURN_IF_ERROR(r.Finish());
  return row;
}

// --- pieces ----------------------------------------------------------------------------------

void WriteKey(RowWriter& w, const IdentityKey& k) {
  w.U8(static_cast<std::uint8_t>(k.form));
  w.Varint(k.sig_scheme);
  w.Varint(k.curve);
  w.Varint(k.hash_algo);
  w.Varint(k.key_algo);
  w.Blob(k.data);
  w.Blob(k.tpmt_public);
}

IdentityKey ReadKey(RowReader& r) {
  IdentityKey k;
  k.form = static_cast<IdentityForm>(r.Enum(kIdentityFormCount, "identity key form"));
  k.sig_scheme = r.Varint16();
  k.curve = r.Varint16();
  k.hash_algo = r.Varint16();
  k.key_algo = r.Varint16();
  k.data = r.Blob();
  k.tpmt_public = r.Blob();
  return k;
}

void WriteChecks(RowWriter& w, const std::vector<CheckNote>& checks) {
  const std::size_t n = w.Count(checks.size());
  for (std::size_t i = 0; i < n; ++i) {
    w.Str(checks[i].check);
    w.Str(checks[i].reason);
    w.Bool(checks[i].failed);
  }
}

std::vector<CheckNote> ReadChecks(RowReader& r) {
  std::vector<CheckNote> out(r.Count());
  for (CheckNote& c : out) {
    c.check = r.Str();
    c.reason = r.Str();
    c.failed = r.Bool();
  }
  return out;
}

void WriteVerdict(RowWriter& w, const VerdictRecord& v) {
  w.U8(static_cast<std::uint8_t>(v.outcome));
  w.OptFixed(v.measurement_hash);
  WriteChecks(w, v.checks);
  w.Str(v.summary);
}

VerdictRecord ReadVerdict(RowReader& r) {
  VerdictRecord v;
  v.outcome = static_cast<VerdictOutcome>(r.Enum(3, "verdict outcome"));
  v.measurement_hash = r.OptFixed<32>();
  v.checks = ReadChecks(r);
  v.summary = r.Str();
  return v;
}

std::optional<Selector> ReadOptSelector(RowReader& r) { return r.OptFixed<4>(); }

// --- history details -------------------------------------------------------------------------

struct DetailWriter {
  RowWriter& w;
  void operator()(const RegisteredDetail& d) const {
    w.U8(d.cloud_type);
    w.U8(d.tee_type);
    w.U8(d.tee_report_type);
    w.Varint(d.tee_ttl);
    w.Varint(d.tpm_ttl);
    w.Varint(d.expired_at);
    w.Bool(d.re_registration);
    w.U8(d.requested_cloud_type);
    w.U8(d.requested_tee_type);
    w.Bool(d.parameters_ignored);
    w.Bool(d.ttl_out_of_bounds);
    w.OptFixed(d.measurement_hash);
  }
  void operator()(const ReattestedDetail& d) const {
    w.U8(static_cast<std::uint8_t>(d.scope));
    w.Varint(d.tee_attested_at);
    w.Varint(d.tpm_attested_at);
    w.Varint(d.nonce_after);
    w.Varint(d.expired_at);
    w.Bool(d.was_expired);
    w.Bool(d.tee_still_expired);
    w.Bool(d.ttl_out_of_bounds);
  }
  void operator()(const MeasurementChangedDetail& d) const {
    w.OptFixed(d.old_hash);
    w.Fixed(d.new_hash);
    w.Varint(d.version);
  }
  void operator()(const RotatedDetail& d) const {
    w.Fixed(d.old_hash);
    w.Fixed(d.new_hash);
    w.Bool(d.overwrote_registered);
    w.Bool(d.inferred);
  }
  void operator()(const TtlChangedDetail& d) const {
    w.Varint(d.old_tee_ttl);
    w.Varint(d.old_tpm_ttl);
    w.Varint(d.new_tee_ttl);
    w.Varint(d.new_tpm_ttl);
    w.Varint(d.nonce_after);
    w.Bool(d.was_expired);
    w.Bool(d.revalidated);
    w.Bool(d.out_of_bounds);
  }
  void operator()(const ExpiredDetail& d) const {
    w.U8(static_cast<std::uint8_t>(d.window));
    w.Varint(d.crossed_at);
  }
  void operator()(const VerdictMismatchDetail& d) const {
    w.U8(static_cast<std::uint8_t>(d.kind));
    WriteChecks(w, d.reasons);
    w.Str(d.summary);
    w.OptFixed(d.our_measurement);
    w.OptFixed(d.chain_measurement);
  }
  void operator()(const ReconciledDiffDetail& d) const {
    const std::size_t n = w.Count(d.diffs.size());
    for (std::size_t i = 0; i < n; ++i) {
      w.Str(d.diffs[i].field);
      w.Str(d.diffs[i].derived);
      w.Str(d.diffs[i].chain);
    }
  }
  void operator()(const CallRevertedDetail& d) const {
    w.Str(d.function);
    w.OptFixed(d.revert_selector);
  }
};

HistoryDetail ReadDetail(RowReader& r, std::uint8_t tag) {
  switch (tag) {
    case 0: {
      RegisteredDetail d;
      d.cloud_type = r.U8();
      d.tee_type = r.U8();
      d.tee_report_type = r.U8();
      d.tee_ttl = r.Varint();
      d.tpm_ttl = r.Varint();
      d.expired_at = r.Varint();
      d.re_registration = r.Bool();
      d.requested_cloud_type = r.U8();
      d.requested_tee_type = r.U8();
      d.parameters_ignored = r.Bool();
      d.ttl_out_of_bounds = r.Bool();
      d.measurement_hash = r.OptFixed<32>();
      return d;
    }
    case 1: {
      ReattestedDetail d;
      d.scope = static_cast<ReattestScope>(r.Enum(2, "reattest scope"));
      d.tee_attested_at = r.Varint();
      d.tpm_attested_at = r.Varint();
      d.nonce_after = r.Varint();
      d.expired_at = r.Varint();
      d.was_expired = r.Bool();
      d.tee_still_expired = r.Bool();
      d.ttl_out_of_bounds = r.Bool();
      return d;
    }
    case 2: {
      MeasurementChangedDetail d;
      d.old_hash = r.OptFixed<32>();
      d.new_hash = r.Fixed<32>();
      d.version = r.Varint32();
      return d;
    }
    case 3: {
      RotatedDetail d;
      d.old_hash = r.Fixed<32>();
      d.new_hash = r.Fixed<32>();
      d.overwrote_registered = r.Bool();
      d.inferred = r.Bool();
      return d;
    }
    case 4: {
      TtlChangedDetail d;
      d.old_tee_ttl = r.Varint();
      d.old_tpm_ttl = r.Varint();
      d.new_tee_ttl = r.Varint();
      d.new_tpm_ttl = r.Varint();
      d.nonce_after = r.Varint();
      d.was_expired = r.Bool();
      d.revalidated = r.Bool();
      d.out_of_bounds = r.Bool();
      return d;
    }
    case 5: {
      ExpiredDetail d;
      d.window = static_cast<ExpiryWindow>(r.Enum(2, "expiry window"));
      d.crossed_at = r.Varint();
      return d;
    }
    case 6: {
      VerdictMismatchDetail d;
      d.kind = static_cast<MismatchKind>(r.Enum(3, "mismatch kind"));
      d.reasons = ReadChecks(r);
      d.summary = r.Str();
      d.our_measurement = r.OptFixed<32>();
      d.chain_measurement = r.OptFixed<32>();
      return d;
    }
    case 7: {
      ReconciledDiffDetail d;
      d.diffs.resize(r.Count());
      for (FieldDiff& f : d.diffs) {
        f.field = r.Str();
        f.derived = r.Str();
        f.chain = r.Str();
      }
      return d;
    }
    case 8: {
      CallRevertedDetail d;
      d.function = r.Str();
      d.revert_selector = ReadOptSelector(r);
      return d;
    }
    default:
      r.Fail("history kind tag " + std::to_string(tag));
      return CallRevertedDetail{};
  }
}

static_assert(std::variant_size_v<HistoryDetail> == 9, "update the history codec");

}  // namespace

// --- identity state ----------------------------------------------------------------------------

void WriteIdentityState(RowWriter& w, const IdentityState& s) {
  w.Fixed(s.identity_hash);
  WriteKey(w, s.key);
  w.U8(static_cast<std::uint8_t>(s.generation));
  w.U8(static_cast<std::uint8_t>(s.rules));
  w.U8(s.cloud_type);
  w.U8(s.tee_type);
  w.U8(s.tee_report_type);
  w.OptFixed(s.measurement_hash);
  w.Varint(s.measurement_version);
  w.Varint(s.tee_ttl);
  w.Varint(s.tpm_ttl);
  w.Varint(s.tee_attested_at);
  w.Varint(s.tpm_attested_at);
  w.Varint(s.expired_at);
  w.Varint(s.nonce);
  w.Bool(s.tee_expired);
  w.Bool(s.tpm_expired);
  w.U8(static_cast<std::uint8_t>(s.verdict_outcome));
  w.Str(s.verdict_summary);
  w.Bool(s.measurement_disputed);
  w.Bool(s.rotated_away);
  w.U8(static_cast<std::uint8_t>(s.status));
  w.OptFixed(s.rotated_from);
  w.OptFixed(s.rotated_to);
  w.Varint(s.registered_block);
  w.Varint(s.registered_at);
  w.Varint(s.updated_block);
  w.Blob(s.verifier_evidence);
}

IdentityState ReadIdentityState(RowReader& r) {
  IdentityState s;
  s.identity_hash = r.Fixed<32>();
  s.key = ReadKey(r);
  s.generation = static_cast<Generation>(r.Enum(kGenerationCount, "generation"));
  s.rules = static_cast<ExpiryRules>(r.Enum(2, "expiry rules"));
  s.cloud_type = r.U8();
  s.tee_type = r.U8();
  s.tee_report_type = r.U8();
  s.measurement_hash = r.OptFixed<32>();
  s.measurement_version = r.Varint32();
  s.tee_ttl = r.Varint();
  s.tpm_ttl = r.Varint();
  s.tee_attested_at = r.Varint();
  s.tpm_attested_at = r.Varint();
  s.expired_at = r.Varint();
  s.nonce = r.Varint();
  s.tee_expired = r.Bool();
  s.tpm_expired = r.Bool();
  s.verdict_outcome = static_cast<VerdictOutcome>(r.Enum(3, "verdict outcome"));
  s.verdict_summary = r.Str();
  s.measurement_disputed = r.Bool();
  s.rotated_away = r.Bool();
  s.status = static_cast<IdentityStatus>(r.Enum(kStatusCount, "status"));
  s.rotated_from = r.OptFixed<32>();
  s.rotated_to = r.OptFixed<32>();
  s.registered_block = r.Varint();
  s.registered_at = r.Varint();
  s.updated_block = r.Varint();
  s.verifier_evidence = r.Blob();
  return s;
}

std::string EncodeIdentityState(const IdentityState& state) {
  RowWriter w;
  w.U8(kRowFormatV1);
  WriteIdentityState(w, state);
  return w.Take();
}

Result<IdentityState> DecodeIdentityState(std::string_view row, std::string what) {
  RowReader r(row, std::move(what));
  r.ExpectVersion(kRowFormatV1);
  IdentityState s = ReadIdentityState(r);
  return Finish(r, std::move(s));
}

// --- history -----------------------------------------------------------------------------------

void WriteHistoryEntry(RowWriter& w, const HistoryEntry& e) {
  w.Varint(e.seq);
  w.Fixed(e.identity_hash);
  w.Varint(e.block_number);
  w.Varint(e.block_time);
  w.OptFixed(e.tx_hash);
  w.Varint(e.tx_index);
  w.Varint(e.log_index);
  w.U8(static_cast<std::uint8_t>(e.generation));
  w.U8(static_cast<std::uint8_t>(e.detail.index()));
  std::visit(DetailWriter{w}, e.detail);
}

HistoryEntry ReadHistoryEntry(RowReader& r) {
  HistoryEntry e;
  e.seq = r.Varint();
  e.identity_hash = r.Fixed<32>();
  e.block_number = r.Varint();
  e.block_time = r.Varint();
  e.tx_hash = r.OptFixed<32>();
  e.tx_index = r.Varint32();
  e.log_index = r.Varint32();
  e.generation = static_cast<Generation>(r.Enum(kGenerationCount, "generation"));
  const std::uint8_t tag = r.U8();
  if (r.ok()) e.detail = ReadDetail(r, tag);
  return e;
}

std::string EncodeHistoryEntry(const HistoryEntry& entry) {
  RowWriter w;
  w.U8(kRowFormatV1);
  WriteHistoryEntry(w, entry);
  return w.Take();
}

Result<HistoryEntry> DecodeHistoryEntry(std::string_view row, std::string what) {
  RowReader r(row, std::move(what));
  r.ExpectVersion(kRowFormatV1);
  HistoryEntry e = ReadHistoryEntry(r);
  return Finish(r, std::move(e));
}

// --- events ------------------------------------------------------------------------------------

std::string EncodeEventRecord(const EventRecord& e) {
  RowWriter w;
  w.U8(kRowFormatV1);
  w.Varint(e.block_number);
  w.Varint(e.ordinal);
  w.Fixed(e.tx_hash);
  w.Varint(e.tx_index);
  w.Varint(e.log_index);
  w.Str(e.function);
  w.U8(static_cast<std::uint8_t>(e.generation));
  w.U8(static_cast<std::uint8_t>(e.outcome));
  w.OptFixed(e.revert_selector);
  w.Fixed(e.target_identity);
  w.OptFixed(e.new_identity);
  w.U8(e.cloud_type);
  w.U8(e.tee_type);
  w.U8(e.tee_report_type);
  w.OptVarint(e.tee_ttl);
  w.OptVarint(e.tpm_ttl);
  w.OptFixed(e.tee_report_digest);
  w.OptFixed(e.tpm_quote_digest);
  w.OptFixed(e.chain_measurement_hash);
  w.Bool(e.verdict.has_value());
  if (e.verdict) WriteVerdict(w, *e.verdict);
  return w.Take();
}

Result<EventRecord> DecodeEventRecord(std::string_view row, std::string what) {
  RowReader r(row, std::move(what));
  r.ExpectVersion(kRowFormatV1);
  EventRecord e;
  e.block_number = r.Varint();
  e.ordinal = r.Varint32();
  e.tx_hash = r.Fixed<32>();
  e.tx_index = r.Varint32();
  e.log_index = r.Varint32();
  e.function = r.Str();
  e.generation = static_cast<Generation>(r.Enum(kGenerationCount, "generation"));
  e.outcome = static_cast<ChainOutcome>(r.Enum(2, "chain outcome"));
  e.revert_selector = ReadOptSelector(r);
  e.target_identity = r.Fixed<32>();
  e.new_identity = r.OptFixed<32>();
  e.cloud_type = r.U8();
  e.tee_type = r.U8();
  e.tee_report_type = r.U8();
  e.tee_ttl = r.OptVarint();
  e.tpm_ttl = r.OptVarint();
  e.tee_report_digest = r.OptFixed<32>();
  e.tpm_quote_digest = r.OptFixed<32>();
  e.chain_measurement_hash = r.OptFixed<32>();
  if (r.Bool()) e.verdict = ReadVerdict(r);
  return Finish(r, std::move(e));
}

// --- block headers -----------------------------------------------------------------------------

void WriteBlockHeader(RowWriter& w, const BlockHeader& h) {
  w.Varint(h.number);
  w.Fixed(h.hash);
  w.Fixed(h.parent_hash);
  w.Varint(h.timestamp);
}

BlockHeader ReadBlockHeader(RowReader& r) {
  BlockHeader h;
  h.number = r.Varint();
  h.hash = r.Fixed<32>();
  h.parent_hash = r.Fixed<32>();
  h.timestamp = r.Varint();
  return h;
}

std::string EncodeBlockHeader(const BlockHeader& header) {
  RowWriter w;
  w.U8(kRowFormatV1);
  WriteBlockHeader(w, header);
  return w.Take();
}

Result<BlockHeader> DecodeBlockHeader(std::string_view row, std::string what) {
  RowReader r(row, std::move(what));
  r.ExpectVersion(kRowFormatV1);
  BlockHeader h = ReadBlockHeader(r);
  return Finish(r, h);
}

// --- outbox ------------------------------------------------------------------------------------

std::string EncodeAlertRow(const AlertRow& a) {
  RowWriter w;
  w.U8(kRowFormatV1);
  w.Varint(a.id);
  w.Str(a.idempotency_key);
  w.Varint(a.block_number);
  w.Fixed(a.block_hash);
  w.Varint(a.block_time);
  w.Str(a.rule);
  w.Fixed(a.identity_hash);
  w.U8(a.severity);
  w.Blob(AsBytes(a.body));
  w.U8(static_cast<std::uint8_t>(a.state));
  w.Varint(a.attempts);
  w.Varint(a.last_attempt_at);
  w.Str(a.last_error);
  return w.Take();
}

Result<AlertRow> DecodeAlertRow(std::string_view row, std::string what) {
  RowReader r(row, std::move(what));
  r.ExpectVersion(kRowFormatV1);
  AlertRow a;
  a.id = r.Varint();
  a.idempotency_key = r.Str();
  a.block_number = r.Varint();
  a.block_hash = r.Fixed<32>();
  a.block_time = r.Varint();
  a.rule = r.Str();
  a.identity_hash = r.Fixed<32>();
  a.severity = r.U8();
  const Bytes body = r.Blob();
  a.body.assign(body.begin(), body.end());
  a.state = static_cast<AlertState>(r.Enum(kAlertStateCount, "alert state"));
  a.attempts = r.Varint32();
  a.last_attempt_at = r.Varint();
  a.last_error = r.Str();
  return Finish(r, std::move(a));
}

}  // namespace cvmwatch::store::detail
