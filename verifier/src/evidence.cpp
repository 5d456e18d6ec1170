#include "cvmwatch/verifier/evidence.h"

#include "cvmwatch/core/abi.h"

namespace cvmwatch::verifier {
namespace {

constexpr std::uint64_t kEvidenceVersion = 1;

// (version, has_ak, ak.algo, ak.params, ak.data, has_tee, tee_type, tdx registers (6 x 48 bytes),
//  snp measurement, snp report id, reported tcb, chip id, report data, tcb status ("" = none))
const abi::Type& EvidenceType() {
  static const abi::Type t =
      abi::ParseType("(uint8,bool,uint16,uint16,bytes,bool,uint8,bytes,bytes,bytes32,uint64,bytes,bytes,string)").value();
  return t;
}

}  // namespace

Bytes EncodeRegisteredEvidence(const RegisteredEvidence& e) {
  using abi::Value;
  const TeeFacts t = e.tee.value_or(TeeFacts{});
  Bytes tdx;
  for (const auto* reg : {&t.mrtd, &t.mrseam, &t.rtmr0, &t.rtmr1, &t.rtmr2, &t.rtmr3}) {
    tdx.insert(tdx.end(), reg->bytes.begin(), reg->bytes.end());
  }
  const Value v = Value::List({
      Value::Uint(U256(kEvidenceVersion)),
      Value::Bool(e.ak.has_value()),
      Value::Uint(U256(e.ak ? e.ak->algo : 0)),
      Value::Uint(U256(e.ak ? e.ak->params : 0)),
      Value::Blob(e.ak ? e.ak->data : Bytes{}),
      Value::Bool(e.tee.has_value()),
      Value::Uint(U256(t.tee_type)),
      Value::Blob(tdx),
      Value::Blob(Bytes(t.snp_measurement.bytes.begin(), t.snp_measurement.bytes.end())),
      Value::Blob(Bytes(t.snp_report_id.bytes.begin(), t.snp_report_id.bytes.end())),
      Value::Uint(U256(t.snp_reported_tcb)),
      Value::Blob(Bytes(t.chip_id.bytes.begin(), t.chip_id.bytes.end())),
      Value::Blob(Bytes(t.report_data.bytes.begin(), t.report_data.bytes.end())),
      Value::Str(t.tcb_status.value_or("")),
  });
  return abi::Encode(EvidenceType(), v).value();
}

Result<RegisteredEvidence> DecodeRegisteredEvidence(ByteView blob) {
  auto decoded = abi::Decode(EvidenceType(), blob);
  if (!decoded.ok()) return MakeError(decoded.error().code, "registered evidence: " + decoded.error().message);
  const auto& f = *decoded->AsList();
  if (f[0].AsUint()->low64() != kEvidenceVersion) {
    return MakeError(ErrorCode::kPrecondition,
                     "registered evidence version " + f[0].AsUint()->ToDecimal() + " is not supported");
  }
  RegisteredEvidence e;
  if (*f[1].AsBool()) {
    e.ak = registry::CertPubkey{static_cast<std::uint16_t>(f[2].AsUint()->low64()),
                                static_cast<std::uint16_t>(f[3].AsUint()->low64()), *f[4].AsBytes()};
  }
  if (*f[5].AsBool()) {
    TeeFacts t;
    t.tee_type = static_cast<std::uint8_t>(f[6].AsUint()->low64());
    const Bytes& tdx = *f[7].AsBytes();
    const Bytes& snp = *f[8].AsBytes();
    const Bytes& chip = *f[11].AsBytes();
    const Bytes& rd = *f[12].AsBytes();
    if (tdx.size() != 6 * 48 || snp.size() != 48 || chip.size() != 64 || rd.size() != 64) {
      return MakeError(ErrorCode::kInvalidLength, "registered evidence: TEE register of the wrong size");
    }
    Bytes48* regs[] = {&t.mrtd, &t.mrseam, &t.rtmr0, &t.rtmr1, &t.rtmr2, &t.rtmr3};
    for (std::size_t i = 0; i < 6; ++i) *regs[i] = Bytes48::FromBytes(ByteView(tdx).subspan(i * 48, 48)).value();
    t.snp_measurement = Bytes48::FromBytes(snp).value();
    t.snp_report_id = Hash32::FromBytes(*f[9].AsBytes()).value();
    t.snp_reported_tcb = f[10].AsUint()->low64();
    t.chip_id = FixedBytes<64>::FromBytes(chip).value();
    t.report_data = FixedBytes<64>::FromBytes(rd).value();
    if (!f[13].AsString()->empty()) t.tcb_status = *f[13].AsString();
    e.tee = t;
  }
  return e;
}

}  // namespace cvmwatch::verifier
