#include "verify_command.h"

#include <iomanip>

#include "calldata_file.h"
#include "cvmwatch/core/json_writer.h"
#include "cvmwatch/verifier/snp.h"
#include "cvmwatch/verifier/tdx.h"
#include "cvmwatch/verifier/verifier.h"
#include "time_arg.h"

namespace cvmwatch::app {
namespace {

using namespace cvmwatch::verifier;

void PrintChecks(const Verdict& v, std::ostream& out) {
  for (const auto& c : v.checks) {
    out << "  " << std::left << std::setw(22) << CheckName(c.id) << std::setw(12) << CheckStateName(c.state)
        << c.reason << '\n';
  }
}

void WriteVerdictJson(JsonWriter& w, const Verdict& v) {
  w.Key("outcome").String(OutcomeName(v.outcome));
  w.Key("function").String(v.function);
  w.Key("cloud").String(registry::CloudName(v.cloud_type));
  w.Key("tee").String(registry::TeeName(v.tee_type));
  w.Key("identity_hash").String(v.identity_hash.ToHex());
  if (v.target_identity_hash) w.Key("target_identity_hash").String(v.target_identity_hash->ToHex());
  if (v.measurement_hash) {
    w.Key("measurement_hash").String(v.measurement_hash->ToHex());
  } else {
    w.Key("measurement_hash").Null();
  }
  if (v.chain_id_width) w.Key("chain_id_width").Uint(*v.chain_id_width);
  if (v.tee) {
    w.Key("tee_facts").BeginObject();
    if (v.tee->tee_type == 1) {
      w.Key("mrtd").String(v.tee->mrtd.ToHex());
      w.Key("mrseam").String(v.tee->mrseam.ToHex());
      w.Key("rtmr0").String(v.tee->rtmr0.ToHex());
      w.Key("rtmr1").String(v.tee->rtmr1.ToHex());
      w.Key("rtmr2").String(v.tee->rtmr2.ToHex());
      w.Key("rtmr3").String(v.tee->rtmr3.ToHex());
      if (v.tee->tcb_status) w.Key("tcb_status").String(*v.tee->tcb_status);
    } else {
      w.Key("measurement").String(v.tee->snp_measurement.ToHex());
      w.Key("report_id").String(v.tee->snp_report_id.ToHex());
      w.Key("chip_id").String(v.tee->chip_id.ToHex());
    }
    w.Key("report_data").String(v.tee->report_data.ToHex());
    w.EndObject();
  }
  w.Key("checks").BeginArray();
  for (const auto& c : v.checks) {
    w.BeginObject();
    w.Key("check").String(CheckName(c.id));
    w.Key("state").String(CheckStateName(c.state));
    w.Key("reason").String(c.reason);
    w.EndObject();
  }
  w.EndArray();
}

Result<TrustStore> LoadTrust(const std::string& dir, const std::optional<std::string>& vcek_dir,
                             const std::optional<std::string>& collateral_dir) {
  CVMW_ASSIGN_OR_RETURN(TrustStore trust, TrustStore::LoadFromDirectory(dir));
  if (vcek_dir) trust.vceks = std::make_shared<DirectoryVcekSource>(*vcek_dir);
  if (collateral_dir) trust.tdx_collateral = std::make_shared<DirectoryTdxCollateralSource>(*collateral_dir);
  return trust;
}

Result<TimePoint> TimeOrNow(const std::optional<std::string>& at) {
  if (!at) return SystemClock().Now();
  return ParseTimeArg(*at);
}

}  // namespace

int RunVerify(const VerifyOptions& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& what, const Error& e) {
    err << "cvmwatch verify: " << what << ": " << e.ToString() << '\n';
    return 2;
  };
  auto at = TimeOrNow(o.at);
  if (!at.ok()) return fail("--at", at.error());
  auto trust = LoadTrust(o.trust_dir, o.vcek_dir, o.collateral_dir);
  if (!trust.ok()) return fail("--trust", trust.error());
  auto calldata = ReadCalldataFile(o.file);
  if (!calldata.ok()) return fail(o.file, calldata.error());
  auto call = registry::DecodeRegistryCall(*calldata);
  if (!call.ok()) return fail(o.file, call.error());

