// AMD SEV-SNP attestation reports (specs/tee-reports.md part B): bounded parsing of the 1184-byte
// report (versions 2..5), the P-384 report signature by a VCEK, the VCEK <- ASK <- ARK chain
// (RSA-PSS SHA-384) to a pinned ARK, and the VCEK's TCB/hwID extensions against the report.
// Pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::verifier {

inline constexpr std::size_t kSnpReportSize = 0x4A0;
inline constexpr std::size_t kSnpSignedSize = 0x2A0;

enum class SnpProduct { kUnknown, kMilan, kGenoa, kTurin };
std::string_view SnpProductName(SnpProduct p);

struct SnpTcb {  // TCB_VERSION, decoded per product
  std::uint8_t boot_loader = 0, tee = 0, snp = 0, microcode = 0, fmc = 0;
  std::uint64_t raw = 0;  // little-endian value of the 8 bytes
};
SnpTcb DecodeSnpTcb(const std::uint8_t* eight_bytes, SnpProduct product);

struct SnpReport {
  std::uint32_t version = 0;
  std::uint32_t guest_svn = 0;
  std::uint64_t policy = 0;
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 0;
  std::uint64_t platform_info = 0;
  std::uint32_t flags = 0;  // bits 2..4: signing key (0 VCEK, 1 VLEK)
  FixedBytes<64> report_data;
  FixedBytes<48> measurement;
  FixedBytes<32> host_data;
  FixedBytes<32> report_id;
  std::array<std::uint8_t, 8> current_tcb{}, reported_tcb{}, committed_tcb{}, launch_tcb{};
  std::uint8_t cpuid_family = 0, cpuid_model = 0, cpuid_stepping = 0;  // v3+
  FixedBytes<64> chip_id;
  std::uint8_t current_build = 0, current_minor = 0, current_major = 0;
  FixedBytes<72> signature_r, signature_s;  // little-endian as in the report
  ByteView signed_bytes;                    // [0, 0x2A0) of the input (borrowed)

  bool DebugAllowed() const { return (policy >> 19) & 1; }
  unsigned SigningKey() const { return (flags >> 2) & 7; }
  // From CPUID (v3+): Milan 0x19/0x01, Genoa 0x19/0x11, Turin 0x1A.
  SnpProduct ProductFromCpuid() const;
};

// Accepts exactly 1184 bytes (or more with `allow_trailing`), versions 2..5.
Result<SnpReport> ParseSnpReport(ByteView report, bool allow_trailing = false);

// The VCEK certificate's SNP extensions (OID arc 1.3.6.1.4.1.3704.1).
struct VcekInfo {
  std::string product_name;  // e.g. "Milan-B0"
  std::optional<unsigned> bl_spl, tee_spl, snp_spl, ucode_spl, fmc_spl;
  Bytes hw_id;  // 64 bytes (8 on Turin)
};

struct SnpCheck {
  bool ok = false;
  std::string reason;
};

struct SnpVerification {
  SnpCheck chain;      // VCEK <- ASK <- ARK, pinned ARK, validity at `at`
  SnpCheck signature;  // report signature by the VCEK
  SnpCheck tcb;        // VCEK extensions vs REPORTED_TCB and CHIP_ID
  SnpCheck policy;     // debug off, signature algorithm 1, VCEK signing key
  SnpProduct product = SnpProduct::kUnknown;
  std::optional<VcekInfo> vcek;
  bool ok() const { return chain.ok && signature.ok && tcb.ok && policy.ok; }
};

// Debug bit off, SIGNATURE_ALGO 1 (ECDSA P-384), signed by a VCEK: needs nothing but the report.
SnpCheck CheckSnpPolicy(const SnpReport& report);

// `ask_ark_pem` holds the ASK then the ARK (AMD's cert_chain form); `pinned_arks` are trusted ARK
// DERs (any product). Every part is checked and reported, even after an earlier failure.
SnpVerification VerifySnpReport(const SnpReport& report, ByteView vcek_der,
                                const std::vector<Bytes>& ask_ark_der,
                                const std::vector<Bytes>& pinned_arks, TimePoint at);

// PEM bundle -> DER certificates, in file order.
Result<std::vector<Bytes>> PemCertificatesToDer(std::string_view pem);

}  // namespace cvmwatch::verifier
