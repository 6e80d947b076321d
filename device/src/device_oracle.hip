// Device memory, streams, the sentinel fill, the page scatter and the on-device comparator of
// kernel-under-test ABI version 2 (mqa/device_oracle.hpp). The comparator classifies every
// float exactly as compare_logits() does (reference/src/compare_logits.cpp) and sends back
// three numbers; the GPU tests hold its counts equal to the host comparator's.
#include <string>
#include <vector>

#include "device_common.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/validate.hpp"

namespace mqa::device {

using detail::check;

DeviceBytes::DeviceBytes(size_t bytes) : n_(bytes) {
  if (bytes == 0) return;
  detail::require_device();
  check(hipMalloc(&p_, bytes), ("hipMalloc of " + std::to_string(bytes) + " bytes").c_str());
}
DeviceBytes::~DeviceBytes() {
  if (p_ != nullptr) (void)hipFree(p_);
}

Stream::Stream() {
  detail::require_device();
  hipStream_t s = nullptr;
  check(hipStreamCreate(&s), "hipStreamCreate");
  s_ = s;
}
Stream::~Stream() {
  if (s_ != nullptr) (void)hipStreamDestroy(static_cast<hipStream_t>(s_));
}
void Stream::synchronize(const char* what) const { synchronize_stream(s_, what); }

void synchronize_stream(void* stream, const char* what) {
  const hipError_t e = hipStreamSynchronize(static_cast<hipStream_t>(stream));
  if (e != hipSuccess) throw DeviceError(std::string(what) + ": the stream's work failed: " + hipGetErrorString(e));
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes > 0) check(hipMemcpy(dst, src, bytes, hipMemcpyHostToDevice), "hipMemcpy(host to device)");
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes > 0) check(hipMemcpy(dst, src, bytes, hipMemcpyDeviceToHost), "hipMemcpy(device to host)");
}

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n, int64_t per_thread = 1) {
  const int64_t b = (n + kThreads * per_thread - 1) / (kThreads * per_thread);
  return unsigned(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

__global__ void fill_words_kernel(uint32_t* p, uint32_t bits, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i] = bits;
}

// One block row per page, 4-byte words when the stride allows, else bytes.
__global__ void scatter_pages_kernel(uint8_t* pool, const uint8_t* compact, const int64_t* ids, int64_t pages,
                                     int64_t stride) {
  for (int64_t c = blockIdx.x; c < pages; c += gridDim.x) {
    uint8_t* dst = pool + ids[c] * stride;
    const uint8_t* src = compact + c * stride;
    if (stride % 4 == 0) {
      for (int64_t w = threadIdx.x; w < stride / 4; w += blockDim.x)
        reinterpret_cast<uint32_t*>(dst)[w] = reinterpret_cast<const uint32_t*>(src)[w];
    } else {
      for (int64_t b = threadIdx.x; b < stride; b += blockDim.x) dst[b] = src[b];
    }
  }
}

constexpr uint32_t kNegInf = 0xFF800000u;
__device__ bool is_nan(uint32_t x) { return (x & 0x7FFFFFFFu) > 0x7F800000u; }
__device__ bool is_zero(uint32_t x) { return (x & 0x7FFFFFFFu) == 0; }
__device__ bool is_inf(uint32_t x) { return (x & 0x7FFFFFFFu) == 0x7F800000u; }
// compare.hpp ulp_distance: the ordered-integer mapping, +0 and -0 both 0.
__device__ uint64_t ulp_of(uint32_t a, uint32_t b) {
  const int64_t x = (a & 0x80000000u) ? -int64_t(a & 0x7FFFFFFFu) : int64_t(a);
  const int64_t y = (b & 0x80000000u) ? -int64_t(b & 0x7FFFFFFFu) : int64_t(b);
  return uint64_t(x > y ? x - y : y - x);
}

struct RowRange {
  int64_t valid_begin, valid_end, future_end;
};

struct DeviceMode {
  int32_t ulp_mode;  // 0 bitwise, 1 ulp:N
  uint32_t max_ulp;
  int32_t zero_sign_equal, future, clean, has_sentinel, writes_defined;
  uint32_t sentinel;
};

struct CompareShape {
  int64_t rows, cols, row_stride, floats;
};

// 0: acceptable; 1: a failure. Mirrors ValueChecker::check for a pair with different bits.
__device__ int value_fails(uint32_t e, uint32_t a, const DeviceMode& m) {
  if (m.has_sentinel && a == m.sentinel) return 1;  // unwritten
  if (is_nan(e) || is_nan(a)) return is_nan(e) && is_nan(a) ? 0 : 1;
  if (is_zero(e) && is_zero(a)) return m.zero_sign_equal ? 0 : 1;
  if (is_inf(e) || is_inf(a)) return 1;  // bits differ
  return m.ulp_mode && ulp_of(e, a) <= m.max_ulp ? 0 : 1;
}

// Per float: (checked, failed). The classification of compare_logits' one pass.
__device__ void judge(int64_t i, const uint32_t* exp, const uint32_t* act, const RowRange* rows, const CompareShape& s,
                      const DeviceMode& m, int& checked, int& failed) {
  const uint32_t a = act[i];
  const bool beyond = s.row_stride == 0 || i >= s.rows * s.row_stride;
  const int64_t r = beyond ? 0 : i / s.row_stride, c = beyond ? 0 : i % s.row_stride;
  if (beyond || c >= s.cols) {  // padding / beyond: the sentinel only
    checked = m.has_sentinel;
    failed = m.has_sentinel && a != m.sentinel;
    return;
  }
  const RowRange g = rows[r];
  const bool valid = c >= g.valid_begin && c < g.valid_end;
  const bool future = !valid && c >= g.valid_end && c < g.future_end;
  if (valid || (future && m.future)) {
    const uint32_t e = exp[i];
    checked = 1;
    failed = e != a && value_fails(e, a, m);
  } else if (m.clean) {
    checked = 1;
    failed = a != kNegInf;
  } else if (m.has_sentinel && m.writes_defined) {
    checked = 1;
    failed = a != m.sentinel;
  } else {
    checked = failed = 0;
  }
}

// out[0] += checked, out[1] += failed, out[2] = min failing index (initialised to ~0).
__global__ void compare_kernel(const uint32_t* exp, const uint32_t* act, const RowRange* rows, CompareShape s,
                               DeviceMode m, unsigned long long* out) {
  __shared__ unsigned long long sum_checked[kThreads], sum_failed[kThreads], first[kThreads];
  unsigned long long ch = 0, fa = 0, fi = ~0ull;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < s.floats; i += int64_t(gridDim.x) * blockDim.x) {
    int c = 0, f = 0;
    judge(i, exp, act, rows, s, m, c, f);
    ch += unsigned(c);
    fa += unsigned(f);
    if (f && fi == ~0ull) fi = (unsigned long long)i;  // a thread's indices only grow
  }
  const unsigned t = threadIdx.x;
  sum_checked[t] = ch, sum_failed[t] = fa, first[t] = fi;
  __syncthreads();
  for (unsigned h = blockDim.x / 2; h > 0; h /= 2) {
    if (t < h) {
      sum_checked[t] += sum_checked[t + h];
      sum_failed[t] += sum_failed[t + h];
      if (first[t + h] < first[t]) first[t] = first[t + h];
    }
    __syncthreads();
  }
  if (t == 0) {
    atomicAdd(&out[0], sum_checked[0]);
    atomicAdd(&out[1], sum_failed[0]);
    if (first[0] != ~0ull) atomicMin(&out[2], first[0]);
  }
}

}  // namespace

