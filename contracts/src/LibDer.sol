// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Pubkey, TPM_ALG_ECDSA, TPM_ALG_RSASSA, TPM_ALG_SHA256, TPM_ECC_NIST_P256} from "./CVMTypes.sol";
import {LibBytes} from "./LibBytes.sol";

/// Just enough DER to read a public key: the SubjectPublicKeyInfo of an X.509 certificate
/// (P-256 or RSA) and a PKCS#1 RSAPublicKey. Nothing is validated beyond the structure:
/// no signature, validity period, extension or issuer check happens here.
library LibDer {
    using LibBytes for bytes;

    // OID contents (without tag/length)
    bytes constant OID_EC_PUBLIC_KEY = hex"2a8648ce3d0201"; // 1.2.840.10045.2.1
    bytes constant OID_PRIME256V1 = hex"2a8648ce3d030107"; // 1.2.840.10045.3.1.7
    bytes constant OID_RSA_ENCRYPTION = hex"2a864886f70d010101"; // 1.2.840.113549.1.1.1

    error DER_MALFORMED(uint256 offset);
    error DER_UNSUPPORTED_KEY();

    struct Node {
        uint8 tag;
        uint256 start; // offset of the tag byte
        uint256 content; // offset of the content
        uint256 len; // content length
    }

    function _node(bytes memory b, uint256 off) private pure returns (Node memory n) {
        if (off + 2 > b.length) revert DER_MALFORMED(off);
        n.tag = uint8(b[off]);
        n.start = off;
        uint8 l0 = uint8(b[off + 1]);
        if (l0 < 0x80) {
            n.len = l0;
            n.content = off + 2;
        } else {
            uint256 count = l0 & 0x7f;
            if (count == 0 || count > 3 || off + 2 + count > b.length) revert DER_MALFORMED(off);
            uint256 l;
            for (uint256 i = 0; i < count; i++) {
                l = (l << 8) | uint8(b[off + 2 + i]);
            }
            n.len = l;
            n.content = off + 2 + count;
        }
        if (n.content + n.len > b.length) revert DER_MALFORMED(off);
    }

    function _next(Node memory n) private pure returns (uint256) {
        return n.content + n.len;
    }

    function _expect(bytes memory b, uint256 off, uint8 tag) private pure returns (Node memory n) {
        n = _node(b, off);
        if (n.tag != tag) revert DER_MALFORMED(off);
    }

    function _equals(bytes memory b, Node memory n, bytes memory want) private pure returns (bool) {
        if (n.len != want.length) return false;
        for (uint256 i = 0; i < want.length; i++) {
            if (b[n.content + i] != want[i]) return false;
        }
        return true;
    }

    /// Public key of an X.509 certificate as a Pubkey (P-256: X||Y; RSA: DER RSAPublicKey).
    function certificatePublicKey(bytes memory cert) internal pure returns (Pubkey memory key) {
        Node memory certSeq = _expect(cert, 0, 0x30);
        Node memory tbs = _expect(cert, certSeq.content, 0x30);
        uint256 p = tbs.content;
        Node memory n = _node(cert, p);
        if (n.tag == 0xa0) p = _next(n); // [0] version
        p = _next(_expect(cert, p, 0x02)); // serialNumber
        p = _next(_expect(cert, p, 0x30)); // signature algorithm
        p = _next(_expect(cert, p, 0x30)); // issuer
        p = _next(_expect(cert, p, 0x30)); // validity
        p = _next(_expect(cert, p, 0x30)); // subject
        Node memory spki = _expect(cert, p, 0x30);
        Node memory algId = _expect(cert, spki.content, 0x30);
        Node memory algOid = _expect(cert, algId.content, 0x06);
        Node memory bits = _expect(cert, _next(algId), 0x03);
        if (bits.len < 2 || cert[bits.content] != 0x00) revert DER_MALFORMED(bits.start);

        if (_equals(cert, algOid, OID_EC_PUBLIC_KEY)) {
            Node memory curveOid = _expect(cert, _next(algOid), 0x06);
            if (!_equals(cert, curveOid, OID_PRIME256V1)) revert DER_UNSUPPORTED_KEY();
            if (bits.len != 66 || cert[bits.content + 1] != 0x04) revert DER_UNSUPPORTED_KEY();
            key.sigScheme = TPM_ALG_ECDSA;
            key.curve = TPM_ECC_NIST_P256;
            key.hashAlgo = TPM_ALG_SHA256;
            key.data = cert.slice(bits.content + 2, 64);
        } else if (_equals(cert, algOid, OID_RSA_ENCRYPTION)) {
            key.sigScheme = TPM_ALG_RSASSA;
            key.curve = 0;
            key.hashAlgo = TPM_ALG_SHA256;
            key.data = cert.slice(bits.content + 1, bits.len - 1);
        } else {
            revert DER_UNSUPPORTED_KEY();
        }
    }

    /// (n without leading zero bytes, e) of a DER RSAPublicKey; ok=false when malformed.
    function parseRsaPublicKey(bytes memory der) internal pure returns (bool ok, bytes memory n, bytes memory e) {
        if (der.length < 8 || der[0] != 0x30) return (false, n, e);
        Node memory seq = _node(der, 0);
        if (_next(seq) != der.length) return (false, n, e);
        Node memory ni = _node(der, seq.content);
        if (ni.tag != 0x02) return (false, n, e);
        Node memory ei = _node(der, _next(ni));
        if (ei.tag != 0x02 || _next(ei) != der.length || ei.len == 0) return (false, n, e);
        uint256 s = ni.content;
        uint256 l = ni.len;
        while (l > 0 && der[s] == 0x00) {
            s++;
            l--;
        }
        if (l == 0) return (false, n, e);
        n = der.slice(s, l);
        e = der.slice(ei.content, ei.len);
        ok = true;
    }

    /// DER RSAPublicKey from big-endian modulus and exponent.
    function encodeRsaPublicKey(bytes memory n, bytes memory e) internal pure returns (bytes memory) {
        bytes memory body = abi.encodePacked(_integer(n), _integer(e));
        return abi.encodePacked(_header(0x30, body.length), body);
    }

    function _integer(bytes memory v) private pure returns (bytes memory) {
        uint256 s = 0;
        while (s + 1 < v.length && v[s] == 0x00) s++;
        bytes memory mag = v.slice(s, v.length - s);
        if (uint8(mag[0]) >= 0x80) mag = abi.encodePacked(hex"00", mag);
        return abi.encodePacked(_header(0x02, mag.length), mag);
    }

    function _header(uint8 tag, uint256 len) private pure returns (bytes memory) {
        if (len < 0x80) return abi.encodePacked(tag, uint8(len));
        if (len < 0x100) return abi.encodePacked(tag, uint8(0x81), uint8(len));
        if (len < 0x10000) return abi.encodePacked(tag, uint8(0x82), uint16(len));
        revert DER_MALFORMED(len);
    }
}
