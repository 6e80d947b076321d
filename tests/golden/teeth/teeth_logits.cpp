// The logits ops of a teeth Kernel, written from docs/numerics.md without the reference's code:
// dot products (exact in double, or fp32 in d order), the epilogues (exact tree, DeepGEMM
// SM90's fma order, and the wrong ones), where each logit lands, and the top-k consumer.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include "mqa/fp8.hpp"
#include "mqa/kcache.hpp"
#include "mqa/layout.hpp"
#include "teeth.hpp"

namespace mqa::teeth {

using golden::Array;
using golden::Case;

namespace {

constexpr uint32_t kCanonicalNan = 0x7FC00000u;  // every NaN logit (numerics.md)

bool is_paged(const Case& c) { return c.info.op == "paged_logits"; }

float decode(uint8_t code, Fp8Encoding enc, const Kernel& k) {
  return k.nan_code_as_zero && fp8_is_nan(code, enc) ? 0.0f : fp8_decode(code, enc);
}

// a_h for one query row [H, D] against one token [D] (decoded values).
void dot_heads(const float* q, const float* kv, int32_t H, int32_t D, bool fp32_d_order, float* a) {
  for (int32_t h = 0; h < H; ++h) {
    const float* qh = q + int64_t(h) * D;
    if (fp32_d_order) {
      float acc = 0.0f;
      for (int32_t d = 0; d < D; ++d) acc = acc + qh[d] * kv[d];  // each fp8 x fp8 product is exact in fp32
      a[h] = acc;
    } else {
      double acc = 0.0;  // every partial sum of fp8 products is exact in double (numerics.md)
      for (int32_t d = 0; d < D; ++d) acc += double(qh[d]) * double(kv[d]);
      a[h] = float(acc);  // the one rounding
    }
  }
}

struct Epiloguer {
  bool deepgemm_case;
  const Kernel& k;

  Epilogue which() const {
    if (k.epilogue != Epilogue::profile) return k.epilogue;
    return deepgemm_case ? Epilogue::deepgemm_sm90 : Epilogue::exact;
  }
  // exact: x > 0 ? x : +0 with relu(NaN) = NaN; fmaxf (DeepGEMM's): NaN -> +0 too. The wrong
  // epilogues keep the relu of the case's profile.
  bool fmaxf_relu() const {
    switch (which()) {
      case Epilogue::deepgemm_sm90: return true;
      case Epilogue::profile:
      case Epilogue::exact: return k.relu_fmaxf;
      default: return deepgemm_case || k.relu_fmaxf;
    }
  }
  float relu(float x) const { return x > 0.0f || (std::isnan(x) && !fmaxf_relu()) ? x : 0.0f; }
  bool inactive(float r) const { return k.skip_inactive_heads && !(r > 0.0f); }
  float term(float a, float w) const {
    const float r = relu(a);
    return inactive(r) ? 0.0f : r * w;
  }

  static float tree(std::vector<float>& t) {
    for (size_t step = t.size() / 2; step >= 1; step /= 2)
      for (size_t i = 0; i < step; ++i) t[i] = t[i] + t[i + step];
    return t[0];
  }

  float deepgemm(const float* a, const float* w, float ks, int32_t H) const {
    float P[4][2];
    for (int u = 0; u < 4; ++u)
      for (int p = 0; p < 2; ++p) {
        auto head = [&](int c) { return 8 * c + 2 * u + p; };
        const int first = H == 8 ? 0 : 1;  // group 1's product is rounded, group 0's fused onto it
        P[u][p] = term(a[head(first)], w[head(first)]);
        auto fuse = [&](int c) {
          const float r = relu(a[head(c)]);
          if (!inactive(r)) P[u][p] = std::fma(r, w[head(c)], P[u][p]);
        };
        if (H > 8) fuse(0);
        for (int c = 2; c < H / 8; ++c) fuse(c);
      }
    float V[4];
    for (int u = 0; u < 4; ++u) V[u] = (P[u][0] + P[u][1]) * ks;
    return (V[0] + V[1]) + (V[2] + V[3]);
  }

