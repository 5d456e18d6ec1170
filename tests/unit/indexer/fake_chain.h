// Test double of an EVM node: a scriptable in-memory chain that answers the JSON-RPC methods the
// indexer uses (eth_chainId, eth_blockNumber, eth_getBlockByNumber/Hash, eth_getLogs,
// eth_getTransactionReceipt, debug_traceTransaction, eth_call, eth_getStorageAt), with knobs for
// the failures real providers produce (getLogs range limits with provider-style messages, a
// lagging node, tracing unsupported, injected errors), and reorg / rollback operations.
// FakeRpcClient exposes it as an RpcClient without any network. Thread-safe (one mutex).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/rpc.h"

namespace cvmwatch::testing {

inline const Address kRegistry = *Address::FromHex("0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac");
inline const Address kTpm = *Address::FromHex("0x5fbdb2315678afecb367f032d93f642f64180aa3");
inline const Address kSender = *Address::FromHex("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
inline const Address kForwarder = *Address::FromHex("0x1111111111111111111111111111111111111111");

struct FakeLog {
  Address address;
  std::vector<Hash32> topics;
  Bytes data;
};

struct FakeTx {
  Hash32 hash;
  Address from = kSender;
  std::optional<Address> to = kRegistry;
  Bytes input;
  bool success = true;
  Bytes output;                  // return data (success) or revert data (failure)
  std::vector<FakeLog> logs;     // emitted only when success
  std::optional<std::string> trace_json;  // overrides the generated callTracer result
};

struct FakeBlock {
  std::uint64_t number = 0;
  Hash32 hash;
  Hash32 parent;
  std::uint64_t timestamp = 0;
  std::vector<FakeTx> txs;
};

// Helpers for building registry traffic.
Hash32 H(std::uint64_t n);  // a deterministic hash for n
Bytes TtlCalldata(const Hash32& identity, std::uint64_t tee_ttl, std::uint64_t tpm_ttl);
FakeLog CvmUpdated(const Hash32& identity);
FakeLog CvmTtlUpdated(const Hash32& identity);
FakeLog Upgraded(const Address& impl);
// A successful setCollateralTTL(identity, ...) sent straight to the registry, emitting CVMTTLUpdated.
FakeTx TtlTx(const Hash32& identity, std::uint64_t tee_ttl = 86'400, std::uint64_t tpm_ttl = 172'800);

class FakeChain {
 public:
  explicit FakeChain(std::uint64_t chain_id = 31337);

  // --- building (all return the new head) -----------------------------------------------------
  const FakeBlock& Mine(std::vector<FakeTx> txs = {});
  void MineEmpty(std::uint64_t n);
  // Replace the newest `depth` blocks with replacements (each its own tx list, may be fewer or
  // more blocks than depth).
  void Reorg(std::uint64_t depth, std::vector<std::vector<FakeTx>> replacement);
  void Rollback(std::uint64_t keep_up_to);  // drop blocks above (silent, like anvil_rollback)

  std::uint64_t Head() const;
  std::optional<FakeBlock> BlockAt(std::uint64_t n) const;
  std::vector<FakeBlock> Blocks() const;

  // --- knobs ----------------------------------------------------------------------------------
  std::atomic<std::uint64_t> getlogs_max_range{0};  // 0: unlimited
  std::string getlogs_error_style = "infura";  // infura | alchemy | results | timeout-ish
  std::atomic<std::uint64_t> lag{0};  // the node reports head - lag and knows nothing above
  std::atomic<std::uint64_t> finalized_depth{64};
  std::atomic<bool> trace_supported_flag{true};
  void SetTraceSupported(bool v) { trace_supported_flag = v; }
  // Return an Error to fail a call (method, params); nullopt to answer normally.
  using Inject = std::function<std::optional<Error>(std::string_view, std::string_view)>;
  void SetInject(Inject f) {
    std::lock_guard lock(mu_);
    inject = std::move(f);
  }
  // eth_call handler: (block number, to, data) → return data, or an Error whose message
  // carries revert data (use Revert()). Default: revert CVM_NOT_REGISTERED().
  using OnCall = std::function<Result<Bytes>(std::uint64_t, const Address&, ByteView)>;
  void SetOnCall(OnCall f) {
    std::lock_guard lock(mu_);
    on_call = std::move(f);
  }
  void SetImplementation(std::optional<Address> a) {
    std::lock_guard lock(mu_);
    implementation = a;
  }
  static Error Revert(ByteView data);

  // --- JSON-RPC -------------------------------------------------------------------------------
  Result<std::string> Handle(std::string_view method, std::string_view params);
  std::uint64_t CallCount(std::string_view method) const;
  std::uint64_t total_calls() const { return total_calls_.load(); }

  // JSON of a block as eth_getBlockByNumber / newHeads show it.
  std::string BlockJson(const FakeBlock& b, bool full) const;
  std::vector<std::string> LogsJson(const FakeBlock& b, bool removed = false) const;

 private:
  const FakeBlock* Find(std::uint64_t n) const;  // lock held; respects lag
  const FakeBlock* FindHash(const Hash32& h) const;
  std::uint64_t VisibleHead() const;
  Hash32 NextHash(std::uint64_t number);

  mutable std::mutex mu_;
  Inject inject;
  OnCall on_call;
  std::optional<Address> implementation;
  std::uint64_t chain_id_;
  std::vector<FakeBlock> blocks_;
  std::uint64_t salt_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> calls_;
  std::atomic<std::uint64_t> total_calls_{0};
};

// RpcClient over a FakeChain (no network). No subscriptions.
class FakeRpcClient final : public indexer::RpcClient {
 public:
  explicit FakeRpcClient(FakeChain& chain) : chain_(chain) {}
  void Start() override {}
  void Stop() override {}
  void Reconnect(std::string_view) override { ++reconnects_; }
  Result<std::string> Call(std::string_view method, std::string_view params,
                           std::optional<std::chrono::milliseconds>) override {
    return chain_.Handle(method, params);
  }
  std::vector<Result<std::string>> CallMany(std::span<const indexer::RpcRequest> requests) override {
    std::vector<Result<std::string>> out;
    for (const auto& r : requests) out.push_back(chain_.Handle(r.method, r.params));
    return out;
  }
  bool SupportsSubscriptions() const override { return false; }
  void SetNotificationHandler(NotificationHandler) override {}
  void SetConnectionHandler(ConnectionHandler) override {}
  Status WaitConnected(std::chrono::milliseconds) override { return OkStatus(); }
  bool Connected() const override { return true; }
  std::uint64_t ConnectionGeneration() const override { return 1; }
  std::string Endpoint() const override { return "fake://chain"; }
  Counters GetCounters() const override { return {}; }
  int reconnects_ = 0;

 private:
  FakeChain& chain_;
};

}  // namespace cvmwatch::testing
