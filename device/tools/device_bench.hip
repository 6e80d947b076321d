// Device benchmark of the paged MQA logits (exact profile) at the deployed decode shape:
// batch 64, next_n 1, H 64, D 128, page 64, every sequence at L in {8192, 32768}, both layouts,
// fast and generic paths. Events around each launch, warm-up, median of >= 30, and the inputs
// rotated over several sets (each larger than L2) so L2 does not serve them. Bytes counted: the
// K cache read (values + scales), q, weights, logits written. Reported against the
// device-to-device copy bandwidth measured in the same run (bytes read + written).
//
//   device_bench [--reps N (>= 30)] [--fast-only]      (options parsed by CLI11)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "device_common.hpp"
#include "logits_launch.hpp"
#include "mqa/philox.hpp"
#include "mqa/validate.hpp"

using namespace mqa;
using namespace mqa::device;
using namespace mqa::device::detail;

namespace {

// Random bytes, except that every fp32 scale of the pool is a positive normal number.
__global__ void fill_pool(uint32_t* words, int64_t n_words, PagedCacheLayout l, uint64_t seed) {
  const int64_t w = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (w >= n_words) return;
  const uint32_t r = CounterRng{seed}.u32(7, uint64_t(w));
  const int64_t in_page = (4 * w) % l.page_stride;
  words[w] = in_page >= l.page.value_bytes() && in_page < l.page.natural_page_bytes() ? 0x3A800000u | (r & 0x7FFFFFu) : r;
}

struct Events {
  hipEvent_t a{}, b{};
  Events() {
    check(hipEventCreate(&a), "hipEventCreate");
    check(hipEventCreate(&b), "hipEventCreate");
  }
  ~Events() {
    (void)hipEventDestroy(a);
    (void)hipEventDestroy(b);
  }
  template <class F>
  float time_ms(F&& f) {
    check(hipEventRecord(a, nullptr), "hipEventRecord");
    f();
    check(hipEventRecord(b, nullptr), "hipEventRecord");
    check(hipEventSynchronize(b), "hipEventSynchronize");
    float ms = 0;
    check(hipEventElapsedTime(&ms, a, b), "hipEventElapsedTime");
    return ms;
  }
};

double median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double copy_bandwidth(int reps) {
  const size_t bytes = size_t(1) << 30;
  DeviceBuffer<uint8_t> a(bytes), b(bytes);
  check(hipMemset(a.get(), 1, bytes), "hipMemset");
  Events ev;
  std::vector<float> t;
  for (int i = 0; i < reps + 3; ++i) {
    const float ms = ev.time_ms([&] { check(hipMemcpy(b.get(), a.get(), bytes, hipMemcpyDeviceToDevice), "copy"); });
    if (i >= 3) t.push_back(ms);
  }
  return 2.0 * double(bytes) / (median(t) * 1e-3) / 1e9;
}

struct InputSet {
  DeviceBuffer<uint8_t> cache, q;
  DeviceBuffer<int32_t> table;
  DeviceBuffer<float> w;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 40;
  bool fast_only = false;
  CLI::App app{"Device benchmark of the paged MQA logits at the deployed decode shape"};
  app.add_option("--reps", reps, "timed launches per shape (the median of at least 30)")
      ->capture_default_str()->check(CLI::Range(30, 1000000));
  app.add_flag("--fast-only", fast_only, "time the fast path only (not the generic kernel)");
  CLI11_PARSE(app, argc, argv);
  const DeviceStatus st = device_status();
  if (!st.available) {
    std::printf("device_bench: %s\n", st.reason.c_str());
    return 3;
  }
  const double copy_gbs = copy_bandwidth(reps);
  std::printf("device: %s\ndevice-to-device copy: %.1f GB/s (read + write, 1 GiB, median of %d)\n", st.name.c_str(),
              copy_gbs, reps);
  const int32_t batch = 64, H = 64, D = 128, B = 64;
  constexpr int kSets = 3;
  std::printf("\n%-13s %-8s %6s %12s %10s %8s\n", "layout", "path", "L", "median us", "GB/s", "% copy");
  for (int32_t L : {8192, 32768}) {
    const int64_t pages = int64_t(batch) * L / B;
    for (PageLayoutKind kind : {PageLayoutKind::standard, PageLayoutKind::preshuffle16}) {
      const PagedCacheLayout l{{kind, B, D, D}, int64_t(B) * (D + 4), pages};
      std::vector<InputSet> sets;
      for (int s = 0; s < kSets; ++s) {
        InputSet in;
        in.cache = DeviceBuffer<uint8_t>(size_t(l.total_bytes()));
        const int64_t words = l.total_bytes() / 4;
        hipLaunchKernelGGL(fill_pool, dim3(unsigned((words + 255) / 256)), dim3(256), 0, nullptr,
                           reinterpret_cast<uint32_t*>(in.cache.get()), words, l, uint64_t(100 + s));
        check_launch("fill_pool");
        const CounterRng rng{uint64_t(200 + s)};
        std::vector<int32_t> table(static_cast<size_t>(pages));
        for (int64_t i = 0; i < pages; ++i) table[size_t(i)] = int32_t(i);
        for (int64_t i = pages; i > 1; --i) std::swap(table[size_t(i - 1)], table[rng.below(1, uint64_t(i), uint32_t(i))]);
        in.table = DeviceBuffer<int32_t>(table.data(), table.size());
        std::vector<uint8_t> q(size_t(batch) * H * D);
        for (size_t i = 0; i < q.size(); ++i) q[i] = uint8_t(rng.u32(2, i) & 0x77u);  // finite codes
        in.q = DeviceBuffer<uint8_t>(q.data(), q.size());
        std::vector<float> w(size_t(batch) * H);
        for (size_t i = 0; i < w.size(); ++i) w[i] = rng.unit(3, i) - 0.5f;
        in.w = DeviceBuffer<float>(w.data(), w.size());
        sets.push_back(std::move(in));
      }
      std::vector<RowSpan> spans(size_t(batch), RowSpan{0, L});
      DeviceBuffer<RowSpan> sp(spans.data(), spans.size());
      DeviceBuffer<float> out(size_t(batch) * L);
      const double bytes = double(pages) * B * (D + 4) + double(batch) * H * D + double(batch) * H * 4 +
                           double(batch) * L * 4;
      for (LogitsPath path : {LogitsPath::fast, LogitsPath::generic}) {
        if (path == LogitsPath::fast && !fast_path_fits(H, D)) continue;
        if (path == LogitsPath::generic && fast_only) continue;
        Events ev;
        std::vector<float> t;
        const int warm = 3, n = path == LogitsPath::fast ? reps : 30;
        for (int i = 0; i < warm + n; ++i) {
          const InputSet& in = sets[size_t(i % kSets)];
          const LogitsDeviceArgs a{in.q.get(), in.w.get(), out.get(), L, sp.get(), batch, H, D, L, 0, Fp8Encoding::e4m3fn};
          const PagedTokens tok{PagedView{l, BlockTableView{in.table.get(), batch, L / B, L / B}}, in.cache.get(), 1, 1};
          const LogitsKernel kernel = choose_kernel(path, H, D, tok.direct_ok());
          const float ms = ev.time_ms([&] { launch_paged_logits(a, tok, kernel, nullptr); });
          check_launch("paged logits");
          if (i >= warm) t.push_back(ms);
        }
        const double us = median(t) * 1e3, gbs = bytes / (us * 1e-6) / 1e9;
        std::printf("%-13s %-8s %6d %12.1f %10.1f %7.1f%%\n", to_string(kind), to_string(path), L, us, gbs,
                    100.0 * gbs / copy_gbs);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\nbytes = K cache (values + scales) + q + weights + logits written; median of >= 30 timed launches "
              "after 3 warm-ups, %d input sets rotated\n", kSets);
  return 0;
}