  float logit(const float* a, const float* w_in, float ks, int32_t H) const {
    std::vector<float> w(w_in, w_in + H);
    if (k.weights_nan_to_num) std::transform(w.begin(), w.end(), w.begin(), nan_to_num);
    if (k.scale_nan_to_num) ks = nan_to_num(ks);
    std::vector<float> t(static_cast<size_t>(H));
    float out = 0.0f;
    switch (which()) {
      case Epilogue::profile:
      case Epilogue::exact:
        for (int32_t h = 0; h < H; ++h) t[size_t(h)] = term(a[h], w[size_t(h)]);
        out = tree(t) * ks;
        break;
      case Epilogue::deepgemm_sm90:
        if (H % 8 != 0) throw std::logic_error("deepgemm_sm90 epilogue needs H % 8 == 0");
        out = deepgemm(a, w.data(), ks, H);
        break;
      case Epilogue::sequential:
        out = term(a[0], w[0]);
        for (int32_t h = 1; h < H; ++h) out = out + term(a[h], w[size_t(h)]);
        out = out * ks;
        break;
      case Epilogue::fp64: {
        std::vector<double> d(static_cast<size_t>(H));
        for (int32_t h = 0; h < H; ++h) {
          const double r = relu(a[h]);
          d[size_t(h)] = inactive(float(r)) ? 0.0 : r * double(w[size_t(h)]);
        }
        for (size_t step = d.size() / 2; step >= 1; step /= 2)
          for (size_t i = 0; i < step; ++i) d[i] = d[i] + d[i + step];
        out = float(d[0] * double(ks));
        break;
      }
      case Epilogue::kscale_in_weights:
        for (int32_t h = 0; h < H; ++h) t[size_t(h)] = term(a[h], w[size_t(h)] * ks);
        out = tree(t);
        break;
    }
    if (k.neg_zero_written_as_pos && out == 0.0f) out = 0.0f;
    return std::isnan(out) ? f32_from_bits(kCanonicalNan) : out;
  }
};

// The top-k consumer's order key: larger first; -0 == +0; NaN above +inf (or below -inf).
uint32_t order_key(float x, bool nan_lowest) {
  uint32_t b = f32_bits(x);
  if (std::isnan(x)) return nan_lowest ? 0u : 0xFFFFFFFFu;
  if ((b & 0x7FFFFFFFu) == 0) b = 0;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

void topk_row(const float* v, int64_t begin, int64_t n, int32_t K, TopkRule rule, int32_t* out) {
  std::vector<uint32_t> key(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) key[size_t(i)] = order_key(v[i], rule == TopkRule::nan_lowest);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t(0));
  const bool larger_first = rule == TopkRule::ties_by_larger_index;
  std::sort(idx.begin(), idx.end(), [&](int64_t x, int64_t y) {
    if (key[size_t(x)] != key[size_t(y)]) return key[size_t(x)] > key[size_t(y)];
    return larger_first ? x > y : x < y;
  });
  int64_t take = std::min<int64_t>(K, n);
  if (rule == TopkRule::boundary_ties_dropped && n > K && key[size_t(idx[size_t(K)])] == key[size_t(idx[size_t(K - 1)])])
    while (take > 0 && key[size_t(idx[size_t(take - 1)])] == key[size_t(idx[size_t(K - 1)])]) --take;
  for (int32_t i = 0; i < K; ++i) out[i] = i < take ? int32_t(begin + idx[size_t(i)]) : -1;
}

}  // namespace

Dots compute_dots(const Case& c, const Kernel& k) {
  const golden::CaseInfo& i = c.info;
  const Fp8Encoding enc = fp8_encoding_from_string(i.encoding);
  const int32_t H = i.heads, D = i.head_dim;
  const auto regions = c.at("logits_regions").view<int64_t>();
  const auto qc = c.at("q").view<uint8_t>();
  std::vector<float> q(qc.size());
  for (size_t j = 0; j < qc.size(); ++j) q[j] = decode(qc[j], enc, k);
  Dots out;
  out.token_begin.push_back(0);
  for (int32_t r = 0; r < i.rows; ++r)
    out.token_begin.push_back(out.token_begin.back() + regions[size_t(3 * r + 1)] - regions[size_t(3 * r)]);
  out.a.resize(size_t(out.token_begin.back() * H));
  out.kscale.resize(size_t(out.token_begin.back()));
  std::vector<float> kv(static_cast<size_t>(D));

  if (!is_paged(c)) {  // ragged: k = gathered_values, kscale = gathered_scales as fp32 (Qb == D)
    const auto kc = c.at("gathered_values").view<uint8_t>();
    const auto ks = c.at("gathered_scales").bytes;
    for (int32_t r = 0; r < i.rows; ++r)
      for (int64_t s = regions[size_t(3 * r)], n = 0; s < regions[size_t(3 * r + 1)]; ++s, ++n) {
        for (int32_t d = 0; d < D; ++d) kv[size_t(d)] = decode(kc[size_t(s * D + d)], enc, k);
        const int64_t slot = out.token_begin[size_t(r)] + n;
        std::memcpy(&out.kscale[size_t(slot)], ks.data() + 4 * s, 4);
        dot_heads(q.data() + int64_t(r) * H * D, kv.data(), H, D, k.dot_fp32_d_order, &out.a[size_t(slot * H)]);
      }
    return out;
  }
  const PageLayoutKind kind = i.layout == "preshuffle16" ? PageLayoutKind::preshuffle16 : PageLayoutKind::standard;
  const PagedCacheLayout L{PageLayout{kind, i.page_size, D, i.quant_block}, i.page_stride, i.num_pages};
  const StoredPool pool(c);
  const Array& table = c.at("block_table");
  const auto tab = table.view<int32_t>();
  const int64_t W = table.shape.at(1), B = i.page_size;
  for (int32_t r = 0; r < i.rows; ++r) {
    const int32_t b = r / i.next_n;
    for (int64_t s = 0; s < regions[size_t(3 * r + 1)]; ++s) {
      const int64_t page = tab[size_t(b * W + s / B)];
      const int32_t t = int32_t(s % B);
      for (int32_t d = 0; d < D; ++d) kv[size_t(d)] = decode(pool.read(kernel_offset(L.value_byte(page, t, d), k.cache_offsets_32bit)), enc, k);
      const int64_t slot = out.token_begin[size_t(r)] + s;
      out.kscale[size_t(slot)] = pool.read_f32(kernel_offset(L.scale_byte(page, t, 0), k.cache_offsets_32bit));
      dot_heads(q.data() + int64_t(r) * H * D, kv.data(), H, D, k.dot_fp32_d_order, &out.a[size_t(slot * H)]);
    }
  }
  return out;
}

std::map<std::string, Array> recompute_logits(const Case& c, const Dots& dots, const Kernel& k) {
  const golden::CaseInfo& i = c.info;
  const int32_t H = i.heads;
  const int64_t stride = i.logits_row_stride, cols = i.logits_cols;
  const auto regions = c.at("logits_regions").view<int64_t>();
  const auto w = c.at("weights").view<float>();
  const Epiloguer ep{i.profile == "deepgemm_sm90", k};
  std::vector<float> values(static_cast<size_t>(dots.token_begin.back()));
  for (int32_t r = 0; r < i.rows; ++r)
    for (int64_t t = dots.token_begin[size_t(r)]; t < dots.token_begin[size_t(r + 1)]; ++t)
      values[size_t(t)] = ep.logit(&dots.a[size_t(t * H)], &w[size_t(int64_t(r) * H)], dots.kscale[size_t(t)], H);

  // Where they land: every store at the kernel's (maybe wrong) offset, in order, into a buffer
  // pre-filled with the sentinel. Only the stores are kept (the last one per float wins), so a
  // case of 2^30 floats by regions costs its stores, not the buffer.
  const int64_t floats = int64_t(i.rows) * stride;
  std::unordered_map<int64_t, float> stored;
  auto store = [&](int32_t r, int64_t col, float v) {
    const int32_t batch_index = is_paged(c) ? r / i.next_n : r;
    if (k.rows_past_batch_64_lost && batch_index >= 64) return;  // out of bounds: never seen
    const int64_t byte = kernel_offset((int64_t(r) * stride + col) * 4, k.output_offsets_32bit);
    if (byte / 4 < floats) stored[byte / 4] = v;
  };
  for (int32_t r = 0; r < i.rows; ++r) {
    const int64_t vb = regions[size_t(3 * r)], ve = regions[size_t(3 * r + 1)];
    if (i.clean_logits)
      for (int64_t col = 0; col < cols; ++col)
        if (col < vb || col >= ve) store(r, col, -INFINITY);
    for (int64_t col = vb; col < ve; ++col) store(r, col, values[size_t(dots.token_begin[size_t(r)] + col - vb)]);
  }
  std::map<std::string, Array> out;
  const Array& sl = c.at("logits");
  const float sentinel = f32_from_bits(i.logits_sentinel);
  if (!i.regions_storage()) {
    std::vector<float> buf(size_t(floats), sentinel);
    for (const auto& [at, v] : stored) buf[size_t(at)] = v;
    out["logits"] = Array::of<float>(sl.shape, buf, sl.role, sl.encoding, sl.compare);
  } else {
    // The runs as stored; a store that lands outside them with other bits than the implied ones
    // changes the (implied) rest of the buffer: reported as a dataset of its own.
    std::vector<float> runs;
    for (int32_t r = 0; r < i.rows; ++r)
      for (int64_t col = regions[size_t(3 * r)]; col < regions[size_t(3 * r + 2)]; ++col) {
        const auto it = stored.find(int64_t(r) * stride + col);
        runs.push_back(it != stored.end() ? it->second : f32_from_bits(golden::implied_logit_bits(i, col)));
      }
    out["logits"] = Array::of<float>(sl.shape, runs, sl.role, sl.encoding, sl.compare);
    std::vector<int64_t> strays;
    for (const auto& [at, v] : stored) {
      const int64_t r = at / stride, col = at % stride;
      const bool in_run = col >= regions[size_t(3 * r)] && col < regions[size_t(3 * r + 2)];
      if (!in_run && f32_bits(v) != golden::implied_logit_bits(i, col)) strays.push_back(at);
    }
    if (!strays.empty())
      out["logits (outside the runs)"] = Array::of<int64_t>({int64_t(strays.size())}, strays, sl.role);
  }

  const Array& st = c.at("topk");
  const int32_t K = i.topk;
  std::vector<int32_t> top(size_t(int64_t(i.rows) * K), -1);
  for (int32_t r = 0; r < i.rows; ++r)
    topk_row(values.data() + dots.token_begin[size_t(r)], regions[size_t(3 * r)],
             dots.token_begin[size_t(r + 1)] - dots.token_begin[size_t(r)], K, k.topk, top.data() + int64_t(r) * K);
  out["topk"] = Array::of<int32_t>(st.shape, top, st.role, st.encoding, st.compare);
  return out;
}

}  // namespace mqa::teeth
