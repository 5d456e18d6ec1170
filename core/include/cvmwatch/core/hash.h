// Cryptographic digests: Keccak-256 (Ethereum's, 0x01 padding; from Crypto++ because OpenSSL 3.0
// has none), SHA-256 and SHA-384 (OpenSSL). Pure and thread-safe; no errors (inputs of any size).
#pragma once

#include "cvmwatch/core/bytes.h"

namespace cvmwatch {

using Hash48 = FixedBytes<48>;

Hash32 Keccak256(ByteView data);
Hash32 Sha256(ByteView data);
Hash48 Sha384(ByteView data);

// 4-byte function selector / 32-byte event topic0 of a canonical signature such as
// "transfer(address,uint256)". The signature is hashed as given: pass it canonical.
Selector FunctionSelector(std::string_view canonical_signature);
Hash32 EventTopic(std::string_view canonical_signature);

}  // namespace cvmwatch
