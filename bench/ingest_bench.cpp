// ingest_bench: registry events per second through the indexer's decode + sink path, with the
// RPC fetch measured separately, on the local devnet filled by `scripts/devnet replay
// --synthetic N` (registrations, re-attestations with and without key rotation, TTL updates).
//
//   1. start a devnet (own DEVNET_DIR, port 0), deploy, replay N synthetic transactions;
//   2. index it from block 0 over WebSocket, recording every RPC reply: the wall time is split
//      into RPC wait and decode + apply (the Indexer's own accounting);
//   3. index it again from the recorded replies (no network): decode + apply alone, several passes;
//   4. DecodeRegistryCall alone over the same calldata.
// Without verification (the verifier's cost is the verifier bench's). Reconciliation reads are off
// for the throughput figures (they are RPC) and reported in a separate line.
// Usage: ingest_bench [--synthetic N] [--passes P] [--ws-url URL]  (URL: an already filled devnet)
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

#include "cvmwatch/core/registry.h"
#include "cvmwatch/indexer/indexer.h"
#include "cvmwatch/indexer/log.h"
#include "cvmwatch/indexer/memory_sink.h"
#include "cvmwatch/indexer/rpc.h"

using namespace cvmwatch;
using namespace cvmwatch::indexer;
using Steady = std::chrono::steady_clock;

namespace {

const std::string kRoot = CVMWATCH_SOURCE_DIR;

std::pair<int, std::string> Sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// Records every reply of the real client (keyed by method + params).
class RecordingClient final : public RpcClient {
 public:
  explicit RecordingClient(RpcClient& inner) : inner_(inner) {}
  void Start() override { inner_.Start(); }
  void Stop() override { inner_.Stop(); }
  void Reconnect(std::string_view r) override { inner_.Reconnect(r); }
  Result<std::string> Call(std::string_view m, std::string_view p, std::optional<std::chrono::milliseconds> t) override {
    auto r = inner_.Call(m, p, t);
    Record(m, p, r);
    return r;
  }
  std::vector<Result<std::string>> CallMany(std::span<const RpcRequest> reqs) override {
    auto out = inner_.CallMany(reqs);
    for (std::size_t i = 0; i < reqs.size(); ++i) Record(reqs[i].method, reqs[i].params, out[i]);
    return out;
  }
  bool SupportsSubscriptions() const override { return false; }  // polling only: replayable
  void SetNotificationHandler(NotificationHandler) override {}
  void SetConnectionHandler(ConnectionHandler) override {}
  Status WaitConnected(std::chrono::milliseconds t) override { return inner_.WaitConnected(t); }
  bool Connected() const override { return inner_.Connected(); }
  std::uint64_t ConnectionGeneration() const override { return inner_.ConnectionGeneration(); }
  std::string Endpoint() const override { return inner_.Endpoint(); }
  Counters GetCounters() const override { return inner_.GetCounters(); }

  std::map<std::string, Result<std::string>> replies;
  std::size_t bytes = 0;

 private:
  void Record(std::string_view m, std::string_view p, const Result<std::string>& r) {
    std::lock_guard lock(mu_);
    if (r.ok()) bytes += r->size();
    replies.insert_or_assign(std::string(m) + " " + std::string(p), r);
  }
  RpcClient& inner_;
  std::mutex mu_;
};

// Serves recorded replies: the indexer's work without the network.
class ReplayClient final : public RpcClient {
 public:
  explicit ReplayClient(const std::map<std::string, Result<std::string>>& replies) : replies_(replies) {}
  void Start() override {}
  void Stop() override {}
  void Reconnect(std::string_view) override {}
  Result<std::string> Call(std::string_view m, std::string_view p, std::optional<std::chrono::milliseconds>) override {
    auto it = replies_.find(std::string(m) + " " + std::string(p));
    if (it == replies_.end()) return MakeError(ErrorCode::kNotFound, std::string(m) + ": not recorded " + std::string(p.substr(0, 80)));
    return it->second;
  }
  std::vector<Result<std::string>> CallMany(std::span<const RpcRequest> reqs) override {
    std::vector<Result<std::string>> out;
    out.reserve(reqs.size());
    for (const auto& r : reqs) out.push_back(Call(r.method, r.params, std::nullopt));
    return out;
  }
  bool SupportsSubscriptions() const override { return false; }
  void SetNotificationHandler(NotificationHandler) override {}
  void SetConnectionHandler(ConnectionHandler) override {}
  Status WaitConnected(std::chrono::milliseconds) override { return OkStatus(); }
  bool Connected() const override { return true; }
  std::uint64_t ConnectionGeneration() const override { return 1; }
  std::string Endpoint() const override { return "replay://recorded"; }
  Counters GetCounters() const override { return {}; }