  Submission s{std::move(call).value(), {}, std::nullopt};
  s.signing.chain_id = o.chain_id;
  auto registry_address = Address::FromHex(o.registry);
  if (!registry_address.ok()) return fail("--registry", registry_address.error());
  s.signing.registry = *registry_address;
  s.signing.chain_id_width = o.chain_id_width == "32"  ? ChainIdWidth::k32Bytes
                             : o.chain_id_width == "2" ? ChainIdWidth::k2Bytes
                                                       : ChainIdWidth::kAuto;
  if (o.registration) {
    // The identity's registered state, as the watchdog would have stored it.
    auto reg_data = ReadCalldataFile(*o.registration);
    if (!reg_data.ok()) return fail(*o.registration, reg_data.error());
    auto reg_call = registry::DecodeRegistryCall(*reg_data);
    if (!reg_call.ok()) return fail(*o.registration, reg_call.error());
    const auto* attest = std::get_if<registry::AttestCall>(&*reg_call);
    if (!attest) return fail(*o.registration, MakeError(ErrorCode::kPrecondition, "not a registration"));
    const Verdict reg_verdict = Verify(Submission{*reg_call, s.signing, std::nullopt}, *trust, *at);
    RegisteredIdentity r;
    r.identity = attest->identity;
    r.cloud_type = attest->cloud_type;
    r.tee_type = attest->tee_type;
    r.ak = reg_verdict.ak;
    r.tee = reg_verdict.tee;
    auto nonce = U256::FromString(o.nonce);
    if (!nonce.ok()) return fail("--nonce", nonce.error());
    r.nonce = *nonce;
    s.registered = r;
  }
  const Verdict v = Verify(s, *trust, *at);
  if (o.json) {
    JsonWriter w(true);
    w.BeginObject();
    w.Key("file").String(o.file);
    w.Key("at").Int(ToUnixSeconds(*at));
    WriteVerdictJson(w, v);
    w.EndObject();
    out << w.str() << '\n';
  } else {
    out << o.file << ": " << v.function << " " << registry::CloudName(v.cloud_type) << "/"
        << registry::TeeName(v.tee_type) << " at " << FormatUtc(*at) << '\n';
    PrintChecks(v, out);
    out << "  identity    " << v.identity_hash.ToHex() << '\n';
    out << "  measurement " << (v.measurement_hash ? v.measurement_hash->ToHex() : std::string("(not computed)"))
        << '\n';
    out << "  verdict     " << OutcomeName(v.outcome) << '\n';
  }
  return v.ok() ? 0 : 1;
}

int RunVerifySnp(const VerifySnpOptions& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& what, const Error& e) {
    err << "cvmwatch verify-snp: " << what << ": " << e.ToString() << '\n';
    return 2;
  };
  auto at = TimeOrNow(o.at);
  if (!at.ok()) return fail("--at", at.error());
  auto report_bytes = ReadWholeFile(o.report, 1 << 20);
  if (!report_bytes.ok()) return fail(o.report, report_bytes.error());
  auto vcek = ReadWholeFile(o.vcek, 1 << 20);
  if (!vcek.ok()) return fail(o.vcek, vcek.error());
  auto report = ParseSnpReport(AsBytes(*report_bytes));
  if (!report.ok()) return fail(o.report, report.error());
  auto trust = TrustStore::LoadFromDirectory(o.trust_dir);
  if (!trust.ok()) return fail("--trust", trust.error());
  std::vector<Bytes> ask_ark;
  if (o.chain) {
    auto pem = ReadWholeFile(*o.chain, 1 << 20);
    if (!pem.ok()) return fail(*o.chain, pem.error());
    auto ders = PemCertificatesToDer(*pem);
    if (!ders.ok()) return fail(*o.chain, ders.error());
    ask_ark = *ders;
  } else if (!trust->amd_asks.empty() && !trust->amd_arks.empty()) {
    ask_ark = {trust->amd_asks.front(), trust->amd_arks.front()};
  }
  const SnpVerification v = VerifySnpReport(*report, AsBytes(*vcek), ask_ark, trust->amd_arks, *at);
  const std::pair<const char*, const SnpCheck*> checks[] = {
      {"vcek-chain", &v.chain}, {"report-signature", &v.signature}, {"tcb", &v.tcb}, {"policy", &v.policy}};
  if (o.json) {
    JsonWriter w(true);
    w.BeginObject();
    w.Key("report").String(o.report);
    w.Key("ok").Bool(v.ok());
    w.Key("product").String(SnpProductName(v.product));
    w.Key("version").Uint(report->version);
    w.Key("policy").String(U256(report->policy).ToHex());
    w.Key("measurement").String(report->measurement.ToHex());
    w.Key("report_data").String(report->report_data.ToHex());
    w.Key("report_id").String(report->report_id.ToHex());
    w.Key("chip_id").String(report->chip_id.ToHex());
    w.Key("reported_tcb").String(ToHex(ByteView(report->reported_tcb.data(), 8)));
    w.Key("checks").BeginArray();
    for (const auto& [name, c] : checks) {
      w.BeginObject().Key("check").String(name).Key("ok").Bool(c->ok).Key("reason").String(c->reason).EndObject();
    }
    w.EndArray();
    w.EndObject();
    out << w.str() << '\n';
  } else {
    out << o.report << ": SNP report v" << report->version << " (" << SnpProductName(v.product) << ") at "
        << FormatUtc(*at) << '\n';
    out << "  measurement  " << report->measurement.ToHex() << '\n';
    out << "  report_data  " << report->report_data.ToHex() << '\n';
    out << "  report_id    " << report->report_id.ToHex() << '\n';
    out << "  chip_id      " << report->chip_id.ToHex() << '\n';
    out << "  reported_tcb " << ToHex(ByteView(report->reported_tcb.data(), 8)) << '\n';
    for (const auto& [name, c] : checks) {
      out << "  " << std::left << std::setw(18) << name << std::setw(8) << (c->ok ? "passed" : "FAILED") << c->reason
          << '\n';
    }
    out << "  verdict      " << (v.ok() ? "verified" : "rejected") << '\n';
  }
  return v.ok() ? 0 : 1;
}

}  // namespace cvmwatch::app
