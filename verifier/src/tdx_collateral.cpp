// TDX collateral: the @phala/dcap-qvl bundle form, Intel's tcbInfo (TDX v3) and enclaveIdentity
// (TD_QE v2) JSON, collateral sources (specs/tee-reports.md A.3). Parsing only; signatures and
// time windows are checked by VerifyTdxQuote.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cvmwatch/core/base64.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/tdx.h"

namespace cvmwatch::verifier {
namespace {

constexpr std::size_t kMaxCollateralJson = 4u << 20;
constexpr std::size_t kMaxLevels = 256;
constexpr std::size_t kMaxAdvisories = 64;
constexpr std::size_t kMaxModuleIdentities = 64;

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Error JsonError(std::string_view where, std::string_view what) {
  return MakeError(ErrorCode::kInvalidJson, std::string(where) + ": " + std::string(what));
}

Result<element> Member(const object& obj, std::string_view key, std::string_view where) {
  element out;
  if (obj.at_key(key).get(out) != simdjson::SUCCESS) {
    return JsonError(where, "missing member \"" + std::string(key) + "\"");
  }
  return out;
}

Result<std::string_view> StringMember(const object& obj, std::string_view key,
                                      std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(element e, Member(obj, key, where));
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) {
    return JsonError(where, "member \"" + std::string(key) + "\" is not a string");
  }
  return s;
}

Result<std::uint64_t> UintMember(const object& obj, std::string_view key, std::string_view where,
                                 std::uint64_t max) {
  CVMW_ASSIGN_OR_RETURN(element e, Member(obj, key, where));
  std::uint64_t v = 0;
  if (e.get_uint64().get(v) != simdjson::SUCCESS) {
    return JsonError(where, "member \"" + std::string(key) + "\" is not an unsigned integer");
  }
  if (v > max) {
    return JsonError(where, "member \"" + std::string(key) + "\" = " + std::to_string(v) +
                                " exceeds " + std::to_string(max));
  }
  return v;
}

Result<object> ObjectMember(const object& obj, std::string_view key, std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(element e, Member(obj, key, where));
  object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) {
    return JsonError(where, "member \"" + std::string(key) + "\" is not an object");
  }
  return o;
}

Result<array> ArrayMember(const object& obj, std::string_view key, std::string_view where,
                          std::size_t max) {
  CVMW_ASSIGN_OR_RETURN(element e, Member(obj, key, where));
  array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) {
    return JsonError(where, "member \"" + std::string(key) + "\" is not an array");
  }
  if (a.size() > max) {
    return JsonError(where, "member \"" + std::string(key) + "\" has " + std::to_string(a.size()) +
                                " entries, at most " + std::to_string(max) + " accepted");
  }
  return a;
}

template <std::size_t N>
Result<FixedBytes<N>> HexMember(const object& obj, std::string_view key, std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(std::string_view s, StringMember(obj, key, where));
  auto v = FixedBytes<N>::FromHex(s);
  if (!v.ok()) {
    return MakeError(v.error().code,
                     std::string(where) + "." + std::string(key) + ": " + v.error().message);
  }
  return *v;
}

Result<TimePoint> TimeMember(const object& obj, std::string_view key, std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(std::string_view s, StringMember(obj, key, where));
  auto t = ParseTdxTime(s);
  if (!t.ok()) return JsonError(std::string(where) + "." + std::string(key), t.error().message);
  return *t;
}

Result<TdxTcbStatus> StatusMember(const object& obj, std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(std::string_view s, StringMember(obj, "tcbStatus", where));
  auto st = ParseTdxTcbStatus(s);
  if (!st) return JsonError(where, "unknown tcbStatus \"" + std::string(s) + "\"");
  return *st;
}

Result<std::vector<std::string>> Advisories(const object& obj, std::string_view where) {
  std::vector<std::string> out;
  element e;
  if (obj.at_key("advisoryIDs").get(e) != simdjson::SUCCESS) return out;  // optional
  CVMW_ASSIGN_OR_RETURN(array a, ArrayMember(obj, "advisoryIDs", where, kMaxAdvisories));
  for (element id : a) {
    std::string_view s;
    if (id.get_string().get(s) != simdjson::SUCCESS || s.size() > 64) {
      return JsonError(where, "advisoryIDs entry is not a string of at most 64 characters");
    }
    out.emplace_back(s);
  }
  return out;
}

