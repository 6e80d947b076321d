// Device benchmark of the MQA logits (exact profile) at deployed shapes:
//  - paged (decode): batch 64, next_n 1, H 64, D 128, page 64, every sequence at L in {8192,
//    32768}, both layouts, fast and generic paths;
//  - ragged (prefill): M = 4096 query rows over N = 8192 k rows, H 64, D 128, row i reading
//    [0, N - M + i + 1) (a causal chunk after a 4096-token prefix), fast path.
// Events around each launch, warm-up, median of >= 30, and the inputs rotated over several sets
// (each larger than L2) so L2 does not serve them. Bytes counted: the K cache read (values +
// scales), q, weights, logits written. Reported against the device-to-device copy bandwidth
// measured in the same run (bytes read + written). The ragged op reads each k row for many
// query rows, so it is bounded by the tensor cores, not by bytes: its % of copy is not printed.
// --json FILE writes every figure as records (scripts/peers/bench_logits.sh joins them with the
// peers' figures of the same call).
//
//   device_bench [--reps N (>= 30)] [--fast-only] [--no-ragged] [--json FILE]   (CLI11)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
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

// Random finite e4m3fn codes (bit 3 of the exponent clear: never the NaN code 0x7F / 0xFF).
__global__ void fill_codes(uint8_t* bytes, int64_t n, uint64_t seed) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) bytes[i] = uint8_t(CounterRng{seed}.u32(8, uint64_t(i)) & 0xF7u);
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
  DeviceBuffer<float> w, kscale;
};

// One figure: printed as a table row and, with --json, written as a record.
struct Record {
  std::string op, layout, path;
  int32_t L = 0, M = 0, N = 0;
  double us = 0, gbs = 0, pct_copy = 0;
};

DeviceBuffer<uint8_t> host_codes(const CounterRng& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(rng.u32(2, i) & 0x77u);  // finite codes
  return DeviceBuffer<uint8_t>(v.data(), v.size());
}
DeviceBuffer<float> host_weights(const CounterRng& rng, size_t n) {
  std::vector<float> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = rng.unit(3, i) - 0.5f;
  return DeviceBuffer<float>(w.data(), w.size());
}

// Median microseconds of `n` timed launches after 3 warm-ups; launch(i) runs input set i % sets.
template <class Launch>
double time_us(int n, Launch&& launch) {
  Events ev;
  std::vector<float> t;
  for (int i = 0; i < 3 + n; ++i) {
    const float ms = ev.time_ms([&] { launch(i); });
    check_launch("logits");
    if (i >= 3) t.push_back(ms);
  }
  return median(t) * 1e3;
}

constexpr int kSets = 3;

void paged(int reps, bool fast_only, double copy_gbs, std::vector<Record>& rec) {
  const int32_t batch = 64, H = 64, D = 128, B = 64;
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
        in.q = host_codes(rng, size_t(batch) * H * D);
        in.w = host_weights(rng, size_t(batch) * H);
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
        const double us = time_us(path == LogitsPath::fast ? reps : 30, [&](int i) {
          const InputSet& in = sets[size_t(i % kSets)];
          const LogitsDeviceArgs a{in.q.get(), in.w.get(), out.get(), L, sp.get(), batch, H, D, L, 0, Fp8Encoding::e4m3fn};
          const PagedTokens tok{PagedView{l, BlockTableView{in.table.get(), batch, L / B, L / B}}, in.cache.get(), 1, 1};
          launch_paged_logits(a, tok, choose_kernel(path, H, D, tok.direct_ok()), nullptr);
        });
        const double gbs = bytes / (us * 1e-6) / 1e9;
        rec.push_back(Record{"paged", to_string(kind), to_string(path), L, batch, 0, us, gbs, 100.0 * gbs / copy_gbs});
        std::printf("%-7s %-13s %-8s %14s %12.1f %10.1f %7.1f%%\n", "paged", to_string(kind), to_string(path),
                    ("B64 L" + std::to_string(L)).c_str(), us, gbs, 100.0 * gbs / copy_gbs);
        std::fflush(stdout);
      }
    }
  }
}

