#include "detail/json.h"

#include <charconv>

namespace cvmwatch::indexer::detail {
namespace {

Error JsonError(std::string message) {
  return MakeError(ErrorCode::kInvalidJson, std::move(message));
}

std::size_t SkipWs(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// Index one past the end of the string starting at s[i] == '"'.
std::size_t SkipString(std::string_view s, std::size_t i) {
  ++i;
  while (i < s.size()) {
    if (s[i] == '\\') {
      i += 2;
      continue;
    }
    if (s[i] == '"') return i + 1;
    ++i;
  }
  return s.size();
}

// Index one past the end of the value starting at s[i].
std::size_t SkipValue(std::string_view s, std::size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        --depth;
        if (depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
         s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
    ++i;
  }
  return i;
}

}  // namespace

std::optional<std::string_view> RawMember(std::string_view json, std::string_view key) {
  std::size_t i = SkipWs(json, 0);
  if (i >= json.size() || json[i] != '{') return std::nullopt;
  i = SkipWs(json, i + 1);
  while (i < json.size() && json[i] == '"') {
    const std::size_t key_end = SkipString(json, i);
    const std::string_view k = json.substr(i + 1, key_end - i - 2);
    i = SkipWs(json, key_end);
    if (i >= json.size() || json[i] != ':') return std::nullopt;
    i = SkipWs(json, i + 1);
    const std::size_t value_end = SkipValue(json, i);
    if (k == key) return json.substr(i, value_end - i);
    i = SkipWs(json, value_end);
    if (i < json.size() && json[i] == ',') i = SkipWs(json, i + 1);
  }
  return std::nullopt;
}

Result<std::uint64_t> ParseQuantity(std::string_view s) {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s.size() > 2 + 16) {
    return JsonError("bad quantity \"" + std::string(s.substr(0, 40)) + "\"");
  }
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return JsonError("bad quantity \"" + std::string(s) + "\"");
  }
  return v;
}

Result<simdjson::dom::element> JsonParser::Parse(std::string_view json) {
  simdjson::dom::element root;
  auto err = parser_.parse(json.data(), json.size(), true).get(root);
  if (err) return JsonError(std::string("invalid JSON: ") + simdjson::error_message(err));
  return root;
}

Result<std::string_view> GetStr(simdjson::dom::element obj, std::string_view key) {
  std::string_view v;
  if (obj[key].get_string().get(v)) return JsonError("missing string field \"" + std::string(key) + "\"");
  return v;
}

bool IsNullOrMissing(simdjson::dom::element obj, std::string_view key) {
  simdjson::dom::element v;
  if (obj[key].get(v)) return true;
  return v.is_null();
}

Result<std::uint64_t> GetQty(simdjson::dom::element obj, std::string_view key) {
  CVMW_ASSIGN_OR_RETURN(auto s, GetStr(obj, key));
  auto q = ParseQuantity(s);
  if (!q.ok()) return JsonError(std::string(key) + ": " + q.error().message);
  return *q;
}

Result<Hash32> GetHash(simdjson::dom::element obj, std::string_view key) {
  CVMW_ASSIGN_OR_RETURN(auto s, GetStr(obj, key));
  auto h = Hash32::FromHex(s);
  if (!h.ok()) return JsonError(std::string(key) + ": " + h.error().message);
  return *h;
}

Result<Address> GetAddr(simdjson::dom::element obj, std::string_view key) {
  CVMW_ASSIGN_OR_RETURN(auto s, GetStr(obj, key));
  auto a = Address::FromHex(s);
  if (!a.ok()) return JsonError(std::string(key) + ": " + a.error().message);
  return *a;
}

Result<Bytes> GetData(simdjson::dom::element obj, std::string_view key) {
  CVMW_ASSIGN_OR_RETURN(auto s, GetStr(obj, key));
  auto b = HexToBytes(s);
  if (!b.ok()) return JsonError(std::string(key) + ": " + b.error().message);
  return std::move(b).value();
}