void fill_words(void* dst, uint32_t bits, size_t count, void* stream) {
  if (count == 0) return;
  const auto s = static_cast<hipStream_t>(stream);
  hipLaunchKernelGGL(fill_words_kernel, dim3(blocks_for(int64_t(count), 8)), dim3(kThreads), 0, s,
                     static_cast<uint32_t*>(dst), bits, int64_t(count));
  check(hipGetLastError(), "launch of fill_words");
}

void fill_bytes(void* dst, uint8_t value, size_t bytes, void* stream) {
  if (bytes > 0) check(hipMemsetAsync(dst, value, bytes, static_cast<hipStream_t>(stream)), "hipMemsetAsync");
}

void scatter_pages(uint8_t* pool, const uint8_t* compact, const int64_t* page_ids, int64_t pages, int64_t stride,
                   void* stream) {
  if (pages < 0) reject("pages", pages, "must be >= 0");
  if (stride < 1) reject("page_stride", stride, "must be >= 1");
  if (pages == 0) return;
  const auto s = static_cast<hipStream_t>(stream);
  hipLaunchKernelGGL(scatter_pages_kernel, dim3(unsigned(pages < 65535 ? pages : 65535)), dim3(kThreads), 0, s, pool,
                     compact, page_ids, pages, stride);
  check(hipGetLastError(), "launch of scatter_pages");
}

