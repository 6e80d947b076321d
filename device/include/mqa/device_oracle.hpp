// The device side of kernel-under-test ABI version 2 (kut.h): device memory and a stream, the
// built-in HIP oracle on device pointers, and the comparator's bitwise / ulp:N checks run on
// the GPU, so that a GPU kernel is judged without its inputs or outputs crossing to the host.
//
// Each device op here has its host reference, and the GPU tests hold them equal:
//   paged/ragged_mqa_logits_on_device  <->  mqa::paged/ragged_mqa_logits (logits.hpp)
//   compare_logits_on_device           <->  mqa::compare_logits's verdict and counts (compare.hpp)
//   scatter_pages                      <->  CaseTensors::make_pool(true) of a sparse pool
// Platform-free: no HIP or CUDA type appears here (a stream is a void*). Built without a device
// compiler, every function throws DeviceError "no GPU: ..." (device_status()'s reason).
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#include "mqa/compare.hpp"
#include "mqa/device_ops.hpp"

namespace mqa::device {

// An owning device allocation of `bytes` bytes (0 allowed: no allocation).
class DeviceBytes {
 public:
  DeviceBytes() = default;
  explicit DeviceBytes(size_t bytes);
  ~DeviceBytes();
  DeviceBytes(DeviceBytes&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBytes& operator=(DeviceBytes&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
  void* get() const { return p_; }
  template <class T>
  T* as() const { return static_cast<T*>(p_); }
  size_t size() const { return n_; }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

// A stream of the current device (hipStream_t / cudaStream_t behind handle()).
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void* handle() const { return s_; }
  // Waits for the stream; a runtime error of its work is a DeviceError naming `what`.
  void synchronize(const char* what) const;

 private:
  void* s_ = nullptr;
};

// Waits for a stream given as the ABI's void* (plugins: their own work before a read-back).
void synchronize_stream(void* stream, const char* what);

// Synchronous copies (the stream's earlier work is NOT waited for: synchronize first).
void copy_to_device(void* device_dst, const void* host_src, size_t bytes);
void copy_to_host(void* host_dst, const void* device_src, size_t bytes);
// Enqueued on `stream`: `count` 32-bit words of `bits`, or `bytes` bytes of `value`.
void fill_words(void* device_dst, uint32_t bits, size_t count, void* stream);
void fill_bytes(void* device_dst, uint8_t value, size_t bytes, void* stream);

// Page c of `compact` (bytes [c * stride, (c + 1) * stride)) to page page_ids[c] of `pool`
// (device pointers; page_ids a device array of `pages` ids), enqueued on `stream`.
void scatter_pages(uint8_t* pool, const uint8_t* compact, const int64_t* page_ids, int64_t pages, int64_t stride,
                   void* stream);

// The built-in HIP kernels on device pointers: `p` holds DEVICE pointers for every tensor
// (cache_bytes, q, weights, context_lens, table.data; ragged: q, k, kscale, weights, ks, ke);
// `regions` is what paged/ragged_logits_regions() computed on the caller's host copies of
// the same problem (the shape checks need host values). Writes exactly what the host-pointer
// op writes into `out` (device, the rows of `regions` at out_row_stride) and waits for the
// stream before it returns. InvalidInput when regions and problem disagree.
void paged_mqa_logits_on_device(const PagedLogitsProblem& p, const LogitsRegions& regions, float* out,
                                int64_t out_row_stride, void* stream, LogitsPath path = LogitsPath::automatic);
void ragged_mqa_logits_on_device(const RaggedLogitsProblem& p, const LogitsRegions& regions, float* out,
                                 int64_t out_row_stride, void* stream, LogitsPath path = LogitsPath::automatic);

// What compare_logits_on_device sends back: 24 bytes, whatever the size of the buffers.
struct DeviceCompareCounts {
  int64_t compared = 0;     // = CompareReport::compared of the host comparator
  int64_t mismatched = 0;   // = CompareReport::mismatched
  int64_t first_index = -1; // the lowest float index that failed (-1: none)
};

// Whether `mode` can be judged on the device: "" if so, else why not (tolerance models need
// per-element bounds computed on the host; calc_diff needs the host's double sums).
std::string device_compare_refusal(const CompareMode& mode);

// compare_logits()'s element policy on device buffers (expected and actual: `floats` floats
// each, the sentinel check covering every float of actual past the regions, as on the host):
// bitwise or ulp:N, zero_sign_equal, future, clean, sentinel, writes. Waits for the stream.
// InvalidInput for a mode device_compare_refusal() refuses or inconsistent regions.
DeviceCompareCounts compare_logits_on_device(const float* expected, const float* actual, int64_t floats,
                                             const LogitsRegions& regions, const CompareMode& mode,
                                             void* stream);

}  // namespace mqa::device
