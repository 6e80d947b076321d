// Random descriptors, edge-weighted, and the descriptor shrinker.
#include "mqa/case_random.hpp"

#include <algorithm>
#include <initializer_list>

#include "case_constraints.hpp"
#include "mqa/philox.hpp"

namespace mqa {

namespace {

// Sequential draws from one CounterRng stream (the case index).
struct Draw {
  CounterRng rng;
  uint64_t stream;
  uint64_t n = 0;
  uint32_t below(uint32_t k) { return k ? rng.below(stream, n++, k) : 0; }
  int64_t upto(int64_t hi) { return hi <= 0 ? 0 : int64_t(rng.u64(stream, n++) % uint64_t(hi + 1)); }
  bool chance(uint32_t percent) { return below(100) < percent; }
  template <class T>
  T pick(std::initializer_list<T> xs) { return *(xs.begin() + below(uint32_t(xs.size()))); }
  template <class T>
  T pick(const std::vector<T>& xs) { return xs[below(uint32_t(xs.size()))]; }
  template <class T, size_t N>
  T pick(const T (&xs)[N]) { return xs[below(uint32_t(N))]; }
};

// A length near an edge of the page / tile structure, or anywhere, at most `room`.
int32_t edge_length(Draw& r, int32_t B, int64_t room) {
  const int64_t k = 1 + r.below(4);
  const int64_t cands[] = {0, 1, B - 1, B, B + 1, 256 * k - 1, 256 * k, 256 * k + 1, 2 * B + 3, 97};
  for (int tries = 0; tries < 3; ++tries) {
    const int64_t L = r.chance(30) ? r.upto(room) : cands[r.below(10)];
    if (L >= 0 && L <= room) return int32_t(L);
  }
  return int32_t(r.upto(std::min<int64_t>(room, B + 1)));
}

// A wide-logits case (deployed tier): rows and columns of aiter#4244's failing shape.
inline constexpr int32_t kWideRowsMin = 513, kWideRowsMax = 600, kWideColumns = 1 << 20;
inline constexpr int64_t kWideTokens = 1 << 16;  // its written tokens: the logits take the memory

int64_t pages_needed(const CaseDescriptor& d, std::vector<int32_t>* w = nullptr) {
  int64_t K = 0;
  const int32_t batch = d.batch();
  for (int32_t b = 0; b < batch; ++b) {
    int32_t W = d.lens_2d ? 0 : d.lens[size_t(b)];
    if (d.lens_2d)
      for (int32_t j = 0; j < d.next_n; ++j) W = std::max(W, d.lens[size_t(b * d.next_n + j)]);
    if (w) w->push_back(W);
    K += (W + d.page_size - 1) / d.page_size;
  }
  return K;
}

// The value keys, drawn after every other field (so each other field is drawn as it was before
// they existed), and only where materialize() defines them. quant_cache, the one op that runs a
// kernel's quantiser, plants amax values at the edge most often: an fp32 amax one ulp above
// FMAX*2^e is what tells log2f from exact power-of-two rounding.
void draw_special_values(Draw& r, CaseDescriptor& d) {
  const bool logits = d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits;
  const bool has_source = d.op == CaseOp::quant_cache || (d.dist != ValueDist::friendly && d.dist != ValueDist::exact_dot);
  if (has_source) {
    d.ksrc = r.pick({KSource::bf16, KSource::bf16, KSource::fp32, KSource::fp32, KSource::fp16});
    if (r.chance(d.op == CaseOp::quant_cache ? 60 : 20))
      d.amax = r.pick({AmaxEdge::mix, AmaxEdge::mix, AmaxEdge::at, AmaxEdge::below, AmaxEdge::above});
  }
  if (d.op != CaseOp::quant_cache) {
    d.nan_codes = r.chance(15);
    d.odd_scales = r.chance(15);
  }
  if (logits) d.odd_weights = r.chance(15);
}

}  // namespace

CaseDescriptor random_case(uint64_t seed, uint64_t index, const GenOptions& opt) {
  return random_case_attempt(seed, index, 0, opt);
}

CaseDescriptor random_case_attempt(uint64_t seed, uint64_t index, uint32_t attempt, const GenOptions& opt) {
  const gen::DrawSets sets = gen::resolve(opt);
  // attempt 0 is the case's own stream; redraws use streams no other index reaches (< 2^48)
  Draw r{CounterRng{seed}, 0x100 + index + (uint64_t(attempt) << 48)};
  CaseDescriptor d;
  const int32_t size = std::clamp(opt.size, 1, 100);
  d.op = r.pick(sets.ops);
  const bool logits = d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits;
  d.head_dim = opt.head_dims.empty() ? r.pick(gen::kHeadDims) : r.pick(opt.head_dims);
  d.quant_block = logits ? d.head_dim : r.pick({d.head_dim, d.head_dim, d.head_dim / 2, 32});
  d.layout = r.pick(sets.layouts);
  if (!opt.page_sizes.empty()) d.page_size = r.pick(gen::allowed_page_sizes(opt, d.layout));
  else d.page_size = d.layout == PageLayoutKind::preshuffle16 ? r.pick(gen::kPageSizesPreshuffle) : r.pick(gen::kPageSizesStandard);
  // aiter takes any page size that is a multiple of 16 (preshuffle16's tile): the deployed tier
  // draws those too, so a kernel tuned to 16/64/256 meets 80 or 496 (the drawn list stays first,
  // and a tier without the percent draws nothing more, so the small tier is unchanged).
  if (opt.page_sizes.empty() && opt.any_page_size_percent > 0 && r.chance(uint32_t(opt.any_page_size_percent)))
    d.page_size = 16 * (1 + int32_t(r.below(32)));
  if (!opt.heads.empty()) {
    std::vector<int32_t> heads = opt.heads;
    if (sets.need8) std::erase_if(heads, [](int32_t H) { return H % gen::kGroupHeads != 0; });
    d.heads = r.pick(heads);
  } else {
    const int32_t hmax = gen::default_max_heads(opt, sets, d.op);
    do d.heads = r.pick(gen::kHeads);
    while (d.heads > hmax || (sets.need8 && d.heads % gen::kGroupHeads != 0));
  }
  if (d.op != CaseOp::paged_logits) d.next_n = 1;
  else d.next_n = opt.next_n.empty() ? r.pick(gen::kNextN) : r.pick(opt.next_n);
  // Logits past 2^31 bytes (deployed tier): 513..600 rows of 2^20 columns, GLM-5 MTP decode's
  // [batch * next_n, max_model_len = 2^20] buffer with next_n = 4 (aiter#4244: the 32-bit store
  // offset of row 512 reaches 2^31). At most 600 rows keep the case under 8 GiB.
  int32_t wide_lo = 0, wide_hi = 0;  // the batch range of a wide case (0: not wide)
  if (opt.wide_logits_percent > 0 && d.op == CaseOp::paged_logits && r.chance(uint32_t(opt.wide_logits_percent))) {
    if (opt.next_n.empty()) d.next_n = 4;
    wide_lo = (kWideRowsMin + d.next_n - 1) / d.next_n;
    wide_hi = std::min(kWideRowsMax / d.next_n, opt.max_batch);
    if (wide_lo > wide_hi) wide_lo = wide_hi = 0;
  }
  switch (opt.lens) {
    case LensShape::any: d.lens_2d = d.op == CaseOp::paged_logits && r.chance(35); break;
    case LensShape::two_d: d.lens_2d = d.op == CaseOp::paged_logits; break;
    case LensShape::one_d: d.lens_2d = false; break;
  }

  // lengths: a token budget shared by the sequences, each at most max_len
  int64_t room = std::max<int64_t>(8, opt.max_tokens * size / 100);
  if (opt.size_spread > 0) room = std::max<int64_t>(8, room >> r.below(uint32_t(opt.size_spread) + 1));
  if (d.op == CaseOp::ragged_logits) room = std::min<int64_t>(room, opt.max_ragged_tokens);
  if (wide_lo > 0) room = std::min<int64_t>(room, kWideTokens);
  auto seq_room = [&] { return opt.max_len < 0 ? room : std::min<int64_t>(room, opt.max_len); };
  const int32_t batch = wide_lo > 0 ? wide_lo + int32_t(r.below(uint32_t(wide_hi - wide_lo + 1)))
                                    : 1 + int32_t(r.below(uint32_t(std::max(1, opt.max_batch * size / 100))));
  for (int32_t b = 0; b < batch; ++b) {
    const int32_t last = edge_length(r, d.page_size, seq_room());
    room -= last;
    if (!d.lens_2d) { d.lens.push_back(last); continue; }
    const bool causal = r.chance(80);
    for (int32_t j = 0; j < d.next_n; ++j) {
      const int32_t back = d.next_n - 1 - j;
      d.lens.push_back(back == 0 ? last : causal ? std::max(0, last - back) : int32_t(r.upto(last)));
    }
  }
  if (wide_lo > 0) {  // the rows past 512 are the point (aiter#4244): the budget reaches them first
    const size_t per = d.lens_2d ? size_t(d.next_n) : 1;
    for (size_t lo = 0, hi = d.lens.size() - per; lo < hi; lo += per, hi -= per)
      std::swap_ranges(d.lens.begin() + long(lo), d.lens.begin() + long(lo + per), d.lens.begin() + long(hi));
  }
  std::vector<int32_t> written;
  int64_t K = pages_needed(d, &written);
  int32_t most_w = *std::max_element(written.begin(), written.end());
  const int64_t most = (most_w + d.page_size - 1) / d.page_size;
  if (r.chance(20)) {  // explicit table width; sometimes a sequence fills it exactly
    d.max_blocks = int32_t(most + r.below(3)) + (most == 0);
    const int64_t cap = int64_t(d.max_blocks) * d.page_size;
    if (r.chance(50) && cap - most_w <= room && d.op != CaseOp::ragged_logits && (opt.max_len < 0 || cap <= opt.max_len)) {
      const size_t b = size_t(r.below(uint32_t(batch)));
      if (d.lens_2d) {
        for (int32_t j = 0; j < d.next_n; ++j) d.lens[b * size_t(d.next_n) + size_t(j)] += int32_t(cap) - written[b];
      } else {
        d.lens[b] = int32_t(cap);
      }
      written.clear();
      K = pages_needed(d, &written);
      most_w = *std::max_element(written.begin(), written.end());
    }
  }

  // pool: stride, page count, high ids
  const int64_t natural = int64_t(d.page_size) * (d.head_dim + 4 * d.head_dim / d.quant_block);
  d.page_stride = r.chance(35) ? natural + r.pick({4, 16, 256}) : 0;
  const int64_t stride = d.page_stride ? d.page_stride : natural;
  if (opt.high_page_ids && r.chance(25)) {
    if (stride * (65536 + K + 64) <= kDensePoolLimit) {
      d.pool_pages = 65536 + K + r.below(64);  // dense pool, ids past 65,536
    } else {
      const int64_t big = (std::max<int64_t>(stride, 65536) + 4095) / 4096 * 4096;
      // sparse pool, byte offsets past 2^32: paged logits only, the op whose kernels read a
      // pool in place (a quant/gather adapter may copy the whole 4 GiB pool per call)
      // (and quant_cache / gather in the deployed tier, for GPU adapters that take a view)
      const bool pool_op = d.op == CaseOp::paged_logits || (opt.sparse_pools_all_ops && d.op != CaseOp::ragged_logits);
      if (K * big <= kDensePoolLimit / 2 && pool_op) {
        d.page_stride = big;
        d.pool_pages = ((int64_t(1) << 32) + big - 1) / big + 4 * K + r.below(16);
      }
    }
  }
  if (d.pool_pages == 0 && r.chance(60)) d.pool_pages = K + r.upto(K + 8);
  if (d.pool_pages == 0 && K == 0) d.pool_pages = 1 + r.below(3);

  d.table_pad = r.chance(80) ? 0 : int32_t(1 + r.below(3));
  d.pad_slots = r.chance(75) ? 0 : int32_t(1 + r.below(4));
  if (d.op == CaseOp::paged_logits && r.chance(20)) d.max_context_len = std::max(1, most_w) + int32_t(r.below(300));
  if (wide_lo > 0) d.max_context_len = std::max(kWideColumns, most_w);
  d.out_pad = r.chance(70) ? 0 : r.pick({1, 3, 64, 255});
  if (opt.encodings.size() == 1) d.encoding = opt.encodings[0];
  else d.encoding = r.chance(70) ? Fp8Encoding::e4m3fn : Fp8Encoding::e4m3fnuz;
  d.quant = r.chance(55) ? QuantVariant::exact : r.pick({QuantVariant::vllm, QuantVariant::aiter, QuantVariant::sglang});
  d.ue8m0 = r.chance(30);
  // one profile: always it (resolve() left only the ops and heads it applies to); several:
  // exact 70% of the time (the old default), else any of them where it applies
  if (sets.profiles.size() == 1) d.profile = sets.profiles[0];
  else d.profile = r.chance(70) && std::find(sets.profiles.begin(), sets.profiles.end(), Profile::exact) != sets.profiles.end()
                       ? Profile::exact : r.pick(sets.profiles);
  if (!logits || d.heads % gen::kGroupHeads != 0) d.profile = Profile::exact;
  d.clean_logits = logits && r.chance(30);
  d.dist = r.pick({ValueDist::friendly, ValueDist::randn, ValueDist::randn, ValueDist::adversarial});
  if (d.op == CaseOp::ragged_logits) {
    d.M = r.chance(10) ? r.pick({0, 1, 2}) : 1 + int32_t(r.below(uint32_t(std::max(1, opt.max_rows * size / 100))));
    d.ranges = r.pick({RangeGen::causal, RangeGen::causal, RangeGen::random, RangeGen::full});
  }
  if (logits && r.chance(40)) d.topk = r.pick({1, 2, 7, 64, 255, 256});
  if (opt.special_values) draw_special_values(r, d);
  d.seed = r.rng.u64(r.stream, 1u << 20);
  return d;
}

SupportedDraw random_supported_case(uint64_t seed, uint64_t index, const GenOptions& opt, const ShapeRefusal& refusal,
                                    int32_t max_attempts) {
  SupportedDraw s;
  for (int32_t a = 0; a < std::max(1, max_attempts); ++a) {
    s.desc = random_case_attempt(seed, index, uint32_t(a), opt);
    if (!refusal) return s;
    std::string why = refusal(s.desc);
    if (why.empty()) return s;
    s.refusals.push_back(std::move(why));
  }
  s.supported = false;
  return s;
}

std::vector<CaseDescriptor> shrink_candidates(const CaseDescriptor& d) {
  std::vector<CaseDescriptor> out;
  auto add = [&](CaseDescriptor c) {
    if (!(c == d) && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
  };
  const int32_t batch = d.batch();
  const size_t per = d.lens_2d ? size_t(d.next_n) : 1;
  const size_t row = size_t(d.max_blocks + d.table_pad);
  // fewer sequences
  for (int32_t b = batch - 1; b >= 0 && batch > 1; --b) {
    CaseDescriptor c = d;
    c.lens.erase(c.lens.begin() + std::ptrdiff_t(b * per), c.lens.begin() + std::ptrdiff_t((b + 1) * per));
    if (!c.table.empty()) c.table.erase(c.table.begin() + std::ptrdiff_t(b * row), c.table.begin() + std::ptrdiff_t((b + 1) * row));
    add(c);
  }
  // the defaults of the pool and its table
  auto defaults = [&](CaseDescriptor c) {
    c.pool_pages = 0; c.page_stride = 0; c.max_blocks = 0; c.table.clear(); c.table_pad = 0;
    return c;
  };
  if (d.table.empty()) add(defaults(d));
  // shorter lengths: 0, half, minus one (all sequences at once first, then one at a time)
  for (int mode = 0; mode < 3; ++mode) {
    auto shorter = [&](int32_t L) { return mode == 0 ? 0 : mode == 1 ? L / 2 : std::max(0, L - 1); };
    CaseDescriptor all = d;
    for (int32_t& L : all.lens) L = shorter(L);
    add(all);
    for (size_t i = 0; i < d.lens.size(); ++i) {
      CaseDescriptor c = d;
      c.lens[i] = shorter(c.lens[i]);
      add(c);
    }
  }
  // smaller shapes
  if (d.lens_2d && d.next_n == 1) {  // one row per sequence: the 1-D form says the same
    CaseDescriptor c = d;
    c.lens_2d = false;
    add(c);
  }
  if (d.next_n > 1) {
    CaseDescriptor c = d;
    c.next_n = 1;
    if (d.lens_2d) {
      c.lens.clear();
      for (int32_t b = 0; b < batch; ++b) c.lens.push_back(d.lens[size_t(b) * per + per - 1]);
    }
    add(c);
  }
  if (d.heads > 1) {
    CaseDescriptor c = d;
    c.heads = d.heads / 2;
    if (c.heads % 8) c.profile = Profile::exact;
    add(c);
  }
  if (d.op == CaseOp::ragged_logits && d.M > 0) {
    for (int32_t m : {1, d.M / 2, d.M - 1}) {
      CaseDescriptor c = d;
      c.M = m;
      if (c.ranges == RangeGen::explicit_list) { c.ks.resize(size_t(m)); c.ke.resize(size_t(m)); }
      add(c);
    }
  }
  if (d.head_dim > 32) {
    CaseDescriptor c = defaults(d);
    c.head_dim = 32;
    c.quant_block = std::min(c.quant_block, 32);
    if (d.table.empty()) add(c);
  }
  if (d.page_size > 16 || (d.page_size > 1 && d.layout == PageLayoutKind::standard)) {
    CaseDescriptor c = defaults(d);
    c.page_size = d.page_size > 16 ? 16 : 1;
    if (d.table.empty()) add(c);
  }
  // simpler settings
  auto simpler = [&](auto&& f) { CaseDescriptor c = d; f(c); add(c); };
  simpler([](CaseDescriptor& c) { c.layout = PageLayoutKind::standard; });
  simpler([](CaseDescriptor& c) { c.pad_slots = 0; });
  simpler([](CaseDescriptor& c) { c.out_pad = 0; });
  simpler([](CaseDescriptor& c) { c.max_context_len = 0; });
  simpler([](CaseDescriptor& c) { c.clean_logits = false; });
  simpler([](CaseDescriptor& c) { c.profile = Profile::exact; });
  simpler([](CaseDescriptor& c) { c.ue8m0 = false; });
  simpler([](CaseDescriptor& c) { c.quant = QuantVariant::exact; });
  simpler([](CaseDescriptor& c) { c.encoding = Fp8Encoding::e4m3fn; });
  simpler([](CaseDescriptor& c) {
    c.dist = ValueDist::friendly;
    if (c.op != CaseOp::quant_cache) { c.ksrc = KSource::bf16; c.amax = AmaxEdge::free; }  // friendly codes have no source
  });
  simpler([](CaseDescriptor& c) { c.nan_codes = false; });
  simpler([](CaseDescriptor& c) { c.odd_weights = false; });
  simpler([](CaseDescriptor& c) { c.odd_scales = false; });
  simpler([](CaseDescriptor& c) { c.amax = AmaxEdge::free; });
  simpler([](CaseDescriptor& c) { c.ksrc = KSource::bf16; });
  simpler([](CaseDescriptor& c) { c.topk = 2048; });
  if (d.ranges != RangeGen::explicit_list) simpler([](CaseDescriptor& c) { c.ranges = RangeGen::full; });
  if (d.table.empty()) {
    simpler([](CaseDescriptor& c) { c.pool_pages = 0; });
    simpler([](CaseDescriptor& c) { c.page_stride = 0; });
    simpler([](CaseDescriptor& c) { c.table_pad = 0; });
    simpler([](CaseDescriptor& c) { c.max_blocks = 0; });
  }
  return out;
}

int64_t case_size(const CaseDescriptor& d) {
  int64_t tokens = 0;
  for (int32_t L : d.lens) tokens += L;
  const int64_t rows = d.op == CaseOp::ragged_logits ? d.M : int64_t(d.batch()) * d.next_n;
  return tokens + rows * d.heads + d.head_dim + d.page_size;
}

const char* to_string(ShrinkStop s) {
  switch (s) {
    case ShrinkStop::minimal: return "minimal";
    case ShrinkStop::step_limit: return "step_limit";
    case ShrinkStop::time_limit: return "time_limit";
  }
  return "?";
}

}  // namespace mqa
