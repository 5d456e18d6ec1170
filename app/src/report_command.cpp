#include "report_command.h"

#include <iomanip>

#include "cvmwatch/core/json_writer.h"
#include "cvmwatch/store/store.h"
#include "run_command.h"
#include "time_arg.h"

namespace cvmwatch::app {
namespace {

std::string Short(const std::optional<Hash32>& h) {
  if (!h) return "-";
  const std::string hex = h->ToHex();
  return hex.substr(0, 12) + "…" + hex.substr(hex.size() - 4);
}

}  // namespace

int RunReport(const ReportOptions& o, std::ostream& out, std::ostream& err) {
  auto cfg = LoadRunConfig(o.config_path, o.preset, "");
  if (!cfg.ok()) {
    err << "cvmwatch report: " << cfg.error().message << "\n";
    return 2;
  }
  store::StoreOptions so;
  so.path = o.store_path.empty() ? cfg->store.path : o.store_path;
  so.chain_id = cfg->chain.chain_id;
  so.registry = cfg->chain.registry;
  so.create_if_missing = false;
  if (so.path.empty()) {
    err << "cvmwatch report: no store: give --store DIR or [store] path\n";
    return 2;
  }
  auto st = store::Store::Open(so);
  if (!st.ok()) {
    err << "cvmwatch report: " << st.error().ToString() << "\n";
    return 2;
  }
  const store::ReadView view = (*st)->Read();
  auto cursor = view.Cursor();
  if (!cursor.ok()) {
    err << "cvmwatch report: " << cursor.error().ToString() << "\n";
    return 2;
  }
  std::vector<store::IdentityState> identities;
  store::PageRequest page;
  page.limit = 1000;
  for (;;) {
    auto p = view.ListIdentities({}, page);
    if (!p.ok()) {
      err << "cvmwatch report: " << p.error().ToString() << "\n";
      return 2;
    }
    identities.insert(identities.end(), p->items.begin(), p->items.end());
    if (p->next_cursor.empty()) break;
    page.cursor = p->next_cursor;
  }
  bool any_mismatch = false;
  for (const auto& s : identities) any_mismatch = any_mismatch || s.status == store::IdentityStatus::kMismatch;

  if (o.json) {
    JsonWriter w(true);
    w.BeginObject();
    if (*cursor) {
      w.Key("indexed_block").Uint((*cursor)->number);
      w.Key("indexed_time").Uint((*cursor)->timestamp);
    }
    w.Key("identities").BeginArray();
    for (const auto& s : identities) {
      w.BeginObject();
      w.Key("identity_hash").String(s.identity_hash.ToHex());
      w.Key("cloud").String(registry::CloudName(s.cloud_type));
      w.Key("tee").String(registry::TeeName(s.tee_type));
      w.Key("status").String(store::StatusName(s.status));
      w.Key("verdict").String(store::VerdictOutcomeName(s.verdict_outcome));
      w.Key("verdict_summary").String(s.verdict_summary);
      if (s.measurement_hash) w.Key("measurement_hash").String(s.measurement_hash->ToHex());
      w.Key("measurement_version").Uint(s.measurement_version);
      w.Key("nonce").Uint(s.nonce);
      if (s.rotated_from) w.Key("rotated_from").String(s.rotated_from->ToHex());
      if (s.rotated_to) w.Key("rotated_to").String(s.rotated_to->ToHex());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    out << w.str() << "\n";
    return any_mismatch ? 1 : 0;
  }

  if (*cursor) {
    out << "indexed to block " << (*cursor)->number << " (" << FormatUtc(FromUnixSeconds(static_cast<std::int64_t>((*cursor)->timestamp)))
        << "), " << identities.size() << " identities\n";
  }
  out << std::left << std::setw(68) << "identity hash" << std::setw(7) << "cloud" << std::setw(9) << "tee"
      << std::setw(14) << "status" << std::setw(14) << "last verdict" << std::setw(21) << "measurement (v)"
      << "why\n";
  for (const auto& s : identities) {
    std::string why = s.verdict_summary;
    if (s.rotated_to) why = "rotated to " + Short(s.rotated_to) + (why.empty() ? "" : "; " + why);
    if (why.size() > 150) why = why.substr(0, 147) + "...";
    out << std::left << std::setw(68) << s.identity_hash.ToHex() << std::setw(7) << registry::CloudName(s.cloud_type)
        << std::setw(9) << registry::TeeName(s.tee_type) << std::setw(14) << store::StatusName(s.status)
        << std::setw(14) << store::VerdictOutcomeName(s.verdict_outcome) << std::setw(20)
        << (Short(s.measurement_hash) + " v" + std::to_string(s.measurement_version)) << " " << why << "\n";
  }
  if (!o.identity.empty()) {
    auto id = Hash32::FromHex(o.identity);
    if (!id.ok()) {
      err << "cvmwatch report: --identity: " << id.error().ToString() << "\n";
      return 2;
    }
    auto history = view.History(*id, store::Order::kAscending, {"", 1000});
    if (!history.ok()) {
      err << "cvmwatch report: " << history.error().ToString() << "\n";
      return 2;
    }
    out << "\nhistory of " << id->ToHex() << ":\n";
    for (const auto& e : history->items) {
      out << "  block " << std::setw(6) << e.block_number << "  " << std::setw(20) << store::HistoryKindName(e.kind())
          << "\n";
    }
  }
  return any_mismatch ? 1 : 0;
}

}  // namespace cvmwatch::app
