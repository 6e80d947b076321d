// Top-k of MQA logits (ops.md section 5), the consumer every indexer kernel feeds, and the set
// comparison that judges a kernel's top-k against the reference.
//
// Canonical order: larger value first; equal values by smaller column index; -0 and +0 are
// equal values; NaN ranks above every number (+inf included), as torch.topk does, and NaNs tie
// with each other (then the smaller index first). See docs/numerics.md.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mqa/logits.hpp"

namespace mqa {

inline constexpr int32_t kDefaultTopk = 2048;

// Monotone key of the canonical order: a ranks before b iff key(a) > key(b), or the keys are
// equal and a's index is smaller. Equal keys <=> "equal values" (both zeros, or both NaN).
constexpr uint32_t topk_order_key(float x) {
  uint32_t b = f32_bits(x);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) return 0xFFFFFFFFu;  // NaN: above +inf (0xFF800000)
  if ((b & 0x7FFFFFFFu) == 0) b = 0;                        // -0 == +0
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Row r selects among columns [valid_begin, valid_end) of regions.row[r] (for paged logits
// [0, L_r)); output [rows, k] int32 column indices in canonical order, padded with -1 when the
// row has fewer than k columns. k >= 1 (InvalidInput otherwise). `logits` has regions.row_stride.
std::vector<int32_t> topk_indices(const float* logits, const LogitsRegions& regions, int32_t k = kDefaultTopk);

struct TopkCheck {
  bool ok = true;
  int64_t rows_checked = 0;
  int64_t row = -1;       // first offending row
  int64_t position = -1;  // its position in actual_idx (or in expected_idx for a missing token)
  int32_t token = -1;     // the offending column index
  std::string message;    // empty when ok
};

// Accepts `actual_idx` iff, in every row, its entries are distinct columns of the row's valid
// region, padded with -1 exactly like the reference, and its SET equals the reference set up to
// swaps among tokens whose logits equal the k-th (boundary) value of the reference. Order inside
// a row is free. Reports the first offending row/position.
TopkCheck compare_topk(const float* logits, const LogitsRegions& regions, std::span<const int32_t> expected_idx,
                       std::span<const int32_t> actual_idx, int32_t k = kDefaultTopk);

}  // namespace mqa
