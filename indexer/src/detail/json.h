// Internal: JSON parsing of node replies (simdjson DOM) into typed Ethereum values, and a raw
// member scanner that returns the exact text of a member's value in an already-validated
// document. Values are parsed once at this edge; hex is strict.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/indexer/types.h"

namespace cvmwatch::indexer::detail {

// Text of the value of top-level member `key` of the JSON object `json`, or nullopt. `json`
// must be valid JSON (validate first); the scanner only tracks strings and nesting.
std::optional<std::string_view> RawMember(std::string_view json, std::string_view key);

// Strict quantity "0x0" / "0x1a" (leading zeros tolerated) into uint64.
Result<std::uint64_t> ParseQuantity(std::string_view s);

struct EthTx {
  Hash32 hash;
  Address from;
  std::optional<Address> to;  // none: contract creation
  Bytes input;
  std::uint32_t index = 0;
};

struct EthBlock {
  BlockRef ref;
  bool full = false;                // transactions are objects
  std::vector<Hash32> tx_hashes;    // when !full
  std::vector<EthTx> txs;           // when full
};

struct EthReceipt {
  Hash32 tx_hash;
  bool success = false;
  std::uint32_t tx_index = 0;
};

struct TraceFrame {
  std::string type;  // CALL, DELEGATECALL, STATICCALL, CREATE, ...
  Address from;
  std::optional<Address> to;
  Bytes input;
  Bytes output;
  std::string error;  // non-empty: the frame reverted
  std::vector<TraceFrame> calls;
};

// A reusable parser (not thread-safe; one per thread).
class JsonParser {
 public:
  Result<simdjson::dom::element> Parse(std::string_view json);

 private:
  simdjson::dom::parser parser_;
};

Result<std::vector<LogEntry>> ParseLogs(JsonParser& p, std::string_view json);
Result<LogEntry> ParseLog(simdjson::dom::element e);
// "null" → nullopt.
Result<std::optional<EthBlock>> ParseBlock(JsonParser& p, std::string_view json);
Result<std::optional<EthReceipt>> ParseReceipt(JsonParser& p, std::string_view json);
// A callTracer result. kNotFound when the reply is not a call frame (e.g. a struct-log trace).
Result<TraceFrame> ParseTrace(JsonParser& p, std::string_view json);
Result<std::string> ParseString(JsonParser& p, std::string_view json);  // a JSON string value

// Field accessors on DOM objects.
Result<std::string_view> GetStr(simdjson::dom::element obj, std::string_view key);
Result<std::uint64_t> GetQty(simdjson::dom::element obj, std::string_view key);
Result<Hash32> GetHash(simdjson::dom::element obj, std::string_view key);
Result<Address> GetAddr(simdjson::dom::element obj, std::string_view key);
Result<Bytes> GetData(simdjson::dom::element obj, std::string_view key);
bool IsNullOrMissing(simdjson::dom::element obj, std::string_view key);

}  // namespace cvmwatch::indexer::detail
