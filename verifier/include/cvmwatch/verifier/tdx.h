// Intel TDX DCAP quotes (specs/tee-reports.md part A): bounded parsing of v4 and v5 quotes (body
// types TD 1.0 / TD 1.5), the PCK certificate chain to a pinned Intel SGX Root CA, the QE report
// signature and REPORTDATA binding, the attestation-key signature over header || body, and the
// collateral-based TCB status (TCB info, TD QE identity, CRLs, TCB-signing chain) with Intel's
// status rules (Automata's variant where they differ; see VerifyTdxQuote).
//
// Contract: everything here is pure and thread-safe. Parsers never read outside their input and
// return errors as values (ErrorCode + a message naming the field). VerifyTdxQuote reports every
// step; a step that could not be evaluated (no collateral) is `checked == false` with a reason,
// never a silent pass. Collateral sources are immutable after construction and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/verifier/verdict.h"

namespace cvmwatch::verifier {

// ---------------------------------------------------------------------------------------------
// Quote layout

inline constexpr std::uint32_t kTdxTeeType = 0x00000081;
inline constexpr std::uint16_t kTdxAttestationKeyEcdsaP256 = 2;
inline constexpr std::size_t kTdxHeaderSize = 48;
inline constexpr std::size_t kTdxTd10BodySize = 584;
inline constexpr std::size_t kTdxTd15BodySize = 648;
inline constexpr std::size_t kSgxReportSize = 384;
// Intel's QE vendor id 939A7233-F79C-4CA9-940A-0DB3957F0607.
inline constexpr std::array<std::uint8_t, 16> kIntelQeVendorId = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

enum class TdxBodyType : std::uint16_t { kSgx = 1, kTd10 = 2, kTd15 = 3 };

// An SGX enclave report (the QE report inside the quote's certification data).
struct SgxReport {
  FixedBytes<16> cpusvn;
  std::uint32_t miscselect = 0;  // LE as in the report
  FixedBytes<16> attributes;
  FixedBytes<32> mrenclave;
  FixedBytes<32> mrsigner;
  std::uint16_t isv_prod_id = 0;
  std::uint16_t isv_svn = 0;
  FixedBytes<64> report_data;
  FixedBytes<kSgxReportSize> raw;  // the 384 bytes as signed
};

struct TdxQuote {
  // Header (48 bytes).
  std::uint16_t version = 0;               // 4 or 5
  std::uint16_t attestation_key_type = 0;  // 2 = ECDSA P-256
  std::uint32_t tee_type = 0;              // 0x81
  std::uint16_t qe_svn = 0;
  std::uint16_t pce_svn = 0;
  FixedBytes<16> qe_vendor_id;
  FixedBytes<20> user_data;

  // Body. v4 quotes are TD 1.0 (body_type kTd10); v5 carries type and size before the body.
  TdxBodyType body_type = TdxBodyType::kTd10;
  std::uint32_t body_size = 0;  // 584 or 648
  FixedBytes<16> tee_tcb_svn;
  FixedBytes<48> mrseam;
  FixedBytes<48> mrsignerseam;
  FixedBytes<8> seam_attributes;
  FixedBytes<8> td_attributes;
  FixedBytes<8> xfam;
  FixedBytes<48> mrtd;
  FixedBytes<48> mrconfigid;
  FixedBytes<48> mrowner;
  FixedBytes<48> mrownerconfig;
  FixedBytes<48> rtmr0, rtmr1, rtmr2, rtmr3;
  FixedBytes<64> report_data;
  // TD 1.5 only (zero otherwise).
  FixedBytes<16> tee_tcb_svn2;
  FixedBytes<48> mrservicetd;

  // Signed region of the attestation-key signature: header || body (v5: || type, size before the
  // body), as [signed_offset, signed_offset + signed_length) of the parsed input (offset is 0).
  std::size_t signed_offset = 0;
  std::size_t signed_length = 0;
  std::size_t body_offset = 0;  // absolute offset of the body in the input
  std::uint32_t signature_data_length = 0;
  std::size_t quote_length = 0;  // bytes actually used (end of the signature data)

  // Signature data.
  FixedBytes<64> quote_signature;              // r || s, big-endian
  FixedBytes<64> attestation_key;              // X || Y, big-endian
  std::uint16_t outer_certification_type = 0;  // 6 = QE report certification data
  std::uint32_t outer_certification_size = 0;
  SgxReport qe_report;
  FixedBytes<64> qe_report_signature;  // r || s by the PCK leaf
  Bytes qe_auth_data;
  std::uint16_t certification_data_type = 0;  // inner: 5 = PCK chain PEM
  Bytes certification_data;                   // the PEM text (as given, possibly NUL-terminated)