void ragged(int reps, std::vector<Record>& rec) {
  const int32_t M = 4096, N = 8192, H = 64, D = 128;
  if (!fast_path_fits(H, D)) return;
  std::vector<InputSet> sets;
  for (int s = 0; s < kSets; ++s) {
    InputSet in;
    in.cache = DeviceBuffer<uint8_t>(size_t(N) * D);
    hipLaunchKernelGGL(fill_codes, dim3(unsigned((int64_t(N) * D + 255) / 256)), dim3(256), 0, nullptr, in.cache.get(),
                       int64_t(N) * D, uint64_t(300 + s));
    check_launch("fill_codes");
    const CounterRng rng{uint64_t(400 + s)};
    std::vector<float> ks(static_cast<size_t>(N));
    for (int32_t i = 0; i < N; ++i) ks[size_t(i)] = 0.001f + rng.unit(4, uint64_t(i));
    in.kscale = DeviceBuffer<float>(ks.data(), ks.size());
    in.q = host_codes(rng, size_t(M) * H * D);
    in.w = host_weights(rng, size_t(M) * H);
    sets.push_back(std::move(in));
  }
  std::vector<RowSpan> spans(static_cast<size_t>(M));
  for (int32_t i = 0; i < M; ++i) spans[size_t(i)] = RowSpan{0, int64_t(N) - M + i + 1};
  DeviceBuffer<RowSpan> sp(spans.data(), spans.size());
  DeviceBuffer<float> out(size_t(M) * N);
  const double us = time_us(reps, [&](int i) {
    const InputSet& in = sets[size_t(i % kSets)];
    const LogitsDeviceArgs a{in.q.get(), in.w.get(), out.get(), N, sp.get(), M, H, D, N, 0, Fp8Encoding::e4m3fn};
    const RaggedTokens tok{in.cache.get(), in.kscale.get(), D, 1};
    launch_ragged_logits(a, tok, choose_kernel(LogitsPath::fast, H, D, tok.direct_ok()), nullptr);
  });
  rec.push_back(Record{"ragged", "-", "fast", 0, M, N, us, 0, 0});
  std::printf("%-7s %-13s %-8s %14s %12.1f %10s %8s\n", "ragged", "-", "fast",
              ("M" + std::to_string(M) + " N" + std::to_string(N)).c_str(), us, "-", "-");
  std::fflush(stdout);
}

bool write_json(const std::string& path, const std::string& device, double copy_gbs, const std::vector<Record>& rec) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) return false;
  std::fprintf(f.get(), "{\"device\": \"%s\", \"copy_gbs\": %.1f, \"records\": [", device.c_str(), copy_gbs);
  for (size_t i = 0; i < rec.size(); ++i) {
    const Record& r = rec[i];
    std::fprintf(f.get(),
                 "%s\n  {\"kernel\": \"mqa-harness\", \"op\": \"%s\", \"layout\": \"%s\", \"path\": \"%s\", "
                 "\"L\": %d, \"M\": %d, \"N\": %d, \"us\": %.2f, \"gbs\": %.1f, \"pct_copy\": %.2f}",
                 i ? "," : "", r.op.c_str(), r.layout.c_str(), r.path.c_str(), r.L, r.M, r.N, r.us, r.gbs, r.pct_copy);
  }
  std::fprintf(f.get(), "\n]}\n");
  return std::ferror(f.get()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 40;
  bool fast_only = false, no_ragged = false;
  std::string json;
  CLI::App app{"Device benchmark of the paged and ragged MQA logits at deployed shapes"};
  app.add_option("--reps", reps, "timed launches per shape (the median of at least 30)")
      ->capture_default_str()
      ->check(CLI::Range(30, 1000000));
  app.add_flag("--fast-only", fast_only, "time the fast path only (not the generic kernel)");
  app.add_flag("--no-ragged", no_ragged, "skip the ragged (prefill) shape");
  app.add_option("--json", json, "also write every figure to this file (JSON records)");
  CLI11_PARSE(app, argc, argv);
  const DeviceStatus st = device_status();
  if (!st.available) {
    std::printf("device_bench: %s\n", st.reason.c_str());
    return 3;
  }
  const double copy_gbs = copy_bandwidth(reps);
  std::printf("device: %s\ndevice-to-device copy: %.1f GB/s (read + write, 1 GiB, median of %d)\n", st.name.c_str(),
              copy_gbs, reps);
  std::printf("\n%-7s %-13s %-8s %14s %12s %10s %8s\n", "op", "layout", "path", "shape", "median us", "GB/s", "% copy");
  std::vector<Record> rec;
  paged(reps, fast_only, copy_gbs, rec);
  if (!no_ragged) ragged(reps, rec);
  std::printf("\nbytes = K cache (values + scales) + q + weights + logits written; median of >= 30 timed launches "
              "after 3 warm-ups, %d input sets rotated\n", kSets);
  if (!json.empty() && !write_json(json, st.name, copy_gbs, rec)) {
    std::fprintf(stderr, "device_bench: cannot write --json %s\n", json.c_str());
    return 2;
  }
  return 0;
}
