// What the verifier needs to remember about a registration to verify the identity's later
// re-attestations (A2 semantics: the AK and the TEE output stored at registration), as a compact,
// versioned byte string the store keeps with the identity. Decoding is bounded (ABI codec) and a
// corrupt or foreign blob is a clear error. Pure and thread-safe.
#pragma once

#include <optional>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/verifier/verdict.h"

namespace cvmwatch::verifier {

struct RegisteredEvidence {
  std::optional<registry::CertPubkey> ak;
  std::optional<TeeFacts> tee;
};

Bytes EncodeRegisteredEvidence(const RegisteredEvidence& evidence);
Result<RegisteredEvidence> DecodeRegisteredEvidence(ByteView blob);

}  // namespace cvmwatch::verifier
