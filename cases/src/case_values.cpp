// The host side of the value distributions: each tensor is its element function of
// mqa/case_elements.hpp over every index (the device generator runs the same functions).
#include "case_values.hpp"

namespace mqa::casegen {

ValueKeys value_keys(const CaseDescriptor& d) {
  return ValueKeys{.seed = d.seed,
                   .head_dim = d.head_dim,
                   .quant_block = d.quant_block,
                   .heads = d.heads,
                   .encoding = d.encoding,
                   .quant = d.quant,
                   .ue8m0 = d.ue8m0,
                   .dist = d.dist,
                   .ksrc = d.ksrc,
                   .amax = d.amax,
                   .nan_codes = d.nan_codes,
                   .odd_weights = d.odd_weights,
                   .odd_scales = d.odd_scales};
}

void fill_k_source(const CaseDescriptor& d, int64_t T, std::vector<float>& k) {
  const ValueKeys v = value_keys(d);
  const int64_t D = d.head_dim;
  k.assign(size_t(T * D), 0.0f);
  for (int64_t t = 0; t < T; ++t) k_source_token(v, t, k.data() + t * D);
}

void fill_q(const CaseDescriptor& d, int64_t rows, std::vector<uint8_t>& q) {
  const ValueKeys v = value_keys(d);
  const int64_t n = rows * d.heads * d.head_dim;
  q.assign(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) q[size_t(i)] = q_code(v, i);
}

void fill_weights(const CaseDescriptor& d, int64_t rows, std::vector<float>& w) {
  const ValueKeys v = value_keys(d);
  const int64_t n = rows * d.heads;
  w.assign(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i) w[size_t(i)] = weight(v, n, i);
}

}  // namespace mqa::casegen
