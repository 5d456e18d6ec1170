#include "cvmwatch/config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "cvmwatch/core/hash.h"

namespace cvmwatch::config {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Loader {
 public:
  Loader(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {}

  Error At(const toml::node& n, const std::string& message) const {
    const auto& src = n.source();
    std::string where = source_;
    if (src.begin.line > 0) {
      where += ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
    }
    return MakeError(ErrorCode::kPrecondition, where + ": " + message);
  }
  Error At(const std::string& message) const {
    return MakeError(ErrorCode::kPrecondition, source_ + ": " + message);
  }

  Result<std::uint64_t> U64(const toml::node& n, const std::string& key) const {
    const auto* v = n.as_integer();
    if (!v) return At(n, key + " must be an integer");
    if (v->get() < 0) return At(n, key + " must not be negative");
    return static_cast<std::uint64_t>(v->get());
  }
  Result<bool> Bool(const toml::node& n, const std::string& key) const {
    const auto* v = n.as_boolean();
    if (!v) return At(n, key + " must be true or false");
    return v->get();
  }
  Result<std::string> Str(const toml::node& n, const std::string& key) const {
    const auto* v = n.as_string();
    if (!v) return At(n, key + " must be a string");
    return v->get();
  }
  Result<std::vector<std::string>> StrList(const toml::node& n, const std::string& key) const {
    const auto* a = n.as_array();
    if (!a) return At(n, key + " must be an array of strings");
    std::vector<std::string> out;
    for (const auto& item : *a) {
      CVMW_ASSIGN_OR_RETURN(auto s, Str(item, key + "[]"));
      out.push_back(std::move(s));
    }
    return out;
  }
  Result<Address> Addr(const toml::node& n, const std::string& key) const {
    CVMW_ASSIGN_OR_RETURN(auto s, Str(n, key));
    auto a = ParseAddress(s);
    if (!a.ok()) return At(n, key + ": " + a.error().message);
    return *a;
  }

  // Calls `f(key, node)` for each entry; keys outside `known` are errors.
  template <typename F>
  Status Each(const toml::table& t, std::string_view section, std::initializer_list<std::string_view> known, F&& f) const {
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (auto kn : known) list += (list.empty() ? "" : ", ") + std::string(kn);
        return At(v, "unknown key \"" + key + "\" in " + std::string(section) + " (known: " + list + ")");
      }
      CVMW_RETURN_IF_ERROR(f(key, v));
    }
    return OkStatus();
  }

  Status Apply(const toml::table& root, Config& c, bool allow_preset) const {
    return Each(root, "the top level", {"preset", "chain", "rpc", "indexer", "pipeline", "log", "store"},
                [&](const std::string& key, const toml::node& v) -> Status {
                  if (key == "preset") {
                    if (!allow_preset) return At(v, "a preset cannot name another preset");
                    return OkStatus();  // handled by the caller
                  }
                  const auto* t = v.as_table();
                  if (!t) return At(v, "[" + key + "] must be a table");
                  if (key == "chain") return ApplyChain(*t, c.chain);
                  if (key == "rpc") return ApplyRpc(*t, c.rpc);
                  if (key == "indexer") return ApplyIndexer(*t, c.indexer);
                  if (key == "pipeline") return ApplyPipeline(*t, c.pipeline);
                  if (key == "log") return ApplyLog(*t, c.log);
                  return ApplyStore(*t, c.store);
                });
  }

  Status ApplyChain(const toml::table& t, ChainConfig& c) const {
    return Each(t, "[chain]", {"name", "chain_id", "registry", "follow", "start_block"},
                [&](const std::string& key, const toml::node& v) -> Status {
                  if (key == "name") {
                    CVMW_ASSIGN_OR_RETURN(c.name, Str(v, "chain.name"));
                  } else if (key == "chain_id") {
                    CVMW_ASSIGN_OR_RETURN(c.chain_id, U64(v, "chain.chain_id"));
                  } else if (key == "registry") {
                    CVMW_ASSIGN_OR_RETURN(c.registry, Addr(v, "chain.registry"));
                  } else if (key == "follow") {
                    const auto* a = v.as_array();
                    if (!a) return At(v, "chain.follow must be an array of addresses");
                    c.follow.clear();
                    for (const auto& item : *a) {
                      CVMW_ASSIGN_OR_RETURN(auto addr, Addr(item, "chain.follow[]"));
                      c.follow.push_back(addr);
                    }
                  } else {
                    CVMW_ASSIGN_OR_RETURN(c.start_block, U64(v, "chain.start_block"));
                  }
                  return OkStatus();
                });
  }