  ByteView SignedRegion(ByteView input) const {
    return input.subspan(signed_offset, signed_length);
  }
  bool Debug() const { return td_attributes.bytes[0] & 1; }
  bool SeptVeDisable() const { return (td_attributes.bytes[3] >> 4) & 1; }
};

// v4 and v5 quotes, TDX (TEE type 0x81) with body TD 1.0 / TD 1.5. Every length is checked against
// the buffer; bytes after the signature data are tolerated (padding). Structural rules enforced:
// key type 2, Intel QE vendor id, outer certification type 6 wrapping inner type 5, and
// (590 + N + Z) - 134 == S6. Errors: kInvalidLength (truncated input / a length beyond the
// buffer / inconsistent sizes), kPrecondition (unsupported version, key type, TEE type, body
// type, vendor or certification type).
Result<TdxQuote> ParseTdxQuote(ByteView quote);

// ---------------------------------------------------------------------------------------------
// Collateral

enum class TdxTcbStatus : std::uint8_t {  // Automata's u8 codes
  kUpToDate = 0,
  kSwHardeningNeeded = 1,
  kConfigurationAndSwHardeningNeeded = 2,
  kConfigurationNeeded = 3,
  kOutOfDate = 4,
  kOutOfDateConfigurationNeeded = 5,
  kRevoked = 6,
  kUnrecognized = 7,
  kTdRelaunchAdvised = 8,
  kTdRelaunchAdvisedConfigurationNeeded = 9,
};
std::string_view TdxTcbStatusName(TdxTcbStatus s);  // "UpToDate", "SWHardeningNeeded", ...
std::optional<TdxTcbStatus> ParseTdxTcbStatus(std::string_view name);

struct TdxTcbLevel {
  std::array<std::uint8_t, 16> sgx_components{};
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> tdx_components{};
  TdxTcbStatus status = TdxTcbStatus::kUnrecognized;
  std::vector<std::string> advisory_ids;
};

struct TdxModuleLevel {
  std::uint8_t isv_svn = 0;
  TdxTcbStatus status = TdxTcbStatus::kUnrecognized;
  std::vector<std::string> advisory_ids;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01"; empty for the legacy tdxModule entry
  FixedBytes<48> mrsigner;
  FixedBytes<8> attributes;
  FixedBytes<8> attributes_mask;
  std::vector<TdxModuleLevel> levels;
};

struct TdxTcbInfo {  // "tcbInfo", id "TDX", version 3
  std::string id;
  std::uint32_t version = 0;
  TimePoint issue_date;
  TimePoint next_update;
  FixedBytes<6> fmspc;
  FixedBytes<2> pce_id;
  std::uint32_t tcb_type = 0;
  std::uint32_t tcb_evaluation_data_number = 0;
  std::optional<TdxModuleIdentity> tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TdxTcbLevel> levels;  // newest first, as Intel lists them
};

struct TdxQeLevel {
  std::uint16_t isv_svn = 0;
  TdxTcbStatus status = TdxTcbStatus::kUnrecognized;
  std::vector<std::string> advisory_ids;
};

struct TdxQeIdentity {  // "enclaveIdentity", id "TD_QE", version 2
  std::string id;
  std::uint32_t version = 0;
  TimePoint issue_date;
  TimePoint next_update;
  std::uint32_t tcb_evaluation_data_number = 0;
  FixedBytes<4> miscselect, miscselect_mask;  // as printed (big-endian hex of the LE u32 value)
  FixedBytes<16> attributes, attributes_mask;
  FixedBytes<32> mrsigner;
  std::uint16_t isv_prod_id = 0;
  std::vector<TdxQeLevel> levels;
};

// One bundle in the @phala/dcap-qvl collateral form (testdata/tdx/collateral_*.json): the inner
// JSON texts exactly as signed, hex signatures (r || s), PEM issuer chains, hex DER CRLs.
struct TdxCollateral {
  std::string tcb_info_json;  // exact signed text of the tcbInfo value
  FixedBytes<64> tcb_info_signature;
  std::string tcb_info_issuer_chain;  // PEM: TCB Signing, Root
  std::string qe_identity_json;       // exact signed text of the enclaveIdentity value
  FixedBytes<64> qe_identity_signature;
  std::string qe_identity_issuer_chain;  // PEM
  Bytes root_ca_crl;                     // DER
  Bytes pck_crl;                         // DER
  std::string pck_crl_issuer_chain;      // PEM: Platform/Processor CA, Root
  // Derived from the texts above by the parser (nothing here is signature-checked yet).
  TdxTcbInfo tcb_info;
  TdxQeIdentity qe_identity;
  Hash32 tcb_info_digest;                           // SHA-256(tcb_info_json)
  Hash32 qe_identity_digest;                        // SHA-256(qe_identity_json)
  std::vector<Bytes> tcb_info_issuer_chain_der;     // in PEM order
  std::vector<Bytes> qe_identity_issuer_chain_der;  // in PEM order
  std::vector<Bytes> pck_crl_issuer_chain_der;      // in PEM order
};

// Parses the bundle and the inner tcb_info / qe_identity JSON (bounded: input at most 4 MiB,
// at most 256 levels per list). Errors: kInvalidJson (syntax, a missing or mistyped member),
// kInvalidHex / kInvalidLength (bad hex fields), kPrecondition (wrong id or version).
Result<TdxCollateral> ParseTdxCollateralJson(std::string_view json);
Result<TdxTcbInfo> ParseTdxTcbInfoJson(std::string_view json);
Result<TdxQeIdentity> ParseTdxQeIdentityJson(std::string_view json);

class TdxCollateralSource {
 public:
  virtual ~TdxCollateralSource();
  // The collateral whose TCB info is for (fmspc, pce_id), or nullopt when none is known.
  virtual std::optional<TdxCollateral> Find(const FixedBytes<6>& fmspc,
                                            const FixedBytes<2>& pce_id) const = 0;
};

// Every `*.json` bundle in a directory (read and parsed once, at construction; files that do not
// parse are skipped and listed in load_errors()). Find returns the bundle with the matching FMSPC
// and PCE-ID and the highest tcbEvaluationDataNumber (then the latest issueDate).
class DirectoryTdxCollateralSource final : public TdxCollateralSource {
 public:
  explicit DirectoryTdxCollateralSource(std::string dir);
  std::optional<TdxCollateral> Find(const FixedBytes<6>& fmspc,
                                    const FixedBytes<2>& pce_id) const override;
  const std::vector<std::string>& load_errors() const { return load_errors_; }
  std::size_t size() const { return bundles_.size(); }

