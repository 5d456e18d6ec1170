#include "decode_command.h"

#include <cstdio>
#include <iomanip>
#include <sstream>

#include "calldata_file.h"
#include "cvmwatch/core/hash.h"
#include "cvmwatch/core/json_writer.h"

namespace cvmwatch::app {
namespace {

using namespace cvmwatch::registry;

constexpr std::size_t kPreviewBytes = 16;

std::string Hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

std::string Preview(ByteView b) { return ToHex(b.first(std::min(b.size(), kPreviewBytes))); }

void WriteBlob(JsonWriter& w, std::string_view key, ByteView b) {
  w.Key(key).BeginObject();
  w.Key("length").Uint(b.size());
  w.Key("first_bytes").String(Preview(b));
  w.EndObject();
}

void WriteIdentity(JsonWriter& w, std::string_view key, const IdentityKey& id, const Hash32& hash) {
  w.Key(key).BeginObject();
  w.Key("form").String(id.form == IdentityForm::kPubkey       ? "Pubkey"
                       : id.form == IdentityForm::kCertPubkey ? "CVMIdentity(CertPubkey)"
                                                              : "CVMIdentity(TPMT_PUBLIC)");
  w.Key("sig_scheme").String(Hex16(id.sig_scheme));
  w.Key("curve").String(Hex16(id.curve));
  w.Key("hash_algo").String(Hex16(id.hash_algo));
  if (id.form != IdentityForm::kPubkey) w.Key("key_algo").String(Hex16(id.key_algo));
  w.Key("key").String(ToHex(id.data));
  if (id.form == IdentityForm::kTpmtPublic) w.Key("tpmt_public_length").Uint(id.tpmt_public.size());
  w.Key("identity_hash").String(hash.ToHex());
  w.EndObject();
}

void WriteWc(JsonWriter& w, const WorkloadCollaterals& wc) {
  WriteBlob(w, "tpm_quote", wc.tpm_quote);
  w.Key("tpm_quote_sha256").String(Sha256(wc.tpm_quote).ToHex());
  w.Key("tpm_signature_length").Uint(wc.tpm_signature.size());
  w.Key("pcrs").BeginArray();
  for (const auto& p : wc.pcrs) {
    w.BeginObject();
    w.Key("index").String(p.index.ToDecimal());
    w.Key("value").String(p.pcr.ToHex());
    w.Key("event_count").Uint(p.all_events.size());
    w.Key("measure_events_idx").BeginArray();
    for (const auto& i : p.measure_events_idx) w.String(i.ToDecimal());
    w.EndArray();
    w.Key("measure_pcr").Bool(p.measure_pcr);
    w.EndObject();
  }
  w.EndArray();
  w.Key("report_id").String(ToHex(wc.report_id));
  w.Key("ak_pub_length").Uint(wc.ak_pub.size());
  w.Key("cert_count").Uint(wc.certs.size());
  w.Key("cert_lengths").BeginArray();
  for (const auto& c : wc.certs) w.Uint(c.size());
  w.EndArray();
}

void WriteHeader(JsonWriter& w, const RegistryCall& call, Generation gen, std::size_t size) {
  w.Key("function").String(CallName(call));
  w.Key("generation").String(GenerationName(gen));
  w.Key("calldata_length").Uint(size);
}

struct JsonVisitor {
  JsonWriter& w;
  const RegistryCall& call;
  std::size_t size;

  void Types(std::uint8_t cloud, std::uint8_t tee, std::uint8_t report_type) {
    w.Key("cloud").String(CloudName(cloud));
    w.Key("cloud_type").Uint(cloud);
    w.Key("tee").String(TeeName(tee));
    w.Key("tee_type").Uint(tee);
    w.Key("tee_report_type").String(TeeReportTypeName(report_type));
    w.Key("tee_report_type_id").Uint(report_type);
  }

