// AK trust per cloud (specs/tpm-and-binding.md §3): the GCP AK certificate chain with the
// contract's rules, and the Azure HCL runtime-data JSON extraction. Internal to verifier/.
#pragma once

#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/registry.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::verifier::detail {

// certs = [leaf AK, intermediates..., root] (DER). Returns the leaf's key as a CertPubkey.
Result<registry::CertPubkey> VerifyAkCertChain(const std::vector<Bytes>& certs,
                                               const std::vector<Bytes>& trusted_roots, TimePoint at);

// The HCLAkPub RSA key from Azure's runtime-data JSON, with the seed's byte-exact substring rules.
Result<registry::CertPubkey> ExtractHclAk(ByteView runtime_json);

// DER RSAPublicKey from big-endian n and e, as the seed's newRsaPubkey builds it.
Bytes RsaPublicKeyDer(ByteView n, ByteView e);

}  // namespace cvmwatch::verifier::detail
