#include "check_config_command.h"

#include <ostream>

#include "cvmwatch/config/config.h"
#include "cvmwatch/indexer/rpc.h"
#include "run_command.h"

namespace cvmwatch::app {
namespace {

// eth_chainId of one endpoint, or an error text.
std::string ProbeChainId(const config::Config& c, const std::string& url, std::uint64_t* chain_id) {
  auto client = indexer::MakeRpcClient(ToRpcSettings(c.rpc, url));
  if (!client.ok()) return client.error().message;
  (*client)->Start();
  auto connected = (*client)->WaitConnected(std::chrono::milliseconds(c.rpc.connect_timeout_ms));
  if (!connected.ok()) return connected.error().message;
  auto reply = (*client)->Call("eth_chainId", "[]");
  (*client)->Stop();
  if (!reply.ok()) return reply.error().message;
  std::string text = *reply;
  if (text.size() < 4 || text.front() != '"' || text.back() != '"') return "eth_chainId: unexpected reply " + text.substr(0, 60);
  text = text.substr(1, text.size() - 2);
  try {
    *chain_id = std::stoull(text, nullptr, 16);
  } catch (...) {
    return "eth_chainId: not a quantity: " + text;
  }
  return "";
}

}  // namespace

int RunCheckConfig(const CheckConfigOptions& options, std::ostream& out, std::ostream& err) {
  if (options.list_presets) {
    for (const auto& p : config::Presets()) out << p.name << "\n";
    return 0;
  }
  auto cfg = LoadRunConfig(options.config_path, options.preset, options.rpc_url);
  if (!cfg.ok()) {
    err << "invalid: " << cfg.error().message << "\n";
    return 2;
  }
  out << config::Describe(*cfg);
  const auto problems = config::Validate(*cfg);
  for (const auto& p : problems) {
    (p.error ? err : out) << (p.error ? "error   " : "warning ") << p.where << " " << p.message << "\n";
  }
  if (config::HasErrors(problems)) {
    err << "invalid: " << problems.size() << " problem(s)\n";
    return 2;
  }
  if (options.probe) {
    std::vector<std::string> urls{cfg->rpc.url};
    for (const auto& u : cfg->rpc.cross_check) urls.push_back(u);
    bool ok = true;
    for (const auto& url : urls) {
      std::uint64_t id = 0;
      const std::string why = ProbeChainId(*cfg, url, &id);
      if (!why.empty()) {
        err << "probe   " << config::RedactUrl(url) << ": " << why << "\n";
        ok = false;
      } else if (id != cfg->chain.chain_id) {
        err << "probe   " << config::RedactUrl(url) << ": chain id " << id << ", the configuration expects "
            << cfg->chain.chain_id << "\n";
        ok = false;
      } else {
        out << "probe   " << config::RedactUrl(url) << ": chain id " << id << " as configured\n";
      }
    }
    if (!ok) return 2;
  }
  out << "valid\n";
  return 0;
}

}  // namespace cvmwatch::app
