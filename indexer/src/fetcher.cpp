#include "cvmwatch/indexer/fetcher.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <unordered_map>

#include "cvmwatch/core/abi.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/registry.h"
#include "detail/json.h"
#include "detail/rpc_util.h"

namespace cvmwatch::indexer {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

struct AdminCall {
  std::array<std::uint8_t, 4> selector;
  const char* name;
};
constexpr std::array<AdminCall, 7> kAdminCalls = {{
    {{0x4f, 0x1e, 0xf2, 0x86}, "upgradeToAndCall"},
    {{0xf2, 0xfd, 0xe3, 0x8b}, "transferOwnership"},
    {{0x71, 0x50, 0x18, 0xa6}, "renounceOwnership"},
    {{0xc4, 0xd6, 0x6d, 0xe8}, "initialize"},
    {{0x48, 0x5c, 0xc9, 0x55}, "initialize"},
    {{0x36, 0x59, 0xcf, 0xe6}, "upgradeTo"},
    {{0xd1, 0xe7, 0x1a, 0x28}, "updateDependencies"},
}};

bool IsIdentityEventName(std::string_view n) {
  return n == "CVMUpdated" || n == "CVMTTLUpdated" || n == "CVMRegistered" || n == "CVMRefreshed" ||
         n == "CVMCollateralUpdated" || n == "CVMIdentityRotated";
}

Hash32 WordAt(ByteView data, std::size_t offset) {
  Hash32 h;
  std::copy(data.begin() + static_cast<std::ptrdiff_t>(offset),
            data.begin() + static_cast<std::ptrdiff_t>(offset + 32), h.bytes.begin());
  return h;
}

void DecodeInto(ObservedCall& call) {
  call.function = FunctionName(call.calldata);
  if (call.calldata.size() < 4) {
    call.decode_error = "calldata shorter than a selector";
    return;
  }
  Selector sel;
  std::copy(call.calldata.begin(), call.calldata.begin() + 4, sel.bytes.begin());
  if (registry::FindCall(sel) == nullptr) {
    call.decode_error = call.function.empty() ? "unknown selector " + sel.ToHex()
                                              : "not a lifecycle call (" + call.function + ")";
    return;
  }
  auto decoded = registry::DecodeRegistryCall(call.calldata);
  if (decoded.ok()) {
    call.decoded = std::move(decoded).value();
    call.decode_error.clear();
  } else {
    call.decode_error = decoded.error().ToString();
  }
}

// CALL frames into the proxy that did not revert, in execution order.
void RegistryFrames(const detail::TraceFrame& f, const Address& registry,
                    std::vector<const detail::TraceFrame*>& out, int depth = 0) {
  if (!f.error.empty() || depth > 1024) return;  // a reverted subtree left no effects
  if (f.type == "CALL" && f.to && *f.to == registry && f.input.size() >= 4) {
    out.push_back(&f);
    return;
  }
  for (const auto& c : f.calls) RegistryFrames(c, registry, out, depth + 1);
}

std::vector<Hash32> IdentitiesOfCall(const ObservedCall& c) {
  if (!c.decoded) return {};
  return TouchedIdentities(*c.decoded);
}

// Gives each event of a transaction to one of its calls (several registry frames in one tx).
void AssignEvents(std::vector<ObservedCall>& calls, const std::vector<RegistryEvent>& events) {
  if (calls.empty()) return;
  std::vector<std::vector<Hash32>> ids;
  for (const auto& c : calls) ids.push_back(IdentitiesOfCall(c));
  for (const auto& ev : events) {
    std::size_t pick = 0;
    bool found = false;
    if (calls.size() > 1 && ev.identity_hash) {
      for (std::size_t i = 0; i < calls.size(); ++i) {
        if (std::find(ids[i].begin(), ids[i].end(), *ev.identity_hash) == ids[i].end()) continue;
        const bool has_same = std::any_of(calls[i].events.begin(), calls[i].events.end(),
                                          [&](const RegistryEvent& e) { return e.name == ev.name; });
        if (!found) {
          pick = i;
          found = true;
        }
        if (!has_same) {
          pick = i;
          break;
        }
      }
    }
    calls[pick].events.push_back(ev);
  }
}

void SetLogIndex(ObservedCall& c, const Address& registry) {
  c.log_index = kNoLogIndex;
  for (const auto& e : c.events) {
    if (e.address == registry && IsIdentityEventName(e.name)) {
      c.log_index = e.log_index;
      return;
    }
  }
  for (const auto& e : c.events) {
    if (e.address == registry) {
      c.log_index = e.log_index;
      return;
    }
  }
  if (!c.events.empty()) c.log_index = c.events.front().log_index;
}

const Hash32& UpgradedTopic() {
  static const Hash32 t = EventTopic("Upgraded(address)");
  return t;
}

Error Changed(std::string what) {
  return MakeError(ErrorCode::kUnavailable, "chain changed during fetch: " + what, true);
}

}  // namespace

