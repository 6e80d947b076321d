// The device generator of a case's inputs (kut ABI version 2's route): a paged_logits case's
// pool, q codes and weights built on the GPU from the descriptor, bit-identical to the host's
// materialize(). Each device op is paired with its host reference, as in device_oracle.hpp:
//   the token kernel (K source, quantise, friendly codes, planted NaN codes and odd scales)
//       <->  materialize()'s cache (fill_k_source + quantize_and_cache, friendly_token,
//            plant_cache_specials), both through mqa/case_elements.hpp and mqa/quant.hpp
//   the q and weight kernels  <->  fill_q / fill_weights (q_code, weight)
//   the pool prefill          <->  make_pool(true): a dense pool is the compact cache (every page
//                                  sentinel-filled before the write), a sparse one zeros with the
//                                  used pages sentinel-filled
// tests/device/test_case_gen_device.cpp compares every byte with materialize()'s. The host keeps
// the shape (table, page ids, slot mapping: mqa::materialize_layout). Platform-free: no HIP or
// CUDA type here; without a device compiler every call throws DeviceError "no GPU: ...".
#pragma once
#include <cstdint>

#include "mqa/case_elements.hpp"
#include "mqa/layout.hpp"

namespace mqa::device {

// The largest head_dim the token kernel holds in registers / local memory (one token a thread).
inline constexpr int32_t kGenMaxHeadDim = 128;  // = the oracle's D limit

// One case's generation: device pointers for slots and page_ids.
struct PagedInputsPlan {
  casegen::ValueKeys keys;
  PagedCacheLayout pool;           // the kernel-visible pool (every page id < pool.num_pages)
  bool sparse = false;             // false: every page sentinel-filled; true: zeros, used pages sentinel
  bool from_source = true;         // the K source quantised (exact variant); false: friendly codes
  const int64_t* slots = nullptr;  // [tokens] physical slot of token i, -1 for padding
  int64_t tokens = 0;
  const int64_t* page_ids = nullptr;  // [used_pages] the pages the case uses (sparse only)
  int64_t used_pages = 0;
  int64_t q_codes = 0;  // rows * H * D
  int64_t weights = 0;  // rows * H
};

// What the host's materialize() would have refused, counted while generating: a non-finite K
// source value of a written token (quantize_and_cache: "not finite") and a non-finite k scale
// written (paged rows read every written token: paged_logits_regions' kscale check). The
// generator's inputs never hold one (finite by construction); a count > 0 sends the caller to
// the host's materialize() for its verdict.
struct GeneratedCounts {
  int64_t nonfinite_k = 0;
  int64_t nonfinite_scales = 0;
};

// Fills `pool` (pool.total_bytes() bytes), `q` (q_codes bytes) and `weights` (weights floats),
// enqueued on `stream`; waits for it and returns the counts. InvalidInput for a plan the kernels
// cannot run (head_dim > kGenMaxHeadDim, a quant variant other than exact from a source).
GeneratedCounts generate_paged_inputs(const PagedInputsPlan& plan, uint8_t* pool, uint8_t* q, float* weights,
                                      void* stream);

}  // namespace mqa::device
