#include "cvmwatch/core/registry.h"

#include <array>
#include <cassert>

#include "cvmwatch/core/hash.h"

namespace cvmwatch::registry {
namespace {

#define CVMW_WC6 "(bytes,bytes,(uint256,bytes32,bytes32[],uint256[],bool)[],bytes,bytes,bytes[])"
#define CVMW_WC7 \
  "(bytes,bytes,(uint256,bytes32,bytes32[],uint256[],bool)[],bytes,bytes,bytes[],(uint16,uint16,uint16,bytes))"
#define CVMW_C_IDENTITY "((uint16,uint16,bytes),(uint16,uint16))"
#define CVMW_D_IDENTITY "(bytes,(uint16,uint16))"

constexpr std::array<CallSpec, 10> kCalls = {{
    {"attestCvm", Generation::kA1, "attestCvm(uint8,uint8,uint8,bytes," CVMW_WC7 ")"},
    {"reattestCvmWithTpm", Generation::kA1, "reattestCvmWithTpm(bytes32,bytes," CVMW_WC7 ")"},
    // Unchanged from A0 to C; reported as A1, the generation of the seed's data.
    {"setCollateralTTL", Generation::kA1, "setCollateralTTL(bytes32,uint64,uint64,bytes)"},
    {"registerCvm", Generation::kA0, "registerCvm(uint8,uint8,uint8,bytes," CVMW_WC7 ")"},
    {"reattestCvmFully", Generation::kA0, "reattestCvmFully(bytes32,uint8,bytes,bytes," CVMW_WC7 ")"},
    {"attestCvm", Generation::kC, "attestCvm(uint8,uint8,uint8,bytes," CVMW_C_IDENTITY "," CVMW_WC6 ")"},
    {"reattestCvmWithTpm", Generation::kC,
     "reattestCvmWithTpm(bytes32,bytes," CVMW_C_IDENTITY "," CVMW_WC6 ")"},
    {"registerCvm", Generation::kD,
     "registerCvm(uint8,uint8,uint64,uint8,bytes," CVMW_D_IDENTITY ",(bytes,bytes)," CVMW_WC6 ")"},
    {"refreshCvm", Generation::kD, "refreshCvm(bytes32,uint64,uint8,bytes," CVMW_WC6 ")"},
    {"rotateCvmIdentityKey", Generation::kD,
     "rotateCvmIdentityKey(bytes32," CVMW_D_IDENTITY ",(bytes,bytes))"},
}};

constexpr std::array<EventSpec, 20> kEvents = {{
    {"CVMUpdated", "CVMUpdated(bytes32)", "A1 A2 B C"},
    {"CVMTTLUpdated", "CVMTTLUpdated(bytes32)", "A1 A2 B C"},
    {"CVMRegistered", "CVMRegistered(bytes32)", "A0 D"},
    {"CVMIdentityRotated", "CVMIdentityRotated(bytes32,bytes32)", "A0 D"},
    {"CVMCollateralUpdated", "CVMCollateralUpdated(bytes32,uint64,uint64)", "A0"},
    {"CVMTTLUpdated", "CVMTTLUpdated(bytes32,uint64,uint64)", "A0"},
    {"CVMRefreshed", "CVMRefreshed(bytes32)", "D"},
    {"Upgraded", "Upgraded(address)", "proxy"},
    {"OwnershipTransferred", "OwnershipTransferred(address,address)", "proxy"},
    {"Initialized", "Initialized(uint64)", "proxy"},
    {"Initialized", "Initialized(uint8)", "proxy"},
    {"AdminChanged", "AdminChanged(address,address)", "proxy"},
    {"TpmSignatureVerified", "TpmSignatureVerified(bytes32)", "tpm"},
    {"TpmMeasurementChecked", "TpmMeasurementChecked(bytes32,bytes32,bytes)", "tpm"},
    {"AddCA", "AddCA(bytes)", "tpm"},
    {"RemoveCA", "RemoveCA(bytes)", "tpm"},
    {"IntermediateCertRemoved", "IntermediateCertRemoved(bytes32)", "tpm"},
    {"CertificateRevoked", "CertificateRevoked(bytes32,bytes,bytes,uint256,string)", "tpm"},
    {"CRLUpdated", "CRLUpdated(bytes32,bytes,bytes,bytes32,uint256,uint256)", "tpm"},
    {"StrictCRLModeChanged", "StrictCRLModeChanged(bool)", "tpm"},
}};

struct Tables {
  std::vector<abi::Function> functions;  // parallel to kCalls
  std::vector<Hash32> topics;            // parallel to kEvents
};

const Tables& GetTables() {
  static const Tables tables = [] {
    Tables t;
    for (const auto& spec : kCalls) {
      auto fn = abi::ParseFunction(spec.signature);
      assert(fn.ok() && "registry call table holds a bad signature");
      t.functions.push_back(std::move(fn).value());
    }
    for (const auto& ev : kEvents) t.topics.push_back(EventTopic(ev.signature));
    return t;
  }();
  return tables;
}

// Accessors over a decoded tree whose shape the decoder already checked against the type.
const abi::ValueList& L(const abi::Value& v) {
  const auto* p = v.AsList();
  assert(p);
  return *p;
}
const Bytes& B(const abi::Value& v) {
  const auto* p = v.AsBytes();
  assert(p);
  return *p;
}
const U256& U(const abi::Value& v) {
  const auto* p = v.AsUint();
  assert(p);
  return *p;
}
std::uint64_t U64(const abi::Value& v) { return U(v).low64(); }  // uint8..uint64 are range-checked
std::uint8_t U8(const abi::Value& v) { return static_cast<std::uint8_t>(U64(v)); }
std::uint16_t U16(const abi::Value& v) { return static_cast<std::uint16_t>(U64(v)); }
Hash32 H(const abi::Value& v) { return Hash32::FromBytes(B(v)).value(); }

MeasurablePcr ToPcr(const abi::Value& v) {
  const auto& f = L(v);
  MeasurablePcr pcr;
  pcr.index = U(f[0]);
  pcr.pcr = H(f[1]);
  for (const auto& e : L(f[2])) pcr.all_events.push_back(H(e));
  for (const auto& i : L(f[3])) pcr.measure_events_idx.push_back(U(i));
  pcr.measure_pcr = *f[4].AsBool();
  return pcr;
}

IdentityKey ToPubkeyA(const abi::Value& v) {
  const auto& f = L(v);
  IdentityKey key;
  key.form = IdentityForm::kPubkey;
  key.sig_scheme = U16(f[0]);
  key.curve = U16(f[1]);
  key.hash_algo = U16(f[2]);
  key.data = B(f[3]);
  return key;
}

IdentityKey ToIdentityC(const abi::Value& v) {
  const auto& f = L(v);
  const auto& pub = L(f[0]);
  const auto& alg = L(f[1]);
  IdentityKey key;
  key.form = IdentityForm::kCertPubkey;
  key.key_algo = U16(pub[0]);
  key.curve = U16(pub[1]);
  key.data = B(pub[2]);
  key.sig_scheme = U16(alg[0]);
  key.hash_algo = U16(alg[1]);
  return key;
}

Result<IdentityKey> ToIdentityD(const abi::Value& v) {
  const auto& f = L(v);
  const auto& alg = L(f[1]);
  IdentityKey key;
  key.form = IdentityForm::kTpmtPublic;
  key.tpmt_public = B(f[0]);
  key.sig_scheme = U16(alg[0]);
  key.hash_algo = U16(alg[1]);
  CVMW_ASSIGN_OR_RETURN(CertPubkey pub, CertPubkeyFromTpmtPublic(key.tpmt_public));
  key.key_algo = pub.algo;
  key.curve = pub.params;
  key.data = std::move(pub.data);
  return key;
}

WorkloadCollaterals ToWc(const abi::Value& v) {
  const auto& f = L(v);
  WorkloadCollaterals wc;
  wc.tpm_quote = B(f[0]);
  wc.tpm_signature = B(f[1]);
  for (const auto& p : L(f[2])) wc.pcrs.push_back(ToPcr(p));
  wc.report_id = B(f[3]);
  wc.ak_pub = B(f[4]);
  for (const auto& c : L(f[5])) wc.certs.push_back(B(c));
  if (f.size() == 7) wc.cvm_identity = ToPubkeyA(f[6]);
  return wc;
}

IdentityCertification ToCertification(const abi::Value& v) {
  const auto& f = L(v);
  return IdentityCertification{B(f[0]), B(f[1])};
}

// Minimal DER for RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }.
void AppendDerLength(Bytes& out, std::size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<std::uint8_t>(len));
    return;
  }
  Bytes be;
  for (std::size_t v = len; v > 0; v >>= 8) be.insert(be.begin(), static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(0x80 | be.size()));
  out.insert(out.end(), be.begin(), be.end());
}
void AppendDerInteger(Bytes& out, ByteView be_unsigned) {
  std::size_t start = 0;
  while (start + 1 < be_unsigned.size() && be_unsigned[start] == 0) ++start;
  Bytes body;
  if (be_unsigned.empty()) {
    body.push_back(0);
  } else {
    if (be_unsigned[start] & 0x80) body.push_back(0);
    body.insert(body.end(), be_unsigned.begin() + start, be_unsigned.end());
  }
  out.push_back(0x02);
  AppendDerLength(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
}

class TpmReader {
 public:
  explicit TpmReader(ByteView data) : data_(data) {}
  Result<std::uint16_t> U16(std::string_view what) {
    if (data_.size() - pos_ < 2) return Truncated(what);
    const std::uint16_t v = static_cast<std::uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<std::uint32_t> U32(std::string_view what) {
    if (data_.size() - pos_ < 4) return Truncated(what);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | data_[pos_ + i];
    pos_ += 4;
    return v;
  }
  Result<ByteView> Sized(std::string_view what) {
    CVMW_ASSIGN_OR_RETURN(std::uint16_t len, U16(what));
    if (data_.size() - pos_ < len) return Truncated(what);
    ByteView out = data_.subspan(pos_, len);
    pos_ += len;
    return out;
  }

 private:
  Error Truncated(std::string_view what) const {
    return MakeError(ErrorCode::kAbiTruncated, "TPMT_PUBLIC truncated in " + std::string(what) +
                                                   " at byte " + std::to_string(pos_));
  }
  ByteView data_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string_view GenerationName(Generation g) {
  switch (g) {
    case Generation::kA0: return "A0";
    case Generation::kA1: return "A1";
    case Generation::kC: return "C";
    case Generation::kD: return "D";
  }
  return "?";
}

std::string CloudName(std::uint8_t cloud) {
  switch (cloud) {
    case 0: return "unset";
    case 1: return "gcp";
    case 2: return "azure";
    default: return "unknown(" + std::to_string(cloud) + ")";
  }
}

std::string TeeName(std::uint8_t tee) {
  switch (tee) {
    case 0: return "unknown";
    case 1: return "tdx";
    case 2: return "sev-snp";
    default: return "unknown(" + std::to_string(tee) + ")";
  }
}

std::string TeeReportTypeName(std::uint8_t report_type) {
  switch (report_type) {
    case 0: return "unset";
    case 1: return "solidity";
    case 2: return "zk-succinct";
    case 3: return "zk-risc0";
    default: return "unknown(" + std::to_string(report_type) + ")";
  }
}

Hash32 IdentityHash(const IdentityKey& key) {
  Bytes preimage;
  preimage.reserve(6 + key.data.size());
  AppendBe16(preimage, key.sig_scheme);
  AppendBe16(preimage, key.curve);
  AppendBe16(preimage, key.hash_algo);
  preimage.insert(preimage.end(), key.data.begin(), key.data.end());
  return Keccak256(preimage);
}

Result<CertPubkey> CertPubkeyFromTpmtPublic(ByteView tpmt_public) {
  TpmReader r(tpmt_public);
  CVMW_ASSIGN_OR_RETURN(std::uint16_t type, r.U16("type"));
  CVMW_ASSIGN_OR_RETURN(std::uint16_t name_alg, r.U16("nameAlg"));
  (void)name_alg;
  CVMW_ASSIGN_OR_RETURN(std::uint32_t attributes, r.U32("objectAttributes"));
  (void)attributes;
  CVMW_ASSIGN_OR_RETURN(ByteView auth_policy, r.Sized("authPolicy"));
  (void)auth_policy;
  // TPMT_SYM_DEF_OBJECT: algorithm, then keyBits + mode unless NULL.
  CVMW_ASSIGN_OR_RETURN(std::uint16_t sym, r.U16("symmetric"));
  if (sym != kTpmAlgNull) {
    CVMW_RETURN_IF_ERROR(r.U16("symmetric.keyBits"));
    CVMW_RETURN_IF_ERROR(r.U16("symmetric.mode"));
  }
  CVMW_ASSIGN_OR_RETURN(std::uint16_t scheme, r.U16("scheme"));
  if (scheme != kTpmAlgNull) CVMW_RETURN_IF_ERROR(r.U16("scheme.hashAlg"));
  CertPubkey out;
  if (type == kTpmAlgEcc) {
    CVMW_ASSIGN_OR_RETURN(std::uint16_t curve, r.U16("curveID"));
    CVMW_ASSIGN_OR_RETURN(std::uint16_t kdf, r.U16("kdf"));
    if (kdf != kTpmAlgNull) CVMW_RETURN_IF_ERROR(r.U16("kdf.hashAlg"));
    CVMW_ASSIGN_OR_RETURN(ByteView x, r.Sized("unique.x"));
    CVMW_ASSIGN_OR_RETURN(ByteView y, r.Sized("unique.y"));
    if (x.size() != 32 || y.size() != 32) {
      return MakeError(ErrorCode::kUnsupportedKey,
                       "ECC point coordinates must be 32 bytes each (got " +
                           std::to_string(x.size()) + " and " + std::to_string(y.size()) + ")");
    }
    out.algo = kTpmAlgEcc;
    out.params = curve;
    out.data.push_back(0x04);
    out.data.insert(out.data.end(), x.begin(), x.end());
    out.data.insert(out.data.end(), y.begin(), y.end());
    return out;
  }
  if (type == kTpmAlgRsa) {
    CVMW_RETURN_IF_ERROR(r.U16("keyBits"));
    CVMW_ASSIGN_OR_RETURN(std::uint32_t exponent, r.U32("exponent"));
    CVMW_ASSIGN_OR_RETURN(ByteView n, r.Sized("unique.n"));
    if (exponent == 0) exponent = 65537;  // TPM 2.0: 0 means the default exponent
    const std::uint8_t e_be[4] = {static_cast<std::uint8_t>(exponent >> 24),
                                  static_cast<std::uint8_t>(exponent >> 16),
                                  static_cast<std::uint8_t>(exponent >> 8),
                                  static_cast<std::uint8_t>(exponent)};
    Bytes body;
    AppendDerInteger(body, n);
    AppendDerInteger(body, ByteView(e_be, 4));
    out.algo = kTpmAlgRsa;
    out.params = 0;
    out.data.push_back(0x30);
    AppendDerLength(out.data, body.size());
    out.data.insert(out.data.end(), body.begin(), body.end());
    return out;
  }
  return MakeError(ErrorCode::kUnsupportedKey,
                   "TPMT_PUBLIC type " + ToHex(ByteView(tpmt_public.first(2))) +
                       " is neither ECC (0x0023) nor RSA (0x0001)");
}

std::span<const CallSpec> KnownCalls() { return kCalls; }

const abi::Function* FindCall(const Selector& selector, const CallSpec** spec_out) {
  const Tables& t = GetTables();
  for (std::size_t i = 0; i < t.functions.size(); ++i) {
    if (t.functions[i].selector == selector) {
      if (spec_out) *spec_out = &kCalls[i];
      return &t.functions[i];
    }
  }
  return nullptr;
}

std::span<const EventSpec> KnownEvents() { return kEvents; }

const EventSpec* FindEvent(const Hash32& topic0) {
  const Tables& t = GetTables();
  for (std::size_t i = 0; i < t.topics.size(); ++i) {
    if (t.topics[i] == topic0) return &kEvents[i];
  }
  return nullptr;
}

Result<RegistryCall> DecodeRegistryCall(ByteView calldata, const abi::DecodeLimits& limits) {
  if (calldata.size() < 4) {
    return MakeError(ErrorCode::kAbiTruncated, "calldata of " + std::to_string(calldata.size()) +
                                                   " bytes is shorter than a selector");
  }
  const Selector selector = Selector::FromBytes(calldata.first(4)).value();
  const CallSpec* spec = nullptr;
  const abi::Function* fn = FindCall(selector, &spec);
  if (!fn) {
    return MakeError(ErrorCode::kUnknownSelector,
                     "unknown selector " + selector.ToHex() +
                         ": not a registry call of generation A0, A1/A2, C or D");
  }
  auto decoded = abi::Decode(fn->params, calldata.subspan(4), limits);
  if (!decoded.ok()) {
    return MakeError(decoded.error().code, std::string(spec->function) + " (" +
                                               std::string(GenerationName(spec->generation)) +
                                               "): " + decoded.error().message);
  }
  const auto& a = L(*decoded);
  const Generation gen = spec->generation;
  const std::string_view name = spec->function;

  if (name == "attestCvm" || (name == "registerCvm" && gen == Generation::kA0)) {
    AttestCall c;
    c.generation = gen;
    c.cloud_type = U8(a[0]);
    c.tee_type = U8(a[1]);
    c.tee_report_type = U8(a[2]);
    c.tee_report = B(a[3]);
    if (gen == Generation::kC) {
      c.identity = ToIdentityC(a[4]);
      c.wc = ToWc(a[5]);
    } else {
      c.wc = ToWc(a[4]);
      c.identity = *c.wc.cvm_identity;
    }
    c.identity_hash = IdentityHash(c.identity);
    return RegistryCall(std::move(c));
  }
  if (name == "registerCvm") {  // D
    AttestCall c;
    c.generation = gen;
    c.cloud_type = U8(a[0]);
    c.tee_type = U8(a[1]);
    c.tee_ttl = U64(a[2]);
    c.tee_report_type = U8(a[3]);
    c.tee_report = B(a[4]);
    CVMW_ASSIGN_OR_RETURN(c.identity, ToIdentityD(a[5]));
    c.certification = ToCertification(a[6]);
    c.wc = ToWc(a[7]);
    c.identity_hash = IdentityHash(c.identity);
    return RegistryCall(std::move(c));
  }
  if (name == "reattestCvmWithTpm") {
    ReattestCall c;
    c.generation = gen;
    c.target_identity_hash = H(a[0]);
    c.signature = B(a[1]);
    if (gen == Generation::kC) {
      c.new_identity = ToIdentityC(a[2]);
      c.wc = ToWc(a[3]);
    } else {
      c.wc = ToWc(a[2]);
      c.new_identity = *c.wc.cvm_identity;
    }
    c.new_identity_hash = IdentityHash(c.new_identity);
    return RegistryCall(std::move(c));
  }
  if (name == "reattestCvmFully") {
    ReattestFullyCall c;
    c.generation = gen;
    c.target_identity_hash = H(a[0]);
    c.tee_report_type = U8(a[1]);
    c.signature = B(a[2]);
    c.tee_report = B(a[3]);
    c.wc = ToWc(a[4]);
    c.new_identity = *c.wc.cvm_identity;
    c.new_identity_hash = IdentityHash(c.new_identity);
    return RegistryCall(std::move(c));
  }
  if (name == "setCollateralTTL") {
    TtlCall c;
    c.generation = gen;
    c.target_identity_hash = H(a[0]);
    c.tee_ttl = U64(a[1]);
    c.tpm_ttl = U64(a[2]);
    c.signature = B(a[3]);
    return RegistryCall(std::move(c));
  }
  if (name == "refreshCvm") {
    RefreshCall c;
    c.generation = gen;
    c.target_identity_hash = H(a[0]);
    c.tee_ttl = U64(a[1]);
    c.tee_report_type = U8(a[2]);
    c.tee_report = B(a[3]);
    c.wc = ToWc(a[4]);
    return RegistryCall(std::move(c));
  }
  if (name == "rotateCvmIdentityKey") {
    RotateCall c;
    c.generation = gen;
    c.target_identity_hash = H(a[0]);
    CVMW_ASSIGN_OR_RETURN(c.new_identity, ToIdentityD(a[1]));
    c.new_identity_hash = IdentityHash(c.new_identity);
    c.certification = ToCertification(a[2]);
    return RegistryCall(std::move(c));
  }
  return MakeError(ErrorCode::kUnknownSelector, "no decoder for " + std::string(name));
}

std::string_view CallName(const RegistryCall& call) {
  struct Visitor {
    std::string_view operator()(const AttestCall& c) const {
      return c.generation == Generation::kA0 || c.generation == Generation::kD ? "registerCvm"
                                                                                : "attestCvm";
    }
    std::string_view operator()(const ReattestCall&) const { return "reattestCvmWithTpm"; }
    std::string_view operator()(const ReattestFullyCall&) const { return "reattestCvmFully"; }
    std::string_view operator()(const TtlCall&) const { return "setCollateralTTL"; }
    std::string_view operator()(const RefreshCall&) const { return "refreshCvm"; }
    std::string_view operator()(const RotateCall&) const { return "rotateCvmIdentityKey"; }
  };
  return std::visit(Visitor{}, call);
}

}  // namespace cvmwatch::registry
