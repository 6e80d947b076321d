#include "sweep_cases.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "mqa/philox.hpp"
#include "mqa/validate.hpp"

namespace mqa::sweep {

namespace {

// Sequential draws from one Philox stream.
struct Draw {
  CounterRng rng;
  uint64_t stream;
  uint64_t i = 0;
  uint32_t below(uint32_t n) { return rng.below(stream, i++, n); }
  int32_t in(int32_t lo, int32_t hi) { return lo + int32_t(below(uint32_t(hi - lo + 1))); }  // [lo, hi]
  bool coin(uint32_t one_in = 2) { return below(one_in) == 0; }
  float unit() { return rng.unit(stream, i++); }
  template <class T>
  T pick(std::initializer_list<T> xs) { return xs.begin()[below(uint32_t(xs.size()))]; }
};

// Streams of one case (one Philox stream per tensor).
enum Stream : uint64_t { kShape = 1, kLens, kPages, kTable, kJunk, kValues, kScales, kQ, kWeights, kRanges, kK, kSlots };

void fill_random(uint8_t* p, size_t n, const CounterRng& rng, uint64_t stream) {
  for (size_t i = 0; i < n; i += 16) {
    const Philox4x32 b = rng.block(stream, i / 16);
    uint8_t bytes[16];
    std::memcpy(bytes, b.v, 16);
    std::memcpy(p + i, bytes, std::min<size_t>(16, n - i));
  }
}

uint8_t tame(uint8_t code, Fp8Encoding e) { return fp8_is_nan(code, e) ? uint8_t(code & 0x70) : code; }

// Adversarial codes: every code can occur, but a NaN code survives only one time in `keep`, so
// most rows still have finite logits and a NaN flag that reaches the wrong token or head shows.
void rare_nans(std::vector<uint8_t>& codes, Fp8Encoding e, Draw& d, uint32_t keep) {
  for (uint8_t& v : codes)
    if (fp8_is_nan(v, e) && d.below(keep) != 0) v = tame(v, e);
}

float odd_float(Draw& d) {  // the values that break careless epilogues
  if (d.below(48) != 0) return (d.unit() - 0.5f) * 4.0f;
  switch (d.below(10)) {
    case 0: return -0.0f;
    case 1: return 0.0f;
    case 2: return f32_from_bits(0x7F800000u);   // +inf
    case 3: return f32_from_bits(0xFF800000u);   // -inf
    case 4: return f32_from_bits(0x7FC00001u);   // NaN with a payload
    case 5: return f32_from_bits(0x00000123u);   // subnormal
    case 6: return 3.0e38f;
    default: return (d.unit() - 0.5f) * 4.0f;
  }
}

float scale_value(Draw& d, bool adversarial) {
  if (!adversarial || d.below(4) != 0) return std::ldexp(1.0f + d.unit(), -int(d.below(12)) - 1);
  switch (d.below(5)) {
    case 0: return 0.0f;
    case 1: return -0.25f;
    case 2: return f32_from_bits(0x00000001u);  // smallest subnormal
    case 3: return 1.0e30f;                     // logits overflow to inf
    default: return -0.0f;
  }
}

}  // namespace

const char* to_string(Op op) {
  switch (op) {
    case Op::quant: return "quant_cache";
    case Op::gather: return "gather";
    case Op::paged: return "paged_logits";
    case Op::ragged: return "ragged_logits";
  }
  return "?";
}

std::string Case::describe() const {
  std::ostringstream s;
  s << to_string(op) << " seed=" << seed << " layout=" << mqa::to_string(layout) << " B=" << page_size
    << " D=" << head_dim << " Qb=" << quant_block << " pad=" << stride_pad << " enc=" << mqa::to_string(encoding);
  if (op == Op::quant) s << " ue8m0=" << ue8m0;
  if (op == Op::paged || op == Op::ragged) s << " H=" << heads << " clean=" << clean;
  if (op == Op::paged) s << " next_n=" << next_n << " lens_2d=" << lens_2d;
  if (op != Op::ragged) s << " batch=" << batch;
  s << " max_len=" << max_len << " adversarial=" << adversarial << " high_ids=" << high_page_ids;
  return s.str();
}

std::vector<Case> random_cases(int n, uint64_t seed) {
  std::vector<Case> out;
  for (int i = 0; i < n; ++i) {
    Draw d{CounterRng{seed}, kShape * 1000003u + uint64_t(i)};
    Case c;
    c.op = Op(i % 4);
    c.seed = seed * 7919u + uint64_t(i);
    c.layout = d.coin() ? PageLayoutKind::preshuffle16 : PageLayoutKind::standard;
    c.head_dim = d.pick({32, 64, 128});
    c.heads = d.pick({8, 16, 32, 64, 128});
    if (c.layout == PageLayoutKind::standard && d.coin(5)) c.page_size = 1;
    else c.page_size = d.coin(3) ? d.pick({16, 64, 512}) : 16 * d.in(1, 32);
    c.quant_block = (c.op == Op::quant || c.op == Op::gather) ? c.head_dim / d.pick({1, 2, 4}) : c.head_dim;
    c.stride_pad = d.pick({0, 4, 16, 64});
    c.encoding = d.coin() ? Fp8Encoding::e4m3fnuz : Fp8Encoding::e4m3fn;
    c.ue8m0 = d.coin();
    c.batch = d.coin(6) ? 17 : d.in(1, 6);
    c.next_n = d.in(1, 4);
    c.max_len = d.coin(4) ? d.in(1, 3000) : d.in(1, 700);
    c.lens_2d = d.coin();
    c.clean = d.coin();
    c.adversarial = d.coin(3);
    const PageLayout pl{c.layout, c.page_size, c.head_dim, c.quant_block};
    c.high_page_ids = c.op != Op::ragged && pl.natural_page_bytes() <= 1100 && d.coin(4);
    out.push_back(c);
  }
  return out;
}

std::vector<Case> deployed_cases(int32_t max_L) {
  std::vector<Case> out;
  uint64_t seed = 900;
  for (PageLayoutKind kind : {PageLayoutKind::standard, PageLayoutKind::preshuffle16})
    for (int32_t next_n : {1, 2}) {
      Case c;
      c.op = Op::paged;
      c.seed = seed++;
      c.layout = kind;
      c.batch = 64;
      c.next_n = next_n;
      c.max_len = max_L;
      c.min_len_half = true;
      c.lens_2d = next_n == 2;
      c.clean = next_n == 1;
      out.push_back(c);
    }
  return out;
}

PagedInputs make_paged(const Case& c) {
  const CounterRng rng{c.seed};
  Draw d{rng, kLens};
  const int32_t B = c.page_size, nn = c.next_n;
  PagedInputs in;
  std::vector<int32_t> ctx(size_t(c.batch)), needed(size_t(c.batch));
  for (int32_t b = 0; b < c.batch; ++b) {
    int32_t L = c.min_len_half ? d.in(c.max_len / 2, c.max_len)
                               : (d.coin(3) ? d.pick({0, 1, B - 1, B, B + 1}) : d.in(1, c.max_len));
    ctx[size_t(b)] = b == 0 ? c.max_len : std::clamp(L, 0, c.max_len);
  }
  int32_t longest = 0;
  if (c.lens_2d) {
    in.lens.resize(size_t(c.batch) * nn);
    for (int32_t b = 0; b < c.batch; ++b)
      for (int32_t j = 0; j < nn; ++j) {
        const int32_t L = j == nn - 1 ? ctx[size_t(b)] : d.in(0, ctx[size_t(b)]);
        in.lens[size_t(b) * nn + j] = L;
        needed[size_t(b)] = std::max(needed[size_t(b)], L);
      }
  } else {
    in.lens = ctx;
    needed = ctx;
  }
  for (int32_t L : needed) longest = std::max(longest, L);
  // Pages: the needed ones at shuffled physical ids (past 65,536 on request), plus spares.
  int64_t pages_needed = 0;
  for (int32_t L : needed) pages_needed += (L + B - 1) / B;
  Draw dp{rng, kPages};
  const int64_t base = c.high_page_ids ? 65536 + dp.in(0, 100) : 0;
  const int64_t num_pages = base + pages_needed + dp.in(1, 8);
  std::vector<int32_t> ids(size_t(num_pages - base));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(base + int64_t(i));
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[dp.below(uint32_t(i))]);
  Draw dt{rng, kTable};
  in.max_blocks = (longest + B - 1) / B + dt.in(0, 2);
  in.table_row_stride = in.max_blocks + dt.in(0, 3);
  in.table.assign(size_t((int64_t(c.batch) - 1) * in.table_row_stride + in.max_blocks + (c.batch == 0)), -1);
  size_t next_id = 0;
  for (int32_t b = 0; b < c.batch; ++b)
    for (int64_t i = 0; i < in.max_blocks; ++i) {
      int32_t& e = in.table[size_t(b * in.table_row_stride + i)];
      if (i < (needed[size_t(b)] + B - 1) / B) e = ids[next_id++];
      else e = dt.coin() ? -1 : int32_t(dt.below(1u << 30));  // junk that must never be read
    }
  PagedCacheLayout l{{c.layout, B, c.head_dim, c.quant_block}, 0, num_pages};
  l.page_stride = l.page.natural_page_bytes() + c.stride_pad;
  in.cache = KCache(l, 0);
  fill_random(in.cache.bytes.data(), in.cache.bytes.size(), rng, kJunk);
  // Every token a row reads: finite scales, and (unless adversarial) no NaN codes.
  const PagedView view{l, BlockTableView{in.table.data(), c.batch, in.max_blocks, in.table_row_stride}};
  Draw ds{rng, kScales};
  for (int32_t b = 0; b < c.batch; ++b)
    for (int64_t s = 0; s < needed[size_t(b)]; ++s) {
      for (int32_t q = 0; q < l.page.scales_per_token(); ++q) {
        const float sc = scale_value(ds, c.adversarial);
        std::memcpy(in.cache.bytes.data() + view.scale_byte(b, s, q), &sc, 4);
      }
      for (int32_t dd = 0; dd < c.head_dim; ++dd) {  // adversarial: ~1 token in 64 keeps a NaN code
        uint8_t& v = in.cache.bytes[size_t(view.value_byte(b, s, dd))];
        if (fp8_is_nan(v, c.encoding) && (!c.adversarial || ds.below(64) != 0)) v = tame(v, c.encoding);
      }
    }
  const int64_t rows = int64_t(c.batch) * nn;
  in.q.resize(size_t(rows * c.heads * c.head_dim));
  fill_random(in.q.data(), in.q.size(), rng, kQ);
  Draw dq{rng, kQ};
  if (!c.adversarial)
    for (uint8_t& v : in.q) v = tame(v, c.encoding);
  else
    rare_nans(in.q, c.encoding, dq, 1024);
  Draw dw{rng, kWeights};
  in.weights.resize(size_t(rows * c.heads));
  for (float& w : in.weights) w = c.adversarial && dw.coin(4) ? odd_float(dw) : (dw.unit() - 0.5f) * 2.0f;
  in.max_context_len = c.min_len_half ? c.max_len : longest + int32_t(dt.below(uint32_t(B) + 1));
  in.out_row_stride = in.max_context_len + dt.pick({0, 1, 7, 256 - in.max_context_len % 256});
  return in;
}

