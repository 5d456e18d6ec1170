// Reconciliation reads: getCvmConfig(h) by eth_call at a block, decoded per layout
// (contracts.md §3.2). The devnet returns the A2 layout (contracts/README.md).
//
// DecodeCvmConfig is pure and thread-safe; it tries the layouts in the order that fits the
// generation of the calls seen (A-era calls: A2 then A1; C: C first; D: D first), each decoded
// strictly, and reports the one that fit. Reconciler issues the reads (in parallel) and is not
// thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cvmwatch/core/registry.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/rpc.h"
#include "cvmwatch/indexer/types.h"

namespace cvmwatch::indexer {

inline constexpr std::string_view kCvmNotRegisteredSelector = "0x75a1d53a";

// Decodes getCvmConfig's return data. `hint` picks the layout order.
ChainConfig DecodeCvmConfig(const Hash32& identity_hash, ByteView output,
                            std::optional<registry::Generation> hint);
// A read that reverted: CVM_NOT_REGISTERED → answered, not registered; anything else → error.
ChainConfig ConfigFromRevert(const Hash32& identity_hash, ByteView revert_data);

// calldata of getCvmConfig(h) (0x4b9d1f69 ‖ h).
Bytes GetCvmConfigCalldata(const Hash32& identity_hash);

// Identity hashes a decoded call touches (targets, new identities).
std::vector<Hash32> TouchedIdentities(const registry::RegistryCall& call);
registry::Generation GenerationOf(const registry::RegistryCall& call);

class Reconciler {
 public:
  Reconciler(RpcClient& client, Address registry) : client_(client), registry_(registry) {}
  // One eth_call per identity, pinned to the block by hash (EIP-1898).
  // Transient RPC failures come back as the (retryable) error; reverts and undecodable
  // outputs are values (ChainConfig::error / registered = false).
  Result<std::vector<ChainConfig>> Read(const Hash32& block_hash, std::span<const Hash32> identities,
                                        std::optional<registry::Generation> hint);
  // Reads for several blocks at once (one CallMany).
  struct Key {
    Hash32 block_hash;
    Hash32 identity;
    std::optional<registry::Generation> hint;
  };
  Result<std::vector<ChainConfig>> ReadMany(std::span<const Key> keys);

 private:
  RpcClient& client_;
  Address registry_;
};

}  // namespace cvmwatch::indexer
