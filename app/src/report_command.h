// `cvmwatch report`: what the watchdog's store holds, one row per identity (status, last verdict,
// measurement hash and version, rotations), the counts per status, and the history of one
// identity with --identity. Read-only (a RocksDB snapshot). Exit code 0, or 1 when any identity
// is in mismatch, 2 when the store cannot be opened.
#pragma once

#include <ostream>
#include <string>

namespace cvmwatch::app {

struct ReportOptions {
  std::string config_path;
  std::string preset;
  std::string store_path;
  std::string identity;  // show this identity's history
  bool json = false;
};

int RunReport(const ReportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cvmwatch::app