Result<LogEntry> ParseLog(simdjson::dom::element e) {
  if (!e.is_object()) return JsonError("log is not an object");
  LogEntry log;
  CVMW_ASSIGN_OR_RETURN(log.address, GetAddr(e, "address"));
  simdjson::dom::array topics;
  if (e["topics"].get_array().get(topics)) return JsonError("log without topics array");
  if (topics.size() > 4) return JsonError("log with more than 4 topics");
  for (auto t : topics) {
    std::string_view s;
    if (t.get_string().get(s)) return JsonError("topic is not a string");
    auto h = Hash32::FromHex(s);
    if (!h.ok()) return JsonError("topic: " + h.error().message);
    log.topics.push_back(*h);
  }
  CVMW_ASSIGN_OR_RETURN(log.data, GetData(e, "data"));
  CVMW_ASSIGN_OR_RETURN(log.block_number, GetQty(e, "blockNumber"));
  CVMW_ASSIGN_OR_RETURN(log.block_hash, GetHash(e, "blockHash"));
  CVMW_ASSIGN_OR_RETURN(log.tx_hash, GetHash(e, "transactionHash"));
  CVMW_ASSIGN_OR_RETURN(auto tx_index, GetQty(e, "transactionIndex"));
  CVMW_ASSIGN_OR_RETURN(auto log_index, GetQty(e, "logIndex"));
  if (tx_index > 0xffffffffull || log_index >= 0xffffffffull) return JsonError("log index out of range");
  log.tx_index = static_cast<std::uint32_t>(tx_index);
  log.log_index = static_cast<std::uint32_t>(log_index);
  bool removed = false;
  if (!e["removed"].get_bool().get(removed)) log.removed = removed;
  return log;
}

Result<std::vector<LogEntry>> ParseLogs(JsonParser& p, std::string_view json) {
  CVMW_ASSIGN_OR_RETURN(auto root, p.Parse(json));
  simdjson::dom::array arr;
  if (root.get_array().get(arr)) return JsonError("eth_getLogs result is not an array");
  std::vector<LogEntry> out;
  out.reserve(arr.size());
  for (auto e : arr) {
    CVMW_ASSIGN_OR_RETURN(auto log, ParseLog(e));
    out.push_back(std::move(log));
  }
  return out;
}

namespace {

Result<EthTx> ParseTxObject(simdjson::dom::element e) {
  EthTx tx;
  CVMW_ASSIGN_OR_RETURN(tx.hash, GetHash(e, "hash"));
  CVMW_ASSIGN_OR_RETURN(tx.from, GetAddr(e, "from"));
  if (!IsNullOrMissing(e, "to")) {
    CVMW_ASSIGN_OR_RETURN(auto to, GetAddr(e, "to"));
    tx.to = to;
  }
  // "input" (geth, anvil) or "data" (some older clients)
  if (!IsNullOrMissing(e, "input")) {
    CVMW_ASSIGN_OR_RETURN(tx.input, GetData(e, "input"));
  } else if (!IsNullOrMissing(e, "data")) {
    CVMW_ASSIGN_OR_RETURN(tx.input, GetData(e, "data"));
  }
  if (!IsNullOrMissing(e, "transactionIndex")) {
    CVMW_ASSIGN_OR_RETURN(auto idx, GetQty(e, "transactionIndex"));
    if (idx > 0xffffffffull) return JsonError("transactionIndex out of range");
    tx.index = static_cast<std::uint32_t>(idx);
  }
  return tx;
}

Result<TraceFrame> ParseFrame(simdjson::dom::element e, int depth) {
  if (depth > 1100) return JsonError("call trace nested too deeply");
  if (!e.is_object()) return JsonError("trace frame is not an object");
  TraceFrame f;
  std::string_view type;
  if (e["type"].get_string().get(type)) {
    return MakeError(ErrorCode::kNotFound, "trace result is not a callTracer frame");
  }
  f.type = std::string(type);
  CVMW_ASSIGN_OR_RETURN(f.from, GetAddr(e, "from"));
  if (!IsNullOrMissing(e, "to")) {
    CVMW_ASSIGN_OR_RETURN(auto to, GetAddr(e, "to"));
    f.to = to;
  }
  if (!IsNullOrMissing(e, "input")) {
    CVMW_ASSIGN_OR_RETURN(f.input, GetData(e, "input"));
  }
  if (!IsNullOrMissing(e, "output")) {
    CVMW_ASSIGN_OR_RETURN(f.output, GetData(e, "output"));
  }
  std::string_view err;
  if (!e["error"].get_string().get(err)) f.error = std::string(err.empty() ? "reverted" : err);
  simdjson::dom::array calls;
  if (!e["calls"].get_array().get(calls)) {
    for (auto c : calls) {
      CVMW_ASSIGN_OR_RETURN(auto child, ParseFrame(c, depth + 1));
      f.calls.push_back(std::move(child));
    }
  }
  return f;
}

}  // namespace

