// TPM 2.0 quote verification as the seed's TpmAttestation does it (specs/tpm-and-binding.md §2).
// Parsers are bounded (every length checked against the buffer) and return errors as values.
// Pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::verifier {

inline constexpr std::uint16_t kTpmStAttestQuote = 0x8018;
inline constexpr std::uint32_t kTpmGeneratedValue = 0xff544347;

struct TpmQuote {
  std::uint32_t magic = 0;
  std::uint16_t type = 0;
  Bytes qualified_signer;
  Bytes extra_data;
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  std::uint8_t safe = 0;
  std::uint64_t firmware_version = 0;
  std::uint32_t selection_count = 0;
  std::uint16_t selection_hash = 0;
  Bytes pcr_select;  // sizeofSelect bytes
  Bytes pcr_digest;
};

// Parses TPMS_ATTEST. Requires type == TPM_ST_ATTEST_QUOTE, one SHA-256 selection and a 32-byte
// digest, like the contract; the magic is recorded but not required (the contract ignores it).
Result<TpmQuote> ParseTpmQuote(ByteView quote);

struct TpmSignature {
  std::uint16_t sig_alg = 0;   // 0x0014 RSASSA or 0x0018 ECDSA
  std::uint16_t hash_alg = 0;  // must be SHA-256
  Bytes rsa_signature;         // RSASSA
  Bytes ecdsa_r, ecdsa_s;      // ECDSA, 32 bytes each
};
Result<TpmSignature> ParseTpmSignature(ByteView signature);

// Verifies `signature` (TPMT_SIGNATURE) over SHA-256(quote) with the AK. RSA follows OpenZeppelin's
// pkcs1Sha256 exactly (both DigestInfo forms, sig < n, len(sig) == len(n)); ECDSA accepts high s.
Status VerifyTpmSignature(ByteView quote, ByteView signature, const registry::CertPubkey& ak);

// PCR selection bitmap of the supplied PCRs vs the quote's (4-byte, right-padded), then the digest
// over the values in array order (zero values replaced by their event replay).
Status CheckPcrSelection(const TpmQuote& quote, std::span<const registry::MeasurablePcr> pcrs);
Status CheckPcrDigest(const TpmQuote& quote, std::span<const registry::MeasurablePcr> pcrs);
// Event logs: non-zero PCRs with events must replay to the value; measured indices in range.
Status CheckPcrEvents(std::span<const registry::MeasurablePcr> pcrs);

// fold(acc = 0^32; acc = SHA-256(acc || e)).
Hash32 ReplayEvents(std::span<const Hash32> events);

}  // namespace cvmwatch::verifier