Result<std::array<std::uint8_t, 16>> Components(const object& tcb, std::string_view key,
                                                std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(array a, ArrayMember(tcb, key, where, 16));
  if (a.size() != 16) {
    return JsonError(
        where, std::string(key) + " has " + std::to_string(a.size()) + " entries, expected 16");
  }
  std::array<std::uint8_t, 16> out{};
  std::size_t i = 0;
  for (element c : a) {
    object co;
    if (c.get_object().get(co) != simdjson::SUCCESS) {
      return JsonError(where, std::string(key) + " entry is not an object");
    }
    CVMW_ASSIGN_OR_RETURN(std::uint64_t svn, UintMember(co, "svn", where, 255));
    out[i++] = static_cast<std::uint8_t>(svn);
  }
  return out;
}

Result<element> ParseDocument(simdjson::dom::parser& parser, const simdjson::padded_string& text,
                              std::string_view where) {
  element root;
  auto err = parser.parse(text).get(root);
  if (err != simdjson::SUCCESS) return JsonError(where, simdjson::error_message(err));
  return root;
}

Result<object> RootObject(simdjson::dom::parser& parser, const simdjson::padded_string& text,
                          std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(element root, ParseDocument(parser, text, where));
  object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) return JsonError(where, "not a JSON object");
  return o;
}

Result<TdxModuleIdentity> ParseModule(const object& m, bool with_levels, std::string_view where) {
  TdxModuleIdentity out;
  if (with_levels) {
    CVMW_ASSIGN_OR_RETURN(std::string_view id, StringMember(m, "id", where));
    if (id.size() > 32) return JsonError(where, "module id too long");
    out.id = std::string(id);
  }
  CVMW_ASSIGN_OR_RETURN(out.mrsigner, HexMember<48>(m, "mrsigner", where));
  CVMW_ASSIGN_OR_RETURN(out.attributes, HexMember<8>(m, "attributes", where));
  CVMW_ASSIGN_OR_RETURN(out.attributes_mask, HexMember<8>(m, "attributesMask", where));
  if (with_levels) {
    CVMW_ASSIGN_OR_RETURN(array levels, ArrayMember(m, "tcbLevels", where, kMaxLevels));
    for (element le : levels) {
      object lo;
      if (le.get_object().get(lo) != simdjson::SUCCESS) {
        return JsonError(where, "tcbLevels entry is not an object");
      }
      TdxModuleLevel level;
      CVMW_ASSIGN_OR_RETURN(object tcb, ObjectMember(lo, "tcb", where));
      CVMW_ASSIGN_OR_RETURN(std::uint64_t svn, UintMember(tcb, "isvsvn", where, 255));
      level.isv_svn = static_cast<std::uint8_t>(svn);
      CVMW_ASSIGN_OR_RETURN(level.status, StatusMember(lo, where));
      CVMW_ASSIGN_OR_RETURN(level.advisory_ids, Advisories(lo, where));
      out.levels.push_back(std::move(level));
    }
  }
  return out;
}