  Status ApplyRpc(const toml::table& t, RpcConfig& c) const {
    return Each(t, "[rpc]",
                {"url", "cross_check", "timeout_ms", "connect_timeout_ms", "max_message_bytes", "max_in_flight",
                 "max_batch", "reconnect_initial_ms", "reconnect_max_ms", "ca_file", "headers"},
                [&](const std::string& key, const toml::node& v) -> Status {
                  if (key == "url") {
                    CVMW_ASSIGN_OR_RETURN(c.url, Str(v, "rpc.url"));
                  } else if (key == "cross_check") {
                    CVMW_ASSIGN_OR_RETURN(c.cross_check, StrList(v, "rpc.cross_check"));
                  } else if (key == "ca_file") {
                    CVMW_ASSIGN_OR_RETURN(c.ca_file, Str(v, "rpc.ca_file"));
                  } else if (key == "headers") {
                    const auto* h = v.as_table();
                    if (!h) return At(v, "[rpc.headers] must be a table of strings");
                    c.headers.clear();
                    for (auto&& [hk, hv] : *h) {
                      CVMW_ASSIGN_OR_RETURN(auto s, Str(hv, "rpc.headers." + std::string(hk.str())));
                      c.headers.emplace_back(std::string(hk.str()), std::move(s));
                    }
                  } else {
                    CVMW_ASSIGN_OR_RETURN(auto n, U64(v, "rpc." + key));
                    if (key == "timeout_ms") c.timeout_ms = n;
                    if (key == "connect_timeout_ms") c.connect_timeout_ms = n;
                    if (key == "max_message_bytes") c.max_message_bytes = n;
                    if (key == "max_in_flight") c.max_in_flight = n;
                    if (key == "max_batch") c.max_batch = n;
                    if (key == "reconnect_initial_ms") c.reconnect_initial_ms = n;
                    if (key == "reconnect_max_ms") c.reconnect_max_ms = n;
                  }
                  return OkStatus();
                });
  }

  Status ApplyIndexer(const toml::table& t, IndexerConfig& c) const {
    return Each(t, "[indexer]",
                {"confirmations", "initial_getlogs_range", "max_getlogs_range", "min_getlogs_range", "live_window",
                 "max_live_batch", "scan_all_transactions", "use_trace", "reconcile", "reorg_window", "subscribe",
                 "poll_interval_ms", "head_stall_seconds", "cross_check_interval_seconds"},
                [&](const std::string& key, const toml::node& v) -> Status {
                  if (key == "confirmations") {
                    if (const auto* s = v.as_string()) {
                      if (s->get() != "finalized") {
                        return At(v, "indexer.confirmations must be a block count or \"finalized\"");
                      }
                      c.finalized = true;
                      c.confirmations = 0;
                      return OkStatus();
                    }
                    CVMW_ASSIGN_OR_RETURN(c.confirmations, U64(v, "indexer.confirmations"));
                    c.finalized = false;
                    return OkStatus();
                  }
                  if (key == "scan_all_transactions" || key == "use_trace" || key == "reconcile" || key == "subscribe") {
                    CVMW_ASSIGN_OR_RETURN(auto b, Bool(v, "indexer." + key));
                    if (key == "scan_all_transactions") c.scan_all_transactions = b;
                    if (key == "use_trace") c.use_trace = b;
                    if (key == "reconcile") c.reconcile = b;
                    if (key == "subscribe") c.subscribe = b;
                    return OkStatus();
                  }
                  CVMW_ASSIGN_OR_RETURN(auto n, U64(v, "indexer." + key));
                  if (key == "initial_getlogs_range") c.initial_getlogs_range = n;
                  if (key == "max_getlogs_range") c.max_getlogs_range = n;
                  if (key == "min_getlogs_range") c.min_getlogs_range = n;
                  if (key == "live_window") c.live_window = n;
                  if (key == "max_live_batch") c.max_live_batch = n;
                  if (key == "reorg_window") c.reorg_window = n;
                  if (key == "poll_interval_ms") c.poll_interval_ms = n;
                  if (key == "head_stall_seconds") c.head_stall_seconds = n;
                  if (key == "cross_check_interval_seconds") c.cross_check_interval_seconds = n;
                  return OkStatus();
                });
  }

