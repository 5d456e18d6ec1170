#include "verify_quote_command.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "cvmwatch/core/json_writer.h"
#include "cvmwatch/verifier/snp.h"
#include "cvmwatch/verifier/tdx.h"
#include "cvmwatch/verifier/verifier.h"
#include "time_arg.h"

namespace cvmwatch::app {
namespace {

namespace fs = std::filesystem;
using verifier::TdxStep;

constexpr std::uintmax_t kMaxQuoteFile = 1 << 20;

Result<std::string> ReadFile(const std::string& path, std::uintmax_t max) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot read " + path + ": " + ec.message());
  if (size > max) {
    return MakeError(ErrorCode::kInvalidLength,
                     path + " is larger than " + std::to_string(max) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Raw bytes, or a hex text file (optional 0x, surrounding whitespace).
Bytes QuoteBytes(const std::string& content) {
  std::string_view t(content);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  if (t.size() >= 2 && t.substr(0, 2) == "0x") {
    auto hex = HexToBytes(t);
    if (hex.ok()) return *hex;
  } else if (t.size() >= 2 && t.size() % 2 == 0 &&
             t.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos) {
    auto hex = HexToBytes(t);
    if (hex.ok()) return *hex;
  }
  return Bytes(content.begin(), content.end());
}

Result<std::vector<Bytes>> LoadRoots(const VerifyQuoteOptions& o) {
  if (o.intel_roots.empty()) {
    CVMW_ASSIGN_OR_RETURN(verifier::TrustStore trust,
                          verifier::TrustStore::LoadFromDirectory(o.trust_dir));
    return trust.intel_roots;
  }
  std::vector<Bytes> roots;
  for (const auto& path : o.intel_roots) {
    CVMW_ASSIGN_OR_RETURN(std::string content, ReadFile(path, kMaxQuoteFile));
    if (content.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
      CVMW_ASSIGN_OR_RETURN(std::vector<Bytes> ders, verifier::TdxPemChainToDer(content));
      roots.insert(roots.end(), ders.begin(), ders.end());
    } else {
      roots.emplace_back(content.begin(), content.end());
    }
  }
  return roots;
}

Result<std::shared_ptr<const verifier::TdxCollateralSource>> LoadCollateral(
    const std::optional<std::string>& path) {
  if (!path) return std::shared_ptr<const verifier::TdxCollateralSource>();
  std::error_code ec;
  if (fs::is_directory(*path, ec)) {
    auto dir = std::make_shared<verifier::DirectoryTdxCollateralSource>(*path);
    if (dir->size() == 0) {
      std::string why = "no collateral bundle in " + *path;
      if (!dir->load_errors().empty()) why += ": " + dir->load_errors().front();
      return MakeError(ErrorCode::kNotFound, why);
    }
    return std::shared_ptr<const verifier::TdxCollateralSource>(dir);
  }
  CVMW_ASSIGN_OR_RETURN(verifier::TdxCollateral c, verifier::LoadTdxCollateralFile(*path));
  return std::shared_ptr<const verifier::TdxCollateralSource>(
      std::make_shared<verifier::FixedTdxCollateralSource>(std::move(c)));
}

struct Row {
  std::string name;
  std::string state;  // passed | failed | not-checked
  std::string reason;
};

std::string StateOf(const TdxStep& s) {
  return !s.checked ? "not-checked" : s.ok ? "passed" : "failed";
}

const char* BodyName(verifier::TdxBodyType t) {
  switch (t) {
    case verifier::TdxBodyType::kSgx:
      return "sgx";
    case verifier::TdxBodyType::kTd10:
      return "td10";
    case verifier::TdxBodyType::kTd15:
      return "td15";
  }
  return "?";
}

std::vector<std::pair<std::string, std::string>> ReportFields(const verifier::TdxQuote& q) {
  std::vector<std::pair<std::string, std::string>> f = {
      {"version", std::to_string(q.version)},
      {"body_type", BodyName(q.body_type)},
      {"tee_tcb_svn", q.tee_tcb_svn.ToHex()},
      {"mrseam", q.mrseam.ToHex()},
      {"mrsignerseam", q.mrsignerseam.ToHex()},
      {"seam_attributes", q.seam_attributes.ToHex()},
      {"td_attributes", q.td_attributes.ToHex()},
      {"xfam", q.xfam.ToHex()},
      {"mrtd", q.mrtd.ToHex()},
      {"mrconfigid", q.mrconfigid.ToHex()},
      {"mrowner", q.mrowner.ToHex()},
      {"mrownerconfig", q.mrownerconfig.ToHex()},
      {"rtmr0", q.rtmr0.ToHex()},
      {"rtmr1", q.rtmr1.ToHex()},
      {"rtmr2", q.rtmr2.ToHex()},
      {"rtmr3", q.rtmr3.ToHex()},
      {"report_data", q.report_data.ToHex()},
  };
  if (q.body_type == verifier::TdxBodyType::kTd15) {
    f.emplace_back("tee_tcb_svn2", q.tee_tcb_svn2.ToHex());
    f.emplace_back("mrservicetd", q.mrservicetd.ToHex());
  }
  f.emplace_back("qe_mrsigner", q.qe_report.mrsigner.ToHex());
  f.emplace_back("qe_isv_prod_id", std::to_string(q.qe_report.isv_prod_id));
  f.emplace_back("qe_isv_svn", std::to_string(q.qe_report.isv_svn));
  return f;
}

}  // namespace

int RunVerifyQuote(const VerifyQuoteOptions& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& what, const Error& e) {
    err << "cvmwatch verify-quote: " << what << ": " << e.ToString() << '\n';
    return 2;
  };
  TimePoint at;
  if (o.at) {
    auto t = ParseTimeArg(*o.at);
    if (!t.ok()) return fail("--at", t.error());
    at = *t;
  } else {
    at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  }
  auto content = ReadFile(o.quote, kMaxQuoteFile);
  if (!content.ok()) return fail(o.quote, content.error());
  const Bytes quote = QuoteBytes(*content);
  auto roots = LoadRoots(o);
  if (!roots.ok()) return fail("Intel roots", roots.error());
  if (roots->empty()) {
    return fail("Intel roots",
                MakeError(ErrorCode::kNotFound, "no Intel SGX Root CA in " + o.trust_dir +
                                                    "/intel-roots (or give --intel-root)"));
  }
  auto source = LoadCollateral(o.collateral);
  if (!source.ok()) return fail("--collateral", source.error());
  std::optional<std::string> runtime;
  if (o.runtime_data) {
    auto r = ReadFile(*o.runtime_data, kMaxQuoteFile);
    if (!r.ok()) return fail(*o.runtime_data, r.error());
    runtime = std::move(*r);
  }

  const verifier::TdxVerification v = verifier::VerifyTdxQuote(quote, *roots, source->get(), at);
  std::vector<Row> rows = {
      {"quote-parse", StateOf(v.parse), v.parse.reason},
      {"pck-chain", StateOf(v.pck_chain), v.pck_chain.reason},
      {"qe-report", StateOf(v.qe_report), v.qe_report.reason},
      {"quote-signature", StateOf(v.quote_signature), v.quote_signature.reason},
      {"tcb-status", StateOf(v.collateral), v.collateral.reason},
  };
  if (v.quote) {
    const Status policy = verifier::CheckTdxTdAttributes(*v.quote);
    rows.push_back({"td-attributes", policy.ok() ? "passed" : "failed",
                    policy.ok() ? "debug off, SEPT_VE_DISABLE set, reserved bits zero"
                                : policy.error().message});
    if (runtime) {
      const Status bind = verifier::CheckTdxReportDataBindsSha256(*v.quote, AsBytes(*runtime));
      rows.push_back(
          {"report-data-binding", bind.ok() ? "passed" : "failed",
           bind.ok() ? "REPORTDATA = SHA-256(runtime data) || zeros" : bind.error().message});
    }
  } else {
    rows.push_back({"td-attributes", "not-checked", "the quote did not parse"});
    if (runtime) rows.push_back({"report-data-binding", "not-checked", "the quote did not parse"});
  }
  bool all_passed = true, any_failed = false;
  for (const auto& r : rows) {
    all_passed = all_passed && r.state == "passed";
    any_failed = any_failed || r.state == "failed";
  }
  const std::string status = all_passed ? "verified" : any_failed ? "rejected" : "incomplete";

  if (o.json) {
    JsonWriter w(true);
    w.BeginObject();
    w.Key("quote").String(o.quote);
    w.Key("at").String(FormatUtc(at));
    w.Key("status").String(status);
    w.Key("ok").Bool(all_passed);
    w.Key("tcb_status");
    if (v.tcb_status) {
      w.String(*v.tcb_status);
    } else {
      w.Null();
    }
    w.Key("advisory_ids").BeginArray();
    for (const auto& id : v.advisory_ids) w.String(id);
    w.EndArray();
    w.Key("checks").BeginArray();
    for (const auto& r : rows) {
      w.BeginObject().Key("check").String(r.name).Key("state").String(r.state);
      w.Key("reason").String(r.reason).EndObject();
    }
    w.EndArray();
    if (v.pck) {
      w.Key("pck").BeginObject();
      w.Key("fmspc").String(v.pck->fmspc.ToHex());
      w.Key("pce_id").String(v.pck->pce_id.ToHex());
      w.Key("pce_svn").Uint(v.pck->pce_svn);
      w.Key("leaf_serial").String(ToHex(v.pck_leaf_serial));
      w.EndObject();
    }
    if (v.quote) {
      w.Key("td_report").BeginObject();
      for (const auto& [k, val] : ReportFields(*v.quote)) w.Key(k).String(val);
      w.EndObject();
    }
    w.EndObject();
    out << w.str() << '\n';
  } else {
    out << o.quote << ": TDX quote at " << FormatUtc(at) << '\n';
    for (const auto& r : rows) {
      out << "  " << std::left << std::setw(20) << r.name << std::setw(12) << r.state << r.reason
          << '\n';
    }
    out << "  " << std::left << std::setw(20) << "status" << status << '\n';
    out << "  " << std::left << std::setw(20) << "tcb status" << v.tcb_status.value_or("-") << '\n';
    std::string advisories;
    for (const auto& id : v.advisory_ids) advisories += (advisories.empty() ? "" : ", ") + id;
    out << "  " << std::left << std::setw(20) << "advisories"
        << (advisories.empty() ? "none" : advisories) << '\n';
    if (v.pck) {
      out << "  " << std::left << std::setw(20) << "fmspc / pce-id" << v.pck->fmspc.ToHex(false)
          << " / " << v.pck->pce_id.ToHex(false) << '\n';
    }
    if (v.quote) {
      out << "  TD report:\n";
      for (const auto& [k, val] : ReportFields(*v.quote)) {
        out << "    " << std::left << std::setw(18) << k << val << '\n';
      }
    }
  }
  return all_passed ? 0 : 1;
}

}  // namespace cvmwatch::app