Result<TdxTcbInfo> ParseTcbInfoObject(const object& o) {
  constexpr std::string_view w = "tcbInfo";
  TdxTcbInfo info;
  CVMW_ASSIGN_OR_RETURN(std::string_view id, StringMember(o, "id", w));
  info.id = std::string(id);
  CVMW_ASSIGN_OR_RETURN(std::uint64_t version, UintMember(o, "version", w, 0xffffffffu));
  info.version = static_cast<std::uint32_t>(version);
  if (info.id != "TDX" || info.version != 3) {
    return MakeError(ErrorCode::kPrecondition, "tcbInfo id \"" + info.id + "\" version " +
                                                   std::to_string(info.version) +
                                                   " is not TDX version 3");
  }
  CVMW_ASSIGN_OR_RETURN(info.issue_date, TimeMember(o, "issueDate", w));
  CVMW_ASSIGN_OR_RETURN(info.next_update, TimeMember(o, "nextUpdate", w));
  CVMW_ASSIGN_OR_RETURN(info.fmspc, HexMember<6>(o, "fmspc", w));
  CVMW_ASSIGN_OR_RETURN(info.pce_id, HexMember<2>(o, "pceId", w));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t tcb_type, UintMember(o, "tcbType", w, 0xffffffffu));
  info.tcb_type = static_cast<std::uint32_t>(tcb_type);
  CVMW_ASSIGN_OR_RETURN(std::uint64_t eval,
                        UintMember(o, "tcbEvaluationDataNumber", w, 0xffffffffu));
  info.tcb_evaluation_data_number = static_cast<std::uint32_t>(eval);

  element e;
  if (o.at_key("tdxModule").get(e) == simdjson::SUCCESS) {
    CVMW_ASSIGN_OR_RETURN(object m, ObjectMember(o, "tdxModule", w));
    CVMW_ASSIGN_OR_RETURN(info.tdx_module, ParseModule(m, false, "tcbInfo.tdxModule"));
  }
  if (o.at_key("tdxModuleIdentities").get(e) == simdjson::SUCCESS) {
    CVMW_ASSIGN_OR_RETURN(array ids,
                          ArrayMember(o, "tdxModuleIdentities", w, kMaxModuleIdentities));
    for (element me : ids) {
      object m;
      if (me.get_object().get(m) != simdjson::SUCCESS) {
        return JsonError(w, "tdxModuleIdentities entry is not an object");
      }
      CVMW_ASSIGN_OR_RETURN(TdxModuleIdentity mi,
                            ParseModule(m, true, "tcbInfo.tdxModuleIdentities"));
      info.tdx_module_identities.push_back(std::move(mi));
    }
  }
  CVMW_ASSIGN_OR_RETURN(array levels, ArrayMember(o, "tcbLevels", w, kMaxLevels));
  for (element le : levels) {
    object lo;
    if (le.get_object().get(lo) != simdjson::SUCCESS) {
      return JsonError(w, "tcbLevels entry is not an object");
    }
    constexpr std::string_view lw = "tcbInfo.tcbLevels";
    TdxTcbLevel level;
    CVMW_ASSIGN_OR_RETURN(object tcb, ObjectMember(lo, "tcb", lw));
    CVMW_ASSIGN_OR_RETURN(level.sgx_components, Components(tcb, "sgxtcbcomponents", lw));
    CVMW_ASSIGN_OR_RETURN(std::uint64_t pcesvn, UintMember(tcb, "pcesvn", lw, 0xffff));
    level.pce_svn = static_cast<std::uint16_t>(pcesvn);
    CVMW_ASSIGN_OR_RETURN(level.tdx_components, Components(tcb, "tdxtcbcomponents", lw));
    CVMW_ASSIGN_OR_RETURN(level.status, StatusMember(lo, lw));
    CVMW_ASSIGN_OR_RETURN(level.advisory_ids, Advisories(lo, lw));
    info.levels.push_back(std::move(level));
  }
  if (info.levels.empty()) return JsonError(w, "tcbLevels is empty");
  return info;
}

