#include "cvmwatch/indexer/reconcile.h"

#include <array>

#include "cvmwatch/core/abi.h"
#include "detail/json.h"
#include "detail/rpc_util.h"

namespace cvmwatch::indexer {
namespace {

using registry::Generation;

struct Layout {
  const char* name;
  const char* type;
};

#define CVMW_PUBKEY "(uint16,uint16,uint16,bytes)"
#define CVMW_CERT "(uint16,uint16,bytes)"
constexpr Layout kA2{"A2", "((uint8,uint8,uint64,uint64,uint64,uint64,bytes32,bytes," CVMW_PUBKEY "," CVMW_PUBKEY "))"};
constexpr Layout kA1{"A1", "((uint8,uint8,uint64,uint64,uint64,uint64,bytes32," CVMW_PUBKEY ",bytes))"};
constexpr Layout kC{"C", "((uint8,uint8,uint64,uint64,uint64,uint64,bytes32,bytes,(" CVMW_CERT ",(uint16,uint16))," CVMW_CERT "))"};
constexpr Layout kD{"D", "((uint8,uint8,uint64,bytes32,(bytes,(uint16,uint16))," CVMW_CERT ",bytes))"};

const abi::Type& TypeOf(const Layout& l) {
  static const std::array<std::pair<const Layout*, abi::Type>, 4> types = [] {
    auto parse = [](const Layout& x) {
      auto t = abi::ParseType(x.type);
      return t.ok() ? *t : abi::Type{};
    };
    return std::array<std::pair<const Layout*, abi::Type>, 4>{
        {{&kA2, parse(kA2)}, {&kA1, parse(kA1)}, {&kC, parse(kC)}, {&kD, parse(kD)}}};
  }();
  for (const auto& [p, t] : types) {
    if (p->name == l.name) return t;
  }
  return types[0].second;
}

const abi::ValueList& L(const abi::Value& v) { return *v.AsList(); }
std::uint64_t U64(const abi::Value& v) { return v.AsUint()->low64(); }
std::uint16_t U16(const abi::Value& v) { return static_cast<std::uint16_t>(v.AsUint()->low64()); }
Hash32 H(const abi::Value& v) {
  Hash32 h;
  const Bytes& b = *v.AsBytes();
  std::copy(b.begin(), b.end(), h.bytes.begin());
  return h;
}

registry::IdentityKey PubkeyOf(const abi::Value& v) {
  const auto& t = L(v);
  registry::IdentityKey k;
  k.form = registry::IdentityForm::kPubkey;
  k.sig_scheme = U16(t[0]);
  k.curve = U16(t[1]);
  k.hash_algo = U16(t[2]);
  k.data = *t[3].AsBytes();
  return k;
}

registry::IdentityKey CertPubkeyOf(const abi::Value& v) {
  const auto& t = L(v);
  registry::IdentityKey k;
  k.form = registry::IdentityForm::kCertPubkey;
  k.key_algo = U16(t[0]);
  k.curve = U16(t[1]);
  k.data = *t[2].AsBytes();
  return k;
}

void Fill(const Layout& layout, const abi::ValueList& f, ChainConfig& c) {
  c.layout = layout.name;
  c.tee_type = static_cast<std::uint8_t>(U64(f[0]));
  c.cloud_type = static_cast<std::uint8_t>(U64(f[1]));
  if (&layout == &kD) {
    c.expired_at = U64(f[2]);
    c.measurement_hash = H(f[3]);
    const auto& ident = L(f[4]);
    registry::IdentityKey k;
    k.form = registry::IdentityForm::kTpmtPublic;
    k.tpmt_public = *ident[0].AsBytes();
    k.sig_scheme = U16(L(ident[1])[0]);
    k.hash_algo = U16(L(ident[1])[1]);
    c.cvm_identity = k;
    c.tpm_ak = CertPubkeyOf(f[5]);
    c.tee_attestation_output = *f[6].AsBytes();
    return;
  }
  c.tee_ttl = U64(f[2]);
  c.tpm_ttl = U64(f[3]);
  c.tee_recent_timestamp = U64(f[4]);
  c.tpm_recent_timestamp = U64(f[5]);
  c.measurement_hash = H(f[6]);
  if (&layout == &kA1) {
    c.cvm_identity = PubkeyOf(f[7]);
    c.tee_attestation_output = *f[8].AsBytes();
  } else if (&layout == &kA2) {
    c.tee_attestation_output = *f[7].AsBytes();
    c.cvm_identity = PubkeyOf(f[8]);
    c.tpm_ak = PubkeyOf(f[9]);
  } else {  // C
    c.tee_attestation_output = *f[7].AsBytes();
    const auto& ident = L(f[8]);
    registry::IdentityKey k = CertPubkeyOf(ident[0]);
    k.sig_scheme = U16(L(ident[1])[0]);
    k.hash_algo = U16(L(ident[1])[1]);
    c.cvm_identity = k;
    c.tpm_ak = CertPubkeyOf(f[9]);
  }
}

}  // namespace

ChainConfig DecodeCvmConfig(const Hash32& identity_hash, ByteView output,
                            std::optional<registry::Generation> hint) {
  std::array<const Layout*, 4> order{&kA2, &kA1, &kC, &kD};
  if (hint == Generation::kC) order = {&kC, &kA2, &kA1, &kD};
  if (hint == Generation::kD) order = {&kD, &kC, &kA2, &kA1};
  ChainConfig c;
  c.identity_hash = identity_hash;
  std::string errors;
  for (const Layout* layout : order) {
    auto v = abi::Decode(TypeOf(*layout), output);
    if (!v.ok()) {
      errors += std::string(errors.empty() ? "" : "; ") + layout->name + ": " + v.error().message;
      continue;
    }
    c.answered = true;
    c.registered = true;
    Fill(*layout, L(L(*v)[0]), c);
    return c;
  }
  c.error = "getCvmConfig output fits no known layout (" + errors + ")";
  return c;
}

ChainConfig ConfigFromRevert(const Hash32& identity_hash, ByteView revert_data) {
  ChainConfig c;
  c.identity_hash = identity_hash;
  c.revert_data = Bytes(revert_data.begin(), revert_data.end());
  if (ToHex(revert_data) == kCvmNotRegisteredSelector) {
    c.answered = true;
    c.registered = false;
  } else {
    c.error = "getCvmConfig reverted " + ToHex(revert_data.subspan(0, std::min<std::size_t>(revert_data.size(), 68)));
  }
  return c;
}

Bytes GetCvmConfigCalldata(const Hash32& identity_hash) {
  Bytes out(36, 0);
  out[0] = 0x4b;
  out[1] = 0x9d;
  out[2] = 0x1f;
  out[3] = 0x69;
  std::copy(identity_hash.bytes.begin(), identity_hash.bytes.end(), out.begin() + 4);
  return out;
}

std::vector<Hash32> TouchedIdentities(const registry::RegistryCall& call) {
  return std::visit(
      [](const auto& c) -> std::vector<Hash32> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, registry::AttestCall>) {
          return {c.identity_hash};
        } else if constexpr (std::is_same_v<T, registry::ReattestCall> ||
                             std::is_same_v<T, registry::ReattestFullyCall> ||
                             std::is_same_v<T, registry::RotateCall>) {
          if (c.new_identity_hash == c.target_identity_hash) return {c.target_identity_hash};
          return {c.target_identity_hash, c.new_identity_hash};
        } else {
          return {c.target_identity_hash};
        }
      },
      call);
}

