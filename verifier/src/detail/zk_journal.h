// The ZK submission form of SNP reports (specs/tee-reports.md B.3): teeAttestationReport =
// abi.encode(ZkProof{bytes output, bytes proofBytes}), output = abi.encode(VerifierJournal).
// Internal to verifier/. Bounded by the ABI decoder.
#pragma once

#include <cstdint>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/core/u256.h"

namespace cvmwatch::verifier::detail {

struct ZkProof {
  Bytes output;
  Bytes proof;
};
Result<ZkProof> DecodeZkProof(ByteView tee_report);

struct VerifierJournal {
  std::uint64_t result = 0;  // 0 = Success
  std::uint64_t timestamp = 0;
  std::uint64_t processor_model = 0;  // 0 Milan, 1 Genoa, 2 Bergamo, 3 Siena
  Bytes raw_report;
  std::vector<Hash32> certs;  // root -> leaf
  std::vector<U256> cert_serials;
  std::uint64_t trusted_certs_prefix_len = 0;
};
Result<VerifierJournal> DecodeVerifierJournal(ByteView output);

}  // namespace cvmwatch::verifier::detail
