// Synthetic Intel TDX evidence for tests: a test Intel-like PKI (root CA, PCK platform CA, PCK
// leaf with the SGX extension, TCB signing certificate, CRLs), a QE report signed by the PCK key,
// an attestation key, a v4/v5 quote signed by it, and matching collateral JSON (the
// @phala/dcap-qvl bundle form) signed by the test TCB signing key. Everything is minted so that it
// verifies with VerifyTdxQuote against TdxMinter::RootDer(); each knob in TdxMintConfig breaks or
// changes exactly one fact, so every check can be made to fail in isolation.
//
// Keys are generated once per TdxMinter; Mint() is deterministic apart from ECDSA nonces.
// Not thread-safe (tests use one minter per thread). OpenSSL errors abort (test-only code).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/clock.h"
#include "cvmwatch/verifier/tdx.h"

namespace cvmwatch::verifier::testing {

struct TdxMintLevel {  // one tcbInfo.tcbLevels entry
  std::array<std::uint8_t, 16> sgx{};
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> tdx{};
  std::string status = "UpToDate";
  std::vector<std::string> advisory_ids;
};

struct TdxMintConfig {
  // Quote.
  std::uint16_t version = 4;
  TdxBodyType body_type = TdxBodyType::kTd10;  // v5 only: kTd10 or kTd15
  std::uint32_t tee_type = kTdxTeeType;
  FixedBytes<16> tee_tcb_svn = Fixed<16>("08010800000000000000000000000000");
  FixedBytes<16> tee_tcb_svn2;
  FixedBytes<8> td_attributes = Fixed<8>("0000001000000000");
  FixedBytes<8> seam_attributes;
  FixedBytes<48> mrsignerseam;
  FixedBytes<48> mrtd = Fixed<48>(std::string(96, 'a'));
  FixedBytes<48> rtmr3;
  FixedBytes<48> mrservicetd;
  FixedBytes<64> report_data;
  std::size_t pad_to = 0;  // zero padding after the quote (the seed pads to 8000)
  bool nul_terminate_pem = true;

  // PCK leaf.
  FixedBytes<6> fmspc = Fixed<6>("00806f050000");
  FixedBytes<2> pce_id = Fixed<2>("0000");
  std::array<std::uint8_t, 16> pck_tcb = {8, 8, 2, 2, 4, 1, 0, 6};
  std::uint16_t pck_pce_svn = 11;

  // QE report.
  std::uint16_t qe_isv_svn = 6;
  std::uint16_t qe_isv_prod_id = 2;
  FixedBytes<32> qe_mrsigner =
      Fixed<32>("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  FixedBytes<16> qe_attributes = Fixed<16>("11000000000000000700000000000000");
  Bytes qe_auth_data = Bytes(32, 0);

  // Validity (certificates: wide; collateral: the real bundle's common window).
  TimePoint cert_not_before = FromUnixSeconds(1735689600);   // 2025-01-01
  TimePoint cert_not_after = FromUnixSeconds(2051222400);    // 2035-01-01
  TimePoint collateral_issue = FromUnixSeconds(1760896130);  // 2025-10-19T17:48:50Z
  TimePoint collateral_next = FromUnixSeconds(1762944332);   // 2025-11-12T10:45:32Z

  // Collateral.
  std::optional<FixedBytes<6>> collateral_fmspc;  // defaults to fmspc
  std::uint32_t tcb_evaluation_data_number = 17;
  std::optional<std::vector<TdxMintLevel>> levels;  // default: exactly the platform, UpToDate
  std::string module_status = "UpToDate";
  std::uint8_t module_isv_svn = 4;  // TDX_01 level isvsvn
  std::string qe_status = "UpToDate";
  std::uint16_t qe_level_isv_svn = 4;
  std::vector<std::string> qe_advisory_ids;
  bool revoke_leaf = false;  // the PCK CRL lists the leaf's serial
  bool revoke_ca = false;    // the root CRL lists the PCK CA's serial

  template <std::size_t N>
  static FixedBytes<N> Fixed(const std::string& hex) {
    return FixedBytes<N>::FromHex(hex).value();
  }
};

struct TdxMinted {
  Bytes quote;                  // the quote (plus padding)
  std::string collateral_json;  // one bundle
  TdxCollateral collateral;     // the same, parsed
  // Where things are, for tamper tests (absolute offsets into `quote`).
  std::size_t signed_length = 0;
  std::size_t qe_report_offset = 0;
  std::size_t qe_auth_size_offset = 0;
  std::size_t pck_chain_size_offset = 0;
  std::size_t pem_offset = 0;  // first byte of the PEM text
  std::size_t pem_size = 0;
  Bytes pck_leaf_der;
};

class TdxMinter {
 public:
  TdxMinter();
  ~TdxMinter();
  TdxMinter(const TdxMinter&) = delete;
  TdxMinter& operator=(const TdxMinter&) = delete;

  TdxMinted Mint(const TdxMintConfig& config = {}) const;

  // The test root CA (DER): pass as intel_roots.
  const Bytes& RootDer() const;
  // A self-signed look-alike (same subject, another key): must not be trusted.
  const Bytes& LookAlikeRootDer() const;

  // ECDSA P-256 signature r || s over SHA-256(data) by the TCB signing key (re-signing edited
  // collateral JSON in tests).
  FixedBytes<64> SignWithTcbKey(ByteView data) const;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

// Collateral source returning the same bundle for every platform (wrong-FMSPC tests).
std::shared_ptr<const TdxCollateralSource> OneBundle(const TdxCollateral& c);

}  // namespace cvmwatch::verifier::testing
