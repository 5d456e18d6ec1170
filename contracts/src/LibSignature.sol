// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Pubkey, TPM_ALG_ECDSA, TPM_ALG_RSASSA, TPM_ECC_NIST_P256} from "./CVMTypes.sol";
import {LibBytes} from "./LibBytes.sol";
import {LibDer} from "./LibDer.sol";

/// Signature checks for the registry's signed maintenance calls (re-attestation, TTL change).
///  * ECDSA P-256: raw 64-byte r||s, verified by a RIP-7212 / EIP-7951 style verifier contract
///    (input digest||r||s||x||y, valid iff it returns 32 bytes equal to 1; no low-s rule).
///  * RSASSA-PKCS1-v1_5 with SHA-256: key = DER RSAPublicKey with a modulus of at least 2048 bits,
///    EM = sig^e mod n through the modexp precompile (0x05); both DigestInfo forms (explicit and
///    absent NULL parameters) are accepted.
library LibSignature {
    using LibBytes for bytes;

    address internal constant MODEXP = address(0x05);

    function verify(Pubkey memory key, bytes32 digest, bytes memory signature, address p256Verifier)
        internal
        view
        returns (bool)
    {
        if (key.sigScheme == TPM_ALG_ECDSA) {
            return verifyP256(key, digest, signature, p256Verifier);
        }
        if (key.sigScheme == TPM_ALG_RSASSA) {
            return verifyRsaPkcs1Sha256(key.data, digest, signature);
        }
        return false;
    }

    function verifyP256(Pubkey memory key, bytes32 digest, bytes memory signature, address p256Verifier)
        internal
        view
        returns (bool)
    {
        if (key.curve != TPM_ECC_NIST_P256 || key.data.length != 64 || signature.length != 64) return false;
        bytes memory input =
            abi.encode(digest, signature.word(0), signature.word(32), key.data.word(0), key.data.word(32));
        (bool ok, bytes memory ret) = p256Verifier.staticcall(input);
        return ok && ret.length == 32 && uint256(bytes32(ret)) == 1;
    }

    function verifyRsaPkcs1Sha256(bytes memory derKey, bytes32 digest, bytes memory signature)
        internal
        view
        returns (bool)
    {
        (bool parsed, bytes memory n, bytes memory e) = LibDer.parseRsaPublicKey(derKey);
        if (!parsed || n.length < 256 || signature.length != n.length) return false;
        if (!_lessThan(signature, n)) return false;

        bytes memory input = abi.encodePacked(
            uint256(signature.length), uint256(e.length), uint256(n.length), signature, e, n
        );
        (bool ok, bytes memory em) = MODEXP.staticcall(input);
        if (!ok || em.length != n.length) return false;
        return _checkEncodedMessage(em, digest);
    }

    /// EM = 00 01 FF..FF 00 || DigestInfo(SHA-256) || H
    function _checkEncodedMessage(bytes memory em, bytes32 digest) private pure returns (bool) {
        uint256 k = em.length;
        bytes memory explicitNull = hex"3031300d060960864801650304020105000420";
        bytes memory absentNull = hex"302f300b0609608648016503040201" hex"0420";
        if (em[0] != 0x00 || em[1] != 0x01) return false;
        if (em.word(k - 32) != digest) return false;
        uint256 infoLen;
        if (_matchesAt(em, explicitNull, k - 32 - explicitNull.length)) {
            infoLen = explicitNull.length;
        } else if (_matchesAt(em, absentNull, k - 32 - absentNull.length)) {
            infoLen = absentNull.length;
        } else {
            return false;
        }
        uint256 sep = k - 32 - infoLen - 1;
        if (sep < 10 || em[sep] != 0x00) return false; // at least 8 bytes of 0xFF padding
        for (uint256 i = 2; i < sep; i++) {
            if (em[i] != 0xff) return false;
        }
        return true;
    }

    function _matchesAt(bytes memory b, bytes memory needle, uint256 off) private pure returns (bool) {
        if (off + needle.length > b.length) return false;
        for (uint256 i = 0; i < needle.length; i++) {
            if (b[off + i] != needle[i]) return false;
        }
        return true;
    }

    /// a < b for big-endian unsigned integers of equal length.
    function _lessThan(bytes memory a, bytes memory b) private pure returns (bool) {
        for (uint256 i = 0; i < a.length; i++) {
            if (a[i] != b[i]) return uint8(a[i]) < uint8(b[i]);
        }
        return false;
    }
}
