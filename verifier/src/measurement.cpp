#include "cvmwatch/verifier/measurement.h"

#include "cvmwatch/core/abi.h"
#include "cvmwatch/core/hash.h"

namespace cvmwatch::verifier {
namespace {

// Measurement{Pcr[] pcrs, TdxMeasurement tdx (6 x Bytes48), SnpMeasurement snp (Bytes48)},
// Pcr{uint256 index, bytes32 pcr, bytes32[] measureEvents, uint256[] measureEventsIdx},
// Bytes48{bytes32 first, bytes16 second}; abi.encode of the one struct.
constexpr std::string_view kMeasurementType =
    "(((uint256,bytes32,bytes32[],uint256[])[],((bytes32,bytes16),(bytes32,bytes16),(bytes32,bytes16),"
    "(bytes32,bytes16),(bytes32,bytes16),(bytes32,bytes16)),((bytes32,bytes16))))";

const abi::Type& MeasurementType() {
  static const abi::Type type = abi::ParseType(kMeasurementType).value();
  return type;
}

abi::Value B48(const Bytes48& v) {
  return abi::Value::List({abi::Value::Blob(Bytes(v.bytes.begin(), v.bytes.begin() + 32)),
                           abi::Value::Blob(Bytes(v.bytes.begin() + 32, v.bytes.end()))});
}

}  // namespace

Result<Bytes> EncodeMeasurement(std::span<const registry::MeasurablePcr> pcrs, const TeeFacts& tee) {
  abi::ValueList pcr_values;
  for (const auto& p : pcrs) {
    abi::ValueList events;
    abi::ValueList idx;
    for (const auto& i : p.measure_events_idx) {
      if (!i.FitsU64() || i.low64() >= p.all_events.size()) {
        return MakeError(ErrorCode::kPrecondition,
                         "PCR " + p.index.ToDecimal() + ": measured event index " + i.ToDecimal() +
                             " out of range");
      }
      const Hash32& e = p.all_events[i.low64()];
      events.push_back(abi::Value::Blob(Bytes(e.bytes.begin(), e.bytes.end())));
      idx.push_back(abi::Value::Uint(i));
    }
    const Hash32 value = p.measure_pcr ? p.pcr : Hash32{};
    pcr_values.push_back(abi::Value::List({abi::Value::Uint(p.index),
                                           abi::Value::Blob(Bytes(value.bytes.begin(), value.bytes.end())),
                                           abi::Value::List(std::move(events)),
                                           abi::Value::List(std::move(idx))}));
  }
  const bool tdx = tee.tee_type == static_cast<std::uint8_t>(registry::TeeType::kIntelTdx);
  const bool snp = tee.tee_type == static_cast<std::uint8_t>(registry::TeeType::kAmdSevSnp);
  const Bytes48 zero;
  // RTMR3 is always zeroed: it carries the per-boot UUID (A2 onward).
  abi::Value tdx_value = abi::Value::List({B48(tdx ? tee.mrtd : zero), B48(tdx ? tee.mrseam : zero),
                                           B48(tdx ? tee.rtmr0 : zero), B48(tdx ? tee.rtmr1 : zero),
                                           B48(tdx ? tee.rtmr2 : zero), B48(zero)});
  abi::Value snp_value = abi::Value::List({B48(snp ? tee.snp_measurement : zero)});
  const abi::Value measurement = abi::Value::List({abi::Value::List(
      {abi::Value::List(std::move(pcr_values)), std::move(tdx_value), std::move(snp_value)})});
  return abi::Encode(MeasurementType(), measurement);
}

Result<Hash32> MeasurementHash(std::span<const registry::MeasurablePcr> pcrs, const TeeFacts& tee) {
  CVMW_ASSIGN_OR_RETURN(Bytes encoded, EncodeMeasurement(pcrs, tee));
  return Keccak256(encoded);
}

}  // namespace cvmwatch::verifier
