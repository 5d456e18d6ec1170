// The seed's workload measurement (specs/tpm-and-binding.md §5): Measurement{Pcr[] pcrs,
// TdxMeasurement tdx, SnpMeasurement snp} with 48-byte values as (bytes32, bytes16), RTMR3 zeroed,
// measurePcr masking and the measured event selection; hash = keccak256(abi.encode(measurement)).
// Pure and thread-safe.
#pragma once

#include <span>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/verifier/verdict.h"

namespace cvmwatch::verifier {

// abi.encode(Measurement) for the given PCR collateral and TEE facts (tee_type selects which of
// tdx / snp is filled). Errors when a measured event index is out of range.
Result<Bytes> EncodeMeasurement(std::span<const registry::MeasurablePcr> pcrs, const TeeFacts& tee);
Result<Hash32> MeasurementHash(std::span<const registry::MeasurablePcr> pcrs, const TeeFacts& tee);

}  // namespace cvmwatch::verifier
