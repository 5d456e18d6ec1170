// Fuzzes the SNP report parser and the policy check on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "cvmwatch/verifier/snp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto report = cvmwatch::verifier::ParseSnpReport(cvmwatch::ByteView(data, size), true);
  if (report.ok()) (void)cvmwatch::verifier::CheckSnpPolicy(*report);
  return 0;
}
