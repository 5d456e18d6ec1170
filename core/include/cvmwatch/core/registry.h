// The CVM Registry's call and event surface, for every ABI generation (specs/contracts.md §0-§2).
//
// DecodeRegistryCall turns a transaction input into a plain struct. Generations are told apart
// by selector (each generation's attest/reattest selector is distinct; A1 and A2 share an ABI and
// decode as kA1). The identity hash is derived per generation (A: keccak over be16 scheme ‖ be16
// curve ‖ be16 hashAlgo ‖ key data; C/D: the same over CertPubkey data, 0x04‖x‖y for P-256; D
// extracts the key from a marshalled TPMT_PUBLIC first). An unknown selector is kUnknownSelector
// naming it. Pure and thread-safe; input is untrusted and bounded by the ABI decoder's limits.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "cvmwatch/core/abi.h"
#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/core/u256.h"

namespace cvmwatch::registry {

enum class Generation { kA0, kA1, kC, kD };
enum class CloudType : std::uint8_t { kUnset = 0, kGcp = 1, kAzure = 2 };
enum class TeeType : std::uint8_t { kUnknown = 0, kIntelTdx = 1, kAmdSevSnp = 2 };
enum class TeeReportType : std::uint8_t { kUnset = 0, kSolidity = 1, kZkSuccinct = 2, kZkRiscZero = 3 };

std::string_view GenerationName(Generation g);
// Names for values outside the enum are "unknown(N)"; the registry stores raw uint8s.
std::string CloudName(std::uint8_t cloud);
std::string TeeName(std::uint8_t tee);
std::string TeeReportTypeName(std::uint8_t report_type);

// TPM algorithm ids used in identity keys.
inline constexpr std::uint16_t kTpmAlgRsa = 0x0001;
inline constexpr std::uint16_t kTpmAlgSha256 = 0x000B;
inline constexpr std::uint16_t kTpmAlgNull = 0x0010;
inline constexpr std::uint16_t kTpmAlgRsassa = 0x0014;
inline constexpr std::uint16_t kTpmAlgEcdsa = 0x0018;
inline constexpr std::uint16_t kTpmAlgEcc = 0x0023;
inline constexpr std::uint16_t kTpmEccNistP256 = 0x0003;

struct MeasurablePcr {
  U256 index;
  Hash32 pcr;
  std::vector<Hash32> all_events;
  std::vector<U256> measure_events_idx;
  bool measure_pcr = false;
  friend bool operator==(const MeasurablePcr&, const MeasurablePcr&) = default;
};

// The identity key as the call carries it, normalised across generations.
enum class IdentityForm {
  kPubkey,      // A0/A1/A2: Pubkey{sigScheme, curve, hashAlgo, data}
  kCertPubkey,  // C: CVMIdentity{CertPubkey{algo, params, data}, SignatureAlgorithm{scheme, hashAlgo}}
  kTpmtPublic,  // D: CVMIdentity{bytes tpmtPublic, SignatureAlgorithm}
};
struct IdentityKey {
  IdentityForm form = IdentityForm::kPubkey;
  std::uint16_t sig_scheme = 0;
  std::uint16_t curve = 0;      // A: curve; C: CertPubkey.params; D: taken from TPMT_PUBLIC
  std::uint16_t hash_algo = 0;
  std::uint16_t key_algo = 0;   // C/D: CertPubkey.algo (0x0023 ECC, 0x0001 RSA); A: unused
  Bytes data;                   // A: x‖y or DER RSAPublicKey; C: CertPubkey.data; D: derived
  Bytes tpmt_public;            // D only: the marshalled TPMT_PUBLIC as submitted
  friend bool operator==(const IdentityKey&, const IdentityKey&) = default;
};

// keccak256(be16 scheme ‖ be16 curve/params ‖ be16 hashAlgo ‖ data) — the registry's key hash.
Hash32 IdentityHash(const IdentityKey& key);

// D: extract {algo, params, data} from a marshalled TPMT_PUBLIC (ECC → 0x04‖x‖y; RSA → DER
// RSAPublicKey). Bounded; errors on truncation or unsupported types.
struct CertPubkey {
  std::uint16_t algo = 0;
  std::uint16_t params = 0;
  Bytes data;
  friend bool operator==(const CertPubkey&, const CertPubkey&) = default;
};
Result<CertPubkey> CertPubkeyFromTpmtPublic(ByteView tpmt_public);

struct WorkloadCollaterals {
  Bytes tpm_quote;
  Bytes tpm_signature;
  std::vector<MeasurablePcr> pcrs;
  Bytes report_id;
  Bytes ak_pub;
  std::vector<Bytes> certs;
  std::optional<IdentityKey> cvm_identity;  // A0/A1/A2 only (7th field)
  friend bool operator==(const WorkloadCollaterals&, const WorkloadCollaterals&) = default;
};

struct IdentityCertification {  // D: TPM2_Certify proof that the identity key lives with the AK
  Bytes cert_info;
  Bytes ak_certification_sig;
};

// attestCvm (A1, C), registerCvm (A0, D): a (re-)registration carrying a TEE report.
struct AttestCall {
  Generation generation = Generation::kA1;
  std::uint8_t cloud_type = 0;
  std::uint8_t tee_type = 0;
  std::uint8_t tee_report_type = 0;
  Bytes tee_report;
  WorkloadCollaterals wc;
  IdentityKey identity;
  Hash32 identity_hash;
  std::optional<std::uint64_t> tee_ttl;                  // D
  std::optional<IdentityCertification> certification;  // D
};

// reattestCvmWithTpm (A0/A1, C): TPM-only re-attestation signed by the stored identity; a new
// identity key (wc.cvmIdentity in A, updateCvmIdentity in C) rotates when its hash differs.
struct ReattestCall {
  Generation generation = Generation::kA1;
  Hash32 target_identity_hash;  // the registered (old) identity the call addresses
  Bytes signature;
  WorkloadCollaterals wc;
  IdentityKey new_identity;
  Hash32 new_identity_hash;
  bool IsRotation() const { return new_identity_hash != target_identity_hash; }
};

// A0 reattestCvmFully: signed TEE + TPM re-attestation.
struct ReattestFullyCall {
  Generation generation = Generation::kA1;
  Hash32 target_identity_hash;
  std::uint8_t tee_report_type = 0;
  Bytes signature;
  Bytes tee_report;
  WorkloadCollaterals wc;
  IdentityKey new_identity;
  Hash32 new_identity_hash;
};

// setCollateralTTL (A0..C).
struct TtlCall {
  Generation generation = Generation::kA1;
  Hash32 target_identity_hash;
  std::uint64_t tee_ttl = 0;
  std::uint64_t tpm_ttl = 0;
  Bytes signature;
};

// D refreshCvm.
struct RefreshCall {
  Generation generation = Generation::kA1;
  Hash32 target_identity_hash;
  std::uint64_t tee_ttl = 0;
  std::uint8_t tee_report_type = 0;
  Bytes tee_report;
  WorkloadCollaterals wc;
};

// D rotateCvmIdentityKey.
struct RotateCall {
  Generation generation = Generation::kA1;
  Hash32 target_identity_hash;
  IdentityKey new_identity;
  Hash32 new_identity_hash;
  IdentityCertification certification;
};

using RegistryCall =
    std::variant<AttestCall, ReattestCall, ReattestFullyCall, TtlCall, RefreshCall, RotateCall>;

struct CallSpec {
  std::string_view function;   // "attestCvm"
  Generation generation = Generation::kA1;
  std::string_view signature;  // canonical
};
// Every registry entry point this project decodes, with its canonical signature.
std::span<const CallSpec> KnownCalls();
// The parsed function for a known selector, or nullptr.
const abi::Function* FindCall(const Selector& selector, const CallSpec** spec_out = nullptr);

Result<RegistryCall> DecodeRegistryCall(ByteView calldata, const abi::DecodeLimits& limits = {});
// The function name of a decoded call ("attestCvm", "reattestCvmWithTpm", ...).
std::string_view CallName(const RegistryCall& call);

struct EventSpec {
  std::string_view name;
  std::string_view signature;
  std::string_view generations;  // e.g. "A1 A2 B C"
};
// Registry, proxy and TpmAttestation events a watchdog follows (contracts.md §1.1, §1.2).
std::span<const EventSpec> KnownEvents();
const EventSpec* FindEvent(const Hash32& topic0);

}  // namespace cvmwatch::registry
