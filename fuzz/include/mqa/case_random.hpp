// Random case descriptors and the descriptor shrinker, shared by the fuzz campaign and the
// RapidCheck generators (mqa/case_gen.hpp). Case i of a campaign is a pure function of
// (seed, i, options), so `--shard i/N` splits a campaign without coordination.
#pragma once
#include <cstdint>
#include <vector>

#include "mqa/case.hpp"

namespace mqa {

struct GenOptions {
  std::vector<CaseOp> ops = {CaseOp::quant_cache, CaseOp::gather, CaseOp::paged_logits, CaseOp::ragged_logits};
  std::vector<Profile> profiles = {Profile::exact, Profile::deepgemm_sm90};
  std::vector<PageLayoutKind> layouts = {PageLayoutKind::standard, PageLayoutKind::preshuffle16};
  int64_t max_tokens = 2048;  // written tokens per case (sum over sequences)
  int32_t max_batch = 17;
  int32_t max_heads = 64;
  int32_t max_rows = 64;      // ragged M
  bool high_page_ids = true;  // sometimes pools past 65,536 pages / 2^32 bytes
  int32_t size = 100;         // 0..100: scales lengths and counts (RapidCheck's size)
};

// A valid descriptor (materialize() accepts it), edge-weighted: lengths 0, 1, B-1, B, B+1,
// 256k +- 1, the table's capacity; pools with ids >= 65,536; padded strides and tables.
CaseDescriptor random_case(uint64_t seed, uint64_t index, const GenOptions& opt = {});

// Simpler neighbours of d, most aggressive first: fewer sequences, shorter lengths, fewer
// heads, smaller D / B / next_n / M, default pool, stride, table padding, profile, values.
// Every candidate is valid when d is; none equals d.
std::vector<CaseDescriptor> shrink_candidates(const CaseDescriptor& d);

// Greedy shrink: repeatedly take the first candidate that still fails, until none does or
// `max_steps` candidates were tried. Returns the smallest failing descriptor found.
template <class Fails>
CaseDescriptor shrink_case(CaseDescriptor d, Fails&& fails, int max_steps = 400, int* steps_taken = nullptr) {
  int steps = 0;
  for (bool progress = true; progress && steps < max_steps;) {
    progress = false;
    for (const CaseDescriptor& c : shrink_candidates(d)) {
      if (++steps > max_steps) break;
      if (fails(c)) { d = c; progress = true; break; }
    }
  }
  if (steps_taken) *steps_taken = steps;
  return d;
}

// A cost measure (for tests of the shrinker): tokens + rows*heads + D + B.
int64_t case_size(const CaseDescriptor& d);

}  // namespace mqa