DeviceCompareCounts compare_logits_on_device(const float* expected, const float* actual, int64_t floats,
                                             const LogitsRegions& g, const CompareMode& mode, void* stream) {
  if (const std::string why = device_compare_refusal(mode); !why.empty()) reject("compare_mode", mode.to_string(), why);
  if (int64_t(g.row.size()) != g.rows) reject("regions.row.size", g.row.size(), "must equal rows");
  if (g.row_stride < g.cols) reject("regions.row_stride", g.row_stride, "must be >= cols");
  const int64_t need = g.rows == 0 ? 0 : (g.rows - 1) * g.row_stride + g.cols;
  if (floats < need) reject("floats", floats, "need (rows-1)*row_stride + cols = " + std::to_string(need));
  std::vector<RowRange> host_rows(g.row.size());
  for (size_t r = 0; r < g.row.size(); ++r) {
    const RowRegion& x = g.row[r];
    if (x.valid_begin < 0 || x.valid_begin > x.valid_end || x.valid_end > x.future_end || x.future_end > g.cols)
      reject("regions.row[" + std::to_string(r) + "]", x.valid_begin, "inconsistent region");
    host_rows[r] = RowRange{x.valid_begin, x.valid_end, x.future_end};
  }
  DeviceCompareCounts out;
  if (floats == 0) return out;
  DeviceBytes rows(host_rows.size() * sizeof(RowRange)), sums(3 * sizeof(unsigned long long));
  copy_to_device(rows.get(), host_rows.data(), rows.size());
  const unsigned long long init[3] = {0, 0, ~0ull};
  copy_to_device(sums.get(), init, sizeof init);
  const DeviceMode m{mode.kind == CompareKind::ulp, mode.max_ulp, mode.zero_sign_equal, mode.future, mode.clean,
                     mode.sentinel.has_value(), mode.writes == WriteScope::defined, mode.sentinel.value_or(0)};
  const CompareShape s{g.rows, g.cols, g.row_stride, floats};
  const auto h = static_cast<hipStream_t>(stream);
  hipLaunchKernelGGL(compare_kernel, dim3(blocks_for(floats, 16)), dim3(kThreads), 0, h,
                     reinterpret_cast<const uint32_t*>(expected), reinterpret_cast<const uint32_t*>(actual),
                     rows.as<const RowRange>(), s, m, sums.as<unsigned long long>());
  check(hipGetLastError(), "launch of compare_logits_on_device");
  synchronize_stream(stream, "compare_logits_on_device");
  unsigned long long got[3];
  copy_to_host(got, sums.get(), sizeof got);
  out.compared = int64_t(got[0]);
  out.mismatched = int64_t(got[1]);
  out.first_index = got[2] == ~0ull ? -1 : int64_t(got[2]);
  return out;
}

}  // namespace mqa::device