  Status ApplyPipeline(const toml::table& t, PipelineConfig& c) const {
    return Each(t, "[pipeline]", {"workers", "max_queued_tasks", "max_pending_blocks"},
                [&](const std::string& key, const toml::node& v) -> Status {
                  CVMW_ASSIGN_OR_RETURN(auto n, U64(v, "pipeline." + key));
                  if (key == "workers") c.workers = n;
                  if (key == "max_queued_tasks") c.max_queued_tasks = n;
                  if (key == "max_pending_blocks") c.max_pending_blocks = n;
                  return OkStatus();
                });
  }

  Status ApplyLog(const toml::table& t, LogConfig& c) const {
    return Each(t, "[log]", {"format", "level"}, [&](const std::string& key, const toml::node& v) -> Status {
      CVMW_ASSIGN_OR_RETURN(auto s, Str(v, "log." + key));
      if (key == "format") c.format = s;
      if (key == "level") c.level = s;
      return OkStatus();
    });
  }

  Status ApplyStore(const toml::table& t, StoreConfig& c) const {
    return Each(t, "[store]", {"path"}, [&](const std::string&, const toml::node& v) -> Status {
      CVMW_ASSIGN_OR_RETURN(c.path, Str(v, "store.path"));
      return OkStatus();
    });
  }

  const std::string& source() const { return source_; }
  const EnvLookup& env() const { return env_; }

 private:
  std::string source_;
  const EnvLookup& env_;
};

Result<toml::table> ParseToml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return MakeError(ErrorCode::kPrecondition, source + ":" + std::to_string(b.line) + ":" +
                                                   std::to_string(b.column) + ": " + std::string(e.description()));
  }
}

// "${VAR}" → the variable's value. Only whole-string references, so URLs keep their syntax.
Status Expand(std::string& value, const std::string& where, const EnvLookup& env, Config& c) {
  if (value.size() < 4 || value.compare(0, 2, "${") != 0 || value.back() != '}') return OkStatus();
  const std::string var = value.substr(2, value.size() - 3);
  const auto v = env ? env(var) : std::nullopt;
  if (!v || v->empty()) {
    return MakeError(ErrorCode::kPrecondition,
                     where + " refers to the environment variable " + var + ", which is not set");
  }
  value = *v;
  c.env_used.push_back(var);
  return OkStatus();
}

Status ApplyEnv(Config& c, const EnvLookup& env) {
  if (!env) return OkStatus();
  if (auto v = env("CVMWATCH_RPC_URL"); v && !v->empty()) {
    c.rpc.url = *v;
    c.env_used.push_back("CVMWATCH_RPC_URL");
  }
  if (auto v = env("CVMWATCH_RPC_CROSS_CHECK"); v && !v->empty()) {
    c.rpc.cross_check.clear();
    std::stringstream ss(*v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) c.rpc.cross_check.push_back(item);
    }
    c.env_used.push_back("CVMWATCH_RPC_CROSS_CHECK");
  }
  if (auto v = env("CVMWATCH_RPC_AUTHORIZATION"); v && !v->empty()) {
    auto it = std::find_if(c.rpc.headers.begin(), c.rpc.headers.end(),
                           [](const auto& h) { return Lower(h.first) == "authorization"; });
    if (it != c.rpc.headers.end()) {
      it->second = *v;
    } else {
      c.rpc.headers.emplace_back("Authorization", *v);
    }
    c.env_used.push_back("CVMWATCH_RPC_AUTHORIZATION");
  }
  CVMW_RETURN_IF_ERROR(Expand(c.rpc.url, "rpc.url", env, c));
  for (std::size_t i = 0; i < c.rpc.cross_check.size(); ++i) {
    CVMW_RETURN_IF_ERROR(Expand(c.rpc.cross_check[i], "rpc.cross_check[" + std::to_string(i) + "]", env, c));
  }
  for (auto& [k, v] : c.rpc.headers) CVMW_RETURN_IF_ERROR(Expand(v, "rpc.headers." + k, env, c));
  CVMW_RETURN_IF_ERROR(Expand(c.rpc.ca_file, "rpc.ca_file", env, c));
  return OkStatus();
}

