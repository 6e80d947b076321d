// test_logits_util.hpp's case builders: paged and ragged logits problems from CounterRng.
#include "test_logits_util.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "mqa/validate.hpp"

namespace mqa::test {

std::string PagedShape::str() const {
  std::ostringstream o;
  o << to_string(kind) << " B=" << page_size << " batch=" << batch << " next_n=" << next_n << " H=" << heads
    << " D=" << head_dim << " " << to_string(encoding) << (lens_2d ? " lens2d" : " lens1d")
    << (clean ? " clean" : "") << " " << to_string(profile) << " max_len=" << max_len;
  return o.str();
}

PagedLogitsProblem PagedCase::problem() const {
  PagedLogitsProblem p;
  p.cache = cache.layout;
  p.cache_bytes = cache.bytes.data();
  p.encoding = shape.encoding;
  p.q = q.data();
  p.batch = shape.batch;
  p.next_n = shape.next_n;
  p.heads = shape.heads;
  p.weights = w.data();
  p.context_lens = lens.data();
  p.lens_2d = shape.lens_2d;
  p.table = BlockTableView{table.data(), shape.batch, max_blocks, max_blocks + 1};
  p.max_context_len = max_context_len;
  p.clean_logits = shape.clean;
  p.profile = shape.profile;
  return p;
}

int32_t PagedCase::tokens_read(int32_t b) const {
  if (!shape.lens_2d) return lens[size_t(b)];
  int32_t L = 0;
  for (int32_t j = 0; j < shape.next_n; ++j) L = std::max(L, lens[size_t(b * shape.next_n + j)]);
  return L;
}

PagedCase make_paged_case(const PagedShape& s, uint64_t seed) {
  const CounterRng rng{seed};
  PagedCase c;
  c.shape = s;
  const int32_t nn = s.next_n, B = s.page_size, D = s.head_dim, H = s.heads;
  // Lengths: a causal base per sequence; 2-D rows are base - next_n + j + 1, sometimes
  // perturbed (lengths need not be monotone in j).
  for (int32_t b = 0; b < s.batch; ++b) {
    const int32_t base = int32_t(rng.below(sLens, uint64_t(b) * 8, uint32_t(s.max_len) + 1));
    if (!s.lens_2d) {
      c.lens.push_back(base);
      continue;
    }
    for (int32_t j = 0; j < nn; ++j) {
      int32_t L = std::max(0, base - nn + j + 1);
      if (rng.below(sLens, uint64_t(b) * 8 + 1 + uint64_t(j), 4) == 0)
        L = int32_t(rng.below(sLens, uint64_t(b) * 8 + 5 + uint64_t(j), uint32_t(s.max_len) + 1));
      c.lens.push_back(L);
    }
  }
  int32_t longest = 0, pages = 0;
  std::vector<int32_t> blocks(static_cast<size_t>(s.batch));
  for (int32_t b = 0; b < s.batch; ++b) {
    const int32_t L = c.tokens_read(b);
    longest = std::max(longest, L);
    blocks[size_t(b)] = (L + B - 1) / B;
    pages += blocks[size_t(b)];
  }
  c.max_context_len = longest + int32_t(rng.below(sShape, 0, 5));
  c.row_stride = c.max_context_len + s.col_pad;
  c.max_blocks = (c.max_context_len + B - 1) / B + 1;
  const int32_t num_pages = pages + 2;  // two pages nobody reads
  // Physical pages: a random permutation (Fisher-Yates with the counter RNG).
  std::vector<int32_t> perm(static_cast<size_t>(num_pages));
  for (int32_t i = 0; i < num_pages; ++i) perm[size_t(i)] = i;
  for (int32_t i = num_pages - 1; i > 0; --i)
    std::swap(perm[size_t(i)], perm[rng.below(sPerm, uint64_t(i), uint32_t(i) + 1)]);
  c.table.assign(size_t(s.batch) * size_t(c.max_blocks + 1), 0);
  int32_t next = 0;
  for (int32_t b = 0; b < s.batch; ++b)
    for (int32_t i = 0; i <= c.max_blocks; ++i) {
      int32_t& e = c.table[size_t(b) * size_t(c.max_blocks + 1) + size_t(i)];
      if (i < blocks[size_t(b)])
        e = perm[size_t(next++)];
      else  // never read: -1, out-of-pool ids or valid ids of other sequences
        e = int32_t(rng.below(sJunk, uint64_t(b) * 4096 + uint64_t(i), 3)) == 0 ? -1 : int32_t(rng.u32(sJunk, 1u << 30 | i));
    }
  PagedCacheLayout layout{{s.kind, B, D, D}, 0, num_pages};
  layout.page_stride = layout.page.natural_page_bytes() + 16;
  c.cache = KCache(layout, 0x5A);
  for (size_t i = 0; i < c.cache.bytes.size(); ++i) c.cache.bytes[i] = finite_code(rng, sK, i, s.encoding);
  for (int64_t pg = 0; pg < num_pages; ++pg)
    for (int32_t t = 0; t < B; ++t)  // positive scales over several binades
      c.cache.set_scale(pg, t, 0, std::ldexp(0.5f + rng.unit(sScale, uint64_t(pg * B + t)), -int(rng.below(sScale, uint64_t(1) << 40 | uint64_t(pg * B + t), 12))));
  c.q.resize(size_t(s.batch) * nn * H * D);
  for (size_t i = 0; i < c.q.size(); ++i) c.q[i] = finite_code(rng, sQ, i, s.encoding);
  c.w.resize(size_t(s.batch) * nn * H);
  for (size_t i = 0; i < c.w.size(); ++i) c.w[i] = rng.unit(sW, i) * 2.0f - 1.0f;
  return c;
}

RaggedLogitsProblem RaggedCase::problem() const {
  RaggedLogitsProblem p;
  p.encoding = encoding;
  p.q = q.data();
  p.M = M;
  p.heads = heads;
  p.head_dim = head_dim;
  p.k = k.data();
  p.kscale = kscale.data();
  p.N = N;
  p.weights = w.data();
  p.ks = ks.data();
  p.ke = ke.data();
  p.clean_logits = clean;
  p.profile = profile;
  return p;
}

RaggedCase make_ragged_case(int32_t M, int32_t N, int32_t heads, int32_t head_dim, Fp8Encoding e, uint64_t seed) {
  const CounterRng rng{seed};
  RaggedCase c;
  c.M = M;
  c.N = N;
  c.heads = heads;
  c.head_dim = head_dim;
  c.encoding = e;
  c.row_stride = N + 5;
  c.q.resize(size_t(M) * heads * head_dim);
  for (size_t i = 0; i < c.q.size(); ++i) c.q[i] = finite_code(rng, sQ, i, e);
  c.k.resize(size_t(N) * head_dim);
  for (size_t i = 0; i < c.k.size(); ++i) c.k[i] = finite_code(rng, sK, i, e);
  c.kscale.resize(size_t(N));
  for (int32_t j = 0; j < N; ++j) c.kscale[size_t(j)] = std::ldexp(0.5f + rng.unit(sScale, uint64_t(j)), -int(rng.below(sScale, uint64_t(1) << 40 | uint64_t(j), 12)));
  c.w.resize(size_t(M) * heads);
  for (size_t i = 0; i < c.w.size(); ++i) c.w[i] = rng.unit(sW, i) * 2.0f - 1.0f;
  for (int32_t i = 0; i < M; ++i) {
    // Row i: end = causal position scaled to N, start random below it; some rows special.
    int32_t end = M > 1 ? int32_t(int64_t(N) * (i + 1) / M) : N;
    int32_t start = int32_t(rng.below(sLens, uint64_t(i), uint32_t(end) + 1));
    switch (rng.below(sLens, uint64_t(i) | 1ull << 32, 8)) {
      case 0: start = end; break;           // empty range
      case 1: start = 0; end = N; break;    // whole k
      case 2: start = N; end = N; break;    // empty at the end
      default: break;
    }
    c.ks.push_back(start);
    c.ke.push_back(end);
  }
  return c;
}

}  // namespace mqa::test
