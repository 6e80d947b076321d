// Throughput of the comparator on a decode-sized logits buffer (256 rows x 131,072 columns,
// rows padded to a multiple of 256 columns, ragged lengths), in floats checked per second:
//   identical      the common case: every compared float has the same bits
//   one_in_three   a third of the floats 1 ulp off: every failure is recorded and located
//   sentinel       identical plus the written-only-where-allowed check of the padding
// Run: build-*/reference/bench_reference_compare [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

#include "mqa/compare.hpp"
#include "mqa/philox.hpp"
#include "mqa/sentinels.h"

using namespace mqa;

namespace {

constexpr uint32_t kSentinel = kLogitSentinelBits;
constexpr int64_t kRows = 256, kCols = 131072, kStride = kCols + 256;

struct Buffers {
  LogitsRegions g{kRows, kCols, kStride, {}};
  std::vector<float> expected, actual;
  Buffers() {
    const CounterRng rng{11};
    for (int64_t r = 0; r < kRows; ++r) {
      const int64_t len = kCols - int64_t(rng.below(1, uint64_t(r), uint32_t(kCols / 4)));
      g.row.push_back(RowRegion{0, len, len});
    }
    expected.assign(size_t(kRows * kStride), f32_from_bits(kSentinel));
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t c = 0; c < g.row[size_t(r)].valid_end; ++c)
        expected[size_t(r * kStride + c)] = rng.unit(2, uint64_t(r * kStride + c)) - 0.5f;
    actual = expected;
  }
};

const Buffers& buffers() {
  static const Buffers b;
  return b;
}

void run(benchmark::State& state, const std::vector<float>& actual, const std::string& mode) {
  const Buffers& b = buffers();
  const CompareMode m = CompareMode::parse(mode);
  int64_t checked = 0;
  for (auto _ : state) {
    const CompareReport r = compare_logits(b.expected, actual, b.g, m);
    benchmark::DoNotOptimize(r.mismatched);
    checked += r.compared;
  }
  state.SetItemsProcessed(checked);
  state.counters["floats_per_s"] = benchmark::Counter(double(checked), benchmark::Counter::kIsRate);
}

void BM_identical(benchmark::State& state) { run(state, buffers().actual, "bitwise"); }

void BM_one_in_three(benchmark::State& state) {
  static const std::vector<float> a = [] {
    std::vector<float> v = buffers().actual;
    for (size_t i = 0; i < v.size(); i += 3)
      if (f32_bits(v[i]) != kSentinel) v[i] = std::nextafter(v[i], 1.0f);
    return v;
  }();
  run(state, a, "bitwise");
}

void BM_sentinel(benchmark::State& state) {
  CompareMode mode = CompareMode::parse("bitwise");
  mode.sentinel = kSentinel;
  run(state, buffers().actual, mode.to_string());
}

}  // namespace

BENCHMARK(BM_identical)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_one_in_three)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sentinel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
