// Fuzzes the TPM quote and signature parsers and the PCR checks on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "cvmwatch/verifier/tpm.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cvmwatch::ByteView input(data, size);
  auto quote = cvmwatch::verifier::ParseTpmQuote(input);
  if (quote.ok()) {
    std::vector<cvmwatch::registry::MeasurablePcr> pcrs(3);
    for (std::size_t i = 0; i < pcrs.size(); ++i) pcrs[i].index = cvmwatch::U256(i);
    (void)cvmwatch::verifier::CheckPcrSelection(*quote, pcrs);
    (void)cvmwatch::verifier::CheckPcrDigest(*quote, pcrs);
  }
  (void)cvmwatch::verifier::ParseTpmSignature(input);
  return 0;
}