Result<TdxQeIdentity> ParseQeIdentityObject(const object& o) {
  constexpr std::string_view w = "enclaveIdentity";
  TdxQeIdentity qe;
  CVMW_ASSIGN_OR_RETURN(std::string_view id, StringMember(o, "id", w));
  qe.id = std::string(id);
  CVMW_ASSIGN_OR_RETURN(std::uint64_t version, UintMember(o, "version", w, 0xffffffffu));
  qe.version = static_cast<std::uint32_t>(version);
  if (qe.id != "TD_QE" || qe.version != 2) {
    return MakeError(ErrorCode::kPrecondition, "enclaveIdentity id \"" + qe.id + "\" version " +
                                                   std::to_string(qe.version) +
                                                   " is not TD_QE version 2");
  }
  CVMW_ASSIGN_OR_RETURN(qe.issue_date, TimeMember(o, "issueDate", w));
  CVMW_ASSIGN_OR_RETURN(qe.next_update, TimeMember(o, "nextUpdate", w));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t eval,
                        UintMember(o, "tcbEvaluationDataNumber", w, 0xffffffffu));
  qe.tcb_evaluation_data_number = static_cast<std::uint32_t>(eval);
  CVMW_ASSIGN_OR_RETURN(qe.miscselect, HexMember<4>(o, "miscselect", w));
  CVMW_ASSIGN_OR_RETURN(qe.miscselect_mask, HexMember<4>(o, "miscselectMask", w));
  CVMW_ASSIGN_OR_RETURN(qe.attributes, HexMember<16>(o, "attributes", w));
  CVMW_ASSIGN_OR_RETURN(qe.attributes_mask, HexMember<16>(o, "attributesMask", w));
  CVMW_ASSIGN_OR_RETURN(qe.mrsigner, HexMember<32>(o, "mrsigner", w));
  CVMW_ASSIGN_OR_RETURN(std::uint64_t prod, UintMember(o, "isvprodid", w, 0xffff));
  qe.isv_prod_id = static_cast<std::uint16_t>(prod);
  CVMW_ASSIGN_OR_RETURN(array levels, ArrayMember(o, "tcbLevels", w, kMaxLevels));
  for (element le : levels) {
    object lo;
    if (le.get_object().get(lo) != simdjson::SUCCESS) {
      return JsonError(w, "tcbLevels entry is not an object");
    }
    constexpr std::string_view lw = "enclaveIdentity.tcbLevels";
    TdxQeLevel level;
    CVMW_ASSIGN_OR_RETURN(object tcb, ObjectMember(lo, "tcb", lw));
    CVMW_ASSIGN_OR_RETURN(std::uint64_t svn, UintMember(tcb, "isvsvn", lw, 0xffff));
    level.isv_svn = static_cast<std::uint16_t>(svn);
    CVMW_ASSIGN_OR_RETURN(level.status, StatusMember(lo, lw));
    CVMW_ASSIGN_OR_RETURN(level.advisory_ids, Advisories(lo, lw));
    qe.levels.push_back(std::move(level));
  }
  if (qe.levels.empty()) return JsonError(w, "tcbLevels is empty");
  return qe;
}

Result<Bytes> HexField(const object& o, std::string_view key, std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(std::string_view s, StringMember(o, key, where));
  auto v = HexToBytes(s);
  if (!v.ok()) {
    return MakeError(v.error().code,
                     std::string(where) + "." + std::string(key) + ": " + v.error().message);
  }
  return *v;
}

Result<std::vector<Bytes>> ChainField(const object& o, std::string_view key,
                                      std::string_view where) {
  CVMW_ASSIGN_OR_RETURN(std::string_view s, StringMember(o, key, where));
  auto chain = TdxPemChainToDer(s);
  if (!chain.ok()) {
    return MakeError(chain.error().code,
                     std::string(where) + "." + std::string(key) + ": " + chain.error().message);
  }
  return *chain;
}

bool Matches(const TdxCollateral& c, const FixedBytes<6>& fmspc, const FixedBytes<2>& pce_id) {
  return c.tcb_info.fmspc == fmspc && c.tcb_info.pce_id == pce_id;
}

std::optional<TdxCollateral> BestMatch(const std::vector<TdxCollateral>& bundles,
                                       const FixedBytes<6>& fmspc, const FixedBytes<2>& pce_id) {
  const TdxCollateral* best = nullptr;
  for (const auto& c : bundles) {
    if (!Matches(c, fmspc, pce_id)) continue;
    if (!best ||
        c.tcb_info.tcb_evaluation_data_number > best->tcb_info.tcb_evaluation_data_number ||
        (c.tcb_info.tcb_evaluation_data_number == best->tcb_info.tcb_evaluation_data_number &&
         c.tcb_info.issue_date > best->tcb_info.issue_date)) {
      best = &c;
    }
  }
  if (!best) return std::nullopt;
  return *best;
}

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string_view TdxTcbStatusName(TdxTcbStatus s) {
  switch (s) {
    case TdxTcbStatus::kUpToDate:
      return "UpToDate";
    case TdxTcbStatus::kSwHardeningNeeded:
      return "SWHardeningNeeded";
    case TdxTcbStatus::kConfigurationAndSwHardeningNeeded:
      return "ConfigurationAndSWHardeningNeeded";
    case TdxTcbStatus::kConfigurationNeeded:
      return "ConfigurationNeeded";
    case TdxTcbStatus::kOutOfDate:
      return "OutOfDate";
    case TdxTcbStatus::kOutOfDateConfigurationNeeded:
      return "OutOfDateConfigurationNeeded";
    case TdxTcbStatus::kRevoked:
      return "Revoked";
    case TdxTcbStatus::kUnrecognized:
      return "Unrecognized";
    case TdxTcbStatus::kTdRelaunchAdvised:
      return "TDRelaunchAdvised";
    case TdxTcbStatus::kTdRelaunchAdvisedConfigurationNeeded:
      return "TDRelaunchAdvisedConfigurationNeeded";
  }
  return "Unrecognized";
}

