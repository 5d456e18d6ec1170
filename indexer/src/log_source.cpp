#include "cvmwatch/indexer/log_source.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "detail/json.h"

namespace cvmwatch::indexer {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses an unsigned number (decimal, or hex with 0x) at s[i]; commas inside decimals allowed
// ("10,000"). Returns the value and advances i.
std::optional<std::uint64_t> NumberAt(std::string_view s, std::size_t& i) {
  if (i + 1 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    std::size_t j = i + 2;
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data() + j, s.data() + s.size(), v, 16);
    if (ec != std::errc()) return std::nullopt;
    i = static_cast<std::size_t>(ptr - s.data());
    return v;
  }
  if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  std::uint64_t v = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) ||
                          (s[i] == ',' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))))) {
    if (s[i] != ',') {
      if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
    }
    ++i;
  }
  return v;
}

}  // namespace

std::string FilterJson(const LogFilter& filter, std::string_view extra_members) {
  std::string out = "{\"address\":[";
  for (std::size_t i = 0; i < filter.addresses.size(); ++i) {
    if (i) out += ",";
    out += "\"" + filter.addresses[i].ToHex() + "\"";
  }
  out += "]";
  if (!filter.topic0s.empty()) {
    out += ",\"topics\":[[";
    for (std::size_t i = 0; i < filter.topic0s.size(); ++i) {
      if (i) out += ",";
      out += "\"" + filter.topic0s[i].ToHex() + "\"";
    }
    out += "]]";
  }
  if (!extra_members.empty()) {
    out += ",";
    out += extra_members;
  }
  out += "}";
  return out;
}

std::optional<std::uint64_t> RangeHintFromMessage(std::string_view message, std::uint64_t asked_from) {
  // A suggested range: "[0x3a9d2a0, 0x3a9d4e3]" (Alchemy, Infura).
  for (std::size_t open = message.find('['); open != std::string_view::npos;
       open = message.find('[', open + 1)) {
    std::size_t i = open + 1;
    while (i < message.size() && message[i] == ' ') ++i;
    auto a = NumberAt(message, i);
    if (!a) continue;
    while (i < message.size() && (message[i] == ' ' || message[i] == ',')) ++i;
    auto b = NumberAt(message, i);
    if (!b || *b < *a) continue;
    // Its width is the hint (whether or not it starts at our fromBlock).
    (void)asked_from;
    return *b - *a + 1;
  }
  // A stated limit: "range 20000 exceeds limit of 10000", "maximum block range: 5000",
  // "block range limit (1000)", "limited to a 10,000 range", "max range 2000".
  const std::string lower = Lower(message);
  for (std::string_view key : {"limit of", "maximum block range", "max block range",
                               "block range limit", "range limit", "limited to", "max range",
                               "maximum range", "up to a"}) {
    const auto k = lower.find(key);
    if (k == std::string::npos) continue;
    std::size_t i = k + key.size();
    while (i < lower.size() && !std::isdigit(static_cast<unsigned char>(lower[i])) && i < k + key.size() + 6) ++i;
    auto v = NumberAt(lower, i);
    if (v && *v > 0) {
      // "10000 results" is a result cap, not a block range.
      std::size_t j = i;
      while (j < lower.size() && lower[j] == ' ') ++j;
      if (lower.compare(j, 7, "results") == 0 || lower.compare(j, 4, "logs") == 0) continue;
      return *v;
    }
  }
  return std::nullopt;
}

bool LooksLikeRangeComplaint(std::string_view message) {
  const std::string m = Lower(message);
  for (std::string_view key : {"too many", "more than", "exceed", "limit", "range", "too large",
                               "response size", "timeout", "timed out", "too big", "query returned"}) {
    if (m.find(key) != std::string::npos) return true;
  }
  return false;
}

LogSource::LogSource(RpcClient& client, LogFilter filter, LogRangeSettings settings)
    : client_(client), filter_(std::move(filter)), settings_(settings) {
  settings_.min_range = std::max<std::uint64_t>(1, settings_.min_range);
  settings_.max_range = std::max(settings_.min_range, settings_.max_range);
  range_ = std::clamp(settings_.initial_range, settings_.min_range, settings_.max_range);
  ceiling_ = settings_.max_range;
  hard_cap_ = settings_.max_range;
  filter_json_ = FilterJson(filter_);
  filter_json_.pop_back();  // reopen the object for fromBlock/toBlock
}

