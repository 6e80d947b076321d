// Random case descriptors and the descriptor shrinker, shared by the fuzz campaign and the
// RapidCheck generators (mqa/case_gen.hpp). Case i of a campaign is a pure function of
// (seed, i, options), so `--shard i/N` splits a campaign without coordination.
//
// Targeted campaigns: GenOptions' lists restrict what is drawn (the `mqa-harness fuzz` options
// of the same names), and a kernel's supports() answers can narrow them further
// (narrow_to_supported) and redraw what it still refuses (random_supported_case). The logic
// lives here, not in the CLI, so that any front end (a Python API) draws the same cases.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mqa/case.hpp"

namespace mqa {

// The scale of a campaign (`--tier`, mqa/case_tiers.hpp): `small` is sized for a CPU kernel (the
// defaults below); `deployed` draws production sizes for GPU kernels (batch up to 256, L up to
// 160K, logits past 2^31 bytes, pools past 2^32 bytes for every op that takes a pool).
enum class Tier : uint8_t { small = 0, deployed = 1 };

// 1-D or 2-D context lengths of paged_logits cases (`--lens-2d off|on|any`); other ops are 1-D.
enum class LensShape : uint8_t { any = 0, one_d = 1, two_d = 2 };

struct GenOptions {
  // Constraints. An empty list leaves the field to the generator's edge-weighted defaults; a
  // non-empty one draws only its values (uniformly; repeat a value to weight it).
  // `ops` empty means every op the other constraints leave: a profile list without `exact`
  // leaves the logits ops (quant_cache and gather take no profile), next_n without 1 and 2-D
  // lens leave paged_logits. An op listed explicitly that a constraint rules out, and
  // constraints that leave nothing to draw, are rejected (InvalidInput naming the options).
  std::vector<CaseOp> ops;              // --ops
  std::vector<Profile> profiles;        // --profile (logits ops; default: exact 70%, else any that applies)
  std::vector<PageLayoutKind> layouts;  // --layouts
  std::vector<int32_t> page_sizes;      // --page-sizes: B (preshuffle16 draws only the multiples of 16)
  std::vector<int32_t> heads;           // --heads: powers of two; overrides max_heads and RapidCheck's size
  std::vector<int32_t> head_dims;       // --head-dims: multiples of 32
  std::vector<int32_t> next_n;          // --next-n: paged_logits (the other ops have next_n = 1)
  std::vector<Fp8Encoding> encodings;   // --encodings
  LensShape lens = LensShape::any;      // --lens-2d
  // Sizes.
  int64_t max_tokens = 2048;  // written tokens per case (sum over sequences)
  int32_t max_batch = 17;     // --batch: sequences per case
  int32_t max_len = -1;       // --max-len: longest sequence (paged: a row's context); -1: only max_tokens
  int32_t max_heads = 64;     // bounds the default heads (not an explicit `heads` list)
  int32_t max_rows = 64;      // ragged M
  int32_t max_ragged_tokens = 512;  // --max-ragged-tokens: ragged k rows N (the cost is M * N * H * D)
  bool high_page_ids = true;  // sometimes pools past 65,536 pages / 2^32 bytes
  // The value keys (fp32 / fp16 K sources, amax at FMAX*2^e, NaN codes, odd weights and
  // scales); false (`--no-special-values`) draws every case as before they existed.
  bool special_values = true;
  int32_t size = 100;         // 0..100: scales lengths and counts (RapidCheck's size)
  // Production scale (set by tier_options(Tier::deployed); each 0 / false draws nothing extra,
  // so the small tier's cases are exactly those of the options above).
  Tier tier = Tier::small;      // which tier's defaults the sizes above started from
  int32_t size_spread = 0;      // token budget max_tokens >> u, u uniform in [0, size_spread]
  int32_t wide_logits_percent = 0;  // paged: % of cases with 513..600 rows of 2^20 columns (> 2^31 bytes)
  bool sparse_pools_all_ops = false;  // pools past 2^32 bytes for quant_cache and gather too
  int32_t any_page_size_percent = 0;  // without --page-sizes: % of cases with B any multiple of 16 in [16, 512]
};

// Throws InvalidInput naming the option (e.g. "--page-sizes", "--ops") for a bad value, an
// explicit op a constraint rules out, or constraints that leave nothing to draw.
void check_gen_options(const GenOptions& opt);

// The ops random_case draws under opt (throws like check_gen_options).
std::vector<CaseOp> drawable_ops(const GenOptions& opt);

// The constraints of opt as options text, e.g. "--ops paged_logits --page-sizes 64" ("" = none).
std::string describe_constraints(const GenOptions& opt);

// A valid descriptor (materialize() accepts it), edge-weighted: lengths 0, 1, B-1, B, B+1,
// 256k +- 1, the table's capacity; pools with ids >= 65,536; padded strides and tables.
// Throws InvalidInput when opt is rejected by check_gen_options.
CaseDescriptor random_case(uint64_t seed, uint64_t index, const GenOptions& opt = {});

// Sub-draw `attempt` of case `index`: attempt 0 is random_case(seed, index, opt), the others
// are independent draws under the same options (for redrawing what a kernel does not support).
CaseDescriptor random_case_attempt(uint64_t seed, uint64_t index, uint32_t attempt, const GenOptions& opt);

// ---- what a kernel supports -------------------------------------------------------------
// The fields a kernel's supports() is asked about (kut.h mqa_case_shape): op, layout, B, D, Qb,
// encoding, H, next_n, profile, quant variant, ue8m0, lens_2d, clean_logits; every other field at
// its default. Fields the op does not use are set to one fixed value (layout standard, B 64 for
// ragged_logits; H 64 for quant_cache and gather; quant exact, no ue8m0 except for
// quant_cache), so that every drawn case maps onto a shape of drawable_shapes().
CaseDescriptor kernel_shape(const CaseDescriptor& d);

// Every kernel_shape() random_case can draw under opt (with size 100), each once.
std::vector<CaseDescriptor> drawable_shapes(const GenOptions& opt);

// opt restricted to the field values that the supported shapes (supported[i] for shapes[i],
// from drawable_shapes(opt)) use, so a kernel with a narrow support set (a DeepGEMM SM90 paged
// kernel) gets cases it runs. A field whose values are all used stays as it was, so opt comes
// back unchanged when every shape is supported; also when none is. What the product of the
// narrowed lists still holds that the kernel refuses is left to random_supported_case.
GenOptions narrow_to_supported(const GenOptions& opt, const std::vector<CaseDescriptor>& shapes,
                               const std::vector<bool>& supported);

// "" when the kernel takes a case of this descriptor's shape, else its reason.
using ShapeRefusal = std::function<std::string(const CaseDescriptor&)>;

struct SupportedDraw {
  CaseDescriptor desc;                // the first supported sub-draw (or the last one tried)
  bool supported = true;              // false: all max_attempts sub-draws were refused
  std::vector<std::string> refusals;  // the reason of each refused sub-draw, in order
};

// Case `index` drawn until `refusal` accepts it: sub-draws 0, 1, ... max_attempts-1
// (random_case_attempt), deterministic. A null `refusal` accepts the first.
SupportedDraw random_supported_case(uint64_t seed, uint64_t index, const GenOptions& opt, const ShapeRefusal& refusal,
                                    int32_t max_attempts);

// ---- shrinking ----------------------------------------------------------------------------
// Simpler neighbours of d, most aggressive first: fewer sequences, shorter lengths, fewer
// heads, smaller D / B / next_n / M, default pool, stride, table padding, profile, values.
// Every candidate is valid when d is; none equals d.
std::vector<CaseDescriptor> shrink_candidates(const CaseDescriptor& d);

// Why a shrink ended: no candidate of the result fails any more (a local minimum), or a
// budget ran out first, and then the result may not be minimal.
enum class ShrinkStop : uint8_t { minimal = 0, step_limit = 1, time_limit = 2 };
const char* to_string(ShrinkStop s);  // "minimal" | "step_limit" | "time_limit"

struct ShrinkResult {
  CaseDescriptor desc;  // the smallest failing descriptor found
  int32_t steps = 0;    // candidates tried
  ShrinkStop stop = ShrinkStop::minimal;
};

struct NoDeadline {
  bool operator()() const { return false; }
};

// Greedy shrink: repeatedly take the first candidate that still fails, until none does, or
// `max_steps` candidates were tried, or `expired()` says the time is up (asked before each).
template <class Fails, class Expired = NoDeadline>
ShrinkResult shrink_bounded(CaseDescriptor d, Fails&& fails, int32_t max_steps, Expired&& expired = {}) {
  ShrinkResult r{std::move(d), 0, ShrinkStop::minimal};
  for (;;) {
    bool progress = false;
    for (const CaseDescriptor& c : shrink_candidates(r.desc)) {
      if (r.steps >= max_steps) { r.stop = ShrinkStop::step_limit; return r; }
      if (expired()) { r.stop = ShrinkStop::time_limit; return r; }
      ++r.steps;
      if (fails(c)) { r.desc = c; progress = true; break; }
    }
    if (!progress) return r;  // every candidate of r.desc passes: a local minimum
  }
}

// The same, without a deadline; `stop` (when given) says whether the step limit ended it.
template <class Fails>
CaseDescriptor shrink_case(CaseDescriptor d, Fails&& fails, int max_steps = 400, int* steps_taken = nullptr,
                           ShrinkStop* stop = nullptr) {
  ShrinkResult r = shrink_bounded(std::move(d), fails, max_steps);
  if (steps_taken) *steps_taken = r.steps;
  if (stop) *stop = r.stop;
  return std::move(r.desc);
}

// A cost measure (for tests of the shrinker): tokens + rows*heads + D + B.
int64_t case_size(const CaseDescriptor& d);

}  // namespace mqa
