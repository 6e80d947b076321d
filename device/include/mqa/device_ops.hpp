// The device implementation of the indexer ops, called with HOST pointers: each call validates
// its input exactly as the reference does (InvalidInput naming field and value), copies the
// inputs and the caller's output buffer to the GPU, runs the kernels and copies the output back,
// so bytes the op must not write keep whatever the caller put there (sentinels).
//
// The arguments are the reference's own problem descriptions (kcache.hpp, logits.hpp) so that a
// test calls both sides with one object. Platform-free: no HIP or CUDA type appears here.
#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "mqa/kcache.hpp"
#include "mqa/logits.hpp"

namespace mqa::device {

// A GPU runtime call failed (not bad input: that is InvalidInput).
class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DeviceStatus {
  bool available = false;
  std::string reason;  // why not, e.g. "no GPU: hipGetDeviceCount returned cudaErrorNoDevice (...)"
  std::string name;    // the device's name when available
};

// Never throws. Built without a device compiler: available = false with that reason.
DeviceStatus device_status();

// Which kernel computes the logits. `fast` is the clearly fenced per-vendor path (NVIDIA: int8
// tensor cores over exact fixed-point limbs); `automatic` takes it where it fits, else `generic`.
enum class LogitsPath : uint8_t { automatic = 0, generic = 1, fast = 2 };
const char* to_string(LogitsPath p);
// Whether this build has the fast path, and whether it covers (heads, head_dim).
bool fast_path_compiled();
bool fast_path_fits(int32_t heads, int32_t head_dim);
// The kernel a logits launch of this shape runs: "generic", "tw3" (the fast default: heads <= 64
// with direct copies, i.e. pages of >= 16 tokens and 16-byte aligned strides) or "lean2" (the
// fast fallback; also forced by the environment's MQA_FAST_KERNEL=lean2). Throws DeviceError for
// `fast` where it does not fit and for an MQA_FAST_KERNEL other than tw3 / lean2. Needs no GPU.
std::string chosen_logits_kernel(LogitsPath path, int32_t heads, int32_t head_dim, bool direct_copies);

// What the device kernels cover; anything else is refused with a reason (empty = supported).
// quant: variant exact only; logits: profile exact only, heads a power of two <= 128,
// head_dim <= 128; page sizes and layouts: whatever validate_page_layout accepts.
std::string unsupported_quant(QuantVariant v);
std::string unsupported_logits(Profile profile, int32_t heads, int32_t head_dim);

// Quantise-and-cache (`exact` variant), in place on the pool p.cache views (host memory).
void quantize_and_cache(const QuantCacheProblem& p);

// Gather into standard row-major [sum lens, D] values and [sum lens, 4*D/Qb] scale bytes.
void gather_k_cache(const GatherProblem& p, uint8_t* values_out, uint8_t* scales_out);

// Writes the defined region [valid_begin, valid_end) of each row, and -inf to the rest of
// [0, cols) with clean_logits; nothing else of `out`.
void paged_mqa_logits(const PagedLogitsProblem& p, float* out, int64_t out_row_stride,
                      LogitsPath path = LogitsPath::automatic);
void ragged_mqa_logits(const RaggedLogitsProblem& p, float* out, int64_t out_row_stride,
                       LogitsPath path = LogitsPath::automatic);

}  // namespace mqa::device
