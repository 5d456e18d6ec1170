// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Shared types of the cvmwatch devnet registry. Field order and types follow the registry's
// generation A1/A2 ABI exactly (see contracts/README.md), because the selectors and the
// measurement hash depend on them:
//   Pubkey               (uint16,uint16,uint16,bytes)
//   MeasureablePcr       (uint256,bytes32,bytes32[],uint256[],bool)
//   WorkloadCollaterals  (bytes,bytes,MeasureablePcr[],bytes,bytes,bytes[],Pubkey)
//   Measurement          (Pcr[],TdxMeasurement,SnpMeasurement)
// Enums are ABI-encoded as uint8.

enum CloudType {
    Unset,
    GCP,
    Azure
}

enum TEEType {
    Mock,
    IntelTDX,
    AmdSevSnp
}

enum TeeReportType {
    Unset,
    Solidity,
    ZkSuccinct,
    ZkRiscZero
}

/// TPM-style public key: sigScheme (TPM_ALG_ECDSA 0x0018 / TPM_ALG_RSASSA 0x0014), curve
/// (TPM_ECC_NIST_P256 0x0003, 0 for RSA), hashAlgo (TPM_ALG_SHA256 0x000B) and the key bytes
/// (64-byte X||Y for P-256, DER RSAPublicKey for RSA).
struct Pubkey {
    uint16 sigScheme;
    uint16 curve;
    uint16 hashAlgo;
    bytes data;
}

struct MeasureablePcr {
    uint256 index;
    bytes32 pcr;
    bytes32[] allEvents;
    uint256[] measureEventsIdx;
    bool measurePcr;
}

struct WorkloadCollaterals {
    bytes tpmQuote;
    bytes tpmSignature;
    MeasureablePcr[] pcrs;
    bytes reportId;
    bytes akPub;
    bytes[] certs;
    Pubkey cvmIdentity;
}

struct Bytes48 {
    bytes32 first;
    bytes16 second;
}

struct Bytes64 {
    bytes32 first;
    bytes32 second;
}

struct Pcr {
    uint256 index;
    bytes32 pcr;
    bytes32[] measureEvents;
    uint256[] measureEventsIdx;
}

struct TdxMeasurement {
    Bytes48 mrtd;
    Bytes48 mrseam;
    Bytes48 rtmr0;
    Bytes48 rtmr1;
    Bytes48 rtmr2;
    Bytes48 rtmr3;
}

struct SnpMeasurement {
    Bytes48 measurement;
}

struct Measurement {
    Pcr[] pcrs;
    TdxMeasurement tdx;
    SnpMeasurement snp;
}

/// What the workload verifier extracts from a (parsed, not signature-checked) TEE report.
struct TEEVerifiedData {
    Bytes64 userReportData;
    bytes32 reportID;
    Pubkey akPub;
    TdxMeasurement tdx;
    SnpMeasurement snp;
}

/// Registry state per identity. Layout = generation A2 (teeAttestationOutput before the identity,
/// then the attestation key stored at registration).
struct CVMConfig {
    TEEType teeType;
    CloudType cloudType;
    uint64 teeTTL;
    uint64 tpmTTL;
    uint64 teeRecentTimestamp;
    uint64 tpmRecentTimestamp;
    bytes32 measurementHash;
    bytes teeAttestationOutput;
    Pubkey cvmIdentity;
    Pubkey tpmAk;
}

/// abi.encode(ZkProof) is the teeAttestationReport of the ZK report types (2 and 3).
struct ZkProof {
    bytes output;
    bytes proofBytes;
}

/// Journal of Automata's SEV-SNP zkVM program, canonical abi.encode of this struct.
struct VerifierJournal {
    uint8 result;
    uint64 timestamp;
    uint8 processorModel;
    bytes rawReport;
    bytes32[] certs;
    uint160[] certSerials;
    uint8 trustedCertsPrefixLen;
}

uint16 constant TPM_ALG_RSASSA = 0x0014;
uint16 constant TPM_ALG_ECDSA = 0x0018;
uint16 constant TPM_ALG_SHA256 = 0x000B;
uint16 constant TPM_ECC_NIST_P256 = 0x0003;

/// Keccak-256 of the canonical ABI encoding of a Measurement (the "measurement hash").
function measurementDigest(Measurement memory m) pure returns (bytes32) {
    return keccak256(abi.encode(m));
}