Result<Config> FromPreset(std::string_view name, const EnvLookup& env, const std::string& user_source) {
  const Preset* p = FindPreset(name);
  if (!p) {
    std::string names;
    for (const auto& x : Presets()) names += (names.empty() ? "" : ", ") + std::string(x.name);
    return MakeError(ErrorCode::kPrecondition,
                     user_source + ": unknown preset \"" + std::string(name) + "\" (known: " + names + ")");
  }
  const std::string source = "preset " + std::string(p->name);
  CVMW_ASSIGN_OR_RETURN(auto table, ParseToml(p->toml, source));
  Config c;
  Loader loader(source, env);
  CVMW_RETURN_IF_ERROR(loader.Apply(table, c, false));
  c.preset = std::string(p->name);
  return c;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string n(name);
    const char* v = std::getenv(n.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

EnvLookup NoEnv() {
  return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

Result<Config> ParseConfig(std::string_view toml_text, std::string_view source_name, const EnvLookup& env) {
  const std::string source(source_name);
  CVMW_ASSIGN_OR_RETURN(auto table, ParseToml(toml_text, source));
  Config c;
  Loader loader(source, env);
  if (auto preset = table["preset"]; preset) {
    const auto* s = preset.as_string();
    if (!s) return loader.At(*preset.node(), "preset must be a string");
    CVMW_ASSIGN_OR_RETURN(c, FromPreset(s->get(), env, source));
  }
  CVMW_RETURN_IF_ERROR(loader.Apply(table, c, true));
  c.source = source;
  CVMW_RETURN_IF_ERROR(ApplyEnv(c, env));
  return c;
}

Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (text.size() > (1u << 20)) return MakeError(ErrorCode::kPrecondition, path + ": larger than 1 MiB");
  return ParseConfig(text, path, env);
}

Result<Config> PresetConfig(std::string_view preset, const EnvLookup& env) {
  CVMW_ASSIGN_OR_RETURN(auto c, FromPreset(preset, env, "command line"));
  c.source = "preset " + std::string(preset);
  CVMW_RETURN_IF_ERROR(ApplyEnv(c, env));
  return c;
}

Result<Address> ParseAddress(std::string_view text) {
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return MakeError(ErrorCode::kInvalidLength,
                     "\"" + std::string(text.substr(0, 60)) + "\" is not an address (0x + 40 hex digits)");
  }
  auto a = Address::FromHex(text);
  if (!a.ok()) return MakeError(ErrorCode::kInvalidHex, "\"" + std::string(text) + "\": " + a.error().message);
  const std::string_view digits = text.substr(2);
  const bool has_lower = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  const bool has_upper = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (has_lower && has_upper && ChecksumAddress(*a).substr(2) != digits) {
    return MakeError(ErrorCode::kInvalidHex, "\"" + std::string(text) +
                                                 "\" has mixed case but a wrong EIP-55 checksum (expected " +
                                                 ChecksumAddress(*a) + ")");
  }
  return *a;
}

std::string ChecksumAddress(const Address& address) {
  const std::string lower = address.ToHex(false);
  const Hash32 h = Keccak256(AsBytes(lower));
  std::string out = "0x";
  for (std::size_t i = 0; i < lower.size(); ++i) {
    const std::uint8_t nibble = (i % 2 == 0) ? (h.bytes[i / 2] >> 4) : (h.bytes[i / 2] & 0x0f);
    const char c = lower[i];
    out.push_back(c >= 'a' && c <= 'f' && nibble >= 8 ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::string CheckUrl(std::string_view url) {
  if (url.empty()) return "is empty";
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "contains a space, control or non-ASCII character";
    }
  }
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return "has no scheme (ws://, wss://, http://, https://)";
  const std::string scheme = Lower(url.substr(0, sep));
  if (scheme != "ws" && scheme != "wss" && scheme != "http" && scheme != "https") {
    return "has the unsupported scheme \"" + scheme + "\"";
  }
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "has an unterminated IPv6 address";
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return "has junk after the IPv6 address";
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return "has an empty port";
  }
  if (host.empty()) return "has no host";
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':')) {
      return "has an invalid character in the host";
    }
  }
  if (!port.empty()) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || ptr != port.data() + port.size() || v == 0 || v > 65535) return "has an invalid port";
  }
  return "";
}

