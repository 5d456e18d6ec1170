// Synthetic TPM attestation minting for tests: AK keys, TPMS_ATTEST quotes, TPMT_SIGNATUREs (ECDSA,
// RSASSA with either DigestInfo form) and AK certificate chains signed with test keys, so that a
// single check can be made to fail in isolation. Test-only; never linked into the binary.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/registry.h"

namespace cvmwatch::verifier::mint {

struct KeyDeleter { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

Key NewP256();
Key NewRsa(int bits);
registry::CertPubkey PublicOf(EVP_PKEY* key);

struct QuoteSpec {
  Bytes extra_data = Bytes(33, 0x11);
  Bytes pcr_select = {0x01, 0x00, 0x00};  // PCR0
  Bytes pcr_digest = Bytes(32, 0x22);
  std::uint16_t type = 0x8018;
  std::uint32_t selection_count = 1;
  std::uint16_t bank = 0x000b;
};
Bytes MintQuote(const QuoteSpec& spec);

// TPMT_SIGNATURE over SHA-256(quote).
Bytes SignEcdsa(ByteView quote, EVP_PKEY* key, bool force_high_s = false);
enum class DigestInfoForm { kExplicitNull, kAbsentNull };
// `padding_byte` replaces the 0xFF filler (to make a malformed PKCS#1 block).
Bytes SignRsa(ByteView quote, EVP_PKEY* key, DigestInfoForm form, std::uint8_t padding_byte = 0xff,
              std::uint16_t sig_alg = 0x0014);

struct CertSpec {
  std::string subject_cn;
  bool ca = false;
  int path_len = -1;        // -1: none
  bool key_cert_sign = false;
  bool subject_key_id = true;
  bool authority_key_id = true;
  long not_before = 1700000000;
  long not_after = 2000000000;
  const EVP_MD* digest = nullptr;  // default SHA-256
  std::string issuer_cn_override;  // write a different issuer name than the signer's subject
};
struct MintedCert {
  X509* cert = nullptr;
  Bytes der;
};
// Signs `subject_key`'s certificate with `issuer_key` (self-signed when issuer is null).
MintedCert MintCert(const CertSpec& spec, EVP_PKEY* subject_key, const MintedCert* issuer,
                    EVP_PKEY* issuer_key);
void FreeCert(MintedCert& c);

}  // namespace cvmwatch::verifier::mint