 private:
  std::string dir_;
  std::vector<TdxCollateral> bundles_;
  std::vector<std::string> load_errors_;
};

// A fixed set of bundles, matched like the directory source (tests).
class InMemoryTdxCollateralSource final : public TdxCollateralSource {
 public:
  explicit InMemoryTdxCollateralSource(std::vector<TdxCollateral> bundles)
      : bundles_(std::move(bundles)) {}
  std::optional<TdxCollateral> Find(const FixedBytes<6>& fmspc,
                                    const FixedBytes<2>& pce_id) const override;

 private:
  std::vector<TdxCollateral> bundles_;
};

// One bundle returned for every platform (the CLI's --collateral FILE): a bundle for another
// FMSPC then fails the collateral step visibly instead of reading as "no collateral".
class FixedTdxCollateralSource final : public TdxCollateralSource {
 public:
  explicit FixedTdxCollateralSource(TdxCollateral bundle) : bundle_(std::move(bundle)) {}
  std::optional<TdxCollateral> Find(const FixedBytes<6>&, const FixedBytes<2>&) const override {
    return bundle_;
  }

 private:
  TdxCollateral bundle_;
};

// Reads and parses one bundle file. Errors: kIo, or those of ParseTdxCollateralJson.
Result<TdxCollateral> LoadTdxCollateralFile(const std::string& path);

// PEM text with one or more CERTIFICATE blocks -> DER, in order (a trailing NUL is tolerated).
// Errors: kInvalidBase64 / kInvalidLength (no certificate, unterminated block).
Result<std::vector<Bytes>> TdxPemChainToDer(std::string_view pem);

// "2025-10-19T17:48:50Z" (exactly this form, UTC) <-> TimePoint.
Result<TimePoint> ParseTdxTime(std::string_view text);
std::string FormatTdxTime(TimePoint t);

// ---------------------------------------------------------------------------------------------
// Verification

struct TdxStep {
  bool ok = false;
  bool checked = false;  // false: could not be evaluated (reason says why); ok is then false
  std::string reason;    // why it failed / was not checked; a short fact when it passed
};

// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1).
struct PckExtensions {
  FixedBytes<16> ppid;
  std::array<std::uint8_t, 16> tcb_components{};
  std::uint16_t pce_svn = 0;
  FixedBytes<16> cpusvn;
  FixedBytes<2> pce_id;
  FixedBytes<6> fmspc;
  std::optional<std::uint8_t> sgx_type;
};
// From a PCK certificate (DER), or from the extension's value (the DER SEQUENCE of pairs).
// Errors: kNotFound (no extension), kInvalidLength (malformed / missing TCB, PCE-ID, FMSPC).
Result<PckExtensions> ParsePckExtensions(ByteView pck_der);
Result<PckExtensions> ParsePckSgxExtension(ByteView extension_value);

// Intel's TCB status rules (specs/tee-reports.md A.2 step 6b, 6d-6g) on already-verified
// collateral: QE identity against the QE report, the platform level (SGX components + PCESVN from
// the PCK extension, then all 16 TEE_TCB_SVN bytes against tdxtcbcomponents), the TDX module
// identity (TDX_<version> for version > 0, tdxModule for version 0, MRSIGNERSEAM and
// SEAMATTRIBUTES under attributesMask), convergence with the module and QE statuses, and for
// TD 1.5 quotes the TD relaunch rule. Errors (kPrecondition) for what cannot match at all: QE
// identity mismatch, no TCB level (Unrecognized), unknown module identity, no module level.
struct TdxTcbEvaluation {
  TdxTcbStatus status = TdxTcbStatus::kUnrecognized;           // converged
  TdxTcbStatus platform_status = TdxTcbStatus::kUnrecognized;  // matched TDX level
  TdxTcbStatus sgx_status = TdxTcbStatus::kUnrecognized;       // first SGX-only match
  std::optional<TdxTcbStatus> module_status;                   // TDX module level (version > 0)
  TdxTcbStatus qe_status = TdxTcbStatus::kUnrecognized;
  std::vector<std::string> advisory_ids;  // TDX level, then module level, then QE level
};
Result<TdxTcbEvaluation> EvaluateTdxTcb(const TdxQuote& quote, const PckExtensions& pck,
                                        const TdxTcbInfo& tcb_info, const TdxQeIdentity& qe);

// TDATTRIBUTES policy as @phala/dcap-qvl and dcap-rs apply it: DEBUG clear, SEPT_VE_DISABLE set,
// reserved bits zero; TD 1.5: MRSERVICETD zero. Error kPrecondition naming the bit.
Status CheckTdxTdAttributes(const TdxQuote& quote);

struct TdxVerification {
  TdxStep parse;            // quote layout
  TdxStep pck_chain;        // PCK leaf <- Platform/Processor CA <- pinned root; validity; CRLs
  TdxStep qe_report;        // QE report signature by the PCK leaf + REPORTDATA binding
  TdxStep quote_signature;  // attestation key over the signed region
  TdxStep collateral;       // TCB signing chain, TCB info, QE identity, TCB status
  std::optional<std::string> tcb_status;  // e.g. "UpToDate", when evaluated
  std::optional<TdxTcbStatus> tcb_status_code;
  std::optional<std::string> platform_status, module_status, qe_status;
  std::vector<std::string> advisory_ids;
  std::optional<TdxQuote> quote;
  std::optional<PckExtensions> pck;
  Bytes pck_leaf_serial;  // big-endian serial of the PCK leaf
  // All five steps checked and passed (a "TCB status not evaluated" collateral step is not ok).
  bool ok() const;
  // Steps not ok, "name: reason; ..." (empty when ok()).
  std::string Summary() const;
};

// Verifies a quote as of `at`. `intel_roots` are trusted Intel SGX Root CA certificates (DER);
// the chain's root must equal one of them byte for byte in its public key. `collateral` may be
// null: the collateral step is then not checked ("TCB status not evaluated"). A TCB status of
// Revoked or Unrecognized fails the collateral step; any other status passes it and is reported
// (callers apply their own policy to OutOfDate etc.). TDX component comparison uses all 16
// TEE_TCB_SVN bytes (Automata, dcap-qvl); the module identity is TDX_<version> (version > 0) or
// tdxModule, matched on MRSIGNERSEAM and SEAMATTRIBUTES under attributesMask.
// Verified certificate / CRL / collateral signatures are cached process-wide (bounded LRU keyed by
// SHA-256 of the signed bytes, signature and key); results never depend on the cache.
TdxVerification VerifyTdxQuote(ByteView quote, const std::vector<Bytes>& intel_roots,
                               const TdxCollateralSource* collateral, TimePoint at);

// Clears the signature cache (benchmarks measure first vs. repeat runs).
void ClearTdxSignatureCache();

// What the lead's Verdict needs from a verified quote.
TeeFacts TdxTeeFacts(const TdxQuote& quote, const std::optional<std::string>& tcb_status);

// Azure TDX: REPORTDATA[0..32) == SHA-256(runtime_json) (the HCL var data) and
// REPORTDATA[32..64) zero. Error kPrecondition naming which half differs.
Status CheckTdxReportDataBindsSha256(const TdxQuote& quote, ByteView runtime_json);

}  // namespace cvmwatch::verifier