registry::Generation GenerationOf(const registry::RegistryCall& call) {
  return std::visit([](const auto& c) { return c.generation; }, call);
}

Result<std::vector<ChainConfig>> Reconciler::Read(const Hash32& block_hash, std::span<const Hash32> identities,
                                                  std::optional<registry::Generation> hint) {
  std::vector<Key> keys;
  keys.reserve(identities.size());
  for (const auto& h : identities) keys.push_back(Key{block_hash, h, hint});
  return ReadMany(keys);
}

Result<std::vector<ChainConfig>> Reconciler::ReadMany(std::span<const Key> keys) {
  std::vector<RpcRequest> requests;
  requests.reserve(keys.size());
  for (const auto& k : keys) {
    requests.push_back(RpcRequest{
        "eth_call", "[{\"to\":\"" + registry_.ToHex() + "\",\"data\":\"" + ToHex(GetCvmConfigCalldata(k.identity)) +
                        "\"},{\"blockHash\":\"" + k.block_hash.ToHex() + "\"}]"});
  }
  auto replies = detail::CallManyRetrying(client_, requests);
  std::vector<ChainConfig> out;
  out.reserve(keys.size());
  detail::JsonParser parser;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const Hash32& h = keys[i].identity;
    if (replies[i].ok()) {
      auto hex = detail::ParseString(parser, *replies[i]);
      auto bytes = hex.ok() ? HexToBytes(*hex) : Result<Bytes>(hex.error());
      if (!bytes.ok()) {
        ChainConfig c;
        c.identity_hash = h;
        c.error = "getCvmConfig: " + bytes.error().message;
        out.push_back(std::move(c));
        continue;
      }
      out.push_back(DecodeCvmConfig(h, *bytes, keys[i].hint));
      continue;
    }
    const auto rpc = ParseRpcError(replies[i].error());
    if (rpc && !rpc->data.empty()) {
      auto data = HexToBytes(rpc->data);
      if (data.ok()) {
        out.push_back(ConfigFromRevert(h, *data));
        continue;
      }
    }
    // Transient failures are retried by the caller, never recorded as chain state.
    if (replies[i].error().retryable) return replies[i].error();
    ChainConfig c;
    c.identity_hash = h;
    c.error = "getCvmConfig: " + replies[i].error().message;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace cvmwatch::indexer
