// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// cvmwatch devnet TPM helper.
//
// DEVNET ONLY - DOES NOT VERIFY TPM QUOTE SIGNATURES OR AK CERTIFICATE CHAINS.
// It parses the TPMS_ATTEST quote (extraData, PCR selection, PCR digest) and checks that the
// supplied PCR values hash to the quote's PCR digest, as the registry's TpmAttestation does, but the
// quote's signature is never checked against the attestation key. A forged quote signature is
// therefore accepted on this chain; catching it is the watchdog's job.
//
// Quote layout (TPM 2.0 Part 2, big-endian): magic(4) type(2)=0x8018 qualifiedSigner(TPM2B)
// extraData(TPM2B) clockInfo(17) firmwareVersion(8) TPML_PCR_SELECTION{count=1, hash=SHA-256,
// sizeofSelect, pcrSelect} pcrDigest(TPM2B, 32 bytes).

import {MeasureablePcr, Pcr} from "./CVMTypes.sol";
import {LibBytes} from "./LibBytes.sol";

contract DevnetTpmAttestation {
    using LibBytes for bytes;

    /// Emitted for every successful PCR check; topic1 links the quote (keccak256 of its bytes).
    event TpmMeasurementChecked(bytes32 indexed quoteHash, bytes32 pcrDigest, bytes extraData);

    error INVALID_PCR_EVENTS(uint256 index);
    error INVALID_PCR_EVENT_INDEX(uint256 index);

    /// RIP-7212 / EIP-7951 secp256r1 verifier (an anvil precompile).
    address public constant P256_PRECOMPILE = address(0x100);

    function p256() external pure returns (address) {
        return P256_PRECOMPILE;
    }

    struct QuoteFields {
        bool ok;
        string err;
        bytes extraData;
        bytes4 pcrSelect;
        bytes32 pcrDigest;
    }

    function parseQuote(bytes memory quote) public pure returns (QuoteFields memory f) {
        if (quote.length < 10) return _fail("quote too short");
        if (quote.u16be(4) != 0x8018) return _fail("not a TPM_ST_ATTEST_QUOTE");
        uint256 q = quote.u16be(6);
        if (quote.length < 10 + q) return _fail("quote too short (qualifiedSigner)");
        uint256 e = quote.u16be(8 + q);
        uint256 p = 10 + q;
        if (quote.length < p + e + 25 + 4) return _fail("quote too short (extraData)");
        f.extraData = quote.slice(p, e);
        p += e + 17 + 8; // clockInfo + firmwareVersion
        if (quote.length < p + 4 + 3) return _fail("quote too short (selection)");
        uint32 count = (uint32(quote.u16be(p)) << 16) | quote.u16be(p + 2);
        if (count != 1) return _fail("exactly one PCR selection expected");
        if (quote.u16be(p + 4) != 0x000b) return _fail("PCR bank is not SHA-256");
        uint256 s = quote.u8(p + 6);
        p += 7;
        if (quote.length < p + s + 2 + 32) return _fail("quote too short (pcrDigest)");
        bytes memory sel = new bytes(4);
        for (uint256 i = 0; i < s && i < 4; i++) {
            sel[i] = quote[p + i];
        }
        f.pcrSelect = bytes4(sel);
        p += s;
        if (quote.u16be(p) != 32) return _fail("pcrDigest is not 32 bytes");
        f.pcrDigest = quote.word(p + 2);
        f.ok = true;
    }

    function _fail(string memory err) private pure returns (QuoteFields memory f) {
        f.err = err;
    }

    function extractExtraData(bytes calldata quote) external pure returns (bytes memory) {
        QuoteFields memory f = parseQuote(quote);
        require(f.ok, f.err);
        return f.extraData;
    }

    /// Checks PCR selection and digest; returns (true, extraData) or (false, reason).
    function checkPcrMeasurements(bytes calldata quote, MeasureablePcr[] calldata pcrs)
        external
        returns (bool, bytes memory)
    {
        QuoteFields memory f = parseQuote(quote);
        if (!f.ok) return (false, bytes(f.err));

        uint256 bitmap;
        bytes memory values = new bytes(32 * pcrs.length);
        for (uint256 i = 0; i < pcrs.length; i++) {
            if (i < 32) {
                if (pcrs[i].index >= 32) return (false, bytes("PCR index out of range"));
                bitmap |= uint256(1) << pcrs[i].index;
            }
            bytes32 v = pcrs[i].pcr;
            if (v == bytes32(0)) v = replay(pcrs[i].allEvents);
            assembly ("memory-safe") {
                mstore(add(add(values, 0x20), mul(i, 0x20)), v)
            }
        }
        bytes4 fromPcrs = bytes4(
            uint32(bitmap & 0xff) << 24 | uint32((bitmap >> 8) & 0xff) << 16 | uint32((bitmap >> 16) & 0xff) << 8
                | uint32((bitmap >> 24) & 0xff)
        );
        if (fromPcrs != f.pcrSelect) return (false, bytes("PCR selection mismatch"));
        if (sha256(values) != f.pcrDigest) return (false, bytes("PCR digest mismatch"));

        emit TpmMeasurementChecked(keccak256(quote), f.pcrDigest, f.extraData);
        return (true, f.extraData);
    }

    /// PCR value obtained by extending a zero PCR with every event digest in order.
    function replay(bytes32[] calldata events) public pure returns (bytes32 acc) {
        for (uint256 i = 0; i < events.length; i++) {
            acc = sha256(abi.encodePacked(acc, events[i]));
        }
    }

    /// Measurement PCR entries: pcr kept only when measurePcr, selected events copied by index.
    function toFinalMeasurement(MeasureablePcr[] calldata pcrs) external pure returns (Pcr[] memory out) {
        out = new Pcr[](pcrs.length);
        for (uint256 i = 0; i < pcrs.length; i++) {
            MeasureablePcr calldata m = pcrs[i];
            if (m.pcr != bytes32(0) && m.allEvents.length > 0 && replay(m.allEvents) != m.pcr) {
                revert INVALID_PCR_EVENTS(m.index);
            }
            bytes32[] memory sel = new bytes32[](m.measureEventsIdx.length);
            for (uint256 j = 0; j < m.measureEventsIdx.length; j++) {
                if (m.measureEventsIdx[j] >= m.allEvents.length) revert INVALID_PCR_EVENT_INDEX(m.index);
                sel[j] = m.allEvents[m.measureEventsIdx[j]];
            }
            out[i] = Pcr({
                index: m.index,
                pcr: m.measurePcr ? m.pcr : bytes32(0),
                measureEvents: sel,
                measureEventsIdx: m.measureEventsIdx
            });
        }
    }
}
