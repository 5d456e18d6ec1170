// Strict standard base64 (RFC 4648 §4, with '=' padding). Decoding rejects characters outside the
// alphabet (naming the position), wrong padding and non-zero trailing bits, so that one byte
// string has exactly one accepted text form. ASCII whitespace is not accepted. Pure, thread-safe.
#pragma once

#include "cvmwatch/core/bytes.h"

namespace cvmwatch {

Result<Bytes> Base64Decode(std::string_view text);
std::string Base64Encode(ByteView bytes);

}  // namespace cvmwatch
