// Synthetic SEV-SNP minting for tests: a report signed by a test VCEK (P-384) whose certificate
// carries AMD's TCB/hwID extensions, issued by a test ASK and a self-signed test ARK (RSA-PSS
// SHA-384), so each SNP check can be made to fail in isolation. Test-only.
#pragma once

#include <openssl/evp.h>

#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "tpm_mint.h"

namespace cvmwatch::verifier::mint {

struct VcekSpec {
  std::string product_name = "Milan-B0";
  unsigned bl = 3, tee = 0, snp = 22, ucode = 209;
  std::optional<unsigned> fmc;  // Turin
  Bytes hw_id = Bytes(64, 0x5a);
  bool wrap_hw_id = false;  // as a DER OCTET STRING instead of raw bytes
};

struct SnpChain {
  Key ark_key, ask_key, vcek_key;
  Bytes ark, ask, vcek;  // DER
};
SnpChain MintSnpChain(const VcekSpec& spec, const std::string& product = "Milan");

struct ReportSpec {
  std::uint32_t version = 3;
  std::uint64_t policy = 0x30000;
  std::uint32_t signature_algo = 1;
  std::uint8_t reported_tcb[8] = {3, 0, 0, 0, 0, 0, 22, 209};
  Bytes chip_id = Bytes(64, 0x5a);
  std::uint8_t cpuid_family = 0x19, cpuid_model = 0x01;
  Bytes measurement = Bytes(48, 0x44);
};
// A 1184-byte report signed by `vcek_key` over [0, 0x2A0).
Bytes MintSnpReport(const ReportSpec& spec, EVP_PKEY* vcek_key);

}  // namespace cvmwatch::verifier::mint
