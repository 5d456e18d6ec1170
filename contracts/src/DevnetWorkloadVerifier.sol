// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// cvmwatch devnet workload verifier.
//
// ============================================================================================
//  DEVNET ONLY - THIS CONTRACT ACCEPTS FORGED ATTESTATIONS ON PURPOSE.
//  It does NOT verify: the Intel DCAP quote signature, QE report or PCK certificate chain; the
//  SEV-SNP report signature, VCEK chain or the ZK proof (seal) of the journal; the TPM quote
//  signature; the Google AK certificate chain; TCB status, debug bits or any collateral. It also
//  does not check RTMR3 against the TDX instance UUID (that needs SHA-384, which the EVM has no
//  precompile for). A chain running this verifier accepts attestations that the real registry
//  rejects, so that cvmwatch (which re-verifies everything off chain) has something to catch.
// ============================================================================================
//
// What it does do, like the registry's verifier of the vectors' era:
//  * parses the TEE report: teeReportType 1 = raw TDX v4 quote (TD report body at [48,632));
//    2/3 = abi.encode(ZkProof{output, proofBytes}); for SEV-SNP the output is the canonical
//    abi.encode(VerifierJournal) whose rawReport (1184 bytes) is the SNP report; for TDX the
//    output is already the DCAP output;
//  * produces the same teeAttestationOutput as the seed's mock verifiers: TDX = 11-byte DCAP
//    header (version u16, body type u16, tcbStatus u8, fmspc bytes6) || TD report body;
//    SNP = raw report;
//  * picks the attestation key: GCP = public key of certs[0] (the AK leaf certificate, parsed,
//    not verified); Azure = the HCLAkPub JWK of wc.akPub after checking REPORTDATA[0,32) ==
//    SHA-256(wc.akPub);
//  * checks the PCR values against the quote's selection and digest (DevnetTpmAttestation);
//  * checks the report-ID binding through PCR 15 (TDX: PCR15 == 0 or SHA-256(0^32 ||
//    SHA-256(reportId)); SNP: PCR15 == 0 or SHA-256(0^32 || REPORT_ID), wc.reportId if given must
//    equal REPORT_ID);
//  * builds the Measurement (PCRs + TDX registers with RTMR3 zeroed, or the SNP MEASUREMENT).

import {
    CloudType,
    TEEType,
    TeeReportType,
    Pubkey,
    WorkloadCollaterals,
    MeasureablePcr,
    Measurement,
    TEEVerifiedData,
    TdxMeasurement,
    SnpMeasurement,
    Bytes48,
    Bytes64,
    ZkProof,
    VerifierJournal
} from "./CVMTypes.sol";
import {LibBytes} from "./LibBytes.sol";
import {LibDer} from "./LibDer.sol";
import {LibAzureAk} from "./LibAzureAk.sol";
import {DevnetTpmAttestation} from "./DevnetTpmAttestation.sol";

