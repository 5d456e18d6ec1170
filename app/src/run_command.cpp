#include "run_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <thread>

#include "cvmwatch/core/json_writer.h"
#include "cvmwatch/indexer/log.h"
#include "cvmwatch/indexer/memory_sink.h"

namespace cvmwatch::app {
namespace {

namespace ilog = indexer::log;

std::string OptHash(const std::optional<Hash32>& h) { return h ? h->ToHex() : "-"; }

// Any sink plus a log line for everything worth seeing (and, over the in-memory sink, its
// reconciliation differences).
class LoggingSink final : public indexer::BlockSink {
 public:
  LoggingSink(indexer::BlockSink& inner, indexer::MemorySink* memory) : inner_(inner), memory_(memory) {}

  Result<std::optional<indexer::Cursor>> LoadCursor() override { return inner_.LoadCursor(); }
  Status RollbackTo(std::uint64_t n) override {
    ilog::Warn("rollback", {{"to_block", n}});
    auto s = inner_.RollbackTo(n);
    if (memory_) diffs_seen_ = memory_->diffs().size();
    return s;
  }
  std::vector<indexer::BlockRef> RecentBlocks(std::size_t n) override { return inner_.RecentBlocks(n); }
  void OnLiveness(const indexer::LivenessFact& f) override { inner_.OnLiveness(f); }
  std::vector<Hash32> KnownIdentities(std::size_t max) override { return inner_.KnownIdentities(max); }
  Status Flush() override { return inner_.Flush(); }

  Status ApplyBlock(const indexer::ChainBlock& b) override {
    CVMW_RETURN_IF_ERROR(inner_.ApplyBlock(b));
    for (const auto& c : b.calls) {
      std::string identities;
      for (const auto& e : c.events) {
        if (e.identity_hash) {
          if (!identities.empty()) identities += ",";
          identities += e.name + ":" + e.identity_hash->ToHex();
        }
      }
      ilog::Info("registry_call", {{"block", b.block_number},
                                   {"tx", c.tx_hash.ToHex()},
                                   {"function", c.function.empty() ? std::string("unknown") : c.function},
                                   {"outcome", std::string(indexer::ChainOutcomeName(c.outcome))},
                                   {"source", std::string(indexer::CallSourceName(c.source))},
                                   {"decoded", c.decoded.has_value()},
                                   {"events", identities},
                                   {"revert", c.revert_data ? ToHex(*c.revert_data) : std::string("-")}});
      if (!c.decoded && !c.decode_error.empty() && c.decode_error.rfind("not a lifecycle call", 0) != 0) {
        ilog::Warn("decode_failed", {{"tx", c.tx_hash.ToHex()}, {"error", c.decode_error}});
      }
    }
    for (const auto& u : b.unrecoverable) {
      ilog::Warn("unrecoverable_submission", {{"block", b.block_number}, {"tx", u.tx_hash.ToHex()}, {"reason", u.reason}});
    }
    for (const auto& up : b.upgrades) {
      ilog::Info("implementation_changed", {{"block", b.block_number}, {"implementation", up.implementation.ToHex()}});
    }
    if (memory_) {
      const auto diffs = memory_->diffs();
      for (std::size_t i = diffs_seen_; i < diffs.size(); ++i) {
        const auto& d = diffs[i];
        ilog::Warn("reconcile_difference", {{"block", d.block_number},
                                            {"identity", d.identity_hash.ToHex()},
                                            {"field", d.field},
                                            {"derived", d.derived},
                                            {"chain", d.chain}});
      }
      diffs_seen_ = diffs.size();
    }
    return OkStatus();
  }

