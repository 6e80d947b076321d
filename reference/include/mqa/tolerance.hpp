// Per-element error bounds of the tolerance models (docs/numerics.md, "Tolerance models").
//
// A tolerance model names the arithmetic a kernel uses, and its bound is derived from that
// arithmetic and the case's own inputs, element by element, so that a kernel doing exactly that
// arithmetic can never exceed it (no false alarm) while a wrong kernel (wrong page, missing relu,
// wrong scale or weight row) is far outside it:
//   fp32_accum : exact products, fp32 accumulation of the dot, fp32 epilogue (a CPU or CUDA-core
//                kernel). bound = (D + H + 1) * 2^-24 * sum_h |w_h| sum_d |q_hd k_d| |kscale|.
//   fp8_mma    : an fp8 tensor-core dot (Hopper wgmma / mma.sync, k = 32 per instruction, the
//                accumulator kept with 13 fraction bits and truncated: DeepSeek-V3 technical
//                report s3.3.2, PyTorch's FP8 accumulation note), then an fp32 epilogue in any
//                order, fused or not. The bound follows the dot instruction by instruction.
//   bf16_out   : (option of either) the logit is finally rounded to bfloat16.
// Elements outside the valid and future columns, and elements whose inputs hold a NaN code or a
// non-finite weight (the comparator checks NaN/Inf positions exactly), get bound 0.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mqa/logits.hpp"

namespace mqa {

enum class ToleranceModel : uint8_t { fp32_accum = 0, fp8_mma = 1 };
const char* to_string(ToleranceModel m);  // "fp32", "fp8_mma"
ToleranceModel tolerance_model_from_string(const std::string& s);

struct ToleranceSpec {
  ToleranceModel model = ToleranceModel::fp32_accum;
  bool bf16_out = false;
};

// The fp8_mma model's instruction: products per accumulation step and fraction bits kept.
inline constexpr int32_t kFp8MmaProductsPerStep = 32;
inline constexpr int32_t kFp8MmaFractionBits = 13;

// Bounds indexed like the output, r * regions.row_stride + c (the regions come from
// paged_logits_regions / ragged_logits_regions of the same problem). `expected` (the reference
// logits, same indexing) is needed with bf16_out only.
std::vector<double> paged_logits_bounds(const PagedLogitsProblem& p, const LogitsRegions& regions,
                                        const ToleranceSpec& spec, std::span<const float> expected = {});
std::vector<double> ragged_logits_bounds(const RaggedLogitsProblem& p, const LogitsRegions& regions,
                                         const ToleranceSpec& spec, std::span<const float> expected = {});

}  // namespace mqa
