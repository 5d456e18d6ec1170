// cvmwatch: command-line entry point. Parses arguments and hands off to a command; no logic here.
#include <CLI/CLI.hpp>

#include <iostream>

#include "decode_command.h"

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (decode_cmd->parsed()) {
    decode.pretty = !compact;
    return cvmwatch::app::RunDecode(decode, std::cout, std::cerr);
  }
  return 2;
}
