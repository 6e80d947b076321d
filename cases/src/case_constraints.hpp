// Private to the case generator: the value sets random_case draws from under a GenOptions,
// resolved and checked once (case_constraints.cpp), and the generator's default choices.
#pragma once
#include <cstdint>
#include <vector>

#include "mqa/case_random.hpp"

namespace mqa::gen {

// The generator's own choices (repeats weight them), used when a constraint list is empty.
inline constexpr int32_t kPageSizesStandard[] = {1, 16, 16, 32, 48, 64, 64, 128, 256};
inline constexpr int32_t kPageSizesPreshuffle[] = {16, 16, 32, 48, 64, 64, 128, 256};
inline constexpr int32_t kHeads[] = {8, 16, 32, 64, 128, 1, 2};
inline constexpr int32_t kHeadDims[] = {32, 64, 128};
inline constexpr int32_t kNextN[] = {1, 1, 1, 2, 2, 3, 4};
inline constexpr int32_t kRaggedMaxHeads = 32;  // ragged costs M * N * H: fewer heads by default
inline constexpr int32_t kGroupHeads = 8;       // deepgemm_sm90 sums heads in groups of 8

struct DrawSets {
  std::vector<CaseOp> ops;              // drawable ops (an explicit list keeps its repeats)
  std::vector<PageLayoutKind> layouts;  // layouts with at least one allowed page size
  std::vector<Profile> profiles;        // {exact, deepgemm_sm90} unless constrained
  bool need8 = false;                   // no exact profile allowed: every H is a multiple of 8
};

// Checks opt (InvalidInput naming the option) and resolves what can be drawn.
DrawSets resolve(const GenOptions& opt);

bool page_size_fits(PageLayoutKind layout, int32_t B);

// The page sizes an explicit --page-sizes list allows for a layout (empty list: none given).
std::vector<int32_t> allowed_page_sizes(const GenOptions& opt, PageLayoutKind layout);

// The largest default H for an op (max_heads scaled by size; ragged at most 32; >= 8 when need8).
int32_t default_max_heads(const GenOptions& opt, const DrawSets& s, CaseOp op);

}  // namespace mqa::gen