std::optional<TdxTcbStatus> ParseTdxTcbStatus(std::string_view name) {
  for (int i = 0; i <= 9; ++i) {
    const auto s = static_cast<TdxTcbStatus>(i);
    if (s == TdxTcbStatus::kUnrecognized) continue;  // not a value Intel publishes
    if (TdxTcbStatusName(s) == name) return s;
  }
  return std::nullopt;
}

Result<TimePoint> ParseTdxTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SSZ
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidJson, "time \"" + std::string(s.substr(0, 40)) +
                                                  "\" is not of the form YYYY-MM-DDTHH:MM:SSZ");
  };
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return bad();
  }
  int y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, y) || !Digits(s, 5, 2, mo) || !Digits(s, 8, 2, d) || !Digits(s, 11, 2, h) ||
      !Digits(s, 14, 2, mi) || !Digits(s, 17, 2, se)) {
    return bad();
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 59) return bad();
  return TimePoint(std::chrono::sys_days(ymd)) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(se);
}

std::string FormatTdxTime(TimePoint t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(t - day);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

Result<std::vector<Bytes>> TdxPemChainToDer(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  while (!pem.empty() && pem.back() == '\0') pem.remove_suffix(1);
  std::vector<Bytes> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t b = pem.find(kBegin, pos);
    if (b == std::string_view::npos) break;
    const std::size_t body = b + kBegin.size();
    const std::size_t e = pem.find(kEnd, body);
    if (e == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidLength, "unterminated PEM certificate block");
    }
    if (out.size() >= 16) {
      return MakeError(ErrorCode::kInvalidLength, "more than 16 certificates in a PEM chain");
    }
    std::string b64;
    b64.reserve(e - body);
    for (std::size_t i = body; i < e; ++i) {
      const char c = pem[i];
      if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
      b64.push_back(c);
    }
    auto der = Base64Decode(b64);
    if (!der.ok()) {
      return MakeError(der.error().code, "PEM certificate " + std::to_string(out.size()) + ": " +
                                             der.error().message);
    }
    out.push_back(std::move(*der));
    pos = e + kEnd.size();
  }
  if (out.empty()) return MakeError(ErrorCode::kInvalidLength, "no PEM certificate found");
  return out;
}

Result<TdxTcbInfo> ParseTdxTcbInfoJson(std::string_view json) {
  if (json.size() > kMaxCollateralJson) {
    return MakeError(ErrorCode::kInvalidLength, "tcbInfo JSON larger than 4 MiB");
  }
  simdjson::dom::parser parser;
  const simdjson::padded_string text(json);
  CVMW_ASSIGN_OR_RETURN(object o, RootObject(parser, text, "tcbInfo"));
  return ParseTcbInfoObject(o);
}

Result<TdxQeIdentity> ParseTdxQeIdentityJson(std::string_view json) {
  if (json.size() > kMaxCollateralJson) {
    return MakeError(ErrorCode::kInvalidLength, "enclaveIdentity JSON larger than 4 MiB");
  }
  simdjson::dom::parser parser;
  const simdjson::padded_string text(json);
  CVMW_ASSIGN_OR_RETURN(object o, RootObject(parser, text, "enclaveIdentity"));
  return ParseQeIdentityObject(o);
}