PagedLogitsProblem PagedInputs::problem(const Case& c) const {
  PagedLogitsProblem p;
  p.cache = cache.layout;
  p.cache_bytes = cache.bytes.data();
  p.encoding = c.encoding;
  p.q = q.data();
  p.batch = c.batch;
  p.next_n = c.next_n;
  p.heads = c.heads;
  p.weights = weights.data();
  p.context_lens = lens.data();
  p.lens_2d = c.lens_2d;
  p.table = BlockTableView{table.data(), c.batch, max_blocks, table_row_stride};
  p.max_context_len = max_context_len;
  p.clean_logits = c.clean;
  p.profile = Profile::exact;
  return p;
}

std::vector<int32_t> PagedInputs::gather_lens(const Case& c) const {
  std::vector<int32_t> g(size_t(c.batch), 0);
  for (int32_t b = 0; b < c.batch; ++b)
    for (int32_t j = 0; j < (c.lens_2d ? c.next_n : 1); ++j)
      g[size_t(b)] = std::max(g[size_t(b)], lens[size_t(b) * (c.lens_2d ? c.next_n : 1) + j]);
  return g;
}

RaggedInputs make_ragged(const Case& c) {
  const CounterRng rng{c.seed};
  Draw d{rng, kRanges};
  RaggedInputs in;
  in.N = c.max_len;
  in.M = d.in(1, 48);
  in.k.resize(size_t(in.N) * c.head_dim);
  fill_random(in.k.data(), in.k.size(), rng, kK);
  in.q.resize(size_t(in.M) * c.heads * c.head_dim);
  fill_random(in.q.data(), in.q.size(), rng, kQ);
  Draw dn{rng, kQ};
  if (!c.adversarial) {
    for (uint8_t& v : in.k) v = tame(v, c.encoding);
    for (uint8_t& v : in.q) v = tame(v, c.encoding);
  } else {
    rare_nans(in.k, c.encoding, dn, 64);
    rare_nans(in.q, c.encoding, dn, 1024);
  }
  Draw ds{rng, kScales};
  in.kscale.resize(size_t(in.N));
  for (float& s : in.kscale) s = scale_value(ds, c.adversarial);
  Draw dw{rng, kWeights};
  in.weights.resize(size_t(in.M) * c.heads);
  for (float& w : in.weights) w = c.adversarial && dw.coin(4) ? odd_float(dw) : (dw.unit() - 0.5f) * 2.0f;
  for (int32_t i = 0; i < in.M; ++i) {
    int32_t s = d.in(0, in.N), e = d.in(0, in.N);
    if (s > e) std::swap(s, e);
    if (d.coin(8)) s = e;  // empty row
    if (d.coin(8)) s = 0, e = in.N;
    in.ks.push_back(s);
    in.ke.push_back(e);
  }
  in.out_row_stride = in.N + d.pick({0, 1, 5});
  return in;
}

