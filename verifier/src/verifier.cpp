#include "cvmwatch/verifier/verifier.h"

#include <openssl/obj_mac.h>

#include "cvmwatch/core/hash.h"
#include "cvmwatch/verifier/measurement.h"
#include "cvmwatch/verifier/snp.h"
#include "cvmwatch/verifier/tdx.h"
#include "cvmwatch/verifier/tpm.h"
#include "detail/ak_trust.h"
#include "detail/cert_cache.h"
#include "detail/lru_cache.h"
#include "detail/openssl_util.h"
#include "detail/zk_journal.h"

namespace cvmwatch::verifier {
namespace {

using registry::CloudType;
using registry::TeeReportType;
using registry::TeeType;

constexpr std::size_t kTpmDataMaxLength = 50;
constexpr std::size_t kTpmDataMinLength = 33;
constexpr std::uint64_t kPcrReportIdIndex = 15;

constexpr std::uint8_t U8(CloudType c) { return static_cast<std::uint8_t>(c); }
constexpr std::uint8_t U8(TeeType t) { return static_cast<std::uint8_t>(t); }
constexpr std::uint8_t U8(TeeReportType t) { return static_cast<std::uint8_t>(t); }

void AddStatus(Verdict& v, CheckId id, const Status& s, std::string passed_reason) {
  if (s.ok()) {
    v.Add(id, CheckState::kPassed, std::move(passed_reason));
  } else {
    v.Add(id, CheckState::kFailed, s.error().message);
  }
}

// The product an AMD trust anchor belongs to, from its subject. Trust-store data: remembered by
// DER hash (not emptied by ClearVerifierCaches, which concerns submission data).
SnpProduct ProductOfCert(ByteView der) {
  static detail::LruCache<SnpProduct> known(64);
  const Hash32 h = Sha256(der);
  if (auto hit = known.Get(h)) return *hit;
  auto cert = detail::ParseDerCertificate(der);
  if (!cert.ok()) return SnpProduct::kUnknown;
  const std::string subject = detail::CertSubject(cert->get());
  SnpProduct p = SnpProduct::kUnknown;
  if (subject.find("Milan") != std::string::npos) p = SnpProduct::kMilan;
  if (subject.find("Genoa") != std::string::npos) p = SnpProduct::kGenoa;
  if (subject.find("Turin") != std::string::npos) p = SnpProduct::kTurin;
  known.Put(h, p);
  return p;
}

SnpProduct ProductOfJournalModel(std::uint64_t model) {
  switch (model) {
    case 0: return SnpProduct::kMilan;
    case 1:
    case 2:  // Bergamo and Siena use the Genoa chain
    case 3: return SnpProduct::kGenoa;
    default: return SnpProduct::kUnknown;
  }
}

const Bytes* FindByProduct(const std::vector<Bytes>& certs, SnpProduct product) {
  for (const auto& c : certs) {
    if (ProductOfCert(c) == product) return &c;
  }
  return nullptr;
}

std::string ShortHex(ByteView b, std::size_t n = 8) {
  return ToHex(b.first(std::min(b.size(), n))) + (b.size() > n ? "…" : "");
}

// ---------------------------------------------------------------------------------------------
// TEE evidence

struct TeeOutcome {
  std::optional<TeeFacts> facts;
};

void VerifySnpEvidence(const registry::AttestCall& call, const TrustStore& trust, TimePoint at,
                       Verdict& v, TeeOutcome& out) {
  if (call.tee_report_type != U8(TeeReportType::kZkRiscZero) &&
      call.tee_report_type != U8(TeeReportType::kZkSuccinct)) {
    v.Add(CheckId::kTeeReportParse, CheckState::kFailed,
          "SEV-SNP reports are accepted only as ZK proofs (teeReportType " +
              std::to_string(call.tee_report_type) + ")");
    return;
  }
  auto proof = detail::DecodeZkProof(call.tee_report);
  if (!proof.ok()) {
    v.Add(CheckId::kTeeReportParse, CheckState::kFailed, proof.error().message);
    return;
  }
  auto journal = detail::DecodeVerifierJournal(proof->output);
  if (!journal.ok()) {
    v.Add(CheckId::kTeeReportParse, CheckState::kFailed, journal.error().message);
    return;
  }
  auto report = ParseSnpReport(journal->raw_report);
  if (!report.ok()) {
    v.Add(CheckId::kTeeReportParse, CheckState::kFailed, "journal rawReport: " + report.error().message);
    return;
  }
  v.Add(CheckId::kTeeReportParse, CheckState::kPassed,
        "ZK journal (" + std::to_string(proof->output.size()) + " bytes) with SNP report v" +
            std::to_string(report->version));

  // Journal: what the chain's SNP verifier contract checks before it trusts the proven report.
  const SnpProduct model = ProductOfJournalModel(journal->processor_model);
  const Bytes* ark = FindByProduct(trust.amd_arks, model);
  if (journal->result != 0) {
    v.Add(CheckId::kZkJournal, CheckState::kFailed,
          "journal result " + std::to_string(journal->result) + " is not Success");
  } else if (journal->timestamp > static_cast<std::uint64_t>(ToUnixSeconds(at))) {
    v.Add(CheckId::kZkJournal, CheckState::kFailed,
          "journal timestamp " + std::to_string(journal->timestamp) + " is after the block time " +
              std::to_string(ToUnixSeconds(at)));
  } else if (journal->certs.empty()) {
    v.Add(CheckId::kZkJournal, CheckState::kFailed, "journal proves no certificate chain");
  } else if (model == SnpProduct::kUnknown) {
    v.Add(CheckId::kZkJournal, CheckState::kFailed,
          "unknown processor model " + std::to_string(journal->processor_model));
  } else if (!ark) {
    v.Add(CheckId::kZkJournal, CheckState::kNotChecked,
          "no pinned ARK for " + std::string(SnpProductName(model)) +
              ": journal root " + ShortHex(journal->certs[0].view()) + " not compared");
  } else if (Sha256(*ark) != journal->certs[0]) {
    v.Add(CheckId::kZkJournal, CheckState::kFailed,
          "journal root " + journal->certs[0].ToHex() + " is not the pinned ARK-" +
              std::string(SnpProductName(model)));
  } else {
    v.Add(CheckId::kZkJournal, CheckState::kPassed,
          "result Success, root = pinned ARK-" + std::string(SnpProductName(model)) + ", timestamp " +
              std::to_string(journal->timestamp));
  }
  v.Add(CheckId::kZkProof, CheckState::kNotChecked,
        std::string(call.tee_report_type == U8(TeeReportType::kZkRiscZero) ? "RISC Zero" : "SP1") +
            " proof (" + std::to_string(proof->proof.size()) +
            " bytes) not verified: zkVM proof verification is not part of this verifier");

  const SnpCheck policy = CheckSnpPolicy(*report);
  v.Add(CheckId::kTeePolicy, policy.ok ? CheckState::kPassed : CheckState::kFailed, policy.reason);

  // The report's own signature: needs the VCEK for this chip at this TCB.
  std::uint64_t reported_tcb = 0;
  for (int i = 7; i >= 0; --i) reported_tcb = reported_tcb << 8 | report->reported_tcb[i];
  std::optional<Bytes> vcek;
  if (trust.vceks) vcek = trust.vceks->FindVcek(report->chip_id.view(), reported_tcb);
  const std::string where = "chip " + ShortHex(report->chip_id.view()) + " at TCB " +
                            ToHex(ByteView(report->reported_tcb.data(), 8));
  if (!vcek) {
    const std::string why = "no VCEK for " + where;
    v.Add(CheckId::kTeeCertChain, CheckState::kNotChecked, "VCEK chain not checked: " + why);
    v.Add(CheckId::kTeeSignature, CheckState::kNotChecked, "TEE signature not checked: " + why);
    v.Add(CheckId::kTeeTcb, CheckState::kNotChecked, "TCB not checked: " + why);
  } else {
    SnpProduct product = report->ProductFromCpuid();
    if (product == SnpProduct::kUnknown) product = model;
    std::vector<Bytes> ask_ark;
    if (const Bytes* ask = FindByProduct(trust.amd_asks, product)) ask_ark.push_back(*ask);
    if (const Bytes* a = FindByProduct(trust.amd_arks, product)) ask_ark.push_back(*a);
    const SnpVerification sv = VerifySnpReport(*report, *vcek, ask_ark, trust.amd_arks, at);
    v.Add(CheckId::kTeeCertChain, sv.chain.ok ? CheckState::kPassed : CheckState::kFailed, sv.chain.reason);
    v.Add(CheckId::kTeeSignature, sv.signature.ok ? CheckState::kPassed : CheckState::kFailed,
          sv.signature.reason);
    v.Add(CheckId::kTeeTcb, sv.tcb.ok ? CheckState::kPassed : CheckState::kFailed, sv.tcb.reason);
  }

  TeeFacts facts;
  facts.tee_type = U8(TeeType::kAmdSevSnp);
  facts.snp_measurement = report->measurement;
  facts.snp_report_id = report->report_id;
  facts.snp_reported_tcb = reported_tcb;
  facts.chip_id = report->chip_id;
  facts.report_data = report->report_data;
  out.facts = facts;
}

void VerifyTdxEvidence(const registry::AttestCall& call, const TrustStore& trust, TimePoint at,
                       Verdict& v, TeeOutcome& out) {
  if (call.tee_report_type != U8(TeeReportType::kSolidity)) {
    v.Add(CheckId::kTeeReportParse, CheckState::kNotChecked,
          "TDX ZK outputs (teeReportType " + std::to_string(call.tee_report_type) +
              ") are not verified by this verifier");
    return;
  }
  const TdxVerification tv = VerifyTdxQuote(call.tee_report, trust.intel_roots, trust.tdx_collateral.get(), at);
  auto add = [&](CheckId id, const TdxStep& step) {
    v.Add(id, !step.checked ? CheckState::kNotChecked : step.ok ? CheckState::kPassed : CheckState::kFailed,
          step.reason);
  };
  add(CheckId::kTeeReportParse, tv.parse);
  if (!tv.quote) return;
  add(CheckId::kTeeCertChain, tv.pck_chain);
  // The quote signature and the QE report (which certifies the attestation key) together.
  if (tv.qe_report.checked && !tv.qe_report.ok) {
    add(CheckId::kTeeSignature, tv.qe_report);
  } else {
    TdxStep sig = tv.quote_signature;
    if (sig.ok && tv.qe_report.ok) sig.reason = tv.quote_signature.reason + "; " + tv.qe_report.reason;
    add(CheckId::kTeeSignature, sig);
  }
  add(CheckId::kTeeTcb, tv.collateral);
  AddStatus(v, CheckId::kTeePolicy, CheckTdxTdAttributes(*tv.quote),
            "TD attributes: debug off, SEPT_VE_DISABLE set, no reserved bits");
  out.facts = TdxTeeFacts(*tv.quote, tv.tcb_status);
}

// ---------------------------------------------------------------------------------------------
// Bindings

// LibTEE.verifyReportID (NEWEST rules, PCR 15): the first index-15 entry decides for SNP; for TDX
// later index-15 entries are tried too.
Status CheckReportIdBinding(std::uint8_t cloud, const TeeFacts& tee, ByteView report_id,
                            std::span<const registry::MeasurablePcr> pcrs) {
  bool seen = false;
  for (const auto& p : pcrs) {
    if (p.index != U256(kPcrReportIdIndex)) continue;
    seen = true;
    if (tee.tee_type == U8(TeeType::kIntelTdx)) {
      if (p.pcr.IsZero() && tee.rtmr3.IsZero()) return OkStatus();
      const Hash32 expected_pcr = Sha256(Concat({Hash32{}.view(), Sha256(report_id).view()}));
      const Hash48 expected_rtmr3 = Sha384(Concat({Hash48{}.view(), Sha384(report_id).view()}));
      if (p.pcr == expected_pcr && tee.rtmr3 == expected_rtmr3) return OkStatus();
      continue;
    }
    if (p.pcr.IsZero() && cloud == U8(CloudType::kAzure)) return OkStatus();
    if (!report_id.empty()) {
      if (report_id.size() < 32 || !std::equal(report_id.begin(), report_id.begin() + 32,
                                                tee.snp_report_id.bytes.begin())) {
        return MakeError(ErrorCode::kPrecondition, "reportId " + ShortHex(report_id) +
                                                       " is not the SNP REPORT_ID " +
                                                       tee.snp_report_id.ToHex());
      }
    }
    const Hash32 expected = Sha256(Concat({Hash32{}.view(), tee.snp_report_id.view()}));
    if (p.pcr == expected) return OkStatus();
    return MakeError(ErrorCode::kPrecondition, "PCR15 " + p.pcr.ToHex() +
                                                   " is not the extend of REPORT_ID " + expected.ToHex());
  }
  if (!seen) return MakeError(ErrorCode::kPrecondition, "no PCR15 entry: the report id cannot be bound");
  return MakeError(ErrorCode::kPrecondition,
                   "PCR15 / RTMR3 are not the extends of reportId " + ShortHex(report_id, 16));
}

Status CheckIdentityBinding(ByteView extra_data, const Hash32& identity_hash) {
  if (extra_data.size() < kTpmDataMinLength || extra_data.size() > kTpmDataMaxLength) {
    return MakeError(ErrorCode::kPrecondition, "TPM extraData of " + std::to_string(extra_data.size()) +
                                                   " bytes (33..50 required)");
  }
  if (!std::equal(identity_hash.bytes.begin(), identity_hash.bytes.end(), extra_data.begin() + 1)) {
    return MakeError(ErrorCode::kPrecondition,
                     "TPM quote binds identity " + ToHex(extra_data.subspan(1, 32)) + ", not " +
                         identity_hash.ToHex());
  }
  return OkStatus();
}

// TPM quote, signature, PCR set and events: shared by registration and re-attestation.
std::optional<TpmQuote> VerifyTpmPart(const registry::WorkloadCollaterals& wc,
                                      const std::optional<registry::CertPubkey>& ak,
                                      const std::string& ak_missing_reason, Verdict& v) {
  auto quote = ParseTpmQuote(wc.tpm_quote);
  if (!quote.ok()) {
    v.Add(CheckId::kTpmQuoteParse, CheckState::kFailed, quote.error().message);
    return std::nullopt;
  }
  v.Add(CheckId::kTpmQuoteParse, CheckState::kPassed,
        "TPMS_ATTEST quote, extraData " + std::to_string(quote->extra_data.size()) + " bytes, select " +
            ToHex(quote->pcr_select));
  if (ak) {
    AddStatus(v, CheckId::kTpmSignature, VerifyTpmSignature(wc.tpm_quote, wc.tpm_signature, *ak),
              std::string(ak->algo == registry::kTpmAlgRsa ? "RSASSA-SHA256" : "ECDSA P-256") +
                  " by the AK over SHA-256(quote)");
  } else {
    v.Add(CheckId::kTpmSignature, CheckState::kNotChecked, ak_missing_reason);
  }
  AddStatus(v, CheckId::kPcrSelection, CheckPcrSelection(*quote, wc.pcrs),
            std::to_string(wc.pcrs.size()) + " PCRs match the quote's selection");
  AddStatus(v, CheckId::kPcrDigest, CheckPcrDigest(*quote, wc.pcrs), "pcrDigest = SHA-256 of the PCR values");
  AddStatus(v, CheckId::kPcrEvents, CheckPcrEvents(wc.pcrs), "event logs replay to their PCRs");
  return std::move(quote).value();
}

void AddMeasurement(Verdict& v, std::span<const registry::MeasurablePcr> pcrs, const TeeFacts& tee) {
  auto hash = MeasurementHash(pcrs, tee);
  if (hash.ok()) v.measurement_hash = *hash;
}

// ---------------------------------------------------------------------------------------------
// Maintenance signatures

Status VerifyIdentitySignature(const registry::IdentityKey& key, ByteView digest, ByteView signature) {
  if (key.hash_algo != registry::kTpmAlgSha256) {
    return MakeError(ErrorCode::kUnsupportedKey, "identity hash algorithm is not SHA-256");
  }
  if (key.sig_scheme == registry::kTpmAlgEcdsa) {
    if (signature.size() != 64) {
      return MakeError(ErrorCode::kInvalidLength,
                       "P-256 signature of " + std::to_string(signature.size()) + " bytes (r||s = 64)");
    }
    registry::CertPubkey ec{registry::kTpmAlgEcc, registry::kTpmEccNistP256, key.data};
    CVMW_ASSIGN_OR_RETURN(detail::SharedPkey pkey, detail::CachedPublicKey(ec));
    if (!detail::VerifyEcdsaDigest(pkey.get(), digest, signature.first(32), signature.subspan(32))) {
      return MakeError(ErrorCode::kPrecondition, "P-256 signature does not verify");
    }
    return OkStatus();
  }
  if (key.sig_scheme == registry::kTpmAlgRsassa) {
    registry::CertPubkey rsa{registry::kTpmAlgRsa, 0, key.data};
    CVMW_ASSIGN_OR_RETURN(detail::SharedPkey pkey, detail::CachedPublicKey(rsa));
    return detail::VerifyRsaPkcs1Sha256Lenient(pkey.get(), digest, signature);
  }
  return MakeError(ErrorCode::kUnsupportedKey,
                   "identity signature scheme " + std::to_string(key.sig_scheme) + " is not ECDSA or RSASSA");
}

// The width that last verified for a (chain, registry): tried first next time. Only an ordering
// hint: both widths are still tried before a signature is called invalid.
detail::LruCache<unsigned>& WidthHints() {
  static detail::LruCache<unsigned> hints(256);
  return hints;
}

Hash32 WidthHintKey(const SigningContext& ctx) {
  Bytes k;
  AppendBe64(k, ctx.chain_id);
  k.insert(k.end(), ctx.registry.bytes.begin(), ctx.registry.bytes.end());
  return Sha256(k);
}

// Tries the configured chain-id width(s); records which one verified.
template <typename MessageFn>
void CheckMaintenanceSignature(const Submission& s, const registry::IdentityKey& key,
                               ByteView signature, MessageFn message, Verdict& v) {
  std::vector<unsigned> widths;
  switch (s.signing.chain_id_width) {
    case ChainIdWidth::k32Bytes: widths = {32}; break;
    case ChainIdWidth::k2Bytes: widths = {2}; break;
    case ChainIdWidth::kAuto:
      widths = WidthHints().Get(WidthHintKey(s.signing)).value_or(32) == 2 ? std::vector<unsigned>{2, 32}
                                                                           : std::vector<unsigned>{32, 2};
      break;
  }
  std::string last_error;
  for (unsigned w : widths) {
    const Bytes msg = message(w);
    auto status = VerifyIdentitySignature(key, Sha256(msg).view(), signature);
    if (status.ok()) {
      v.chain_id_width = w;
      if (s.signing.chain_id_width == ChainIdWidth::kAuto) WidthHints().Put(WidthHintKey(s.signing), w);
      v.Add(CheckId::kMaintenanceSignature, CheckState::kPassed,
            "signed by the registered identity key over a " + std::to_string(msg.size()) +
                "-byte message (chain id as " + std::to_string(w) + " bytes, nonce " +
                s.registered->nonce.ToDecimal() + ")");
      return;
    }
    last_error = status.error().message;
  }
  v.Add(CheckId::kMaintenanceSignature, CheckState::kFailed,
        last_error + " (chain id " + std::to_string(s.signing.chain_id) + ", registry " +
            s.signing.registry.ToHex() + ", nonce " + s.registered->nonce.ToDecimal() + ")");
}

// ---------------------------------------------------------------------------------------------
// Per call kind

void VerifyAttest(const registry::AttestCall& call, const TrustStore& trust, TimePoint at, Verdict& v) {
  v.cloud_type = call.cloud_type;
  v.tee_type = call.tee_type;
  v.tee_report_type = call.tee_report_type;
  v.identity_hash = call.identity_hash;

  std::string shape_problem;
  if (call.cloud_type != U8(CloudType::kGcp) && call.cloud_type != U8(CloudType::kAzure)) {
    shape_problem = "cloud type " + std::to_string(call.cloud_type) + " is neither GCP nor Azure";
  } else if (call.tee_type != U8(TeeType::kIntelTdx) && call.tee_type != U8(TeeType::kAmdSevSnp)) {
    shape_problem = "TEE type " + std::to_string(call.tee_type) + " is neither TDX nor SEV-SNP";
  } else if (call.tee_report_type == U8(TeeReportType::kUnset) || call.tee_report_type > 3) {
    shape_problem = "TEE report type " + std::to_string(call.tee_report_type) + " is invalid";
  }
  if (!shape_problem.empty()) {
    v.Add(CheckId::kSubmissionShape, CheckState::kFailed, shape_problem);
    return;
  }
  v.Add(CheckId::kSubmissionShape, CheckState::kPassed,
        registry::CloudName(call.cloud_type) + " " + registry::TeeName(call.tee_type) + " " +
            registry::TeeReportTypeName(call.tee_report_type));

  TeeOutcome tee;
  if (call.tee_type == U8(TeeType::kAmdSevSnp)) {
    VerifySnpEvidence(call, trust, at, v, tee);
  } else {
    VerifyTdxEvidence(call, trust, at, v, tee);
  }
  v.tee = tee.facts;

  // AK trust per cloud.
  std::optional<registry::CertPubkey> ak;
  std::string ak_missing = "no trusted AK";
  if (call.cloud_type == U8(CloudType::kAzure)) {
    if (!tee.facts) {
      v.Add(CheckId::kAkTrust, CheckState::kNotChecked, "REPORTDATA unavailable: the TEE report did not parse");
    } else if (!std::equal(tee.facts->report_data.bytes.begin(), tee.facts->report_data.bytes.begin() + 32,
                           Sha256(call.wc.ak_pub).bytes.begin())) {
      v.Add(CheckId::kAkTrust, CheckState::kFailed,
            "REPORTDATA[0..32] " + ToHex(tee.facts->report_data.view().first(32)) +
                " is not SHA-256(HCL runtime data) " + Sha256(call.wc.ak_pub).ToHex());
      ak_missing = "the AK is not bound to the TEE report";
    } else {
      auto key = detail::ExtractHclAk(call.wc.ak_pub);
      if (!key.ok()) {
        v.Add(CheckId::kAkTrust, CheckState::kFailed, key.error().message);
      } else {
        ak = *key;
        v.Add(CheckId::kAkTrust, CheckState::kPassed,
              "REPORTDATA binds the HCL runtime data; its HCLAkPub RSA key is the AK");
      }
    }
  } else {
    auto key = detail::VerifyAkCertChain(call.wc.certs, trust.tpm_ak_roots, at);
    if (!key.ok()) {
      v.Add(CheckId::kAkTrust, CheckState::kFailed, key.error().message);
      ak_missing = "the AK certificate chain did not verify";
    } else {
      ak = *key;
      v.Add(CheckId::kAkTrust, CheckState::kPassed,
            std::to_string(call.wc.certs.size()) + "-certificate AK chain to a trusted Google EK/AK root");
    }
  }
  v.ak = ak;

  auto quote = VerifyTpmPart(call.wc, ak, ak_missing, v);

  if (!tee.facts) {
    v.Add(CheckId::kReportIdBinding, CheckState::kNotChecked, "TEE report unavailable");
  } else {
    AddStatus(v, CheckId::kReportIdBinding,
              CheckReportIdBinding(call.cloud_type, *tee.facts, call.wc.report_id, call.wc.pcrs),
              "PCR15 binds the TEE report");
  }
  if (call.generation == registry::Generation::kD) {
    v.Add(CheckId::kIdentityBinding, CheckState::kNotChecked,
          "generation D binds the identity by TPM2_Certify, which this verifier does not check");
  } else if (quote) {
    AddStatus(v, CheckId::kIdentityBinding, CheckIdentityBinding(quote->extra_data, call.identity_hash),
              "TPM extraData binds identity " + call.identity_hash.ToHex());
  }
  if (tee.facts) AddMeasurement(v, call.wc.pcrs, *tee.facts);
}

void VerifyReattest(const registry::ReattestCall& call, const Submission& s, Verdict& v) {
  v.identity_hash = call.new_identity_hash;
  v.target_identity_hash = call.target_identity_hash;
  const auto& reg = s.registered;
  if (!reg) {
    v.Add(CheckId::kRegisteredState, CheckState::kNotChecked,
          "identity " + call.target_identity_hash.ToHex() + " is not registered as far as the watchdog knows");
  } else if (registry::IdentityHash(reg->identity) != call.target_identity_hash) {
    v.Add(CheckId::kRegisteredState, CheckState::kFailed, "registered key does not hash to the target identity");
  } else {
    v.Add(CheckId::kRegisteredState, CheckState::kPassed, "registered identity, stored AK and TEE data");
    v.cloud_type = reg->cloud_type;
    v.tee_type = reg->tee_type;
  }
  const bool have = reg && v.Find(CheckId::kRegisteredState)->state == CheckState::kPassed;
  if (have) {
    CheckMaintenanceSignature(
        s, reg->identity, call.signature,
        [&](unsigned w) { return ReattestMessage(s.signing, w, reg->nonce, call.wc.tpm_quote); }, v);
  } else {
    v.Add(CheckId::kMaintenanceSignature, CheckState::kNotChecked, "no registered identity key");
  }
  // A2: the quote must verify with the AK stored at registration, whatever the call carries.
  std::optional<registry::CertPubkey> ak = have ? reg->ak : std::nullopt;
  auto quote = VerifyTpmPart(call.wc, ak, "no AK stored for this identity", v);
  if (quote) {
    if (call.IsRotation()) {
      AddStatus(v, CheckId::kIdentityBinding, CheckIdentityBinding(quote->extra_data, call.new_identity_hash),
                "rotation: TPM extraData binds the new identity " + call.new_identity_hash.ToHex());
    } else {
      v.Add(CheckId::kIdentityBinding, CheckState::kPassed,
            "same identity: the registry does not check extraData on this path");
    }
  }
  if (have && reg->tee) {
    v.tee = reg->tee;
    AddMeasurement(v, call.wc.pcrs, *reg->tee);
  }
  v.ak = ak;
}

void VerifyTtl(const registry::TtlCall& call, const Submission& s, Verdict& v) {
  v.identity_hash = call.target_identity_hash;
  v.target_identity_hash = call.target_identity_hash;
  const auto& reg = s.registered;
  if (!reg) {
    v.Add(CheckId::kRegisteredState, CheckState::kNotChecked,
          "identity " + call.target_identity_hash.ToHex() + " is not registered as far as the watchdog knows");
    v.Add(CheckId::kMaintenanceSignature, CheckState::kNotChecked, "no registered identity key");
    return;
  }
  if (registry::IdentityHash(reg->identity) != call.target_identity_hash) {
    v.Add(CheckId::kRegisteredState, CheckState::kFailed, "registered key does not hash to the target identity");
    return;
  }
  v.Add(CheckId::kRegisteredState, CheckState::kPassed, "registered identity");
  v.cloud_type = reg->cloud_type;
  v.tee_type = reg->tee_type;
  CheckMaintenanceSignature(
      s, reg->identity, call.signature,
      [&](unsigned w) { return TtlMessage(s.signing, w, reg->nonce, call.tee_ttl, call.tpm_ttl); }, v);
}

Bytes SignedPrefix(std::string_view prefix, const SigningContext& ctx, unsigned chain_id_bytes) {
  Bytes msg(prefix.begin(), prefix.end());
  const auto chain = U256(ctx.chain_id).ToBe32();
  msg.insert(msg.end(), chain.end() - chain_id_bytes, chain.end());
  msg.insert(msg.end(), ctx.registry.bytes.begin(), ctx.registry.bytes.end());
  return msg;
}

}  // namespace

Bytes ReattestMessage(const SigningContext& ctx, unsigned chain_id_bytes, const U256& nonce,
                      ByteView tpm_quote) {
  Bytes msg = SignedPrefix("CVM_WORKLOAD_REATTEST_TPM", ctx, chain_id_bytes);
  const auto n = nonce.ToBe32();
  msg.insert(msg.end(), n.begin(), n.end());
  const Hash32 q = Sha256(tpm_quote);
  msg.insert(msg.end(), q.bytes.begin(), q.bytes.end());
  return msg;
}

Bytes TtlMessage(const SigningContext& ctx, unsigned chain_id_bytes, const U256& nonce,
                 std::uint64_t tee_ttl, std::uint64_t tpm_ttl) {
  Bytes msg = SignedPrefix("CVM_WORKLOAD_TTL_CONFIG", ctx, chain_id_bytes);
  const auto n = nonce.ToBe32();
  msg.insert(msg.end(), n.begin(), n.end());
  AppendBe64(msg, tee_ttl);
  AppendBe64(msg, tpm_ttl);
  return msg;
}

void ClearVerifierCaches() {
  detail::ClearCertCaches();
  detail::ClearKeyCache();
  WidthHints().Clear();
  ClearTdxSignatureCache();
}

Verdict Verify(const Submission& submission, const TrustStore& trust, TimePoint at) {
  Verdict v;
  v.function = std::string(registry::CallName(submission.call));
  if (const auto* a = std::get_if<registry::AttestCall>(&submission.call)) {
    VerifyAttest(*a, trust, at, v);
  } else if (const auto* r = std::get_if<registry::ReattestCall>(&submission.call)) {
    VerifyReattest(*r, submission, v);
  } else if (const auto* t = std::get_if<registry::TtlCall>(&submission.call)) {
    VerifyTtl(*t, submission, v);
  } else {
    v.Add(CheckId::kSubmissionShape, CheckState::kNotChecked,
          v.function + " is decoded and recorded but not re-verified by this verifier");
  }
  return v;
}

}  // namespace cvmwatch::verifier
