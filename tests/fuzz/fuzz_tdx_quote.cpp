// Fuzzes the TDX quote parser (v4/v5, TD 1.0/1.5) and what a parsed quote leads into without any
// signature work: the PEM split of the certification data, the DER certificate reader on each
// certificate, the PCK SGX extension reader and the TD attributes policy. Invariants: the parsed
// regions lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cvmwatch/verifier/tdx.h"
#include "detail/tdx_x509.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cvmwatch::verifier;
  const cvmwatch::ByteView input(data, size);
  auto quote = ParseTdxQuote(input);
  if (!quote.ok()) return 0;
  if (quote->quote_length > size || quote->signed_length > quote->quote_length ||
      quote->signed_offset != 0 || quote->SignedRegion(input).size() != quote->signed_length) {
    std::abort();
  }
  (void)CheckTdxTdAttributes(*quote);
  (void)quote->Debug();
  auto ders = TdxPemChainToDer(
      std::string_view(reinterpret_cast<const char*>(quote->certification_data.data()),
                       quote->certification_data.size()));
  if (!ders.ok()) return 0;
  for (const auto& der : *ders) {
    auto cert = tdx_detail::ParseDerCert(der);
    if (!cert.ok()) continue;
    if ((*cert)->der != der) std::abort();
    (void)ParsePckSgxExtension((*cert)->sgx_extension);
  }
  return 0;
}
