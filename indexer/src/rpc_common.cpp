// URL parsing, error classification and JSON helpers shared by the RPC clients.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "cvmwatch/indexer/rpc.h"
#include "detail/net.h"

namespace cvmwatch::indexer {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

Result<ParsedUrl> ParseUrl(std::string_view url) {
  auto bad = [&](std::string why) {
    return MakeError(ErrorCode::kPrecondition, "invalid URL \"" + RedactUrl(url) + "\": " + why);
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return bad("contains a space, control or non-ASCII character");
    }
  }
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return bad("missing scheme (ws://, wss://, http://, https://)");
  ParsedUrl out;
  out.scheme = Lower(url.substr(0, sep));
  if (out.scheme == "ws") {
    out.websocket = true;
  } else if (out.scheme == "wss") {
    out.websocket = true;
    out.tls = true;
  } else if (out.scheme == "https") {
    out.tls = true;
  } else if (out.scheme != "http") {
    return bad("unsupported scheme \"" + out.scheme + "\"");
  }
  std::string_view rest = url.substr(sep + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string target(path_start == std::string_view::npos ? std::string_view()
                                                        : rest.substr(path_start));
  if (const auto hash = target.find('#'); hash != std::string::npos) target.resize(hash);
  out.target.reserve(target.size() + 1);
  if (target.empty() || target[0] != '/') out.target.push_back('/');
  out.target.append(target);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // credentials are not sent as userinfo
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("missing host");
  for (char c : out.host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == ':')) {
      return bad("invalid character in host");
    }
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return bad("invalid port");
    }
    out.port = static_cast<std::uint16_t>(value);
  } else {
    out.port = out.tls ? 443 : 80;
  }
  return out;
}

std::string RedactUrl(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return "<invalid url>";
  std::string_view rest = url.substr(sep + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string out = std::string(url.substr(0, sep + 3)) + std::string(authority);
  if (path_start != std::string_view::npos && rest.size() > path_start + 1) out += "/…";
  return out;
}

bool IsRetryableRpcCode(std::int64_t code, std::string_view message) {
  const std::string m = Lower(message);
  if (Contains(m, "revert")) return false;  // execution reverted: a value, not a failure
  switch (code) {
    case 3:       // execution reverted (with data)
    case -32700:  // parse error: our request was bad
    case -32600:  // invalid request
    case -32601:  // method not found
    case -32602:  // invalid params (range limits are recognised separately by the log source)
    case -32006:  // not supported / JSON-RPC version not supported
      return false;
    default:
      // -32000 (server error: "header not found", "unknown block", ...), -32603 (internal),
      // -32005 (limit exceeded / rate limited), -32001..-32004 and provider-specific codes.
      return true;
  }
}

Error MakeRpcError(std::string_view method, std::int64_t code, std::string_view message,
                   std::string_view data) {
  std::string text = std::string(method) + ": rpc error " + std::to_string(code) + ": " +
                     std::string(message.substr(0, 2000));
  if (!data.empty()) text += " (data " + std::string(data.substr(0, 4000)) + ")";
  const bool retryable = IsRetryableRpcCode(code, message);
  return MakeError(retryable ? ErrorCode::kUnavailable : ErrorCode::kPrecondition, std::move(text),
                   retryable);
}

std::optional<RpcErrorInfo> ParseRpcError(const Error& error) {
  const std::string_view m = error.message;
  const std::string_view tag = ": rpc error ";
  const auto pos = m.find(tag);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view rest = m.substr(pos + tag.size());
  std::int64_t code = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), code);
  if (ec != std::errc()) return std::nullopt;
  rest = rest.substr(static_cast<std::size_t>(ptr - rest.data()));
  if (rest.substr(0, 2) != ": ") return std::nullopt;
  rest = rest.substr(2);
  RpcErrorInfo info;
  info.code = code;
  const auto data_pos = rest.rfind(" (data ");
  if (data_pos != std::string_view::npos && !rest.empty() && rest.back() == ')') {
    info.message = std::string(rest.substr(0, data_pos));
    std::string_view data = rest.substr(data_pos + 7, rest.size() - data_pos - 8);
    if (data.size() >= 2 && data.front() == '"' && data.back() == '"') {
      data = data.substr(1, data.size() - 2);
    }
    info.data = std::string(data);
  } else {
    info.message = std::string(rest);
  }
  return info;
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string HexQuantity(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Result<std::unique_ptr<RpcClient>> MakeRpcClient(const RpcSettings& settings) {
  CVMW_ASSIGN_OR_RETURN(auto url, ParseUrl(settings.url));
  if (settings.max_in_flight == 0 || settings.max_message_bytes < 1024 ||
      settings.call_timeout.count() <= 0) {
    return MakeError(ErrorCode::kPrecondition,
                     "RPC settings: max_in_flight, max_message_bytes and call_timeout must be > 0");
  }
  if (url.websocket) return detail::MakeWebSocketClient(settings, url);
  return detail::MakeHttpClient(settings, url);
}

}  // namespace cvmwatch::indexer