  void operator()(const AttestCall& c) {
    WriteHeader(w, call, c.generation, size);
    Types(c.cloud_type, c.tee_type, c.tee_report_type);
    if (c.tee_ttl) w.Key("tee_ttl").Uint(*c.tee_ttl);
    WriteBlob(w, "tee_report", c.tee_report);
    WriteWc(w, c.wc);
    WriteIdentity(w, "identity", c.identity, c.identity_hash);
    w.Key("identity_hash").String(c.identity_hash.ToHex());
  }
  void operator()(const ReattestCall& c) {
    WriteHeader(w, call, c.generation, size);
    w.Key("target_identity_hash").String(c.target_identity_hash.ToHex());
    w.Key("signature_length").Uint(c.signature.size());
    w.Key("signed_payload").String("nonce || sha256(tpm_quote)");
    WriteWc(w, c.wc);
    WriteIdentity(w, "new_identity", c.new_identity, c.new_identity_hash);
    w.Key("identity_hash").String(c.new_identity_hash.ToHex());
    w.Key("rotation").Bool(c.IsRotation());
  }
  void operator()(const ReattestFullyCall& c) {
    WriteHeader(w, call, c.generation, size);
    w.Key("target_identity_hash").String(c.target_identity_hash.ToHex());
    w.Key("tee_report_type").String(TeeReportTypeName(c.tee_report_type));
    w.Key("signature_length").Uint(c.signature.size());
    WriteBlob(w, "tee_report", c.tee_report);
    WriteWc(w, c.wc);
    WriteIdentity(w, "new_identity", c.new_identity, c.new_identity_hash);
    w.Key("identity_hash").String(c.new_identity_hash.ToHex());
  }
  void operator()(const TtlCall& c) {
    WriteHeader(w, call, c.generation, size);
    w.Key("target_identity_hash").String(c.target_identity_hash.ToHex());
    w.Key("tee_ttl").Uint(c.tee_ttl);
    w.Key("tpm_ttl").Uint(c.tpm_ttl);
    w.Key("signature_length").Uint(c.signature.size());
    w.Key("signed_payload").String("nonce || uint64 tee_ttl || uint64 tpm_ttl");
    w.Key("identity_hash").String(c.target_identity_hash.ToHex());
  }
  void operator()(const RefreshCall& c) {
    WriteHeader(w, call, c.generation, size);
    w.Key("target_identity_hash").String(c.target_identity_hash.ToHex());
    w.Key("tee_ttl").Uint(c.tee_ttl);
    w.Key("tee_report_type").String(TeeReportTypeName(c.tee_report_type));
    WriteBlob(w, "tee_report", c.tee_report);
    WriteWc(w, c.wc);
    w.Key("identity_hash").String(c.target_identity_hash.ToHex());
  }
  void operator()(const RotateCall& c) {
    WriteHeader(w, call, c.generation, size);
    w.Key("target_identity_hash").String(c.target_identity_hash.ToHex());
    WriteIdentity(w, "new_identity", c.new_identity, c.new_identity_hash);
    WriteBlob(w, "cert_info", c.certification.cert_info);
    w.Key("ak_certification_sig_length").Uint(c.certification.ak_certification_sig.size());
    w.Key("identity_hash").String(c.new_identity_hash.ToHex());
  }
};

std::string SummaryRow(const std::string& file, const RegistryCall& call, std::size_t size) {
  struct Row {
    std::string function, gen, cloud = "-", tee = "-", detail, identity;
  } row;
  row.function = std::string(CallName(call));
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        row.gen = std::string(GenerationName(c.generation));
        if constexpr (std::is_same_v<T, AttestCall>) {
          row.cloud = CloudName(c.cloud_type);
          row.tee = TeeName(c.tee_type);
          row.detail = "report " + std::to_string(c.tee_report.size()) + "B (" +
                       TeeReportTypeName(c.tee_report_type) + "), quote " +
                       std::to_string(c.wc.tpm_quote.size()) + "B, " +
                       std::to_string(c.wc.pcrs.size()) + " pcrs, " +
                       std::to_string(c.wc.certs.size()) + " certs";
          row.identity = c.identity_hash.ToHex();
        } else if constexpr (std::is_same_v<T, ReattestCall>) {
          row.detail = "of " + c.target_identity_hash.ToHex().substr(0, 10) + "…, quote " +
                       std::to_string(c.wc.tpm_quote.size()) + "B, sig " +
                       std::to_string(c.signature.size()) + "B" +
                       (c.IsRotation() ? ", rotates" : "");
          row.identity = c.new_identity_hash.ToHex();
        } else if constexpr (std::is_same_v<T, TtlCall>) {
          row.detail = "tee_ttl " + std::to_string(c.tee_ttl) + " s, tpm_ttl " +
                       std::to_string(c.tpm_ttl) + " s, sig " + std::to_string(c.signature.size()) +
                       "B";
          row.identity = c.target_identity_hash.ToHex();
        } else if constexpr (std::is_same_v<T, RotateCall>) {
          row.detail = "of " + c.target_identity_hash.ToHex().substr(0, 10) + "…";
          row.identity = c.new_identity_hash.ToHex();
        } else {
          row.detail = "";
          row.identity = c.target_identity_hash.ToHex();
        }
      },
      call);
  std::ostringstream os;
  std::string name = file;
  if (const auto slash = name.find_last_of('/'); slash != std::string::npos) {
    name = name.substr(slash + 1);
  }
  os << std::left << std::setw(34) << name << ' ' << std::setw(19) << row.function << ' '
     << std::setw(3) << row.gen << ' ' << std::setw(6) << row.cloud << ' ' << std::setw(8)
     << row.tee << ' ' << std::setw(6) << size << ' ' << row.identity << "  " << row.detail;
  return os.str();
}

}  // namespace

std::string RegistryCallToJson(const RegistryCall& call, std::size_t calldata_size, bool pretty) {
  JsonWriter w(pretty);
  w.BeginObject();
  std::visit(JsonVisitor{w, call, calldata_size}, call);
  w.EndObject();
  return w.str();
}

int RunDecode(const DecodeOptions& options, std::ostream& out, std::ostream& err) {
  int failures = 0;
  if (options.summary) {
    out << std::left << std::setw(34) << "file" << ' ' << std::setw(19) << "function" << ' '
        << std::setw(3) << "gen" << ' ' << std::setw(6) << "cloud" << ' ' << std::setw(8) << "tee"
        << ' ' << std::setw(6) << "bytes" << ' ' << std::setw(66) << "identity hash" << "  detail"
        << '\n';
  }
  for (const auto& file : options.files) {
    auto calldata = ReadCalldataFile(file);
    if (!calldata.ok()) {
      err << "cvmwatch decode: " << file << ": " << calldata.error().ToString() << '\n';
      ++failures;
      continue;
    }
    auto call = registry::DecodeRegistryCall(*calldata);
    if (!call.ok()) {
      err << "cvmwatch decode: " << file << ": " << call.error().ToString() << '\n';
      ++failures;
      continue;
    }
    if (options.summary) {
      out << SummaryRow(file, *call, calldata->size()) << '\n';
    } else {
      out << RegistryCallToJson(*call, calldata->size(), options.pretty) << '\n';
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace cvmwatch::app
