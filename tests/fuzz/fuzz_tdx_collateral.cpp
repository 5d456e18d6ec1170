// Fuzzes the TDX collateral parsers. The first byte picks the parser: 0 the bundle JSON (the
// @phala/dcap-qvl form), 1 the tcbInfo JSON, 2 the enclaveIdentity JSON, 3 the DER CRL reader,
// 4 the DER certificate reader, 5 the Intel time format; the rest is the input. A parsed bundle is
// walked further (its CRLs and issuer chains through the DER readers).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cvmwatch/verifier/tdx.h"
#include "detail/tdx_x509.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cvmwatch::verifier;
  if (size < 1) return 0;
  const cvmwatch::ByteView body(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0: {
      auto c = ParseTdxCollateralJson(text);
      if (!c.ok()) return 0;
      if (c->tcb_info.levels.empty() || c->qe_identity.levels.empty()) std::abort();
      (void)tdx_detail::ParseDerCrl(c->root_ca_crl);
      (void)tdx_detail::ParseDerCrl(c->pck_crl);
      for (const auto* chain : {&c->tcb_info_issuer_chain_der, &c->qe_identity_issuer_chain_der,
                                &c->pck_crl_issuer_chain_der}) {
        for (const auto& der : *chain) (void)tdx_detail::ParseDerCert(der);
      }
      break;
    }
    case 1: {
      auto t = ParseTdxTcbInfoJson(text);
      if (t.ok() && (t->levels.empty() || t->levels.size() > 256)) std::abort();
      break;
    }
    case 2:
      (void)ParseTdxQeIdentityJson(text);
      break;
    case 3: {
      auto crl = tdx_detail::ParseDerCrl(body);
      if (crl.ok()) {
        for (const auto& serial : (*crl)->revoked) {
          if (!(*crl)->IsRevoked(serial)) std::abort();
        }
      }
      break;
    }
    case 4:
      (void)tdx_detail::ParseDerCert(body);
      break;
    case 5: {
      auto t = ParseTdxTime(text);
      if (t.ok() && FormatTdxTime(*t) != text) std::abort();
      break;
    }
  }
  return 0;
}