RegistryEvent InterpretLog(const LogEntry& log) {
  RegistryEvent ev;
  ev.log_index = log.log_index;
  ev.address = log.address;
  ev.topics = log.topics;
  ev.data = log.data;
  if (log.topics.empty()) {
    ev.name = "anonymous";
    return ev;
  }
  ev.topic0 = log.topics[0];
  const auto* spec = registry::FindEvent(ev.topic0);
  ev.name = spec ? std::string(spec->name) : "unknown";
  const auto& t = log.topics;
  const ByteView data = log.data;
  if (ev.name == "CVMIdentityRotated") {
    if (t.size() >= 3) {  // D, both indexed: (old, new)
      ev.other_hash = t[1];
      ev.identity_hash = t[2];
    } else if (t.size() == 2 && data.size() >= 32) {  // A0: new indexed, old in data
      ev.identity_hash = t[1];
      ev.other_hash = WordAt(data, 0);
    } else if (t.size() == 1 && data.size() >= 64) {  // neither indexed: (old, new)
      ev.other_hash = WordAt(data, 0);
      ev.identity_hash = WordAt(data, 32);
    }
  } else if (IsIdentityEventName(ev.name)) {
    if (t.size() >= 2) {
      ev.identity_hash = t[1];
    } else if (data.size() >= 32) {
      ev.identity_hash = WordAt(data, 0);
    }
  } else if (ev.name == "Upgraded" && t.size() >= 2) {
    Address a;
    std::copy(t[1].bytes.begin() + 12, t[1].bytes.end(), a.bytes.begin());
    ev.implementation = a;
  } else if (ev.name == "TpmSignatureVerified" && t.size() >= 2) {
    ev.other_hash = t[1];
  } else if (ev.name == "TpmMeasurementChecked" && t.size() >= 2) {
    ev.other_hash = t[1];  // keccak256(tpmQuote)
    static const abi::Type kData = [] {
      auto ty = abi::ParseType("(bytes32,bytes)");
      return ty.ok() ? *ty : abi::Type{};
    }();
    if (auto v = abi::Decode(kData, data); v.ok()) {
      const Bytes& user = *(*v->AsList())[1].AsBytes();
      if (user.size() >= 33) ev.identity_hash = WordAt(user, 1);  // extraData[1,33) (A, B, C)
    }
  }
  return ev;
}

std::string FunctionName(ByteView calldata) {
  if (calldata.size() < 4) return "";
  Selector sel;
  std::copy(calldata.begin(), calldata.begin() + 4, sel.bytes.begin());
  const registry::CallSpec* spec = nullptr;
  if (registry::FindCall(sel, &spec) && spec) return std::string(spec->function);
  for (const auto& a : kAdminCalls) {
    if (std::equal(a.selector.begin(), a.selector.end(), sel.bytes.begin())) return a.name;
  }
  return "";
}

BlockFetcher::BlockFetcher(RpcClient& client, FetcherSettings settings, IngestStats* stats)
    : client_(client), settings_(std::move(settings)), stats_(stats), reconciler_(client, settings_.registry) {}

std::vector<Result<std::string>> BlockFetcher::CallMany(const std::vector<RpcRequest>& requests) {
  if (requests.empty()) return {};
  const auto t0 = SteadyClock::now();
  auto out = detail::CallManyRetrying(client_, requests);
  const double s = Seconds(SteadyClock::now() - t0);
  rpc_in_build_ += s;
  if (stats_) {
    stats_->rpc_seconds += s;
    stats_->rpc_requests += requests.size();
  }
  return out;
}

Result<std::string> BlockFetcher::Call(std::string_view method, std::string_view params) {
  const auto t0 = SteadyClock::now();
  auto out = client_.Call(method, params);
  const double s = Seconds(SteadyClock::now() - t0);
  rpc_in_build_ += s;
  if (stats_) {
    stats_->rpc_seconds += s;
    stats_->rpc_requests += 1;
  }
  return out;
}

