// SHA-256 of the golden files' checksums through OpenSSL's EVP digest API (libssl-dev): the
// file format is unchanged (lower-case hex of FIPS 180-4 SHA-256; Python: hashlib.sha256).
#include <openssl/evp.h>

#include <cstdio>
#include <stdexcept>

#include "mqa/golden.hpp"

namespace mqa::golden {

struct Sha256::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : s_(std::make_unique<State>()) {
  if (s_->ctx == nullptr || EVP_DigestInit_ex(s_->ctx, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256: OpenSSL could not start a SHA-256 digest");
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const uint8_t> bytes) {
  if (!bytes.empty() && EVP_DigestUpdate(s_->ctx, bytes.data(), bytes.size()) != 1)
    throw std::runtime_error("sha256: OpenSSL digest update failed");
}

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(s_->ctx, md, &n) != 1 || n != 32) throw std::runtime_error("sha256: OpenSSL digest final failed");
  std::string out(64, '0');
  for (unsigned i = 0; i < n; ++i) std::snprintf(&out[2 * i], 3, "%02x", md[i]);
  return out;
}

std::string sha256_hex(std::span<const uint8_t> bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

}  // namespace mqa::golden
