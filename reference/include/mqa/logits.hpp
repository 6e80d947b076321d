// Host reference of the MQA-logits ops (ops.md sections 3-4) under the canonical `exact`
// contract and the `deepgemm_sm90` profile (numerics.md), plus the output regions every
// consumer must respect. Implemented in reference/src/logits_*.cpp.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "mqa/fp8.hpp"
#include "mqa/layout.hpp"

namespace mqa {

enum class Profile : uint8_t { exact = 0, deepgemm_sm90 = 1 };
const char* to_string(Profile p);
Profile profile_from_string(const std::string& s);

// Per output row: columns [valid_begin, valid_end) are defined (compared bitwise);
// [valid_end, future_end) are "future" logits that upstream kernels may write (next_n > 1);
// everything else in [0, cols) is undefined, or -inf when clean_logits is on.
struct RowRegion {
  int64_t valid_begin;
  int64_t valid_end;
  int64_t future_end;
};

struct LogitsRegions {
  int64_t rows = 0;
  int64_t cols = 0;        // logical columns: max_context_len (paged) or N (ragged)
  int64_t row_stride = 0;  // floats between rows of the output buffer (>= cols)
  std::vector<RowRegion> row;
};

// Paged MQA logits (decode / MTP verify). Row r = b*next_n + j.
struct PagedLogitsProblem {
  PagedCacheLayout cache;          // cache.page.head_dim = D; the logits ops need Qb == D
  const uint8_t* cache_bytes = nullptr;
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;  // of q and of the cache
  const uint8_t* q = nullptr;      // [batch, next_n, heads, D] codes
  int32_t batch = 0, next_n = 1, heads = 0;
  const float* weights = nullptr;  // [batch*next_n, heads]
  const int32_t* context_lens = nullptr;  // [batch] (lens_2d false) or [batch, next_n]
  bool lens_2d = false;
  BlockTableView table{};
  int32_t max_context_len = 0;
  bool clean_logits = false;
  Profile profile = Profile::exact;
};

// Ragged MQA logits (prefill): row i scores k rows [ks[i], ke[i]).
struct RaggedLogitsProblem {
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;
  const uint8_t* q = nullptr;       // [M, heads, D]
  int32_t M = 0, heads = 0, head_dim = 0;
  const uint8_t* k = nullptr;       // [N, D]
  const float* kscale = nullptr;    // [N]
  int32_t N = 0;
  const float* weights = nullptr;   // [M, heads]
  const int32_t* ks = nullptr;      // [M]
  const int32_t* ke = nullptr;      // [M]
  bool clean_logits = false;
  Profile profile = Profile::exact;
};

// Validates (InvalidInput naming field and value) and returns the regions of each row.
// read_scales = false: the k scales are not read (so cache_bytes / k / kscale may be device
// pointers; every other pointer is read: lens, table, ks, ke must be host memory), and a
// non-finite scale is not diagnosed. Kernel-under-test ABI version 2 validates this way.
LogitsRegions paged_logits_regions(const PagedLogitsProblem& p, int64_t out_row_stride, bool read_scales = true);
LogitsRegions ragged_logits_regions(const RaggedLogitsProblem& p, int64_t out_row_stride, bool read_scales = true);

// Fast exact reference (threaded). Writes [valid_begin, valid_end) of each row, and -inf to the
// rest of [0, cols) when clean_logits; leaves every other float of `out` as the caller had it.
void paged_mqa_logits(const PagedLogitsProblem& p, float* out, int64_t out_row_stride);
void ragged_mqa_logits(const RaggedLogitsProblem& p, float* out, int64_t out_row_stride);

// The naive oracle: the contract written for clarity (int64 fixed-point dot products, scalar
// loops, no shortcuts). The fast path is tested bitwise against it.
void paged_mqa_logits_naive(const PagedLogitsProblem& p, float* out, int64_t out_row_stride);
void ragged_mqa_logits_naive(const RaggedLogitsProblem& p, float* out, int64_t out_row_stride);

// Worker threads of the fast path: 0 (default) = std::thread::hardware_concurrency(). The output
// does not depend on it (every value is exact before the fixed-order fp32 epilogue).
void set_logits_threads(int threads);
int logits_threads();

// Every NaN logit the reference writes is this one (+qNaN); comparators treat all NaNs alike.
inline constexpr uint32_t kCanonicalNanBits = 0x7FC00000u;

}  // namespace mqa