Status BlockFetcher::InitImplementation(std::string_view block_tag) {
  static constexpr const char* kSlot = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
  auto reply = Call("eth_getStorageAt", "[\"" + settings_.registry.ToHex() + "\",\"" + kSlot + "\"," +
                                            std::string(block_tag) + "]");
  if (!reply.ok()) return reply.error();
  detail::JsonParser p;
  CVMW_ASSIGN_OR_RETURN(auto hex, detail::ParseString(p, *reply));
  auto word = HexToBytes(hex);
  if (!word.ok() || word->size() > 32) {
    return MakeError(ErrorCode::kInvalidJson, "eth_getStorageAt: not a storage word: " + hex.substr(0, 80), true);
  }
  Bytes padded(32 - word->size(), 0);
  padded.insert(padded.end(), word->begin(), word->end());
  Address impl;
  std::copy(padded.begin() + 12, padded.end(), impl.bytes.begin());
  if (impl.IsZero()) {
    implementation_.reset();
  } else {
    implementation_ = impl;
  }
  return OkStatus();
}

Result<std::vector<ChainBlock>> BlockFetcher::Build(
    const std::vector<BlockRef>& headers, const std::vector<LogEntry>& logs,
    const std::function<std::vector<Hash32>(std::size_t)>& known_identities) {
  const auto t_start = SteadyClock::now();
  rpc_in_build_ = 0;
  detail::JsonParser parser;
  const Address& registry = settings_.registry;
  auto followed = [&](const Address& a) {
    return a == registry ||
           std::find(settings_.extra_addresses.begin(), settings_.extra_addresses.end(), a) !=
               settings_.extra_addresses.end();
  };

  // 1. Logs by block, checked against the headers and de-duplicated.
  std::unordered_map<std::uint64_t, std::size_t> index_of;  // number → headers index
  for (std::size_t i = 0; i < headers.size(); ++i) index_of[headers[i].number] = i;
  std::vector<std::vector<LogEntry>> block_logs(headers.size());
  std::set<std::pair<Hash32, std::uint32_t>> seen;
  for (const auto& log : logs) {
    if (log.removed || !followed(log.address)) continue;
    auto it = index_of.find(log.block_number);
    if (it == index_of.end()) continue;
    const BlockRef& h = headers[it->second];
    if (log.block_hash != h.hash) {
      return Changed("a log of block " + std::to_string(h.number) + " names hash " +
                     log.block_hash.ToHex() + ", the header " + h.hash.ToHex());
    }
    if (!seen.emplace(log.block_hash, log.log_index).second) {
      if (stats_) ++stats_->duplicate_logs;
      continue;
    }
    block_logs[it->second].push_back(log);
  }
  for (auto& v : block_logs) {
    std::sort(v.begin(), v.end(), [](const LogEntry& a, const LogEntry& b) { return a.log_index < b.log_index; });
  }

  // 2. Block bodies (by hash: reorg-safe) for blocks with logs, or every block.
  std::vector<std::optional<detail::EthBlock>> bodies(headers.size());
  {
    std::vector<RpcRequest> reqs;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      if (block_logs[i].empty() && !settings_.scan_all_transactions) continue;
      reqs.push_back({"eth_getBlockByHash", "[\"" + headers[i].hash.ToHex() + "\",true]"});
      which.push_back(i);
    }
    auto replies = CallMany(reqs);
    for (std::size_t k = 0; k < replies.size(); ++k) {
      const BlockRef& h = headers[which[k]];
      if (!replies[k].ok()) return replies[k].error();
      auto b = detail::ParseBlock(parser, *replies[k]);
      if (!b.ok()) {
        Error e = b.error();
        e.message = "block " + std::to_string(h.number) + ": " + e.message;
        e.retryable = true;
        return e;
      }
      if (!*b) return Changed("block " + std::to_string(h.number) + " " + h.hash.ToHex() + " is no longer known");
      if ((*b)->ref.hash != h.hash || (*b)->ref.number != h.number) {
        return Changed("block by hash " + h.hash.ToHex() + " came back as another block");
      }
      bodies[which[k]] = std::move(*b);
    }
    if (stats_) stats_->blocks_fetched += headers.size();
  }

  // 3. Assemble per transaction.
  struct TraceJob {
    std::size_t block;
    Hash32 tx;
    bool forwarded;        // true: recover the call; false: revert data of a direct call
    std::size_t call = 0;  // reverted direct call: index into the block's calls
    std::uint32_t tx_index = 0;
    Address from, to;
    std::vector<RegistryEvent> events;
  };
  struct ReceiptJob {
    std::size_t block;
    const detail::EthTx* tx;
  };
  std::vector<ChainBlock> out(headers.size());
  std::vector<TraceJob> traces;
  std::vector<ReceiptJob> receipts;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    ChainBlock& cb = out[i];
    const BlockRef& h = headers[i];
    cb.block_number = h.number;
    cb.block_hash = h.hash;
    cb.parent_hash = h.parent_hash;
    cb.timestamp = h.timestamp;
    if (!bodies[i]) continue;
    const detail::EthBlock& body = *bodies[i];
    std::map<Hash32, std::vector<const LogEntry*>> by_tx;
    for (const auto& l : block_logs[i]) by_tx[l.tx_hash].push_back(&l);
    std::set<Hash32> in_body;
    for (const auto& tx : body.txs) {
      in_body.insert(tx.hash);
      auto lit = by_tx.find(tx.hash);
      std::vector<RegistryEvent> events;
      bool registry_event = false;
      if (lit != by_tx.end()) {
        for (const LogEntry* l : lit->second) {
          events.push_back(InterpretLog(*l));
          if (l->address == registry) registry_event = true;
        }
        if (stats_) stats_->logs += lit->second.size();
      }
      const bool direct = tx.to && *tx.to == registry;
      if (!tx.to) {
        // Contract creation: the proxy's own constructor (Upgraded, OwnershipTransferred,
        // Initialized) or another contract's; there is no registry call to recover.
        for (auto& e : events) cb.other_events.push_back(std::move(e));
        continue;
      }
      if (direct) {
        if (events.empty()) {
          receipts.push_back({i, &tx});
          continue;
        }
        ObservedCall c;
        c.tx_hash = tx.hash;
        c.tx_index = tx.index;
        c.from = tx.from;
        c.to = *tx.to;
        c.caller = tx.from;
        c.source = CallSource::kTransactionInput;
        c.calldata = tx.input;
        c.events = std::move(events);
        DecodeInto(c);
        SetLogIndex(c, registry);
        cb.calls.push_back(std::move(c));
      } else if (registry_event) {
        TraceJob job;
        job.block = i;
        job.tx = tx.hash;
        job.forwarded = true;
        job.tx_index = tx.index;
        job.from = tx.from;
        job.to = tx.to.value_or(Address{});
        job.events = std::move(events);
        traces.push_back(std::move(job));
      } else if (!events.empty()) {
        for (auto& e : events) cb.other_events.push_back(std::move(e));
      }
    }
    for (const auto& [tx_hash, tx_logs] : by_tx) {
      if (in_body.count(tx_hash)) continue;
      UnrecoverableSubmission u;
      u.tx_hash = tx_hash;
      u.tx_index = tx_logs.front()->tx_index;
      for (const LogEntry* l : tx_logs) u.events.push_back(InterpretLog(*l));
      u.reason = "the block body does not contain the logs' transaction";
      cb.unrecoverable.push_back(std::move(u));
    }
  }

  // 4. Receipts of registry transactions without logs: reverted, or silent successes.
  if (!receipts.empty()) {
    std::vector<RpcRequest> reqs;
    for (const auto& r : receipts) reqs.push_back({"eth_getTransactionReceipt", "[\"" + r.tx->hash.ToHex() + "\"]"});
    auto replies = CallMany(reqs);
    for (std::size_t k = 0; k < receipts.size(); ++k) {
      if (!replies[k].ok()) return replies[k].error();
      auto rc = detail::ParseReceipt(parser, *replies[k]);
      if (!rc.ok()) {
        Error e = rc.error();
        e.retryable = true;
        return e;
      }
      if (!*rc) return Changed("no receipt for " + receipts[k].tx->hash.ToHex());
      const detail::EthTx& tx = *receipts[k].tx;
      ObservedCall c;
      c.tx_hash = tx.hash;
      c.tx_index = tx.index;
      c.from = tx.from;
      c.to = *tx.to;
      c.caller = tx.from;
      c.calldata = tx.input;
      c.outcome = (*rc)->success ? ChainOutcome::kSuccess : ChainOutcome::kReverted;
      DecodeInto(c);
      ChainBlock& cb = out[receipts[k].block];
      cb.calls.push_back(std::move(c));
      if (!(*rc)->success && settings_.use_trace && trace_supported_) {
        TraceJob job;
        job.block = receipts[k].block;
        job.tx = tx.hash;
        job.forwarded = false;
        job.call = cb.calls.size() - 1;
        traces.push_back(std::move(job));
      }
    }
  }

  // 5. Traces: forwarded calls and revert data.
  if (!traces.empty()) {
    std::vector<RpcRequest> reqs;
    std::vector<std::size_t> which;
    for (std::size_t k = 0; k < traces.size(); ++k) {
      if (!settings_.use_trace || !trace_supported_) continue;
      reqs.push_back({"debug_traceTransaction", "[\"" + traces[k].tx.ToHex() + "\",{\"tracer\":\"callTracer\"}]"});
      which.push_back(k);
    }
    auto replies = CallMany(reqs);
    if (stats_) stats_->traces += reqs.size();
    std::vector<std::optional<Result<detail::TraceFrame>>> frames(traces.size());
    for (std::size_t k = 0; k < replies.size(); ++k) {
      auto& r = replies[k];
      if (!r.ok()) {
        const auto rpc = ParseRpcError(r.error());
        if (r.error().retryable && !(rpc && rpc->code == -32601)) return r.error();
        if (rpc && rpc->code == -32601) trace_supported_ = false;
        frames[which[k]] = Result<detail::TraceFrame>(r.error());
        continue;
      }
      frames[which[k]] = detail::ParseTrace(parser, *r);
    }
    for (std::size_t k = 0; k < traces.size(); ++k) {
      TraceJob& job = traces[k];
      ChainBlock& cb = out[job.block];
      if (!job.forwarded) {
        if (frames[k] && frames[k]->ok() && !(*frames[k])->error.empty()) {
          cb.calls[job.call].revert_data = (*frames[k])->output;
        }
        continue;
      }
      std::string reason;
      std::vector<const detail::TraceFrame*> hits;
      if (!settings_.use_trace) {
        reason = "tx.to is not the registry and call tracing is disabled (use_trace = false)";
      } else if (!frames[k]) {
        reason = "tx.to is not the registry and the node does not support debug_traceTransaction";
      } else if (!frames[k]->ok()) {
        reason = "tx.to is not the registry and debug_traceTransaction failed: " + frames[k]->error().message;
      } else {
        RegistryFrames(**frames[k], registry, hits);
        if (hits.empty()) reason = "the call trace shows no successful CALL into the registry";
      }
      if (hits.empty()) {
        UnrecoverableSubmission u;
        u.tx_hash = job.tx;
        u.tx_index = job.tx_index;
        u.from = job.from;
        u.to = job.to;
        u.events = std::move(job.events);
        u.reason = std::move(reason);
        cb.unrecoverable.push_back(std::move(u));
        continue;
      }
      std::vector<ObservedCall> calls;
      for (const auto* f : hits) {
        ObservedCall c;
        c.tx_hash = job.tx;
        c.tx_index = job.tx_index;
        c.from = job.from;
        c.to = job.to;
        c.caller = f->from;
        c.source = CallSource::kCallTrace;
        c.calldata = f->input;
        c.return_data = f->output;
        DecodeInto(c);
        calls.push_back(std::move(c));
      }
      AssignEvents(calls, job.events);
      for (auto& c : calls) {
        SetLogIndex(c, registry);
        cb.calls.push_back(std::move(c));
      }
    }
  }

  // 6. Order, implementation tracking, reconciliation.
  std::set<Hash32> batch_touched;  // identities touched by the batch's earlier blocks
  std::vector<std::size_t> read_blocks;
  std::vector<Reconciler::Key> read_keys;
  for (auto& cb : out) {
    std::stable_sort(cb.calls.begin(), cb.calls.end(), [](const ObservedCall& a, const ObservedCall& b) {
      if (a.tx_index != b.tx_index) return a.tx_index < b.tx_index;
      return a.log_index < b.log_index;
    });
    std::sort(cb.unrecoverable.begin(), cb.unrecoverable.end(),
              [](const UnrecoverableSubmission& a, const UnrecoverableSubmission& b) { return a.tx_index < b.tx_index; });
    // Upgraded logs (from the raw logs: whatever the transaction's classification) switch the
    // implementation for the block's later transactions.
    struct Up {
      std::uint32_t tx_index;
      std::uint32_t log_index;
      Hash32 tx;
      Address impl;
    };
    std::vector<Up> ups;
    for (const auto& l : block_logs[static_cast<std::size_t>(&cb - out.data())]) {
      if (l.address != registry || l.topics.size() < 2 || l.topics[0] != UpgradedTopic()) continue;
      Address a;
      std::copy(l.topics[1].bytes.begin() + 12, l.topics[1].bytes.end(), a.bytes.begin());
      ups.push_back(Up{l.tx_index, l.log_index, l.tx_hash, a});
    }
    std::size_t next_up = 0;
    for (auto& c : cb.calls) {
      while (next_up < ups.size() && ups[next_up].tx_index < c.tx_index) implementation_ = ups[next_up++].impl;
      c.implementation = implementation_;
    }
    for (const auto& u : ups) {
      cb.upgrades.push_back(ImplementationChange{u.tx, u.log_index, u.impl});
      implementation_ = u.impl;
    }
    if (stats_) {
      stats_->calls += cb.calls.size();
      stats_->unrecoverable += cb.unrecoverable.size();
      for (const auto& c : cb.calls) {
        stats_->events += c.events.size();
        if (c.outcome == ChainOutcome::kReverted) ++stats_->reverted_calls;
      }
      for (const auto& u : cb.unrecoverable) stats_->events += u.events.size();
    }

    if (!settings_.reconcile) continue;
    std::vector<Hash32> touched;
    auto add = [&](const Hash32& h) {
      if (std::find(touched.begin(), touched.end(), h) == touched.end()) touched.push_back(h);
    };
    std::optional<registry::Generation> hint;
    for (const auto& c : cb.calls) {
      if (c.outcome != ChainOutcome::kSuccess) continue;
      for (const auto& e : c.events) {
        if (e.address == registry && e.identity_hash) add(*e.identity_hash);
        if (e.address == registry && e.other_hash && e.name == "CVMIdentityRotated") add(*e.other_hash);
      }
      if (c.decoded) {
        for (const auto& h2 : TouchedIdentities(*c.decoded)) add(h2);
        if (!hint) hint = GenerationOf(*c.decoded);
      }
    }
    for (const auto& u : cb.unrecoverable) {
      for (const auto& e : u.events) {
        if (e.address == registry && e.identity_hash) add(*e.identity_hash);
      }
    }
    if (!cb.upgrades.empty()) {
      // After an upgrade, re-read every identity known so far (contracts.md §3.4): the sink's
      // (blocks before this batch) and this batch's earlier blocks, in hash order, so the set
      // does not depend on how blocks were batched.
      std::set<Hash32> known(batch_touched.begin(), batch_touched.end());
      if (known_identities) {
        for (const auto& h2 : known_identities(settings_.max_upgrade_rereads)) known.insert(h2);
      }
      for (const auto& h2 : known) {
        if (touched.size() >= settings_.max_upgrade_rereads) break;
        add(h2);
      }
    }
    for (const auto& h2 : touched) batch_touched.insert(h2);
    for (const auto& h2 : touched) {
      read_blocks.push_back(static_cast<std::size_t>(&cb - out.data()));
      read_keys.push_back(Reconciler::Key{cb.block_hash, h2, hint});
    }
  }

  // All reconciliation reads of the batch in one go (they pipeline on the connection).
  if (!read_keys.empty()) {
    const auto t0 = SteadyClock::now();
    auto reads = reconciler_.ReadMany(read_keys);
    const double s = Seconds(SteadyClock::now() - t0);
    rpc_in_build_ += s;
    if (stats_) {
      stats_->rpc_seconds += s;
      stats_->rpc_requests += read_keys.size();
      stats_->reconcile_reads += read_keys.size();
    }
    if (!reads.ok()) return reads.error();
    for (std::size_t i = 0; i < read_keys.size(); ++i) out[read_blocks[i]].chain_state.push_back(std::move((*reads)[i]));
  }

  if (stats_) stats_->decode_seconds += Seconds(SteadyClock::now() - t_start) - rpc_in_build_;
  return out;
}

}  // namespace cvmwatch::indexer