 private:
  indexer::BlockSink& inner_;
  indexer::MemorySink* memory_;
  std::size_t diffs_seen_ = 0;
};

std::string Duration(double seconds) {
  if (seconds < 0) return "?";
  const auto s = static_cast<std::uint64_t>(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>((s % 3600) / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%llus", static_cast<unsigned long long>(s));
  }
  return buf;
}

std::string StateJson(const indexer::MemorySink& sink, const indexer::Indexer& idx) {
  const auto st = idx.GetSyncStatus();
  const auto stats = idx.Stats();
  JsonWriter w(true);
  w.BeginObject();
  w.Key("status").BeginObject();
  w.Key("phase").String(st.phase);
  w.Key("head").Uint(st.head);
  if (st.indexed) {
    w.Key("indexed").Uint(*st.indexed);
  } else {
    w.Key("indexed").Null();
  }
  w.Key("lag").Uint(st.lag);
  w.Key("reorgs").Uint(st.reorgs);
  w.Key("reconnects").Uint(st.reconnects);
  w.Key("blocksApplied").Uint(st.blocks_applied);
  w.Key("callsApplied").Uint(st.calls_applied);
  w.Key("unrecoverable").Uint(st.unrecoverable);
  w.Key("lastError").String(st.last_error);
  w.EndObject();
  w.Key("stats").BeginObject();
  w.Key("rpcSeconds").String(std::to_string(stats.rpc_seconds));
  w.Key("decodeSeconds").String(std::to_string(stats.decode_seconds));
  w.Key("applySeconds").String(std::to_string(stats.apply_seconds));
  w.Key("rpcRequests").Uint(stats.rpc_requests);
  w.Key("events").Uint(stats.events);
  w.Key("traces").Uint(stats.traces);
  w.Key("reconcileReads").Uint(stats.reconcile_reads);
  w.EndObject();
  const auto cursor = sink.cursor();
  w.Key("cursor");
  if (cursor) {
    w.BeginObject().Key("block").Uint(cursor->block_number).Key("hash").String(cursor->block_hash.ToHex()).EndObject();
  } else {
    w.Null();
  }
  w.Key("calls").BeginArray();
  for (const auto& b : sink.activity_blocks()) {
    for (const auto& c : b.calls) {
      w.BeginObject();
      w.Key("block").Uint(b.block_number);
      w.Key("tx").String(c.tx_hash.ToHex());
      w.Key("function").String(c.function);
      w.Key("outcome").String(indexer::ChainOutcomeName(c.outcome));
      w.Key("source").String(indexer::CallSourceName(c.source));
      w.Key("decoded").Bool(c.decoded.has_value());
      w.Key("revert").String(c.revert_data ? ToHex(*c.revert_data) : "");
      w.Key("events").BeginArray();
      for (const auto& e : c.events) {
        w.BeginObject().Key("name").String(e.name).Key("identity").String(OptHash(e.identity_hash)).EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("unrecoverable").BeginArray();
  for (const auto& b : sink.activity_blocks()) {
    for (const auto& u : b.unrecoverable) {
      w.BeginObject().Key("block").Uint(b.block_number).Key("tx").String(u.tx_hash.ToHex()).Key("reason").String(u.reason).EndObject();
    }
  }
  w.EndArray();
  w.Key("identities").BeginArray();
  for (const auto& [h, id] : sink.identities()) {
    w.BeginObject();
    w.Key("identity").String(h.ToHex());
    w.Key("registered").Bool(id.registered);
    w.Key("teeType").Uint(id.tee_type);
    w.Key("cloudType").Uint(id.cloud_type);
    w.Key("teeTTL").Uint(id.tee_ttl);
    w.Key("tpmTTL").Uint(id.tpm_ttl);
    w.Key("teeRecentTimestamp").Uint(id.tee_recent_timestamp);
    w.Key("tpmRecentTimestamp").Uint(id.tpm_recent_timestamp);
    w.Key("nonce").Uint(id.nonce);
    w.Key("measurementHash").String(OptHash(id.measurement_hash));
    w.Key("rotatedTo").String(OptHash(id.rotated_to));
    w.Key("rotatedFrom").String(OptHash(id.rotated_from));
    w.EndObject();
  }
  w.EndArray();
  w.Key("reconcileDifferences").BeginArray();
  for (const auto& d : sink.diffs()) {
    w.BeginObject().Key("block").Uint(d.block_number).Key("identity").String(d.identity_hash.ToHex());
    w.Key("field").String(d.field).Key("derived").String(d.derived).Key("chain").String(d.chain).EndObject();
  }
  w.EndArray();
  w.Key("liveness").BeginArray();
  for (const auto& f : sink.liveness()) {
    w.BeginObject().Key("kind").String(indexer::LivenessKindName(f.kind)).Key("detail").String(f.detail).EndObject();
  }
  w.EndArray();
  w.Key("fingerprint").String(sink.Fingerprint());
  w.EndObject();
  return w.str() + "\n";
}

}  // namespace

Result<config::Config> LoadRunConfig(const std::string& config_path, const std::string& preset,
                                     const std::string& rpc_url_override) {
  const auto env = config::ProcessEnv();
  config::EnvLookup lookup = env;
  if (!rpc_url_override.empty()) {
    // The command line wins over the environment; ${VAR} in rpc.url is not needed then.
    lookup = [env, rpc_url_override](std::string_view name) -> std::optional<std::string> {
      if (name == "CVMWATCH_RPC_URL") return rpc_url_override;
      return env(name);
    };
  }
  if (!config_path.empty() && !preset.empty()) {
    return MakeError(ErrorCode::kPrecondition, "give --config or --preset, not both");
  }
  if (!config_path.empty()) return config::LoadConfigFile(config_path, lookup);
  if (!preset.empty()) return config::PresetConfig(preset, lookup);
  return MakeError(ErrorCode::kPrecondition, "no configuration: give --config FILE or --preset NAME");
}

indexer::RpcSettings ToRpcSettings(const config::RpcConfig& rpc, const std::string& url) {
  indexer::RpcSettings s;
  s.url = url;
  s.call_timeout = std::chrono::milliseconds(rpc.timeout_ms);
  s.connect_timeout = std::chrono::milliseconds(rpc.connect_timeout_ms);
  s.max_message_bytes = rpc.max_message_bytes;
  s.max_in_flight = rpc.max_in_flight;
  s.max_batch = rpc.max_batch;
  s.reconnect_initial = std::chrono::milliseconds(rpc.reconnect_initial_ms);
  s.reconnect_max = std::chrono::milliseconds(rpc.reconnect_max_ms);
  s.ca_file = rpc.ca_file;
  s.headers = rpc.headers;
  return s;
}

indexer::IndexerSettings ToIndexerSettings(const config::Config& c) {
  indexer::IndexerSettings s;
  s.chain_id = c.chain.chain_id;
  s.network = c.chain.name;
  s.registry = c.chain.registry;
  s.extra_addresses = c.chain.follow;
  s.start_block = c.chain.start_block;
  s.confirmations.mode = c.indexer.finalized ? indexer::ConfirmationPolicy::Mode::kFinalized
                                             : indexer::ConfirmationPolicy::Mode::kDepth;
  s.confirmations.depth = c.indexer.confirmations;
  s.log_ranges.initial_range = c.indexer.initial_getlogs_range;
  s.log_ranges.max_range = c.indexer.max_getlogs_range;
  s.log_ranges.min_range = c.indexer.min_getlogs_range;
  s.live_window = c.indexer.live_window;
  s.max_live_batch = c.indexer.max_live_batch;
  s.scan_all_transactions = c.indexer.scan_all_transactions;
  s.use_trace = c.indexer.use_trace;
  s.reconcile = c.indexer.reconcile;
  s.reorg_window = c.indexer.reorg_window;
  s.subscribe = c.indexer.subscribe;
  s.poll_interval = std::chrono::milliseconds(c.indexer.poll_interval_ms);
  s.head_stall_timeout = std::chrono::milliseconds(c.indexer.head_stall_seconds * 1000);
  s.cross_check_interval = std::chrono::milliseconds(c.indexer.cross_check_interval_seconds * 1000);
  s.connect_timeout = std::chrono::milliseconds(std::max<std::uint64_t>(c.rpc.connect_timeout_ms, c.rpc.timeout_ms));
  return s;
}

int RunRun(const RunOptions& options, std::ostream& out, std::ostream& err, const SinkFactory& make_sink) {
  auto cfg = LoadRunConfig(options.config_path, options.preset, options.rpc_url);
  if (!cfg.ok()) {
    err << "cvmwatch run: " << cfg.error().message << "\n";
    return 2;
  }
  config::Config& c = *cfg;
  if (!options.log_format.empty()) c.log.format = options.log_format;
  if (!options.log_level.empty()) c.log.level = options.log_level;
  if (options.from_block) c.chain.start_block = *options.from_block;
  const auto problems = config::Validate(c);
  for (const auto& p : problems) {
    err << "cvmwatch run: " << (p.error ? "error" : "warning") << ": " << p.where << " " << p.message << "\n";
  }
  if (config::HasErrors(problems)) return 2;

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const bool json = c.log.format == "json" || (c.log.format == "auto" && !tty);
  ilog::Level level = ilog::Level::kInfo;
  ilog::ParseLevel(c.log.level, &level);
  ilog::Configure(json ? ilog::Format::kJson : ilog::Format::kText, level);

  // Signals: blocked here (every thread started below inherits the mask) and taken by sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);

  int rc = 0;
  {
    auto client = indexer::MakeRpcClient(ToRpcSettings(c.rpc, c.rpc.url));
    if (!client.ok()) {
      err << "cvmwatch run: " << client.error().message << "\n";
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return 2;
    }
    std::vector<std::unique_ptr<indexer::RpcClient>> cross;
    std::vector<indexer::RpcClient*> cross_ptrs;
    for (const auto& url : c.rpc.cross_check) {
      auto cc = indexer::MakeRpcClient(ToRpcSettings(c.rpc, url));
      if (!cc.ok()) {
        err << "cvmwatch run: " << cc.error().message << "\n";
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        return 2;
      }
      cross_ptrs.push_back(cc->get());
      cross.push_back(std::move(cc).value());
    }
    indexer::MemorySink memory;
    std::unique_ptr<indexer::BlockSink> custom;
    if (make_sink) {
      auto made = make_sink(c);
      if (!made.ok()) {
        err << "cvmwatch run: " << made.error().message << "\n";
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        return made.error().code == ErrorCode::kPrecondition ? 2 : 1;
      }
      custom = std::move(made).value();
    }
    LoggingSink sink(custom ? *custom : static_cast<indexer::BlockSink&>(memory), custom ? nullptr : &memory);
    SystemClock clock;
    auto settings = ToIndexerSettings(c);
    settings.stop_at_block = options.until_block;
    indexer::Indexer idx(settings, **client, sink, clock, cross_ptrs);

    auto last_line = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    bool drew = false;
    idx.SetProgressHandler([&](const indexer::Progress& p) {
      const auto now = std::chrono::steady_clock::now();
      if (p.phase != "backfill") {
        if (drew && tty && !json) {
          std::fprintf(stderr, "\r\033[K");
          drew = false;
        }
        return;
      }
      if (tty && !json) {
        std::fprintf(stderr, "\r\033[Kbackfill  block %llu / %llu  %.0f blocks/s  ETA %s",
                     static_cast<unsigned long long>(p.indexed), static_cast<unsigned long long>(p.target),
                     p.blocks_per_second, Duration(p.eta_seconds).c_str());
        std::fflush(stderr);
        drew = true;
      } else if (now - last_line >= std::chrono::seconds(5)) {
        last_line = now;
        ilog::Info("backfill_progress", {{"indexed", p.indexed},
                                         {"target", p.target},
                                         {"head", p.head},
                                         {"blocks_per_second", p.blocks_per_second},
                                         {"eta_seconds", p.eta_seconds}});
      }
    });

    std::atomic<bool> done{false};
    std::thread signal_thread([&] {
      int stops = 0;
      while (!done.load()) {
        timespec timeout{0, 200'000'000};
        const int sig = sigtimedwait(&signals, nullptr, &timeout);
        if (sig != SIGINT && sig != SIGTERM) continue;
        if (++stops == 1) {
          ilog::Info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                                  {"detail", "after the current batch; again to exit at once"}});
          idx.Stop();
        } else {
          std::_Exit(130);
        }
      }
    });

    Status result = idx.Run();
    done = true;
    signal_thread.join();
    if (drew) std::fprintf(stderr, "\n");
    (*client)->Stop();
    for (auto& cc : cross) cc->Stop();

    const auto st = idx.GetSyncStatus();
    const auto stats = idx.Stats();
    ilog::Info("stopped", {{"indexed", st.indexed ? *st.indexed : 0},
                           {"head", st.head},
                           {"blocks_applied", st.blocks_applied},
                           {"calls", st.calls_applied},
                           {"unrecoverable", st.unrecoverable},
                           {"reorgs", st.reorgs},
                           {"reconnects", st.reconnects},
                           {"identities", static_cast<std::uint64_t>(custom ? 0 : memory.identities().size())},
                           {"reconcile_differences", static_cast<std::uint64_t>(custom ? 0 : memory.diffs().size())},
                           {"rpc_seconds", stats.rpc_seconds},
                           {"decode_seconds", stats.decode_seconds}});
    if (!options.state_out.empty() && !custom) {
      std::ofstream f(options.state_out, std::ios::binary | std::ios::trunc);
      f << StateJson(memory, idx);
      if (!f) {
        err << "cvmwatch run: cannot write " << options.state_out << "\n";
        rc = 1;
      }
    }
    if (!result.ok()) {
      err << "cvmwatch run: " << result.error().message << "\n";
      rc = 1;
    }
    (void)out;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return rc;
}

}  // namespace cvmwatch::app