RaggedLogitsProblem RaggedInputs::problem(const Case& c) const {
  RaggedLogitsProblem p;
  p.encoding = c.encoding;
  p.q = q.data();
  p.M = M;
  p.heads = c.heads;
  p.head_dim = c.head_dim;
  p.k = k.data();
  p.kscale = kscale.data();
  p.N = N;
  p.weights = weights.data();
  p.ks = ks.data();
  p.ke = ke.data();
  p.clean_logits = c.clean;
  p.profile = Profile::exact;
  return p;
}

QuantInputs make_quant(const Case& c) {
  const CounterRng rng{c.seed};
  Draw d{rng, kSlots};
  QuantInputs in;
  const int32_t B = c.page_size;
  const int64_t base = c.high_page_ids ? 65536 : 0;
  PagedCacheLayout l{{c.layout, B, c.head_dim, c.quant_block}, 0, base + d.in(1, 40)};
  l.page_stride = l.page.natural_page_bytes() + c.stride_pad;
  in.cache = KCache(l, 0);
  fill_random(in.cache.bytes.data(), in.cache.bytes.size(), rng, kJunk);
  const int64_t pool = l.num_pages * B, T = c.max_len;
  for (int64_t i = 0; i < T; ++i) {
    int64_t s = base * B + int64_t(d.below(uint32_t(pool - base * B)));
    if (d.coin(8)) s = -1;                                             // padding token
    else if (i > 0 && d.coin(10)) s = in.slots[size_t(d.below(uint32_t(i)))];  // repeated slot
    in.slots.push_back(s);
  }
  Draw dk{rng, kValues};
  in.k.resize(size_t(T) * c.head_dim);
  for (int64_t i = 0; i < T; ++i)
    for (int32_t q = 0; q < c.head_dim / c.quant_block; ++q) {
      const int kind = int(dk.below(6));  // per block: normal, tiny (amax clamp), power-of-two amax, zeros
      for (int32_t j = 0; j < c.quant_block; ++j) {
        float v = bf16_decode(bf16_encode((dk.unit() - 0.5f) * 16.0f));
        if (kind == 1) v *= 1e-6f;
        if (kind == 2) v = j == 0 ? std::ldexp(1.0f, int(dk.below(20)) - 10) : v * 1e-3f;
        if (kind == 3) v = dk.coin() ? 0.0f : -0.0f;
        if (kind == 4 && j == 0) v = f32_from_bits(0x00000005u);  // subnormal
        in.k[size_t(i * c.head_dim + q * c.quant_block + j)] = v;
      }
    }
  in.params = QuantParams{QuantVariant::exact, c.encoding, c.ue8m0};
  return in;
}

}  // namespace mqa::sweep
