// cvmwatch: command-line entry point. Parses arguments and hands off to a command; no logic here.
#include <CLI/CLI.hpp>

#include <iostream>

#include "check_config_command.h"
#include "decode_command.h"
#include "report_command.h"
#include "run_command.h"
#include "verify_command.h"
#include "verify_quote_command.h"
#include "watchdog_sink.h"

int main(int argc, char** argv) {
  CLI::App app{"cvmwatch: an independent watchdog for CVM Registry attestations"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cvmwatch 0.1.0");

  cvmwatch::app::DecodeOptions decode;
  bool compact = false;
  auto* decode_cmd = app.add_subcommand(
      "decode", "Decode registry calldata files (seed JSON {\"calldata\": base64} or hex) as JSON");
  decode_cmd->add_option("files", decode.files, "calldata files")->required()->check(CLI::ExistingFile);
  decode_cmd->add_flag("--summary", decode.summary, "one table row per file instead of JSON");
  decode_cmd->add_flag("--compact", compact, "single-line JSON");

  cvmwatch::app::VerifyOptions verify;
  auto* verify_cmd = app.add_subcommand(
      "verify", "Re-verify a registry call (attestation, re-attestation, TTL) and print every check");
  verify_cmd->add_option("file", verify.file, "calldata file (seed JSON or hex)")->required()->check(CLI::ExistingFile);
  verify_cmd->add_option("--at", verify.at, "verification time: unix seconds or YYYY-MM-DDTHH:MM:SSZ (default: now)");
  verify_cmd->add_option("--trust", verify.trust_dir, "trust anchor directory")->capture_default_str();
  verify_cmd->add_option("--vcek-dir", verify.vcek_dir, "directory of VCEKs named <chip_id>_<tcb>.der");
  verify_cmd->add_option("--collateral", verify.collateral_dir, "directory of TDX collateral JSON bundles");
  verify_cmd->add_option("--registration", verify.registration,
                         "the identity's registration calldata (for re-attestation / TTL calls)");
  verify_cmd->add_option("--nonce", verify.nonce, "the identity's nonce before this call")->capture_default_str();
  verify_cmd->add_option("--chain-id", verify.chain_id, "chain id of the signing context")->capture_default_str();
  verify_cmd->add_option("--registry", verify.registry, "registry proxy address")->capture_default_str();
  verify_cmd->add_option("--chain-id-width", verify.chain_id_width, "auto, 32 or 2 bytes")
      ->check(CLI::IsMember({"auto", "32", "2"}))
      ->capture_default_str();
  verify_cmd->add_flag("--json", verify.json, "JSON output");

  cvmwatch::app::VerifySnpOptions snp;
  auto* snp_cmd = app.add_subcommand("verify-snp", "Verify a bare AMD SEV-SNP report with its VCEK");
  snp_cmd->add_option("report", snp.report, "SNP report (1184 bytes)")->required()->check(CLI::ExistingFile);
  snp_cmd->add_option("--vcek", snp.vcek, "VCEK certificate (DER)")->required()->check(CLI::ExistingFile);
  snp_cmd->add_option("--chain", snp.chain, "PEM with the ASK then the ARK (default: from --trust)")
      ->check(CLI::ExistingFile);
  snp_cmd->add_option("--trust", snp.trust_dir, "trust anchor directory (pinned ARKs)")->capture_default_str();
  snp_cmd->add_option("--at", snp.at, "verification time (default: now)");
  snp_cmd->add_flag("--json", snp.json, "JSON output");

  cvmwatch::app::VerifyQuoteOptions quote;
  auto* quote_cmd =
      app.add_subcommand("verify-quote", "Verify a bare Intel TDX DCAP quote (v4/v5) with its collateral");
  quote_cmd->add_option("quote", quote.quote, "TDX quote (raw bytes or hex; padding is fine)")
      ->required()
      ->check(CLI::ExistingFile);
  quote_cmd->add_option("--collateral", quote.collateral, "TDX collateral bundle JSON, or a directory of bundles")
      ->check(CLI::ExistingPath);
  quote_cmd->add_option("--at", quote.at, "verification time: unix seconds or YYYY-MM-DDTHH:MM:SSZ (default: now)");
  quote_cmd->add_option("--trust", quote.trust_dir, "trust anchor directory (intel-roots/)")->capture_default_str();
  quote_cmd->add_option("--intel-root", quote.intel_roots, "Intel SGX Root CA certificate (PEM/DER), instead of --trust")
      ->check(CLI::ExistingFile);
  quote_cmd->add_option("--runtime-data", quote.runtime_data, "Azure: runtime data whose SHA-256 REPORTDATA must carry")
      ->check(CLI::ExistingFile);
  quote_cmd->add_flag("--json", quote.json, "JSON output");

  cvmwatch::app::RunOptions run;
  cvmwatch::app::WatchdogOpenOptions watch;
  auto* run_cmd = app.add_subcommand("run", "Follow the chain: backfill, live tail, reorgs, verification, store");
  run_cmd->add_option("--config", run.config_path, "TOML configuration file")->check(CLI::ExistingFile);
  run_cmd->add_option("--preset", run.preset, "network preset instead of a file (devnet, sepolia, automata-testnet)");
  run_cmd->add_option("--rpc-url", run.rpc_url, "endpoint; overrides config and CVMWATCH_RPC_URL");
  run_cmd->add_option("--from-block", run.from_block, "first block when nothing is indexed yet");
  run_cmd->add_option("--until-block", run.until_block, "exit once this block is indexed");
  run_cmd->add_option("--log-format", run.log_format, "auto, text or json")->check(CLI::IsMember({"auto", "text", "json"}));
  run_cmd->add_option("--log-level", run.log_level, "debug, info, warn, error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  run_cmd->add_option("--state-out", run.state_out, "without a store: write the in-memory state as JSON on exit");
  run_cmd->add_option("--store", watch.store_path, "RocksDB store directory (overrides [store] path)");
  run_cmd->add_option("--trust", watch.trust_dir, "trust anchor directory")->capture_default_str();
  run_cmd->add_option("--collateral", watch.collateral_dir, "directory of TDX collateral JSON bundles");
  run_cmd->add_option("--vcek-dir", watch.vcek_dir, "directory of VCEKs named <chip_id>_<tcb>.der");

  cvmwatch::app::CheckConfigOptions check;
  auto* check_cmd = app.add_subcommand("check-config", "Validate a configuration file (and optionally probe the endpoint)");
  check_cmd->add_option("--config", check.config_path, "TOML configuration file")->check(CLI::ExistingFile);
  check_cmd->add_option("--preset", check.preset, "validate a network preset");
  check_cmd->add_option("--rpc-url", check.rpc_url, "endpoint override");
  check_cmd->add_flag("--probe", check.probe, "connect and compare eth_chainId with the configured chain id");
  check_cmd->add_flag("--list-presets", check.list_presets, "print the preset names");

  cvmwatch::app::ReportOptions report;
  auto* report_cmd = app.add_subcommand("report", "What the store holds: every identity's status and last verdict");
  report_cmd->add_option("--config", report.config_path, "TOML configuration file")->check(CLI::ExistingFile);
  report_cmd->add_option("--preset", report.preset, "network preset (devnet, sepolia, automata-testnet)");
  report_cmd->add_option("--store", report.store_path, "RocksDB store directory (overrides [store] path)");
  report_cmd->add_option("--identity", report.identity, "also print this identity's history");
  report_cmd->add_flag("--json", report.json, "JSON output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (decode_cmd->parsed()) {
    decode.pretty = !compact;
    return cvmwatch::app::RunDecode(decode, std::cout, std::cerr);
  }
  if (verify_cmd->parsed()) return cvmwatch::app::RunVerify(verify, std::cout, std::cerr);
  if (snp_cmd->parsed()) return cvmwatch::app::RunVerifySnp(snp, std::cout, std::cerr);
  if (quote_cmd->parsed()) return cvmwatch::app::RunVerifyQuote(quote, std::cout, std::cerr);
  if (run_cmd->parsed()) {
    // With a store (--store or [store] path): the verifying pipeline into RocksDB; without one,
    // the in-memory sink.
    return cvmwatch::app::RunRun(run, std::cout, std::cerr, [&](const cvmwatch::config::Config& c)
                                     -> cvmwatch::Result<std::unique_ptr<cvmwatch::indexer::BlockSink>> {
      cvmwatch::app::WatchdogOpenOptions o = watch;
      if (o.store_path.empty()) o.store_path = c.store.path;
      if (o.store_path.empty()) return std::unique_ptr<cvmwatch::indexer::BlockSink>();
      return cvmwatch::app::OpenWatchdogSink(c, o);
    });
  }
  if (check_cmd->parsed()) return cvmwatch::app::RunCheckConfig(check, std::cout, std::cerr);
  if (report_cmd->parsed()) return cvmwatch::app::RunReport(report, std::cout, std::cerr);
  return 2;
}
