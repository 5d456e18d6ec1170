// cvmwatch's re-verification of registry submissions (the module's entry point).
//
// Verify() is a pure function of (submission, trust store, time): no I/O, no clock, thread-safe.
// `at` is the block timestamp of the transaction. It reproduces the checks of the seed's
// WorkloadVerifier / TpmAttestation / CVMRegistry (A2 semantics, PCR15 binding, NEWEST report-id
// rules) and adds what a demanding watchdog wants (TEE signatures and chains where the data allows).
// Every check is reported; nothing the verifier cannot check passes silently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/verifier/verdict.h"

namespace cvmwatch::verifier {

// VCEKs by chip id + reported TCB (files in a directory now; the AMD KDS later).
class VcekSource {
 public:
  virtual ~VcekSource() = default;
  // DER of the VCEK for (chip_id, reported_tcb raw LE value), or nullopt when unknown.
  virtual std::optional<Bytes> FindVcek(ByteView chip_id, std::uint64_t reported_tcb) const = 0;
};

// A directory of `<chip_id hex>_<reported_tcb 16 hex>.der` (or `<chip_id hex>.der`) files.
class DirectoryVcekSource final : public VcekSource {
 public:
  explicit DirectoryVcekSource(std::string dir) : dir_(std::move(dir)) {}
  std::optional<Bytes> FindVcek(ByteView chip_id, std::uint64_t reported_tcb) const override;
  static std::string FileName(ByteView chip_id, std::uint64_t reported_tcb);

 private:
  std::string dir_;
};

class TdxCollateralSource;  // tdx.h

// Roots and pinned keys the verifier trusts. Immutable after construction; share freely.
struct TrustStore {
  std::vector<Bytes> tpm_ak_roots;   // GCP EK/AK CA roots (DER)
  std::vector<Bytes> amd_arks;       // pinned AMD ARKs (DER), any product
  std::vector<Bytes> amd_asks;       // ASK certificates available offline (DER), any product
  std::vector<Bytes> intel_roots;    // Intel SGX Root CA (DER)
  std::shared_ptr<const VcekSource> vceks;
  std::shared_ptr<const TdxCollateralSource> tdx_collateral;  // collateral by FMSPC (tdx.h)

  // Loads `*.der` / `*.pem` files from a directory laid out as config/trust/: tpm-ak-roots/,
  // amd-arks/, amd-asks/, intel-roots/, and vcek/ (for DirectoryVcekSource).
  static Result<TrustStore> LoadFromDirectory(const std::string& dir);
};

// How wide the chain id is in the signed maintenance message: the seed's vectors use both.
enum class ChainIdWidth { kAuto, k32Bytes, k2Bytes };

// What the chain knew before this call, for re-attestation and TTL calls (from our store).
struct RegisteredIdentity {
  registry::IdentityKey identity;
  std::uint8_t cloud_type = 0;
  std::uint8_t tee_type = 0;
  std::optional<registry::CertPubkey> ak;  // stored at registration (A2)
  std::optional<TeeFacts> tee;             // parsed TEE output stored at registration
  U256 nonce;                              // the nonce the signature must cover
};

struct SigningContext {
  std::uint64_t chain_id = 0;
  Address registry;  // the proxy address
  ChainIdWidth chain_id_width = ChainIdWidth::kAuto;
};

struct Submission {
  registry::RegistryCall call;
  SigningContext signing;
  std::optional<RegisteredIdentity> registered;  // required for reattest / TTL
};

Verdict Verify(const Submission& submission, const TrustStore& trust, TimePoint at);

// Verify() keeps bounded process-wide caches of parsed certificates and verified signature links
// (never of verdicts). This empties them, e.g. to measure a first verification.
void ClearVerifierCaches();

// The raw message the registry's maintenance signatures cover (specs/contracts.md §2.2).
Bytes ReattestMessage(const SigningContext& ctx, unsigned chain_id_bytes, const U256& nonce,
                      ByteView tpm_quote);
Bytes TtlMessage(const SigningContext& ctx, unsigned chain_id_bytes, const U256& nonce,
                 std::uint64_t tee_ttl, std::uint64_t tpm_ttl);

}  // namespace cvmwatch::verifier
