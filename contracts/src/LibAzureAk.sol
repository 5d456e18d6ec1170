// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Pubkey, TPM_ALG_RSASSA, TPM_ALG_SHA256} from "./CVMTypes.sol";
import {LibBytes} from "./LibBytes.sol";
import {LibDer} from "./LibDer.sol";

/// Reads the vTPM attestation key from Azure's HCL runtime-data JSON ("var data"):
/// the JWK object whose "kid" is "HCLAkPub" (RSA, base64url "n" and "e").
library LibAzureAk {
    using LibBytes for bytes;

    error AZURE_AK_NOT_FOUND(string what);

    function parse(bytes memory json) internal pure returns (Pubkey memory key) {
        uint256 kid = json.indexOf(bytes('"kid":"HCLAkPub"'), 0);
        if (kid == type(uint256).max) revert AZURE_AK_NOT_FOUND("HCLAkPub");
        uint256 objStart = kid;
        while (objStart > 0 && json[objStart] != "{") objStart--;
        uint256 objEnd = json.indexOf(bytes("}"), kid);
        if (objEnd == type(uint256).max) revert AZURE_AK_NOT_FOUND("end of HCLAkPub");

        bytes memory n = _base64url(_stringField(json, objStart, objEnd, '"n":"'));
        bytes memory e = _base64url(_stringField(json, objStart, objEnd, '"e":"'));
        if (n.length == 0 || e.length == 0) revert AZURE_AK_NOT_FOUND("n/e");
        key.sigScheme = TPM_ALG_RSASSA;
        key.curve = 0;
        key.hashAlgo = TPM_ALG_SHA256;
        key.data = LibDer.encodeRsaPublicKey(n, e);
    }

    function _stringField(bytes memory json, uint256 from, uint256 to, string memory tag)
        private
        pure
        returns (bytes memory)
    {
        uint256 p = json.indexOf(bytes(tag), from);
        if (p == type(uint256).max || p >= to) revert AZURE_AK_NOT_FOUND(tag);
        uint256 s = p + bytes(tag).length;
        uint256 q = json.indexOf(bytes('"'), s);
        if (q == type(uint256).max || q > to) revert AZURE_AK_NOT_FOUND(tag);
        return json.slice(s, q - s);
    }

    function _sextet(uint8 c) private pure returns (uint256) {
        if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z
        if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26; // a-z
        if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52; // 0-9
        if (c == 0x2d || c == 0x2b) return 62; // '-' or '+'
        if (c == 0x5f || c == 0x2f) return 63; // '_' or '/'
        revert AZURE_AK_NOT_FOUND("base64 character");
    }

    function _base64url(bytes memory s) private pure returns (bytes memory out) {
        uint256 len = s.length;
        while (len > 0 && s[len - 1] == "=") len--;
        if (len % 4 == 1) revert AZURE_AK_NOT_FOUND("base64 length");
        out = new bytes((len * 3) / 4);
        uint256 acc;
        uint256 bitsHeld;
        uint256 o;
        for (uint256 i = 0; i < len; i++) {
            acc = (acc << 6) | _sextet(uint8(s[i]));
            bitsHeld += 6;
            if (bitsHeld >= 8) {
                bitsHeld -= 8;
                out[o++] = bytes1(uint8(acc >> bitsHeld));
                acc &= (1 << bitsHeld) - 1;
            }
        }
    }
}
