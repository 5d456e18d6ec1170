// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Bytes48} from "./CVMTypes.sol";

/// Bounds-checked reads from memory byte strings.
library LibBytes {
    error BYTES_OUT_OF_RANGE(uint256 offset, uint256 length, uint256 available);

    function _check(bytes memory b, uint256 off, uint256 len) private pure {
        if (off + len > b.length) revert BYTES_OUT_OF_RANGE(off, len, b.length);
    }

    function slice(bytes memory b, uint256 off, uint256 len) internal pure returns (bytes memory out) {
        _check(b, off, len);
        out = new bytes(len);
        assembly ("memory-safe") {
            let src := add(add(b, 0x20), off)
            let dst := add(out, 0x20)
            mcopy(dst, src, len)
        }
    }

    /// 32 bytes at off (the read must fit).
    function word(bytes memory b, uint256 off) internal pure returns (bytes32 w) {
        _check(b, off, 32);
        assembly ("memory-safe") {
            w := mload(add(add(b, 0x20), off))
        }
    }

    function u8(bytes memory b, uint256 off) internal pure returns (uint8) {
        _check(b, off, 1);
        return uint8(b[off]);
    }

    function u16be(bytes memory b, uint256 off) internal pure returns (uint16) {
        _check(b, off, 2);
        return (uint16(uint8(b[off])) << 8) | uint16(uint8(b[off + 1]));
    }

    function u16le(bytes memory b, uint256 off) internal pure returns (uint16) {
        _check(b, off, 2);
        return (uint16(uint8(b[off + 1])) << 8) | uint16(uint8(b[off]));
    }

    function u32le(bytes memory b, uint256 off) internal pure returns (uint32) {
        _check(b, off, 4);
        return (uint32(uint8(b[off + 3])) << 24) | (uint32(uint8(b[off + 2])) << 16)
            | (uint32(uint8(b[off + 1])) << 8) | uint32(uint8(b[off]));
    }

    /// 48 bytes at off split into (first 32, last 16).
    function bytes48At(bytes memory b, uint256 off) internal pure returns (Bytes48 memory v) {
        _check(b, off, 48);
        bytes32 a;
        bytes32 c;
        assembly ("memory-safe") {
            let p := add(add(b, 0x20), off)
            a := mload(p)
            c := mload(add(p, 0x20))
        }
        v.first = a;
        v.second = bytes16(c);
    }

    /// Position of `needle` in `b` at or after `from`, or type(uint256).max.
    function indexOf(bytes memory b, bytes memory needle, uint256 from) internal pure returns (uint256) {
        if (needle.length == 0 || b.length < needle.length) return type(uint256).max;
        uint256 last = b.length - needle.length;
        for (uint256 i = from; i <= last; i++) {
            bool hit = true;
            for (uint256 j = 0; j < needle.length; j++) {
                if (b[i + j] != needle[j]) {
                    hit = false;
                    break;
                }
            }
            if (hit) return i;
        }
        return type(uint256).max;
    }

    function isZero(bytes memory b) internal pure returns (bool) {
        for (uint256 i = 0; i < b.length; i++) {
            if (b[i] != 0) return false;
        }
        return true;
    }
}
