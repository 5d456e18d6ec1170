#include "cvmwatch/core/hash.h"

#include <openssl/evp.h>

#include <crypto++/keccak.h>

#include <cstdlib>

namespace cvmwatch {
namespace {

template <std::size_t N>
FixedBytes<N> EvpDigest(const EVP_MD* md, ByteView data) {
  FixedBytes<N> out;
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure or a broken provider: neither is an input error.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N) {
    std::abort();
  }
  return out;
}

}  // namespace

Hash32 Keccak256(ByteView data) {
  CryptoPP::Keccak_256 keccak;
  keccak.Update(data.data(), data.size());
  Hash32 out;
  keccak.Final(out.data());
  return out;
}

// Fetched once: OpenSSL 3 otherwise looks the implementation up on every EVP_Digest call.
const EVP_MD* FetchedDigest(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (!md) std::abort();
  return md;  // process lifetime
}

Hash32 Sha256(ByteView data) {
  static const EVP_MD* md = FetchedDigest("SHA2-256");
  return EvpDigest<32>(md, data);
}
Hash48 Sha384(ByteView data) {
  static const EVP_MD* md = FetchedDigest("SHA2-384");
  return EvpDigest<48>(md, data);
}

Selector FunctionSelector(std::string_view canonical_signature) {
  const Hash32 h = Keccak256(AsBytes(canonical_signature));
  Selector s;
  std::copy(h.bytes.begin(), h.bytes.begin() + 4, s.bytes.begin());
  return s;
}

Hash32 EventTopic(std::string_view canonical_signature) {
  return Keccak256(AsBytes(canonical_signature));
}

}  // namespace cvmwatch