std::string RedactUrl(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return url.empty() ? "" : "<invalid url>";
  std::string_view rest = url.substr(sep + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string out = std::string(url.substr(0, sep + 3)) + std::string(authority);
  if (path_start != std::string_view::npos && rest.size() > path_start + 1) out += "/…";
  return out;
}

bool HasErrors(const std::vector<Problem>& problems) {
  return std::any_of(problems.begin(), problems.end(), [](const Problem& p) { return p.error; });
}

std::vector<Problem> Validate(const Config& c) {
  std::vector<Problem> out;
  auto err = [&](std::string where, std::string msg) { out.push_back(Problem{true, std::move(where), std::move(msg)}); };
  auto warn = [&](std::string where, std::string msg) { out.push_back(Problem{false, std::move(where), std::move(msg)}); };

  if (c.chain.chain_id == 0) err("chain.chain_id", "is missing (set it, or use a preset)");
  if (c.chain.registry.IsZero()) err("chain.registry", "is missing or the zero address");
  std::set<Address> seen;
  for (std::size_t i = 0; i < c.chain.follow.size(); ++i) {
    const auto& a = c.chain.follow[i];
    if (a.IsZero()) err("chain.follow[" + std::to_string(i) + "]", "is the zero address");
    if (a == c.chain.registry) warn("chain.follow[" + std::to_string(i) + "]", "repeats the registry address");
    if (!seen.insert(a).second) warn("chain.follow[" + std::to_string(i) + "]", "is listed twice");
  }

  auto check_url = [&](const std::string& where, const std::string& url) {
    const std::string why = CheckUrl(url);
    if (!why.empty()) {
      err(where, "\"" + RedactUrl(url) + "\" " + why);
      return;
    }
    const std::string lower = Lower(url);
    const bool tls = lower.rfind("wss://", 0) == 0 || lower.rfind("https://", 0) == 0;
    const bool loopback = lower.find("://127.") != std::string::npos || lower.find("://localhost") != std::string::npos ||
                          lower.find("://[::1]") != std::string::npos;
    if (!tls && !loopback) warn(where, "\"" + RedactUrl(url) + "\" is not TLS (use wss:// or https://)");
  };
  check_url("rpc.url", c.rpc.url);
  for (std::size_t i = 0; i < c.rpc.cross_check.size(); ++i) {
    check_url("rpc.cross_check[" + std::to_string(i) + "]", c.rpc.cross_check[i]);
    if (c.rpc.cross_check[i] == c.rpc.url) warn("rpc.cross_check[" + std::to_string(i) + "]", "is the primary endpoint itself");
  }
  if (c.rpc.timeout_ms == 0 || c.rpc.timeout_ms > 600'000) err("rpc.timeout_ms", "must be in 1..600000");
  if (c.rpc.connect_timeout_ms == 0 || c.rpc.connect_timeout_ms > 600'000) err("rpc.connect_timeout_ms", "must be in 1..600000");
  if (c.rpc.max_message_bytes < 4096 || c.rpc.max_message_bytes > (1ull << 30)) err("rpc.max_message_bytes", "must be in 4096..1073741824");
  if (c.rpc.max_in_flight == 0 || c.rpc.max_in_flight > 10'000) err("rpc.max_in_flight", "must be in 1..10000");
  if (c.rpc.max_batch == 0 || c.rpc.max_batch > 1'000) err("rpc.max_batch", "must be in 1..1000");
  if (c.rpc.reconnect_initial_ms == 0) err("rpc.reconnect_initial_ms", "must be > 0");
  if (c.rpc.reconnect_max_ms < c.rpc.reconnect_initial_ms) err("rpc.reconnect_max_ms", "must be >= rpc.reconnect_initial_ms");
  if (!c.rpc.ca_file.empty()) {
    std::ifstream f(c.rpc.ca_file);
    if (!f) err("rpc.ca_file", "cannot read " + c.rpc.ca_file);
  }
  for (const auto& [k, v] : c.rpc.headers) {
    if (k.empty() || k.find_first_of(" :\r\n") != std::string::npos) err("rpc.headers." + k, "is not a valid header name");
    if (v.find_first_of("\r\n") != std::string::npos) err("rpc.headers." + k, "value contains a line break");
  }

  const auto& x = c.indexer;
  if (x.min_getlogs_range == 0) err("indexer.min_getlogs_range", "must be >= 1");
  if (x.max_getlogs_range < x.min_getlogs_range) err("indexer.max_getlogs_range", "must be >= indexer.min_getlogs_range");
  if (x.max_getlogs_range > 1'000'000) err("indexer.max_getlogs_range", "must be <= 1000000");
  if (x.initial_getlogs_range < x.min_getlogs_range || x.initial_getlogs_range > x.max_getlogs_range) {
    warn("indexer.initial_getlogs_range", "is outside [min, max] and will be clamped");
  }
  if (x.live_window == 0) err("indexer.live_window", "must be >= 1");
  if (x.max_live_batch == 0 || x.max_live_batch > 10'000) err("indexer.max_live_batch", "must be in 1..10000");
  if (x.reorg_window == 0 || x.reorg_window > 100'000) err("indexer.reorg_window", "must be in 1..100000");
  if (!x.finalized && x.confirmations >= x.reorg_window) {
    warn("indexer.confirmations", "is not smaller than indexer.reorg_window");
  }
  if (x.confirmations > 10'000) err("indexer.confirmations", "must be <= 10000 (or \"finalized\")");
  if (x.poll_interval_ms < 10 || x.poll_interval_ms > 3'600'000) err("indexer.poll_interval_ms", "must be in 10..3600000");
  if (x.head_stall_seconds != 0 && x.head_stall_seconds * 1000 < x.poll_interval_ms) {
    warn("indexer.head_stall_seconds", "is shorter than one poll interval");
  }
  if (x.cross_check_interval_seconds == 0 && !c.rpc.cross_check.empty()) {
    err("indexer.cross_check_interval_seconds", "must be > 0 when rpc.cross_check is set");
  }

  if (c.pipeline.workers == 0 || c.pipeline.workers > 256) err("pipeline.workers", "must be in 1..256");
  if (c.pipeline.max_queued_tasks == 0 || c.pipeline.max_queued_tasks > 100'000) err("pipeline.max_queued_tasks", "must be in 1..100000");
  if (c.pipeline.max_pending_blocks == 0 || c.pipeline.max_pending_blocks > 100'000) err("pipeline.max_pending_blocks", "must be in 1..100000");

  if (c.log.format != "auto" && c.log.format != "text" && c.log.format != "json") err("log.format", "must be auto, text or json");
  if (c.log.level != "debug" && c.log.level != "info" && c.log.level != "warn" && c.log.level != "error" && c.log.level != "off") {
    err("log.level", "must be debug, info, warn, error or off");
  }
  return out;
}

std::string Describe(const Config& c) {
  std::ostringstream o;
  o << "source         " << c.source << (c.preset.empty() || c.source.rfind("preset ", 0) == 0 ? "" : " (preset " + c.preset + ")") << "\n";
  o << "chain          " << (c.chain.name.empty() ? "-" : c.chain.name) << ", chain id " << c.chain.chain_id << "\n";
  o << "registry       " << ChecksumAddress(c.chain.registry) << "\n";
  for (const auto& a : c.chain.follow) o << "follow         " << ChecksumAddress(a) << "\n";
  o << "start block    " << c.chain.start_block << "\n";
  o << "rpc            " << RedactUrl(c.rpc.url) << " (timeout " << c.rpc.timeout_ms << " ms, max message "
    << c.rpc.max_message_bytes << " B, " << c.rpc.max_in_flight << " in flight)\n";
  for (const auto& u : c.rpc.cross_check) o << "cross-check    " << RedactUrl(u) << "\n";
  for (const auto& [k, v] : c.rpc.headers) o << "header         " << k << ": <" << v.size() << " chars>\n";
  o << "confirmations  " << (c.indexer.finalized ? std::string("finalized") : std::to_string(c.indexer.confirmations)) << "\n";
  o << "getLogs range  " << c.indexer.min_getlogs_range << ".." << c.indexer.max_getlogs_range << " (start "
    << c.indexer.initial_getlogs_range << ")\n";
  o << "scan all txs   " << (c.indexer.scan_all_transactions ? "yes" : "no") << ", trace " << (c.indexer.use_trace ? "yes" : "no")
    << ", reconcile " << (c.indexer.reconcile ? "yes" : "no") << ", subscribe " << (c.indexer.subscribe ? "yes" : "no") << "\n";
  o << "reorg window   " << c.indexer.reorg_window << " blocks; head stall "
    << (c.indexer.head_stall_seconds ? std::to_string(c.indexer.head_stall_seconds) + " s" : std::string("off")) << "\n";
  o << "pipeline       " << c.pipeline.workers << " workers, " << c.pipeline.max_queued_tasks << " queued tasks max\n";
  o << "log            " << c.log.format << ", " << c.log.level << "\n";
  if (!c.store.path.empty()) o << "store          " << c.store.path << "\n";
  if (!c.env_used.empty()) {
    o << "environment   ";
    for (const auto& e : c.env_used) o << " " << e;
    o << "\n";
  }
  return o.str();
}

}  // namespace cvmwatch::config
