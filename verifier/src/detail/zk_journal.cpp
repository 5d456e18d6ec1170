#include "detail/zk_journal.h"

#include "cvmwatch/core/abi.h"

namespace cvmwatch::verifier::detail {
namespace {

const abi::Type& ZkProofType() {
  static const abi::Type t = abi::ParseType("((bytes,bytes))").value();
  return t;
}
// Numeric fields decoded as uint256 and range-checked here, so that a journal whose enum or
// integer widths differ still decodes and is judged on its values.
const abi::Type& JournalType() {
  static const abi::Type t =
      abi::ParseType("((uint256,uint256,uint256,bytes,bytes32[],uint256[],uint256))").value();
  return t;
}

Result<std::uint64_t> Small(const abi::Value& v, const char* field) {
  const auto n = v.AsUint()->ToU64();
  if (!n) return MakeError(ErrorCode::kAbiNonCanonical, std::string("journal ") + field + " out of range");
  return *n;
}

}  // namespace

Result<ZkProof> DecodeZkProof(ByteView tee_report) {
  auto v = abi::Decode(ZkProofType(), tee_report);
  if (!v.ok()) return MakeError(v.error().code, "ZkProof: " + v.error().message);
  const auto& inner = *(*v->AsList())[0].AsList();
  return ZkProof{*inner[0].AsBytes(), *inner[1].AsBytes()};
}

Result<VerifierJournal> DecodeVerifierJournal(ByteView output) {
  auto v = abi::Decode(JournalType(), output);
  if (!v.ok()) return MakeError(v.error().code, "VerifierJournal: " + v.error().message);
  const auto& f = *(*v->AsList())[0].AsList();
  VerifierJournal j;
  CVMW_ASSIGN_OR_RETURN(j.result, Small(f[0], "result"));
  CVMW_ASSIGN_OR_RETURN(j.timestamp, Small(f[1], "timestamp"));
  CVMW_ASSIGN_OR_RETURN(j.processor_model, Small(f[2], "processorModel"));
  j.raw_report = *f[3].AsBytes();
  for (const auto& c : *f[4].AsList()) j.certs.push_back(Hash32::FromBytes(*c.AsBytes()).value());
  for (const auto& s : *f[5].AsList()) j.cert_serials.push_back(*s.AsUint());
  CVMW_ASSIGN_OR_RETURN(j.trusted_certs_prefix_len, Small(f[6], "trustedCertsPrefixLen"));
  return j;
}

}  // namespace cvmwatch::verifier::detail