Result<TdxCollateral> ParseTdxCollateralJson(std::string_view json) {
  if (json.size() > kMaxCollateralJson) {
    return MakeError(ErrorCode::kInvalidLength, "collateral JSON larger than 4 MiB");
  }
  constexpr std::string_view w = "collateral";
  simdjson::dom::parser parser;
  const simdjson::padded_string text(json);
  CVMW_ASSIGN_OR_RETURN(object o, RootObject(parser, text, w));
  TdxCollateral c;
  CVMW_ASSIGN_OR_RETURN(std::string_view tcb_info, StringMember(o, "tcb_info", w));
  c.tcb_info_json = std::string(tcb_info);
  CVMW_ASSIGN_OR_RETURN(c.tcb_info_signature, HexMember<64>(o, "tcb_info_signature", w));
  CVMW_ASSIGN_OR_RETURN(std::string_view tcb_chain, StringMember(o, "tcb_info_issuer_chain", w));
  c.tcb_info_issuer_chain = std::string(tcb_chain);
  CVMW_ASSIGN_OR_RETURN(std::string_view qe_identity, StringMember(o, "qe_identity", w));
  c.qe_identity_json = std::string(qe_identity);
  CVMW_ASSIGN_OR_RETURN(c.qe_identity_signature, HexMember<64>(o, "qe_identity_signature", w));
  CVMW_ASSIGN_OR_RETURN(std::string_view qe_chain, StringMember(o, "qe_identity_issuer_chain", w));
  c.qe_identity_issuer_chain = std::string(qe_chain);
  CVMW_ASSIGN_OR_RETURN(c.root_ca_crl, HexField(o, "root_ca_crl", w));
  CVMW_ASSIGN_OR_RETURN(c.pck_crl, HexField(o, "pck_crl", w));
  CVMW_ASSIGN_OR_RETURN(std::string_view pck_chain, StringMember(o, "pck_crl_issuer_chain", w));
  c.pck_crl_issuer_chain = std::string(pck_chain);

  CVMW_ASSIGN_OR_RETURN(c.tcb_info_issuer_chain_der, ChainField(o, "tcb_info_issuer_chain", w));
  CVMW_ASSIGN_OR_RETURN(c.qe_identity_issuer_chain_der,
                        ChainField(o, "qe_identity_issuer_chain", w));
  CVMW_ASSIGN_OR_RETURN(c.pck_crl_issuer_chain_der, ChainField(o, "pck_crl_issuer_chain", w));

  // The inner texts are parsed with a fresh parser: the outer document's strings stay valid.
  simdjson::dom::parser inner;
  {
    const simdjson::padded_string t(c.tcb_info_json);
    CVMW_ASSIGN_OR_RETURN(object io, RootObject(inner, t, "tcbInfo"));
    CVMW_ASSIGN_OR_RETURN(c.tcb_info, ParseTcbInfoObject(io));
  }
  {
    const simdjson::padded_string t(c.qe_identity_json);
    CVMW_ASSIGN_OR_RETURN(object io, RootObject(inner, t, "enclaveIdentity"));
    CVMW_ASSIGN_OR_RETURN(c.qe_identity, ParseQeIdentityObject(io));
  }
  c.tcb_info_digest = Sha256(AsBytes(c.tcb_info_json));
  c.qe_identity_digest = Sha256(AsBytes(c.qe_identity_json));
  return c;
}

Result<TdxCollateral> LoadTdxCollateralFile(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot read " + path + ": " + ec.message());
  if (size > kMaxCollateralJson) {
    return MakeError(ErrorCode::kInvalidLength, path + ": collateral file larger than 4 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseTdxCollateralJson(ss.str());
  if (!c.ok()) return MakeError(c.error().code, path + ": " + c.error().message);
  return c;
}

TdxCollateralSource::~TdxCollateralSource() = default;

DirectoryTdxCollateralSource::DirectoryTdxCollateralSource(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  if (ec) load_errors_.push_back(dir_ + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto c = LoadTdxCollateralFile(f.string());
    if (c.ok()) {
      bundles_.push_back(std::move(*c));
    } else {
      load_errors_.push_back(c.error().ToString());
    }
  }
}

std::optional<TdxCollateral> DirectoryTdxCollateralSource::Find(const FixedBytes<6>& fmspc,
                                                                const FixedBytes<2>& pce_id) const {
  return BestMatch(bundles_, fmspc, pce_id);
}

std::optional<TdxCollateral> InMemoryTdxCollateralSource::Find(const FixedBytes<6>& fmspc,
                                                               const FixedBytes<2>& pce_id) const {
  return BestMatch(bundles_, fmspc, pce_id);
}

}  // namespace cvmwatch::verifier
