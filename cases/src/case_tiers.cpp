// Tiers of the random draw and the named deployed suite.
//
// Shapes of the suite, and where they come from:
//   DeepSeek-V3.2 indexer: 64 heads, head dim 128, top-k 2048 (config.json index_n_heads,
//     index_head_dim, index_topk); KV pages of 64 tokens, next_n 1 (decode) or 2 (MTP verify),
//     batch 256 at avg_kv 8192, prefill seq_len 2048 against seq_len_kv up to 65536 (DeepGEMM
//     tests/test_attention.py: block_kv 64, next_n (1, 2), heads (32, 64), head_dim 128); logits
//     rows padded to a multiple of 256 columns (DeepGEMM's paged logits); 2-D context lens are
//     vLLM's MTP form, 1-D with causal offsets SGLang's and DeepGEMM's.
//   GLM-5 indexer: 32 heads, head dim 128, top-k 2048 (GLM-5 config.json; xllm
//     models/llm/glm5.h defaults); MTP decode with next_n 4 into a [batch * next_n, 2^20] logits
//     buffer (max_model_len = 1 << 20), where rows 512.. start past 2^31 bytes (aiter#4244,
//     whose regression test runs batch 129 and 256 x next_n 4).
//   preshuffle16 is the layout of aiter's (AMD) paged kernels.
#include "mqa/case_tiers.hpp"

#include <algorithm>

#include "mqa/philox.hpp"
#include "mqa/validate.hpp"

namespace mqa {

const char* to_string(Tier t) { return t == Tier::deployed ? "deployed" : "small"; }

Tier tier_from_string(const std::string& s) {
  if (s == "small") return Tier::small;
  if (s == "deployed") return Tier::deployed;
  reject("--tier", "'" + s + "'", "expected small or deployed");
}

GenOptions tier_options(Tier t) {
  GenOptions g;
  g.tier = t;
  if (t == Tier::small) return g;
  g.max_batch = 256;
  g.max_len = 163840;
  g.max_tokens = int64_t(1) << 22;
  g.max_heads = 128;
  g.max_rows = 512;
  g.max_ragged_tokens = 16384;
  g.size_spread = 8;
  g.wide_logits_percent = 20;
  g.sparse_pools_all_ops = true;
  g.any_page_size_percent = 25;
  return g;
}

namespace {

constexpr int32_t kDsHeads = 64, kGlmHeads = 32, kDim = 128, kPage = 64, kTopk = 2048;

// One shape of the suite before its lengths: the indexer's fields at the deployed values.
CaseDescriptor indexer(CaseOp op, int32_t heads, int32_t next_n, PageLayoutKind layout, uint64_t seed) {
  CaseDescriptor d;
  d.op = op;
  d.layout = layout;
  d.page_size = kPage;
  d.head_dim = d.quant_block = kDim;
  d.heads = heads;
  d.next_n = next_n;
  d.topk = kTopk;
  d.dist = ValueDist::randn;
  d.seed = seed;
  return d;
}

// batch lengths in [lo, hi], the first exactly hi (so the logits have hi columns).
std::vector<int32_t> lengths(uint64_t seed, int32_t batch, int32_t lo, int32_t hi) {
  const CounterRng rng{seed};
  std::vector<int32_t> out{hi};
  for (int32_t b = 1; b < batch; ++b) out.push_back(lo + int32_t(rng.below(1, uint64_t(b), uint32_t(hi - lo + 1))));
  return out;
}

// Decode at context L: batch sequences in [L/2, L]; 2-D lens (vLLM) give row j of sequence b the
// length L_b - (next_n - 1 - j); 1-D lens leave the causal offsets to the op.
CaseDescriptor decode(int32_t heads, int32_t next_n, PageLayoutKind layout, bool lens_2d, int32_t batch, int32_t L,
                      uint64_t seed) {
  CaseDescriptor d = indexer(CaseOp::paged_logits, heads, next_n, layout, seed);
  const std::vector<int32_t> ctx = lengths(seed, batch, L / 2, L);
  d.lens_2d = lens_2d;
  for (int32_t l : ctx)
    for (int32_t j = 0; j < (lens_2d ? next_n : 1); ++j) d.lens.push_back(lens_2d ? std::max(0, l - (next_n - 1 - j)) : l);
  d.out_pad = (256 - L % 256) % 256;  // DeepGEMM's logits rows: a multiple of 256 columns
  return d;
}

// Chunked prefill: `rows` query tokens at the end of one sequence of L tokens (causal ranges).
CaseDescriptor prefill(int32_t heads, int32_t rows, int32_t L, uint64_t seed) {
  CaseDescriptor d = indexer(CaseOp::ragged_logits, heads, 1, PageLayoutKind::standard, seed);
  d.lens = {L};
  d.M = rows;
  d.ranges = RangeGen::causal;
  return d;
}

std::string name_at(const std::string& what, int32_t L) { return what + "_" + std::to_string(L); }

}  // namespace

std::vector<NamedCase> deployed_suite(int32_t max_L, bool wide_logits) {
  std::vector<NamedCase> out;
  if (max_L <= 0) return out;
  std::vector<int32_t> Ls;
  for (int32_t L : {8192, 32768, 65536, 131072})
    if (L <= max_L) Ls.push_back(L);
  if (Ls.empty() || Ls.back() != max_L) Ls.push_back(max_L);
  uint64_t seed = 0x400;
  for (int32_t L : Ls) {
    out.push_back({name_at("dsv32_decode", L), decode(kDsHeads, 1, PageLayoutKind::standard, false, 64, L, seed++)});
    CaseDescriptor mtp = decode(kDsHeads, 2, PageLayoutKind::preshuffle16, true, 64, L, seed++);
    mtp.clean_logits = true;
    out.push_back({name_at("dsv32_mtp", L), mtp});
    out.push_back({name_at("glm5_mtp", L), decode(kGlmHeads, 4, PageLayoutKind::standard, false, 32, L, seed++)});
    if (L <= 65536) out.push_back({name_at("dsv32_prefill", L), prefill(kDsHeads, 2048, L, seed++)});
  }
  const int32_t L0 = std::min(max_L, 8192);
  out.push_back({name_at("dsv32_decode_b256", L0), decode(kDsHeads, 1, PageLayoutKind::standard, false, 256, L0, seed++)});
  out.push_back({name_at("glm5_prefill", L0), prefill(kGlmHeads, 2048, L0, seed++)});
  if (wide_logits) {  // aiter#4244's shape: 516 rows of 2^20 columns, short contexts
    CaseDescriptor w = decode(kGlmHeads, 4, PageLayoutKind::preshuffle16, false, 129, std::min(max_L, 4096), seed++);
    w.max_context_len = 1 << 20;
    w.out_pad = 0;
    out.push_back({"glm5_mtp_wide_logits", w});
  }
  return out;
}

}  // namespace mqa
