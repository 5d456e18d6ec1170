// `cvmwatch verify FILE` (a registry call: verdict of every check) and `cvmwatch verify-snp REPORT`
// (a bare SNP report with its VCEK). Exit code 0 only when every check passed, 1 when a check
// failed or could not be performed, 2 on unusable input.
#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace cvmwatch::app {

struct VerifyOptions {
  std::string file;
  std::optional<std::string> at;            // unix seconds or RFC 3339; default: now
  std::string trust_dir = "config/trust";
  std::optional<std::string> vcek_dir;
  std::optional<std::string> collateral_dir;
  std::optional<std::string> registration;  // for re-attestation / TTL: the identity's registration
  std::string nonce = "0";
  std::uint64_t chain_id = 31337;
  std::string registry = "0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac";
  std::string chain_id_width = "auto";     // auto | 32 | 2
  bool json = false;
};

int RunVerify(const VerifyOptions& options, std::ostream& out, std::ostream& err);

struct VerifySnpOptions {
  std::string report;
  std::string vcek;
  std::optional<std::string> chain;  // PEM: ASK then ARK; default: the trust dir's Milan/Genoa pair
  std::string trust_dir = "config/trust";
  std::optional<std::string> at;
  bool json = false;
};

int RunVerifySnp(const VerifySnpOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cvmwatch::app
