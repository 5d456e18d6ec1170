// Test-only entry point with the `run` and `check-config` subcommands (the same CLI11 lines that
// app/src/main.cpp gets), so the indexer's integration tests can drive the real commands before
// the lead wires them into the cvmwatch binary.
#include <CLI/CLI.hpp>

#include <iostream>

#include "check_config_command.h"
#include "run_command.h"

int main(int argc, char** argv) {
  CLI::App app{"cvmwatch (indexer commands, test build)"};
  app.require_subcommand(1);

  // --- the lines for app/src/main.cpp -------------------------------------------------------
  cvmwatch::app::RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Follow the chain: backfill, live tail, reorgs, reconciliation");
  run_cmd->add_option("--config", run.config_path, "TOML configuration file")->check(CLI::ExistingFile);
  run_cmd->add_option("--preset", run.preset, "network preset instead of a file (devnet, sepolia, automata-testnet)");
  run_cmd->add_option("--rpc-url", run.rpc_url, "endpoint (ws://, wss://, http://, https://); overrides config and CVMWATCH_RPC_URL");
  run_cmd->add_option("--from-block", run.from_block, "first block when nothing is indexed yet");
  run_cmd->add_option("--until-block", run.until_block, "exit once this block is indexed");
  run_cmd->add_option("--log-format", run.log_format, "auto, text or json")->check(CLI::IsMember({"auto", "text", "json"}));
  run_cmd->add_option("--log-level", run.log_level, "debug, info, warn, error")->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  run_cmd->add_option("--state-out", run.state_out, "write the in-memory state as JSON on exit");

  cvmwatch::app::CheckConfigOptions check;
  auto* check_cmd = app.add_subcommand("check-config", "Validate a configuration file (and optionally probe the endpoint)");
  check_cmd->add_option("--config", check.config_path, "TOML configuration file")->check(CLI::ExistingFile);
  check_cmd->add_option("--preset", check.preset, "validate a network preset");
  check_cmd->add_option("--rpc-url", check.rpc_url, "endpoint override");
  check_cmd->add_flag("--probe", check.probe, "connect and compare eth_chainId with the configured chain id");
  check_cmd->add_flag("--list-presets", check.list_presets, "print the preset names");
  // --------------------------------------------------------------------------------------------

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (run_cmd->parsed()) return cvmwatch::app::RunRun(run, std::cout, std::cerr);
  if (check_cmd->parsed()) return cvmwatch::app::RunCheckConfig(check, std::cout, std::cerr);
  return 2;
}
