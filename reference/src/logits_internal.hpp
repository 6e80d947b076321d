// Pieces shared by the fast and the naive MQA-logits references: input validation, the output
// regions, clean_logits, the worker pool. The arithmetic of the two paths is deliberately NOT
// shared (the naive oracle re-states the contract on its own so that it can catch the fast path).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mqa/logits.hpp"

namespace mqa::logits_detail {

// Field-free validation of the shape parameters common to both ops.
void validate_heads_and_dim(int32_t heads, int32_t head_dim, Profile profile);

// "1.5", "nan", "-inf": a float as it goes into an error message.
std::string float_text(float x);

// Rejects a NaN/Inf scale of a token the op reads; `where` names it (logical and physical).
void validate_scale(float s, const std::string& where);

// Writes -inf to every column of [0, cols) outside [valid_begin, valid_end) of each row.
void clean_outside_valid(const LogitsRegions& regions, float* out);

// The fp32 value the reference writes for a logit: NaN becomes the canonical +qNaN.
inline float canonical_logit(float x) { return x != x ? f32_from_bits(kCanonicalNanBits) : x; }

// Per-worker buffers of the fast path, reused from item to item.
struct Scratch {
  std::vector<double> q, k, a;  // decoded q rows, decoded k tile, the tile's dot products
  std::vector<float> t, kscale;  // epilogue terms, the tile's token scales
};

// Runs fn(item, scratch) for item in [0, n) on logits_threads() workers (never more than n).
// Items must write disjoint outputs; the result then cannot depend on the scheduling.
void parallel_for(int64_t n, const std::function<void(int64_t item, Scratch& scratch)>& fn);

// Fast path core: A = Qd * Kd^T for one tile, then the profile's epilogue for every row's
// columns inside [begin, end). Qd: [R*H, D] row-major doubles (decoded q); Kd: [T, D] row-major
// doubles (decoded k, tokens tok0 .. tok0+T-1); kscale[T].
struct TileRow {
  float* out;        // the row's first column (column index = token index)
  const float* w;    // [H] weights of the row
  int64_t begin, end;  // columns this row defines (valid region), absolute
};
void score_tile(Profile profile, const double* Qd, int32_t R, int32_t H, int32_t D, const double* Kd,
                const float* kscale, int64_t T, int64_t tok0, const TileRow* rows, Scratch& scratch);

// 256-entry table: fp8 code -> exact double (NaN codes -> NaN).
const double* fp8_to_f64_table(Fp8Encoding e);

}  // namespace mqa::logits_detail