 private:
  const std::map<std::string, Result<std::string>>& replies_;
};

IndexerSettings Settings(std::uint64_t head, bool reconcile) {
  IndexerSettings s;
  s.chain_id = 31337;
  s.registry = *Address::FromHex("0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac");
  s.extra_addresses = {*Address::FromHex("0x5fbdb2315678afecb367f032d93f642f64180aa3"),
                       *Address::FromHex("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512")};
  s.stop_at_block = head;
  s.reconcile = reconcile;
  s.subscribe = false;
  s.head_stall_timeout = std::chrono::milliseconds(0);
  s.poll_interval = std::chrono::milliseconds(10);
  s.log_ranges = LogRangeSettings{2000, 2000, 1, 4};
  return s;
}

struct RunResult {
  double wall = 0;
  IngestStats stats;
  std::size_t identities = 0;
};

RunResult IndexOnce(RpcClient& client, std::uint64_t head, bool reconcile) {
  MemorySink sink;
  SystemClock clock;
  Indexer idx(Settings(head, reconcile), client, sink, clock);
  const auto t0 = Steady::now();
  auto st = idx.Run();
  RunResult r;
  r.wall = std::chrono::duration<double>(Steady::now() - t0).count();
  if (!st.ok()) {
    std::fprintf(stderr, "ingest_bench: indexing failed: %s\n", st.error().message.c_str());
    std::exit(1);
  }
  r.stats = idx.Stats();
  r.identities = sink.identities().size();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int synthetic = 800;
  int passes = 5;
  std::string ws_url;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--synthetic" && i + 1 < argc) synthetic = std::atoi(argv[++i]);
    else if (a == "--passes" && i + 1 < argc) passes = std::atoi(argv[++i]);
    else if (a == "--ws-url" && i + 1 < argc) ws_url = argv[++i];
    else {
      std::fprintf(stderr, "usage: ingest_bench [--synthetic N] [--passes P] [--ws-url URL]\n");
      return 2;
    }
  }
  log::Configure(log::Format::kText, log::Level::kWarn);

  std::string dir;
  auto stop = [&] {
    if (dir.empty()) return;
    Sh("cd '" + kRoot + "' && DEVNET_DIR='" + dir + "' node scripts/devnet stop >/dev/null 2>&1");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    dir.clear();
  };
  if (ws_url.empty()) {
    if (!std::filesystem::exists(kRoot + "/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")) {
      std::printf("ingest_bench: SKIP (anvil not installed: npm ci)\n");
      return 0;
    }
    char tmpl[] = "/tmp/cvmwatch-ingest-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    const std::string env = "cd '" + kRoot + "' && DEVNET_DIR='" + dir + "' node scripts/devnet ";
    auto [rc, out] = Sh(env + "start 2>/dev/null");
    if (rc != 0) {
      std::fprintf(stderr, "ingest_bench: devnet start failed\n");
      stop();
      return 1;
    }
    ws_url = out.substr(0, out.find('\n'));
    const auto t0 = Steady::now();
    if (Sh(env + "deploy >/dev/null 2>&1").first != 0 ||
        Sh(env + "replay --no-seed --synthetic " + std::to_string(synthetic) + " >/dev/null 2>&1").first != 0) {
      std::fprintf(stderr, "ingest_bench: deploy / replay failed\n");
      stop();
      return 1;
    }
    std::printf("devnet: %d synthetic transactions replayed in %.1f s (%s)\n", synthetic,
                std::chrono::duration<double>(Steady::now() - t0).count(), ws_url.c_str());
  }

  RpcSettings rs;
  rs.url = ws_url;
  auto ws = MakeRpcClient(rs);
  if (!ws.ok()) {
    std::fprintf(stderr, "ingest_bench: %s\n", ws.error().message.c_str());
    stop();
    return 1;
  }
  (*ws)->Start();
  if (!(*ws)->WaitConnected(std::chrono::milliseconds(5000)).ok()) {
    std::fprintf(stderr, "ingest_bench: cannot connect to %s\n", ws_url.c_str());
    stop();
    return 1;
  }
  auto head_reply = (*ws)->Call("eth_blockNumber", "[]");
  const std::uint64_t head = std::stoull(head_reply->substr(3, head_reply->size() - 4), nullptr, 16);

