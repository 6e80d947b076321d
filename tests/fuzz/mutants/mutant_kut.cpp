// Mutant kernels under test: one source, compiled once per bug with -DMQA_MUTANT=<Bug>, each a
// kut.h plugin (exports mqa_kut_get). With MQA_MUTANT=0 ("control") it is a correct, independent
// scalar implementation of every op that must pass the campaign; every other value plants ONE
// bug that has happened (or easily could) in a real indexer kernel. The fuzz campaign must catch
// each of them (tests/fuzz/test_mutants.cpp).
//
// Reads never leave the buffers the caller passed (an out-of-range address reads 0), so a
// mutant produces wrong numbers, not a crash: detection has to come from the comparison.
#include <unistd.h>
#include <csignal>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mqa/fp8.hpp"
#include "mqa/kcache.hpp"
#include "mqa/kut.h"
#include "mqa/layout.hpp"

#ifndef MQA_MUTANT
#error "compile with -DMQA_MUTANT=<bug number>"
#endif

namespace {

using namespace mqa;

enum Bug : int {
  control = 0,
  tile_grid_transposed = 1,       // preshuffle: 16x16 tiles stored byte-group-major
  tile_token_byte_swap = 2,       // preshuffle: (token, byte) swapped inside each 16x16 tile
  preshuffle_tile32 = 3,          // preshuffle applied with a 32x32 tile
  page_off_by_one = 4,            // block index (s + 1) / B
  page_index_s16 = 5,             // block index s / 16 instead of s / B
  scale_wrong_slot = 6,           // scale of slot t + 1 (mod B) read / written
  fn_decoded_as_fnuz = 7,         // e4m3fn codes decoded with the fnuz bias
  missing_relu = 8,               // relu dropped
  kscale_before_headsum_fma = 9,  // S = fma(relu(a)*kscale, w, S) over heads
  headsum_sequential = 10,        // ((t0 + t1) + t2) + ... instead of the pairwise tree
  offset_32bit = 11,              // byte offsets truncated to 32 bits
  read_past_length = 12,          // reads (and writes) token L_r: a <= instead of <
  ignore_next_n_offset = 13,      // every row of a sequence reads the whole context
  write_outside_defined = 14,     // clears [L_r, row_stride) / writes past the gathered rows / page padding
  nondeterministic_order = 15,    // every second call sums heads sequentially (an atomics-order bug)
  ue8m0_rounding_swapped = 16,    // exact: exp2f(ceilf(log2f(sc))); vllm/aiter/sglang: exponent + (mantissa != 0)
  relu_fmaxf = 17,                // exact profile relu as fmaxf(a, 0): a NaN dot becomes 0
  nan_code_as_number = 18,        // fp8 decoder without NaN: e4m3fn 0x7F/0xFF = +-480, e4m3fnuz 0x80 = 0
  zero_relu_skips_weight = 19,    // relu(a) == 0 adds a signed zero without w: 0 * inf = NaN lost
  subnormal_scale_flushed = 20,   // logits: a subnormal k scale read as +-0 (a kernel built with -ftz / fast math: DAZ)
  scale_nan_to_num = 21,  // k scales passed through nan_to_num (NaN -> 0, +-inf -> +-FLT_MAX), e.g. by a Python wrapper
  // Caught by the deployed tier (tests/fuzz/test_mutants.cpp, DeployedMutant):
  row_stride_past_64 = 22,  // paged: rows >= 64 stored with a [64, rows, cols] buffer's head stride (aiter#1815)
  store_offset_32bit = 23,  // logits stores whose byte offset reaches 2^31 are dropped (aiter#4244)
  cache_offset_int32 = 24,  // quant_cache / gather: the cache byte offset computed in int32 (vllm#46222)
  // Kernels that test the harness itself (not in the detection table):
  crash_on_long_rows = 25,  // paged: segfaults when a row reads >= 100 tokens
  hang_on_ragged = 26,      // ragged: never returns
  fork_grandchild = 27,     // ragged: leaves a sleeping grandchild that holds every inherited fd
  crash_on_load = 28,       // its constructor segfaults at dlopen
};
constexpr Bug kBug = Bug(MQA_MUTANT);

const char* const kNames[] = {"control",
                              "tile_grid_transposed",
                              "tile_token_byte_swap",
                              "preshuffle_tile32",
                              "page_off_by_one",
                              "page_index_s16",
                              "scale_wrong_slot",
                              "fn_decoded_as_fnuz",
                              "missing_relu",
                              "kscale_before_headsum_fma",
                              "headsum_sequential",
                              "offset_32bit",
                              "read_past_length",
                              "ignore_next_n_offset",
                              "write_outside_defined",
                              "nondeterministic_order",
                              "ue8m0_rounding_swapped",
                              "relu_fmaxf",
                              "nan_code_as_number",
                              "zero_relu_skips_weight",
                              "subnormal_scale_flushed",
                              "scale_nan_to_num",
                              "row_stride_past_64",
                              "store_offset_32bit",
                              "cache_offset_int32",
                              "crash_on_long_rows",
                              "hang_on_ragged",
                              "fork_grandchild",
                              "crash_on_load"};

int g_calls = 0;  // logits calls so far (nondeterministic_order)

// crash_on_load: a plugin whose static initialisation crashes (at dlopen, before any call).
// (raise, not a null store: the compiler may delete a store it can prove faults.)
__attribute__((constructor)) void crash_at_load() {
  if (kBug == crash_on_load) std::raise(SIGSEGV);
}

struct Pool {
  uint8_t* bytes;
  int64_t size;
  PageLayout page;
  int64_t stride;
  int64_t num_pages;
};

Pool pool_of(const mqa_cache_desc& c, const uint8_t* bytes) {
  return Pool{const_cast<uint8_t*>(bytes), c.page_stride * c.num_pages,
              PageLayout{PageLayoutKind(c.layout), c.page_size, c.head_dim, c.quant_block}, c.page_stride, c.num_pages};
}

int64_t value_in_page(const PageLayout& p, int32_t t, int32_t d) {
  if (p.kind == PageLayoutKind::standard) return p.value_offset(t, d);
  const int64_t B = p.page_size, D = p.head_dim;
  switch (kBug) {
    case tile_grid_transposed: return (d / 16) * 16 * B + (t / 16) * 256 + (t % 16) * 16 + d % 16;
    case tile_token_byte_swap: return (t / 16) * 16 * D + (d / 16) * 256 + (d % 16) * 16 + t % 16;
    case preshuffle_tile32: return (t / 32) * 32 * D + (d / 32) * 1024 + (t % 32) * 32 + d % 32;
    default: return p.value_offset(t, d);
  }
}

int64_t scale_in_page(const PageLayout& p, int32_t t, int32_t q) {
  return p.scale_offset(kBug == scale_wrong_slot ? (t + 1) % p.page_size : t, q);
}

int64_t byte_of(const Pool& pool, int64_t page, int64_t in_page) {
  const int64_t off = page * pool.stride + in_page;
  return kBug == offset_32bit ? int64_t(uint32_t(off)) : off;
}

// A byte of the pool as the cache ops (quant_cache, gather) address it. cache_offset_int32:
// page * stride + in_page in int32 arithmetic, as a cache insert / gather kernel with an `int`
// offset does (vllm#46222): past 2^31 it wraps negative (the write is lost, the read gives 0),
// past 2^32 onto another page. The logits (byte_of) stay right: only the cache ops have the bug.
int64_t cache_op_byte(const Pool& pool, int64_t page, int64_t in_page) {
  if (kBug != cache_offset_int32) return byte_of(pool, page, in_page);
  return int32_t(uint32_t(page * pool.stride + in_page));  // modular (C++20): the int32 wrap
}

uint8_t read_byte(const Pool& pool, int64_t off) { return off >= 0 && off < pool.size ? pool.bytes[off] : 0; }
void write_byte(const Pool& pool, int64_t off, uint8_t v) {
  if (off >= 0 && off < pool.size) pool.bytes[off] = v;
}

float read_f32(const Pool& pool, int64_t off) {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = read_byte(pool, off + i);
  float f;
  std::memcpy(&f, b, 4);
  return f;
}

// Physical page and slot of logical token s of sequence b (page -1: not addressable).
struct TokenAt {
  int64_t page;
  int32_t slot;
};
TokenAt token_at(const Pool& pool, const int32_t* table, int64_t row_stride, int32_t max_blocks, int32_t b, int64_t s) {
  const int32_t B = pool.page.page_size;
  int64_t blk = s / B;
  if (kBug == page_index_s16) blk = s / 16;
  if (kBug == page_off_by_one) blk = (s + 1) / B;
  if (blk >= max_blocks) return {-1, 0};
  const int64_t page = table[int64_t(b) * row_stride + blk];
  return {page >= 0 && page < pool.num_pages ? page : -1, int32_t(s % B)};
}

// A k scale as the kernel sees it. subnormal_scale_flushed: a subnormal scale that enters
// arithmetic (the logits, not gather's copy) is a signed zero; scale_nan_to_num: NaN -> 0,
// +-inf -> +-FLT_MAX.
float scale_seen(float s, bool in_arithmetic) {
  if (kBug == subnormal_scale_flushed && in_arithmetic && std::fpclassify(s) == FP_SUBNORMAL) return std::copysign(0.0f, s);
  if (kBug == scale_nan_to_num) {
    if (std::isnan(s)) return 0.0f;
    if (std::isinf(s)) return std::copysign(FLT_MAX, s);
  }
  return s;
}

float decode(uint8_t c, Fp8Encoding e) {
  if (kBug == nan_code_as_number && fp8_is_nan(c, e))  // the bit pattern read as a number
    return e == Fp8Encoding::e4m3fnuz ? 0.0f : (c & 0x80 ? -480.0f : 480.0f);
  return fp8_decode(c, kBug == fn_decoded_as_fnuz && e == Fp8Encoding::e4m3fn ? Fp8Encoding::e4m3fnuz : e);
}

// One logit from the H exact dot products (numerics.md), both profiles.
float epilogue(const std::vector<float>& a, const float* w, float kscale, int32_t profile) {
  const size_t H = a.size();
  if (profile == MQA_PROFILE_DEEPGEMM_SM90) {
    // Group 1 is rounded alone, then group 0 and groups 2.. fused in (H = 8: group 0 alone).
    float P[4][2] = {};
    auto x = [&](size_t h) { return kBug == missing_relu ? a[h] : std::fmax(a[h], 0.0f); };
    for (int u = 0; u < 4; ++u)
      for (int p = 0; p < 2; ++p) {
        const size_t j = size_t(2 * u + p);
        if (H == 8) { P[u][p] = x(j) * w[j]; continue; }
        P[u][p] = std::fma(x(j), w[j], x(8 + j) * w[8 + j]);
        for (size_t c = 2; c < H / 8; ++c) P[u][p] = std::fma(x(8 * c + j), w[8 * c + j], P[u][p]);
      }
    float V[4];
    for (int u = 0; u < 4; ++u) V[u] = (P[u][0] + P[u][1]) * kscale;
    return (V[0] + V[1]) + (V[2] + V[3]);
  }
  auto relu = [](float x) {
    if (kBug == relu_fmaxf) return std::fmax(x, 0.0f);
    return kBug == missing_relu || x > 0.0f || std::isnan(x) ? x : 0.0f;
  };
  if (kBug == kscale_before_headsum_fma) {
    float S = 0.0f;
    for (size_t h = 0; h < H; ++h) S = std::fma(relu(a[h]) * kscale, w[h], S);
    return S;
  }
  std::vector<float> t(H, 0.0f);
  for (size_t h = 0; h < H; ++h)
    t[h] = kBug == zero_relu_skips_weight && !(relu(a[h]) != 0.0f) ? std::copysign(0.0f, w[h]) : relu(a[h]) * w[h];
  if (kBug == headsum_sequential || (kBug == nondeterministic_order && g_calls % 2 == 0)) {
    for (size_t h = 1; h < H; ++h) t[0] = t[0] + t[h];
  } else {
    for (size_t step = H / 2; step >= 1; step /= 2)
      for (size_t i = 0; i < step; ++i) t[i] = t[i] + t[i + step];
  }
  return t[0] * kscale;
}

// The fp64 sum of fp8 products is exact (numerics.md); one rounding to fp32.
float dot(const uint8_t* q, const uint8_t* k, int32_t D, Fp8Encoding e) {
  double acc = 0;
  for (int32_t d = 0; d < D; ++d) acc += double(decode(q[d], e)) * double(decode(k[d], e));
  return float(acc);
}

mqa_status supports(void*, const mqa_case_shape* s, char* msg, size_t len) {
  if (s->profile == MQA_PROFILE_DEEPGEMM_SM90 && s->heads % 8 != 0) {
    std::snprintf(msg, len, "deepgemm_sm90 needs heads %% 8 == 0");
    return MQA_UNSUPPORTED;
  }
  return MQA_OK;
}

// ue8m0_rounding_swapped: each block's power-of-two rounding done the other variant's way (the
// exact variant with libm's log2f, the libm variants with the exact exponent rule), then the
// values quantised with that scale. The two differ only next to a power of two.
void swap_ue8m0_rounding(const float* k, const PageLayout& pl, const QuantParams& qp, std::vector<uint8_t>& codes,
                         std::vector<float>& scales) {
  for (int32_t q = 0; q < pl.scales_per_token(); ++q) {
    const float* blk = k + int64_t(q) * pl.quant_block;
    const float a = std::max(block_amax(blk, pl.quant_block), kMinAmax);
    const float div = scale_divisor(qp.variant, qp.encoding);
    const float raw = qp.variant == QuantVariant::sglang ? a * (1.0f / div) : a / div;
    const float sc = qp.variant == QuantVariant::exact ? std::exp2f(std::ceil(std::log2f(raw))) : ue8m0_round_up_exact(raw);
    scales[size_t(q)] = sc;
    // the codes under this scale, with the variant's own division and overflow rule (kcache.cpp)
    for (int32_t i = 0; i < pl.quant_block; ++i) {
      const float v = blk[i];
      float x;
      switch (qp.variant) {
        case QuantVariant::aiter: x = v * (1.0f / sc); break;
        case QuantVariant::sglang: x = std::fmin(std::fmax(v / sc, -fp8_traits(qp.encoding).max_value), fp8_traits(qp.encoding).max_value); break;
        default: x = v / sc; break;
      }
      codes[size_t(q * pl.quant_block + i)] =
          fp8_encode(x, qp.encoding, qp.variant == QuantVariant::sglang ? Overflow::to_nan : Overflow::saturate);
    }
  }
}

mqa_status quant_cache(void*, const mqa_quant_cache_args* a, char*, size_t) {
  const Pool pool = pool_of(a->cache, a->cache_bytes);
  const PageLayout& pl = pool.page;
  const QuantParams qp{QuantVariant(a->quant_variant), Fp8Encoding(a->cache.encoding), a->ue8m0 != 0};
  std::vector<uint8_t> codes(static_cast<size_t>(pl.head_dim));
  std::vector<float> scales(size_t(pl.scales_per_token()));
  for (int64_t i = 0; i < a->num_tokens; ++i) {
    if (a->slots[i] < 0) continue;
    const int64_t page = a->slots[i] / pl.page_size;
    const int32_t t = int32_t(a->slots[i] % pl.page_size);
    quantize_token(a->k + i * pl.head_dim, pl.head_dim, pl.quant_block, qp, codes.data(), scales.data());
    if (kBug == ue8m0_rounding_swapped && qp.ue8m0) swap_ue8m0_rounding(a->k + i * pl.head_dim, pl, qp, codes, scales);
    for (int32_t d = 0; d < pl.head_dim; ++d)
      write_byte(pool, cache_op_byte(pool, page, value_in_page(pl, t, d)), codes[size_t(d)]);
    for (int32_t q = 0; q < pl.scales_per_token(); ++q) {
      uint8_t b[4];
      std::memcpy(b, &scales[size_t(q)], 4);
      for (int i = 0; i < 4; ++i) write_byte(pool, cache_op_byte(pool, page, scale_in_page(pl, t, q)) + i, b[i]);
    }
    if (kBug == write_outside_defined)  // "clears" the page's padding as well
      for (int64_t off = pl.natural_page_bytes(); off < pool.stride; ++off)
        write_byte(pool, cache_op_byte(pool, page, off), 0);
  }
  return MQA_OK;
}

mqa_status gather(void*, const mqa_gather_args* a, char*, size_t) {
  const Pool pool = pool_of(a->cache, a->cache_bytes);
  const PageLayout& pl = pool.page;
  const int32_t D = pl.head_dim, nq = pl.scales_per_token();
  int64_t row = 0;
  for (int32_t b = 0; b < a->batch; ++b)
    for (int64_t s = 0; s < a->lens[b]; ++s, ++row) {
      const TokenAt at = token_at(pool, a->block_table, a->table_row_stride, a->max_blocks, b, s);
      for (int32_t d = 0; d < D; ++d)
        a->values_out[row * D + d] =
            at.page < 0 ? 0 : read_byte(pool, cache_op_byte(pool, at.page, value_in_page(pl, at.slot, d)));
      for (int32_t q = 0; q < nq; ++q) {
        const float s =
            at.page < 0
                ? 0.0f
                : scale_seen(read_f32(pool, cache_op_byte(pool, at.page, scale_in_page(pl, at.slot, q))), false);
        std::memcpy(a->scales_out + (row * nq + q) * 4, &s, 4);
      }
    }
  if (kBug == write_outside_defined) a->values_out[row * D] = 0;  // one byte past the last row
  return MQA_OK;
}

// Where output row r of `rows` goes. row_stride_past_64: aiter#1815 passed the head stride of
// its [64 heads, rows, cols] stage-1 buffer as the row stride, so row r >= 64 lands at
// r * 64 * row_stride: past the end of the output (the store is lost: nullptr) unless the
// output has that many rows, where it overwrites another row.
float* row_out(float* logits, int64_t r, int64_t rows, int64_t row_stride) {
  if (kBug != row_stride_past_64 || r < 64) return logits + r * row_stride;
  return r * 64 < rows ? logits + r * 64 * row_stride : nullptr;
}

// Writes output row r (at `out`; nullptr: its stores are lost) for columns [0, L) from
// score(s), then clean / the planted write bugs. store_offset_32bit: a store whose byte offset
// from the output's base reaches 2^31 is dropped (aiter#4244: AMD buffer_store takes a 32-bit
// voffset; rows 512.. of a 2^20-column buffer).
template <class Score>
void write_row(float* out, int64_t r, int64_t begin, int64_t L, int64_t cols, int64_t row_stride, bool clean,
               Score score) {
  const auto store = [&](int64_t s, float v) {
    if (out == nullptr) return;
    if (kBug == store_offset_32bit && (r * row_stride + s) * 4 >= (int64_t(1) << 31)) return;
    out[s] = v;
  };
  const float ninf = -INFINITY;
  const int64_t end = kBug == read_past_length ? std::min<int64_t>(L + 1, row_stride) : L;
  for (int64_t s = begin; s < end; ++s) store(s, score(s));
  if (clean) {
    for (int64_t s = 0; s < begin; ++s) store(s, ninf);
    for (int64_t s = end; s < cols; ++s) store(s, ninf);
  }
  if (kBug == write_outside_defined)
    for (int64_t s = end; s < row_stride; ++s) store(s, clean ? ninf : 0.0f);
}

mqa_status paged_logits(void*, const mqa_paged_logits_args* a, char*, size_t) {
  ++g_calls;
  const Pool pool = pool_of(a->cache, a->cache_bytes);
  const Fp8Encoding enc = Fp8Encoding(a->cache.encoding);
  const int32_t H = a->heads, D = a->head_dim, nn = a->next_n;
  std::vector<float> dots(static_cast<size_t>(H));
  for (int32_t b = 0; b < a->batch; ++b)
    for (int32_t j = 0; j < nn; ++j) {
      const int64_t r = int64_t(b) * nn + j;
      int64_t L;
      if (a->lens_2d) {
        L = a->context_lens[kBug == ignore_next_n_offset ? r - j + nn - 1 : r];
      } else {
        const int64_t ctx = a->context_lens[b];
        L = kBug == ignore_next_n_offset ? ctx : std::max<int64_t>(0, ctx - nn + j + 1);
      }
      if (kBug == crash_on_long_rows && L >= 100) {
        volatile int* null = nullptr;
        *null = 1;
      }
      const uint8_t* qr = a->q + r * H * D;
      write_row(row_out(a->logits, r, int64_t(a->batch) * nn, a->logits_row_stride), r, 0, L, a->max_context_len,
                a->logits_row_stride, a->clean_logits != 0, [&](int64_t s) {
                  const TokenAt at = token_at(pool, a->block_table, a->table_row_stride, a->max_blocks, b, s);
                  std::vector<uint8_t> k(size_t(D), 0);
                  float ks = 0.0f;
                  if (at.page >= 0) {
                    for (int32_t d = 0; d < D; ++d)
                      k[size_t(d)] = read_byte(pool, byte_of(pool, at.page, value_in_page(pool.page, at.slot, d)));
                    ks = scale_seen(read_f32(pool, byte_of(pool, at.page, scale_in_page(pool.page, at.slot, 0))), true);
                  }
                  for (int32_t h = 0; h < H; ++h) dots[size_t(h)] = dot(qr + int64_t(h) * D, k.data(), D, enc);
                  return epilogue(dots, a->weights + r * H, ks, a->profile);
                });
    }
  return MQA_OK;
}

mqa_status ragged_logits(void*, const mqa_ragged_logits_args* a, char*, size_t) {
  ++g_calls;
  if (kBug == hang_on_ragged)
    for (volatile bool forever = true; forever;) {
    }
  if (kBug == fork_grandchild && fork() == 0) {  // a helper process that outlives the call
    sleep(60);
    _exit(0);
  }
  const Fp8Encoding enc = Fp8Encoding(a->encoding);
  const int32_t H = a->heads, D = a->head_dim, N = a->N;
  std::vector<float> dots(static_cast<size_t>(H));
  for (int32_t i = 0; i < a->M; ++i) {
    const int64_t ks = std::max(0, a->ks[i]), ke = std::min(N, a->ke[i]);
    // (row_stride_past_64 is a paged-kernel bug, aiter#1815: ragged rows go where they belong)
    write_row(a->logits + int64_t(i) * a->logits_row_stride, i, ks, std::max(ks, ke), N, a->logits_row_stride,
              a->clean_logits != 0, [&](int64_t s) {
                const int64_t sc = kBug == scale_wrong_slot ? (s + 1) % N : s;
                if (s >= N) return 0.0f;
                for (int32_t h = 0; h < H; ++h)
                  dots[size_t(h)] = dot(a->q + (int64_t(i) * H + h) * D, a->k + s * D, D, enc);
                return epilogue(dots, a->weights + int64_t(i) * H, scale_seen(a->kscale[sc], true), a->profile);
              });
  }
  return MQA_OK;
}

const std::string kName = std::string("mutant:") + kNames[kBug];
const mqa_kut kKernel{MQA_KUT_ABI_VERSION, kName.c_str(), nullptr, supports, quant_cache, gather, paged_logits,
                      ragged_logits};

}  // namespace

extern "C" __attribute__((visibility("default"))) const mqa_kut* mqa_kut_get(void) { return &kKernel; }
