// The device API of a build without a device compiler (MQA_CUDA=OFF, or AUTO without nvcc):
// every op refuses with that reason, so callers (the kernel-under-test registry, the device
// tests) report "unsupported" instead of failing to link.
#include "mqa/device_case_gen.hpp"
#include "mqa/device_oracle.hpp"

namespace mqa::device {

namespace {
constexpr const char* kWhy = "no GPU: this build has no device code (configure with MQA_CUDA=ON and nvcc)";
}

DeviceStatus device_status() { return DeviceStatus{false, kWhy, {}}; }
bool fast_path_compiled() { return false; }
bool fast_path_fits(int32_t, int32_t) { return false; }
std::string chosen_logits_kernel(LogitsPath, int32_t, int32_t, bool) { throw DeviceError(kWhy); }

void quantize_and_cache(const QuantCacheProblem&) { throw DeviceError(kWhy); }
void gather_k_cache(const GatherProblem&, uint8_t*, uint8_t*) { throw DeviceError(kWhy); }
void paged_mqa_logits(const PagedLogitsProblem&, float*, int64_t, LogitsPath) { throw DeviceError(kWhy); }
void ragged_mqa_logits(const RaggedLogitsProblem&, float*, int64_t, LogitsPath) { throw DeviceError(kWhy); }

// ABI version 2's device side (device_oracle.hpp): nothing can be allocated or run.
DeviceBytes::DeviceBytes(size_t bytes) : n_(bytes) {
  if (bytes > 0) throw DeviceError(kWhy);
}
DeviceBytes::~DeviceBytes() = default;
Stream::Stream() { throw DeviceError(kWhy); }
Stream::~Stream() = default;
void Stream::synchronize(const char*) const { throw DeviceError(kWhy); }
void synchronize_stream(void*, const char*) { throw DeviceError(kWhy); }
void copy_to_device(void*, const void*, size_t) { throw DeviceError(kWhy); }
void copy_to_host(void*, const void*, size_t) { throw DeviceError(kWhy); }
void fill_words(void*, uint32_t, size_t, void*) { throw DeviceError(kWhy); }
void fill_bytes(void*, uint8_t, size_t, void*) { throw DeviceError(kWhy); }
void scatter_pages(uint8_t*, const uint8_t*, const int64_t*, int64_t, int64_t, void*) { throw DeviceError(kWhy); }
void paged_mqa_logits_on_device(const PagedLogitsProblem&, const LogitsRegions&, float*, int64_t, void*,
                                LogitsPath) {
  throw DeviceError(kWhy);
}
void ragged_mqa_logits_on_device(const RaggedLogitsProblem&, const LogitsRegions&, float*, int64_t, void*,
                                 LogitsPath) {
  throw DeviceError(kWhy);
}
DeviceCompareCounts compare_logits_on_device(const float*, const float*, int64_t, const LogitsRegions&,
                                             const CompareMode&, void*) {
  throw DeviceError(kWhy);
}
GeneratedCounts generate_paged_inputs(const PagedInputsPlan&, uint8_t*, uint8_t*, float*, void*) {
  throw DeviceError(kWhy);
}

}  // namespace mqa::device