  // 2. Over the network, recording.
  RecordingClient recorder(**ws);
  const RunResult net = IndexOnce(recorder, head, /*reconcile=*/false);
  const double events = static_cast<double>(net.stats.events);
  // 3. From the recording: decode + apply alone.
  ReplayClient replay(recorder.replies);
  double best = 1e9, total = 0;
  RunResult last;
  for (int p = 0; p < passes; ++p) {
    last = IndexOnce(replay, head, false);
    best = std::min(best, last.wall);
    total += last.wall;
  }
  // Reconciliation cost (RPC reads), reported apart.
  const RunResult rec = IndexOnce(**ws, head, /*reconcile=*/true);
  // 4. DecodeRegistryCall alone.
  std::vector<Bytes> calldata;
  {
    MemorySink sink;
    SystemClock clock;
    Indexer idx(Settings(head, false), replay, sink, clock);
    (void)idx.Run();
    for (const auto& b : sink.activity_blocks()) {
      for (const auto& c : b.calls) calldata.push_back(c.calldata);
    }
  }
  std::size_t decoded = 0, bytes = 0;
  const auto td = Steady::now();
  for (int p = 0; p < passes; ++p) {
    for (const auto& cd : calldata) {
      bytes += cd.size();
      if (registry::DecodeRegistryCall(cd).ok()) ++decoded;
    }
  }
  const double decode_only = std::chrono::duration<double>(Steady::now() - td).count();
  (*ws)->Stop();
  stop();

  const double net_cpu = net.stats.decode_seconds + net.stats.apply_seconds;
  std::printf("\nchain: %llu blocks, %llu registry calls, %.0f events, %zu identities, %.1f MB of RPC replies\n",
              static_cast<unsigned long long>(head + 1), static_cast<unsigned long long>(net.stats.calls), events,
              net.identities, static_cast<double>(recorder.bytes) / 1e6);
  std::printf("%-44s %10s %12s %10s\n", "run", "seconds", "events/s", "share");
  std::printf("%-44s %10.3f %12.0f %9.0f%%\n", "full index over WebSocket (wall)", net.wall, events / net.wall, 100.0);
  std::printf("%-44s %10.3f %12s %9.0f%%\n", "  of which waiting for RPC replies", net.stats.rpc_seconds, "-",
              100.0 * net.stats.rpc_seconds / net.wall);
  std::printf("%-44s %10.3f %12.0f %9.0f%%\n", "  of which decode + apply (CPU)", net_cpu, events / net_cpu, 100.0 * net_cpu / net.wall);
  std::printf("%-44s %10.3f %12.0f %10s\n", "decode + apply from recorded replies (best)", best, events / best, "-");
  std::printf("%-44s %10.3f %12.0f %10s\n", "decode + apply from recorded replies (mean)", total / passes, events * passes / total, "-");
  std::printf("%-44s %10.3f %12.0f %10s\n", "  of which in the sink (MemorySink)", last.stats.apply_seconds,
              events / std::max(1e-9, last.stats.apply_seconds), "-");
  std::printf("%-44s %10.3f %12.0f %10s\n", "DecodeRegistryCall alone (per call)", decode_only / passes,
              static_cast<double>(calldata.size()) * passes / decode_only, "-");
  std::printf("%-44s %10.3f %12.0f %10s\n", "full index with reconciliation reads (wall)", rec.wall, events / rec.wall, "-");
  std::printf("\nratios: RPC wait / decode+apply = %.1f; replayed decode+apply / network run = %.2f; "
              "reconciliation adds %.0f%% (%llu eth_call)\n",
              net.stats.rpc_seconds / std::max(1e-9, net_cpu), best / net.wall,
              100.0 * (rec.wall - net.wall) / net.wall, static_cast<unsigned long long>(rec.stats.reconcile_reads));
  std::printf("calldata: %zu calls, %.1f KB average; decoded %zu/%zu\n", calldata.size(),
              calldata.empty() ? 0.0 : static_cast<double>(bytes) / static_cast<double>(passes * calldata.size()) / 1024.0,
              decoded / static_cast<std::size_t>(std::max(1, passes)), calldata.size());
  const double goal = 20000;
  std::printf("goal: >= %.0f events/s through decode + sink without verification: %s (%.0f events/s)\n", goal,
              events / best >= goal ? "met" : "NOT met", events / best);
  return 0;
}