contract DevnetWorkloadVerifier {
    using LibBytes for bytes;

    error INVALID_TEE_REPORT_TYPE(uint8);
    error INVALID_TEE_TYPE(uint8);
    error INVALID_CLOUD_TYPE(uint8);
    error FAILED_TO_VERIFY_TEE();
    error INVALID_TEE_REPORT();
    error TEE_REPORT_DATA_MISMATCH(bytes32 expected, bytes32 actual);
    error FAILED_TO_VERIFY_TPM_QUOTE(string);
    error FAILED_TO_CHECK_PCR_MEASUREMENTS(string);
    error INVALID_REPORT_ID();

    uint256 constant TDX_BODY_OFFSET = 48;
    uint256 constant TDX_BODY_LENGTH = 584;
    uint256 constant DCAP_HEADER_LENGTH = 11;
    uint256 constant MIN_DCAP_OUTPUT = 395;
    uint256 constant SNP_REPORT_LENGTH = 1184;
    uint256 constant BINDING_PCR = 15;

    DevnetTpmAttestation public immutable tpmAttestation;

    constructor(DevnetTpmAttestation tpm) {
        tpmAttestation = tpm;
    }

    /// Parses (does not verify) the TEE report and the TPM inputs; returns the TEE output to
    /// store, the extracted data and the quote's extraData (identity binding is the caller's job).
    function verifyAttestation(
        TEEType teeType,
        TeeReportType teeReportType,
        CloudType cloudType,
        bytes calldata teeAttestationReport,
        WorkloadCollaterals calldata wc
    ) external returns (bytes memory teeOutput, TEEVerifiedData memory data, bytes memory tpmExtraData) {
        if (cloudType != CloudType.GCP && cloudType != CloudType.Azure) revert INVALID_CLOUD_TYPE(uint8(cloudType));
        teeOutput = _teeOutput(teeType, teeReportType, teeAttestationReport);
        data = parseTeeOutput(teeType, teeOutput);

        if (cloudType == CloudType.Azure) {
            bytes32 expected = sha256(wc.akPub);
            if (data.userReportData.first != expected) {
                revert TEE_REPORT_DATA_MISMATCH(expected, data.userReportData.first);
            }
            data.akPub = LibAzureAk.parse(wc.akPub);
        } else {
            if (wc.certs.length == 0 || wc.certs.length > 4) revert FAILED_TO_VERIFY_TPM_QUOTE("Invalid certificate chain length");
            data.akPub = LibDer.certificatePublicKey(wc.certs[0]);
        }

        (bool checked, bytes memory extra) = tpmAttestation.checkPcrMeasurements(wc.tpmQuote, wc.pcrs);
        if (!checked) revert FAILED_TO_CHECK_PCR_MEASUREMENTS(string(extra));
        tpmExtraData = extra;

        if (!_reportIdBound(teeType, cloudType, wc, data)) revert INVALID_REPORT_ID();
    }

    /// Measurement of a verified TEE output plus a PCR list (RTMR3 always zeroed).
    function getMeasurement(TEEVerifiedData calldata data, MeasureablePcr[] calldata pcrs)
        external
        view
        returns (Measurement memory m)
    {
        m.pcrs = tpmAttestation.toFinalMeasurement(pcrs);
        m.tdx = data.tdx;
        m.tdx.rtmr3 = Bytes48(bytes32(0), bytes16(0));
        m.snp = data.snp;
    }

    /// Fields of a stored TEE output (TDX: 11-byte DCAP header + TD report body; SNP: raw report).
    function parseTeeOutput(TEEType teeType, bytes memory output) public pure returns (TEEVerifiedData memory d) {
        if (teeType == TEEType.IntelTDX) {
            if (output.length < MIN_DCAP_OUTPUT) revert INVALID_TEE_REPORT();
            if (output.u16be(2) == 1) revert INVALID_TEE_REPORT(); // SGX enclave report body
            d.tdx.mrseam = output.bytes48At(27);
            d.tdx.mrtd = output.bytes48At(147);
            d.tdx.rtmr0 = output.bytes48At(339);
            d.tdx.rtmr1 = output.bytes48At(387);
            d.tdx.rtmr2 = output.bytes48At(435);
            d.tdx.rtmr3 = output.bytes48At(483);
            if (output.length >= 595) {
                d.userReportData = Bytes64(output.word(531), output.word(563));
            }
        } else if (teeType == TEEType.AmdSevSnp) {
            if (output.length < SNP_REPORT_LENGTH) revert INVALID_TEE_REPORT();
            d.userReportData = Bytes64(output.word(0x50), output.word(0x70));
            d.snp.measurement = output.bytes48At(0x90);
            d.reportID = output.word(0x140);
        } else {
            revert INVALID_TEE_TYPE(uint8(teeType));
        }
    }

    function _teeOutput(TEEType teeType, TeeReportType reportType, bytes calldata report)
        private
        pure
        returns (bytes memory out)
    {
        if (reportType == TeeReportType.Unset) revert INVALID_TEE_REPORT_TYPE(uint8(reportType));
        if (teeType == TEEType.IntelTDX) {
            if (reportType == TeeReportType.Solidity) {
                out = _dcapOutputFromQuote(report);
            } else {
                ZkProof memory proof = abi.decode(report, (ZkProof));
                out = proof.output;
            }
            if (out.length < MIN_DCAP_OUTPUT) revert INVALID_TEE_REPORT();
        } else if (teeType == TEEType.AmdSevSnp) {
            if (reportType == TeeReportType.Solidity) revert INVALID_TEE_REPORT_TYPE(uint8(reportType));
            ZkProof memory proof = abi.decode(report, (ZkProof));
            VerifierJournal memory journal = abi.decode(proof.output, (VerifierJournal));
            if (journal.result != 0) revert FAILED_TO_VERIFY_TEE();
            if (journal.rawReport.length != SNP_REPORT_LENGTH) revert INVALID_TEE_REPORT();
            out = journal.rawReport;
        } else {
            revert INVALID_TEE_TYPE(uint8(teeType));
        }
    }

    /// Raw TDX v4 quote (possibly zero-padded) -> DCAP-style output. The values of tcbStatus and
    /// fmspc are those of the seed's mock DCAP verifier (1 and zero): no TCB evaluation happens.
    function _dcapOutputFromQuote(bytes calldata quote) private pure returns (bytes memory) {
        if (quote.length < TDX_BODY_OFFSET + TDX_BODY_LENGTH + 4) revert INVALID_TEE_REPORT();
        bytes memory q = quote[0:TDX_BODY_OFFSET + TDX_BODY_LENGTH];
        uint16 version = q.u16le(0);
        if (version != 4) revert INVALID_TEE_REPORT();
        if (q.u32le(4) != 0x81) revert INVALID_TEE_REPORT(); // TEE type TDX
        return abi.encodePacked(version, uint16(2), uint8(1), bytes6(0), q.slice(TDX_BODY_OFFSET, TDX_BODY_LENGTH));
    }

    function _reportIdBound(TEEType teeType, CloudType cloudType, WorkloadCollaterals calldata wc, TEEVerifiedData memory d)
        private
        pure
        returns (bool)
    {
        cloudType; // the vectors' era accepts PCR15 == 0 on every cloud
        for (uint256 i = 0; i < wc.pcrs.length; i++) {
            if (wc.pcrs[i].index != BINDING_PCR) continue;
            bytes32 pcr = wc.pcrs[i].pcr;
            if (pcr == bytes32(0)) return true;
            if (teeType == TEEType.IntelTDX) {
                if (pcr == sha256(abi.encodePacked(bytes32(0), sha256(wc.reportId)))) return true;
                continue; // a later PCR15 entry may still match
            }
            if (wc.reportId.length > 0) {
                if (wc.reportId.length < 32 || bytes32(wc.reportId[0:32]) != d.reportID) return false;
            }
            return pcr == sha256(abi.encodePacked(bytes32(0), d.reportID));
        }
        return false;
    }
}
