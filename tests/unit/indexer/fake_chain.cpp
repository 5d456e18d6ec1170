#include "fake_chain.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include <simdjson.h>

#include "cvmwatch/core/abi.h"

namespace cvmwatch::testing {
namespace {

std::string Q(const std::string& s) { return "\"" + s + "\""; }
std::string Qty(std::uint64_t v) { return Q(indexer::HexQuantity(v)); }

Error RpcErr(std::string_view method, std::int64_t code, std::string_view message, std::string_view data = {}) {
  return indexer::MakeRpcError(method, code, message, data);
}

std::optional<std::uint64_t> ParseQty(std::string_view s) {
  if (s.size() < 3 || s.substr(0, 2) != "0x") return std::nullopt;
  try {
    return std::stoull(std::string(s.substr(2)), nullptr, 16);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

Hash32 H(std::uint64_t n) {
  Bytes b;
  AppendBe64(b, n);
  return Keccak256(b);
}

Bytes TtlCalldata(const Hash32& identity, std::uint64_t tee_ttl, std::uint64_t tpm_ttl) {
  auto fn = abi::ParseFunction("setCollateralTTL(bytes32,uint64,uint64,bytes)");
  abi::ValueList args;
  args.push_back(abi::Value::Blob(Bytes(identity.bytes.begin(), identity.bytes.end())));
  args.push_back(abi::Value::Uint(U256(tee_ttl)));
  args.push_back(abi::Value::Uint(U256(tpm_ttl)));
  args.push_back(abi::Value::Blob(Bytes(64, 0xab)));
  auto cd = abi::EncodeCall(*fn, abi::Value::List(std::move(args)));
  return cd.ok() ? *cd : Bytes{};
}

FakeLog CvmUpdated(const Hash32& identity) {
  return FakeLog{kRegistry, {EventTopic("CVMUpdated(bytes32)"), identity}, {}};
}
FakeLog CvmTtlUpdated(const Hash32& identity) {
  return FakeLog{kRegistry, {EventTopic("CVMTTLUpdated(bytes32)"), identity}, {}};
}
FakeLog Upgraded(const Address& impl) {
  Hash32 t;
  std::copy(impl.bytes.begin(), impl.bytes.end(), t.bytes.begin() + 12);
  return FakeLog{kRegistry, {EventTopic("Upgraded(address)"), t}, {}};
}

FakeTx TtlTx(const Hash32& identity, std::uint64_t tee_ttl, std::uint64_t tpm_ttl) {
  static std::atomic<std::uint64_t> counter{1};
  FakeTx tx;
  tx.input = TtlCalldata(identity, tee_ttl, tpm_ttl);
  Bytes seed = tx.input;
  AppendBe64(seed, counter.fetch_add(1));
  tx.hash = Keccak256(seed);
  tx.logs.push_back(CvmTtlUpdated(identity));
  return tx;
}

Error FakeChain::Revert(ByteView data) {
  return RpcErr("eth_call", 3, "execution reverted", "\"" + ToHex(data) + "\"");
}

FakeChain::FakeChain(std::uint64_t chain_id) : chain_id_(chain_id) {
  FakeBlock genesis;
  genesis.number = 0;
  genesis.hash = NextHash(0);
  genesis.timestamp = 1'700'000'000;
  blocks_.push_back(genesis);
}

Hash32 FakeChain::NextHash(std::uint64_t number) {
  Bytes b;
  AppendBe64(b, number);
  AppendBe64(b, ++salt_);
  return Keccak256(b);
}

const FakeBlock& FakeChain::Mine(std::vector<FakeTx> txs) {
  std::lock_guard lock(mu_);
  FakeBlock b;
  b.number = blocks_.back().number + 1;
  b.parent = blocks_.back().hash;
  b.hash = NextHash(b.number);
  b.timestamp = blocks_.back().timestamp + 12;
  b.txs = std::move(txs);
  blocks_.push_back(std::move(b));
  return blocks_.back();
}

void FakeChain::MineEmpty(std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) Mine();
}

void FakeChain::Reorg(std::uint64_t depth, std::vector<std::vector<FakeTx>> replacement) {
  {
    std::lock_guard lock(mu_);
    for (std::uint64_t i = 0; i < depth && blocks_.size() > 1; ++i) blocks_.pop_back();
  }
  for (auto& txs : replacement) Mine(std::move(txs));
}

void FakeChain::Rollback(std::uint64_t keep_up_to) {
  std::lock_guard lock(mu_);
  while (blocks_.size() > 1 && blocks_.back().number > keep_up_to) blocks_.pop_back();
}

std::uint64_t FakeChain::Head() const {
  std::lock_guard lock(mu_);
  return blocks_.back().number;
}

std::optional<FakeBlock> FakeChain::BlockAt(std::uint64_t n) const {
  std::lock_guard lock(mu_);
  if (n >= blocks_.size()) return std::nullopt;
  return blocks_[n];
}

std::vector<FakeBlock> FakeChain::Blocks() const {
  std::lock_guard lock(mu_);
  return blocks_;
}

std::uint64_t FakeChain::VisibleHead() const {
  const std::uint64_t head = blocks_.back().number;
  return head > lag ? head - lag : 0;
}

const FakeBlock* FakeChain::Find(std::uint64_t n) const {
  if (n > VisibleHead() || n >= blocks_.size()) return nullptr;
  return &blocks_[n];
}

const FakeBlock* FakeChain::FindHash(const Hash32& h) const {
  for (const auto& b : blocks_) {
    if (b.hash == h && b.number <= VisibleHead()) return &b;
  }
  return nullptr;
}

std::uint64_t FakeChain::CallCount(std::string_view method) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(method);
  return it == calls_.end() ? 0 : it->second;
}

std::string FakeChain::BlockJson(const FakeBlock& b, bool full) const {
  std::string out = "{\"number\":" + Qty(b.number) + ",\"hash\":" + Q(b.hash.ToHex()) +
                    ",\"parentHash\":" + Q(b.parent.ToHex()) + ",\"timestamp\":" + Qty(b.timestamp) +
                    ",\"miner\":\"0x0000000000000000000000000000000000000000\",\"transactions\":[";
  for (std::size_t i = 0; i < b.txs.size(); ++i) {
    const auto& tx = b.txs[i];
    if (i) out += ",";
    if (!full) {
      out += Q(tx.hash.ToHex());
      continue;
    }
    out += "{\"hash\":" + Q(tx.hash.ToHex()) + ",\"from\":" + Q(tx.from.ToHex()) +
           ",\"to\":" + (tx.to ? Q(tx.to->ToHex()) : std::string("null")) + ",\"input\":" + Q(ToHex(tx.input)) +
           ",\"transactionIndex\":" + Qty(i) + ",\"blockHash\":" + Q(b.hash.ToHex()) +
           ",\"blockNumber\":" + Qty(b.number) + ",\"value\":\"0x0\"}";
  }
  out += "]}";
  return out;
}

std::vector<std::string> FakeChain::LogsJson(const FakeBlock& b, bool removed) const {
  std::vector<std::string> out;
  std::uint64_t log_index = 0;
  for (std::size_t i = 0; i < b.txs.size(); ++i) {
    const auto& tx = b.txs[i];
    if (!tx.success) continue;
    for (const auto& l : tx.logs) {
      std::string topics;
      for (std::size_t t = 0; t < l.topics.size(); ++t) topics += (t ? "," : "") + Q(l.topics[t].ToHex());
      out.push_back("{\"address\":" + Q(l.address.ToHex()) + ",\"topics\":[" + topics + "],\"data\":" +
                    Q(ToHex(l.data)) + ",\"blockNumber\":" + Qty(b.number) + ",\"blockHash\":" + Q(b.hash.ToHex()) +
                    ",\"transactionHash\":" + Q(tx.hash.ToHex()) + ",\"transactionIndex\":" + Qty(i) +
                    ",\"logIndex\":" + Qty(log_index++) + ",\"removed\":" + (removed ? "true" : "false") + "}");
    }
  }
  return out;
}

Result<std::string> FakeChain::Handle(std::string_view method, std::string_view params) {
  total_calls_.fetch_add(1);
  std::function<std::optional<Error>(std::string_view, std::string_view)> inject_copy;
  std::function<Result<Bytes>(std::uint64_t, const Address&, ByteView)> call_copy;
  {
    std::lock_guard lock(mu_);
    ++calls_[std::string(method)];
    inject_copy = inject;
    call_copy = on_call;
  }
  if (inject_copy) {
    if (auto e = inject_copy(method, params)) return *e;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(params.data(), params.size(), true).get(root) || !root.is_array()) {
    return RpcErr(method, -32602, "invalid params");
  }
  simdjson::dom::array p;
  if (root.get_array().get(p)) return RpcErr(method, -32602, "invalid params");
  auto arg = [&](std::size_t i) -> simdjson::dom::element {
    simdjson::dom::element e;
    if (p.at(i).get(e)) return simdjson::dom::element();
    return e;
  };
  auto str = [&](std::size_t i) -> std::string {
    std::string_view s;
    if (i >= p.size() || arg(i).get_string().get(s)) return "";
    return std::string(s);
  };

  if (method == "eth_chainId") return Q(indexer::HexQuantity(chain_id_));
  if (method == "eth_blockNumber") {
    std::lock_guard lock(mu_);
    return Qty(VisibleHead());
  }
  if (method == "eth_getBlockByNumber" || method == "eth_getBlockByHash") {
    bool full = false;
    if (p.size() > 1) {
      if (arg(1).get_bool().get(full)) full = false;
    }
    const std::string tag = str(0);
    std::lock_guard lock(mu_);
    const FakeBlock* b = nullptr;
    if (method == "eth_getBlockByHash") {
      auto h = Hash32::FromHex(tag);
      if (!h.ok()) return RpcErr(method, -32602, "invalid block hash");
      b = FindHash(*h);
    } else if (tag == "latest") {
      b = Find(VisibleHead());
    } else if (tag == "finalized" || tag == "safe") {
      const std::uint64_t h = VisibleHead();
      b = Find(h > finalized_depth ? h - finalized_depth : 0);
    } else if (tag == "earliest") {
      b = Find(0);
    } else {
      auto n = ParseQty(tag);
      if (!n) return RpcErr(method, -32602, "invalid block tag");
      b = Find(*n);
    }
    if (!b) return std::string("null");
    return BlockJson(*b, full);
  }
  if (method == "eth_getLogs") {
    simdjson::dom::element filter = arg(0);
    if (!filter.is_object()) return RpcErr(method, -32602, "invalid filter");
    std::set<Address> addresses;
    simdjson::dom::element a;
    if (!filter["address"].get(a)) {
      auto add = [&](simdjson::dom::element e) {
        std::string_view s;
        if (!e.get_string().get(s)) {
          if (auto x = Address::FromHex(s); x.ok()) addresses.insert(*x);
        }
      };
      if (a.is_array()) {
        simdjson::dom::array arr;
        if (!a.get_array().get(arr)) {
          for (auto e : arr) add(e);
        }
      } else {
        add(a);
      }
    }
    std::set<Hash32> topic0s;
    simdjson::dom::element topics;
    if (!filter["topics"].get(topics) && topics.is_array()) {
      simdjson::dom::array tarr;
      simdjson::dom::element first;
      if (!topics.get_array().get(tarr) && !tarr.at(0).get(first)) {
        auto addt = [&](simdjson::dom::element e) {
          std::string_view s;
          if (!e.get_string().get(s)) {
            if (auto x = Hash32::FromHex(s); x.ok()) topic0s.insert(*x);
          }
        };
        if (first.is_array()) {
          simdjson::dom::array farr;
          if (!first.get_array().get(farr)) {
            for (auto e : farr) addt(e);
          }
        } else if (!first.is_null()) {
          addt(first);
        }
      }
    }
    std::lock_guard lock(mu_);
    std::vector<const FakeBlock*> range;
    std::string_view bh;
    if (!filter["blockHash"].get_string().get(bh)) {
      auto h = Hash32::FromHex(bh);
      const FakeBlock* b = h.ok() ? FindHash(*h) : nullptr;
      if (!b) return RpcErr(method, -32000, "unknown block");
      range.push_back(b);
    } else {
      std::string_view fs, ts;
      if (filter["fromBlock"].get_string().get(fs) || filter["toBlock"].get_string().get(ts)) {
        return RpcErr(method, -32602, "fromBlock/toBlock required in this fake");
      }
      auto from = ParseQty(fs);
      auto to = ts == "latest" ? std::optional<std::uint64_t>(VisibleHead()) : ParseQty(ts);
      if (!from || !to || *from > *to) return RpcErr(method, -32602, "invalid block range");
      const std::uint64_t span = *to - *from + 1;
      if (getlogs_max_range != 0 && span > getlogs_max_range) {
        if (getlogs_error_style == "alchemy") {
          return RpcErr(method, -32602,
                        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range. "
                        "Based on your parameters, this block range should work: [" + indexer::HexQuantity(*from) +
                            ", " + indexer::HexQuantity(*from + getlogs_max_range - 1) + "]");
        }
        if (getlogs_error_style == "results") {
          return RpcErr(method, -32005, "query returned more than 10000 results");
        }
        if (getlogs_error_style == "timeout") {
          return MakeError(ErrorCode::kTimeout, "eth_getLogs: no reply within 10000 ms", true);
        }
        return RpcErr(method, -32602, "range " + std::to_string(span) + " exceeds limit of " +
                                          std::to_string(getlogs_max_range));
      }
      for (std::uint64_t n = *from; n <= std::min(*to, VisibleHead()); ++n) {
        if (const FakeBlock* b = Find(n)) range.push_back(b);
      }
    }
    std::string out = "[";
    bool first_log = true;
    for (const FakeBlock* b : range) {
      std::uint64_t log_index = 0;
      for (std::size_t i = 0; i < b->txs.size(); ++i) {
        const auto& tx = b->txs[i];
        if (!tx.success) continue;
        for (const auto& l : tx.logs) {
          const std::uint64_t li = log_index++;
          if (!addresses.empty() && !addresses.count(l.address)) continue;
          if (!topic0s.empty() && (l.topics.empty() || !topic0s.count(l.topics[0]))) continue;
          std::string ts;
          for (std::size_t t = 0; t < l.topics.size(); ++t) ts += (t ? "," : "") + Q(l.topics[t].ToHex());
          if (!first_log) out += ",";
          first_log = false;
          out += "{\"address\":" + Q(l.address.ToHex()) + ",\"topics\":[" + ts + "],\"data\":" + Q(ToHex(l.data)) +
                 ",\"blockNumber\":" + Qty(b->number) + ",\"blockHash\":" + Q(b->hash.ToHex()) +
                 ",\"transactionHash\":" + Q(tx.hash.ToHex()) + ",\"transactionIndex\":" + Qty(i) +
                 ",\"logIndex\":" + Qty(li) + ",\"removed\":false}";
        }
      }
    }
    out += "]";
    return out;
  }
  if (method == "eth_getTransactionReceipt" || method == "eth_getTransactionByHash" ||
      method == "debug_traceTransaction") {
    if (method == "debug_traceTransaction" && !trace_supported_flag) return RpcErr(method, -32601, "Method not found");
    auto h = Hash32::FromHex(str(0));
    if (!h.ok()) return RpcErr(method, -32602, "invalid hash");
    std::lock_guard lock(mu_);
    for (const auto& b : blocks_) {
      if (b.number > VisibleHead()) break;
      for (std::size_t i = 0; i < b.txs.size(); ++i) {
        const auto& tx = b.txs[i];
        if (tx.hash != *h) continue;
        if (method == "eth_getTransactionReceipt") {
          return "{\"transactionHash\":" + Q(tx.hash.ToHex()) + ",\"status\":" + Q(tx.success ? "0x1" : "0x0") +
                 ",\"transactionIndex\":" + Qty(i) + ",\"blockNumber\":" + Qty(b.number) +
                 ",\"blockHash\":" + Q(b.hash.ToHex()) + ",\"logs\":[]}";
        }
        if (method == "eth_getTransactionByHash") {
          FakeBlock one = b;
          one.txs = {tx};
          std::string j = BlockJson(one, true);
          const auto open = j.find("\"transactions\":[") + 16;
          return j.substr(open, j.size() - open - 2);
        }
        if (tx.trace_json) return *tx.trace_json;
        std::string frame = "{\"type\":\"CALL\",\"from\":" + Q(tx.from.ToHex()) +
                            ",\"to\":" + (tx.to ? Q(tx.to->ToHex()) : std::string("null")) +
                            ",\"input\":" + Q(ToHex(tx.input)) + ",\"output\":" + Q(ToHex(tx.output));
        if (!tx.success) frame += ",\"error\":\"execution reverted\"";
        frame += "}";
        return frame;
      }
    }
    if (method == "debug_traceTransaction") {
      return std::string("{\"failed\":false,\"gas\":0,\"returnValue\":\"0x\",\"structLogs\":[]}");
    }
    return std::string("null");
  }
  if (method == "eth_call") {
    simdjson::dom::element call = arg(0);
    std::string_view to_s, data_s;
    if (call["to"].get_string().get(to_s) || call["data"].get_string().get(data_s)) {
      return RpcErr(method, -32602, "invalid call");
    }
    std::uint64_t number = 0;
    {
      std::lock_guard lock(mu_);
      simdjson::dom::element tag = arg(1);
      std::string_view tag_s, hash_s;
      if (tag.is_object() && !tag["blockHash"].get_string().get(hash_s)) {
        auto h = Hash32::FromHex(hash_s);
        const FakeBlock* b = h.ok() ? FindHash(*h) : nullptr;
        if (!b) return RpcErr(method, -32000, "header not found");
        number = b->number;
      } else if (!tag.get_string().get(tag_s)) {
        auto n = tag_s == "latest" ? std::optional<std::uint64_t>(VisibleHead()) : ParseQty(tag_s);
        if (!n) return RpcErr(method, -32602, "invalid block");
        number = *n;
      }
    }
    auto to = Address::FromHex(to_s);
    auto data = HexToBytes(data_s);
    if (!to.ok() || !data.ok()) return RpcErr(method, -32602, "invalid call");
    Result<Bytes> r = call_copy ? call_copy(number, *to, *data)
                                : Result<Bytes>(Revert(*HexToBytes("0x75a1d53a")));
    if (!r.ok()) return r.error();
    return Q(ToHex(*r));
  }
  if (method == "eth_getStorageAt") {
    std::lock_guard lock(mu_);
    Bytes word(32, 0);
    if (implementation) std::copy(implementation->bytes.begin(), implementation->bytes.end(), word.begin() + 12);
    return Q(ToHex(word));
  }
  if (method == "eth_subscribe") return RpcErr(method, -32601, "subscriptions need a WebSocket");
  return RpcErr(method, -32601, "Method not found");
}

}  // namespace cvmwatch::testing
