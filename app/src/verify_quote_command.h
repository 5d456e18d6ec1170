// `cvmwatch verify-quote QUOTE --collateral FILE|DIR --at T`: verify a bare Intel TDX DCAP quote
// (v4/v5, no TPM part): quote layout, PCK chain to the pinned Intel root with CRLs, QE report,
// quote signature, collateral and TCB status, TD attributes policy, and (with --runtime-data) the
// Azure binding REPORTDATA = SHA-256(runtime data). Prints a short table of checks and the TD
// report fields, or JSON with --json. Exit code 0 only when every check passed, 1 when a check
// failed or could not be performed, 2 on unusable input (missing file, bad --at).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace cvmwatch::app {

struct VerifyQuoteOptions {
  std::string quote;                        // raw quote bytes (or hex text); padding is fine
  std::optional<std::string> collateral;    // a bundle file, or a directory of bundles
  std::optional<std::string> at;            // unix seconds or YYYY-MM-DDTHH:MM:SSZ; default: now
  std::string trust_dir = "config/trust";   // intel-roots/ inside
  std::vector<std::string> intel_roots;     // PEM/DER files; override the trust directory
  std::optional<std::string> runtime_data;  // Azure: the HCL runtime JSON REPORTDATA must bind
  bool json = false;
};

int RunVerifyQuote(const VerifyQuoteOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cvmwatch::app