Result<std::optional<EthBlock>> ParseBlock(JsonParser& p, std::string_view json) {
  CVMW_ASSIGN_OR_RETURN(auto root, p.Parse(json));
  if (root.is_null()) return std::optional<EthBlock>();
  if (!root.is_object()) return JsonError("block is not an object");
  EthBlock b;
  CVMW_ASSIGN_OR_RETURN(b.ref.number, GetQty(root, "number"));
  CVMW_ASSIGN_OR_RETURN(b.ref.hash, GetHash(root, "hash"));
  CVMW_ASSIGN_OR_RETURN(b.ref.parent_hash, GetHash(root, "parentHash"));
  CVMW_ASSIGN_OR_RETURN(b.ref.timestamp, GetQty(root, "timestamp"));
  simdjson::dom::array txs;
  if (!root["transactions"].get_array().get(txs)) {
    for (auto t : txs) {
      if (t.is_string()) {
        std::string_view s;
        if (t.get_string().get(s)) {
    }
        auto h = Hash32::FromHex(s);
        if (!h.ok()) return JsonError("transaction hash: " + h.error().message);
        b.tx_hashes.push_back(*h);
      } else {
        b.full = true;
        CVMW_ASSIGN_OR_RETURN(auto tx, ParseTxObject(t));
        b.txs.push_back(std::move(tx));
      }
    }
  }
  return std::optional<EthBlock>(std::move(b));
}

Result<std::optional<EthReceipt>> ParseReceipt(JsonParser& p, std::string_view json) {
  CVMW_ASSIGN_OR_RETURN(auto root, p.Parse(json));
  if (root.is_null()) return std::optional<EthReceipt>();
  if (!root.is_object()) return JsonError("receipt is not an object");
  EthReceipt r;
  CVMW_ASSIGN_OR_RETURN(r.tx_hash, GetHash(root, "transactionHash"));
  CVMW_ASSIGN_OR_RETURN(auto status, GetQty(root, "status"));
  r.success = status == 1;
  CVMW_ASSIGN_OR_RETURN(auto idx, GetQty(root, "transactionIndex"));
  r.tx_index = static_cast<std::uint32_t>(idx);
  return std::optional<EthReceipt>(r);
}

Result<TraceFrame> ParseTrace(JsonParser& p, std::string_view json) {
  CVMW_ASSIGN_OR_RETURN(auto root, p.Parse(json));
  return ParseFrame(root, 0);
}

Result<std::string> ParseString(JsonParser& p, std::string_view json) {
  CVMW_ASSIGN_OR_RETURN(auto root, p.Parse(json));
  std::string_view s;
  if (root.get_string().get(s)) return JsonError("expected a JSON string");
  return std::string(s);
}

}  // namespace cvmwatch::indexer::detail