Result<LogBatch> LogSource::Fetch(std::uint64_t from, std::uint64_t to) {
  if (to < from) {
    return MakeError(ErrorCode::kPrecondition,
                     "eth_getLogs: fromBlock " + std::to_string(from) + " > toBlock " + std::to_string(to));
  }
  std::uint64_t span = std::min(range_, to - from + 1);
  detail::JsonParser parser;
  for (;;) {
    const std::uint64_t end = from + span - 1;
    const std::string params = "[" + filter_json_ + ",\"fromBlock\":\"" + HexQuantity(from) +
                               "\",\"toBlock\":\"" + HexQuantity(end) + "\"}]";
    auto reply = client_.Call("eth_getLogs", params);
    if (reply.ok()) {
      auto logs = detail::ParseLogs(parser, *reply);
      if (!logs.ok()) {
        Error e = logs.error();
        e.message = "eth_getLogs [" + std::to_string(from) + ", " + std::to_string(end) + "]: " + e.message;
        e.retryable = true;  // a garbled reply may pass on retry
        return e;
      }
      for (const auto& l : *logs) {
        if (l.block_number < from || l.block_number > end) {
          return MakeError(ErrorCode::kInvalidJson,
                           "eth_getLogs returned a log of block " + std::to_string(l.block_number) +
                               " outside [" + std::to_string(from) + ", " + std::to_string(end) + "]",
                           true);
        }
      }
      // Grow back after a run of successes, but not past what the provider refused (the
      // ceiling relaxes slowly: result-count limits depend on how dense the range is) nor
      // past a limit it stated.
      ++streak_;
      if (ceiling_ < hard_cap_ && streak_ % 64 == 0) ceiling_ = std::min(hard_cap_, ceiling_ * 2);
      if (++successes_ >= settings_.grow_after_successes && range_ < ceiling_) {
        range_ = std::min(ceiling_, range_ * 2);
        successes_ = 0;
      }
      return LogBatch{from, end, std::move(logs).value()};
    }
    const Error& err = reply.error();
    const auto rpc = ParseRpcError(err);
    const bool timeout = err.code == ErrorCode::kTimeout;
    bool shrink = timeout;
    if (rpc) {
      // Invalid-params errors are range complaints only when they say so (Infura's -32602).
      shrink = rpc->code == -32005 || LooksLikeRangeComplaint(rpc->message) ||
               (err.retryable && rpc->code != -32602);
    }
    if (!shrink) return err;
    successes_ = 0;
    streak_ = 0;
    std::uint64_t next = span / 2;
    if (rpc) {
      if (auto hint = RangeHintFromMessage(rpc->message, from); hint && *hint < span) {
        next = *hint;
        // "limit of N" / "maximum block range: N" is a fixed cap; a suggested [a, b] range
        // depends on the results in it.
        if (rpc->message.find('[') == std::string::npos) hard_cap_ = std::max(settings_.min_range, *hint);
      }
    }
    next = std::max(next, settings_.min_range);
    ceiling_ = std::max(settings_.min_range, std::min(ceiling_, std::max(next, span / 2)));
    ceiling_ = std::min(ceiling_, hard_cap_);
    if (next >= span) {
      Error e = err;
      e.message = "eth_getLogs refused even a range of " + std::to_string(span) + " block(s) at " +
                  std::to_string(from) + ": " + err.message;
      e.retryable = true;
      return e;
    }
    span = next;
    range_ = span;
    ++shrinks_;
  }
}

Result<std::vector<LogEntry>> LogSource::FetchBlock(const Hash32& block_hash) {
  const std::string params = "[" + filter_json_ + ",\"blockHash\":\"" + block_hash.ToHex() + "\"}]";
  CVMW_ASSIGN_OR_RETURN(auto reply, client_.Call("eth_getLogs", params));
  detail::JsonParser parser;
  return detail::ParseLogs(parser, reply);
}

}  // namespace cvmwatch::indexer
