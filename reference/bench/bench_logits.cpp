// Throughput of the paged MQA-logits references on the deployed decode shape (batch 64,
// next_n 1, H 64, D 128, page 64), in GFLOP/s = 2 * sum(L) * H * D / wall time:
//   exact_fast   the fast exact reference (fp64 GEMM + fp32 RN epilogue, threaded)
//   naive        the int64 oracle (fewer sequences: only the rate matters)
//   f32_baseline what a user would write: dequantise k to fp32, Eigen fp32 GEMM, relu,
//                weighted head sum, kscale; threaded over sequences like the reference
// Run: build-*/reference/bench_reference_logits [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <thread>

#include "mqa/kcache.hpp"
#include "mqa/logits.hpp"
#include "mqa/philox.hpp"

using namespace mqa;

namespace {

constexpr int32_t kHeads = 64, kDim = 128, kPage = 64;

struct Decode {
  int32_t batch, L;
  KCache cache;
  std::vector<int32_t> table, lens;
  std::vector<uint8_t> q;
  std::vector<float> w, out;

  Decode(int32_t batch_, int32_t L_) : batch(batch_), L(L_) {
    const CounterRng rng{7};
    const int32_t blocks = (L + kPage - 1) / kPage;
    cache = KCache(PagedCacheLayout{{PageLayoutKind::standard, kPage, kDim, kDim}, int64_t(kPage) * (kDim + 4),
                                    int64_t(batch) * blocks},
                   0);
    for (size_t i = 0; i < cache.bytes.size(); ++i) {  // finite codes in [-4, 4) magnitude range
      const uint8_t c = uint8_t(rng.u32(1, i));
      cache.bytes[i] = fp8_is_nan(c, Fp8Encoding::e4m3fn) ? 0 : c;
    }
    for (int64_t p = 0; p < cache.layout.num_pages; ++p)
      for (int32_t t = 0; t < kPage; ++t) cache.set_scale(p, t, 0, 0.001f + rng.unit(2, uint64_t(p * kPage + t)));
    for (int32_t i = 0; i < batch * blocks; ++i) table.push_back((i * 7919) % (batch * blocks));  // scattered
    lens.assign(size_t(batch), L);
    q.resize(size_t(batch) * kHeads * kDim);
    for (size_t i = 0; i < q.size(); ++i) q[i] = uint8_t(rng.u32(3, i)) & 0x77;  // finite
    w.resize(size_t(batch) * kHeads);
    for (size_t i = 0; i < w.size(); ++i) w[i] = rng.unit(4, i) - 0.5f;
    out.assign(size_t(batch) * L, 0.0f);
  }
  PagedLogitsProblem problem() const {
    PagedLogitsProblem p;
    p.cache = cache.layout;
    p.cache_bytes = cache.bytes.data();
    p.q = q.data();
    p.batch = batch;
    p.heads = kHeads;
    p.weights = w.data();
    p.context_lens = lens.data();
    p.table = {table.data(), batch, int32_t(table.size() / size_t(batch)), int64_t(table.size() / size_t(batch))};
    p.max_context_len = L;
    return p;
  }
  double flops() const { return 2.0 * double(batch) * L * kHeads * kDim; }
};

// GFLOP/s over wall time, and GFLOP per CPU-second of this process (all its threads; std::clock
// on Linux): the second is what to compare on a machine shared with other jobs.
struct CpuClock {
  std::clock_t start = std::clock();
};
void set_rate(benchmark::State& st, double flops, const CpuClock& c) {
  const double cpu_s = double(std::clock() - c.start) / CLOCKS_PER_SEC;
  st.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/cpu_s"] = flops * double(st.iterations()) / 1e9 / cpu_s;
}

void BM_exact_fast(benchmark::State& st) {
  Decode d(64, int32_t(st.range(0)));
  set_logits_threads(int(st.range(1)));
  const PagedLogitsProblem p = d.problem();
  const CpuClock cpu;
  for (auto _ : st) {
    paged_mqa_logits(p, d.out.data(), d.L);
    benchmark::DoNotOptimize(d.out.data());
  }
  set_rate(st, d.flops(), cpu);
  st.counters["threads"] = logits_threads();
  set_logits_threads(0);
}

void BM_naive(benchmark::State& st) {
  Decode d(1, int32_t(st.range(0)) / 8);  // one sequence, 1/8 of the tokens: the oracle is slow
  const PagedLogitsProblem p = d.problem();
  const CpuClock cpu;
  for (auto _ : st) {
    paged_mqa_logits_naive(p, d.out.data(), d.L);
    benchmark::DoNotOptimize(d.out.data());
  }
  set_rate(st, d.flops(), cpu);
}

// The user's version: per sequence, dequantise the paged k to fp32 [L, D] (gather through
// the table), A = Q (H x D) * K^T in fp32, logits = (w^T relu(A)) .* kscale.
void baseline_sequence(const Decode& d, int32_t b, Eigen::MatrixXf& k, Eigen::MatrixXf& a, Eigen::VectorXf& ks) {
  const PagedView view{d.cache.layout, d.problem().table};
  k.resize(kDim, d.L);
  ks.resize(d.L);
  for (int32_t s = 0; s < d.L; ++s) {
    const uint8_t* codes = d.cache.bytes.data() + view.value_byte(b, s, 0);  // standard layout: contiguous
    for (int32_t i = 0; i < kDim; ++i) k(i, s) = fp8_decode(codes[i], Fp8Encoding::e4m3fn);
    std::memcpy(&ks[s], d.cache.bytes.data() + view.scale_byte(b, s, 0), 4);
  }
  Eigen::Map<const Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> qc(
      d.q.data() + int64_t(b) * kHeads * kDim, kHeads, kDim);
  const Eigen::MatrixXf q = qc.unaryExpr([](uint8_t c) { return fp8_decode(c, Fp8Encoding::e4m3fn); });
  a.noalias() = q * k;
  const Eigen::Map<const Eigen::VectorXf> w(d.w.data() + int64_t(b) * kHeads, kHeads);
  Eigen::Map<Eigen::RowVectorXf> out(const_cast<float*>(d.out.data()) + int64_t(b) * d.L, d.L);
  out.noalias() = w.transpose() * a.cwiseMax(0.0f);
  out.array() *= ks.transpose().array();
}

void BM_f32_baseline(benchmark::State& st) {
  Decode d(64, int32_t(st.range(0)));
  const int workers = int(st.range(1));
  const CpuClock cpu;
  for (auto _ : st) {
    std::atomic<int32_t> next{0};
    auto work = [&] {
      Eigen::MatrixXf k, a;
      Eigen::VectorXf ks;
      for (int32_t b = next++; b < d.batch; b = next++) baseline_sequence(d, b, k, a, ks);
    };
    std::vector<std::thread> pool;
    for (int i = 1; i < workers; ++i) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    benchmark::DoNotOptimize(d.out.data());
  }
  set_rate(st, d.flops(), cpu);
}

}  // namespace

// Args: {L, worker threads}; 0 threads = std::thread::hardware_concurrency().
const int kHw = int(std::max(1u, std::thread::hardware_concurrency()));
BENCHMARK(BM_exact_fast)->ArgsProduct({{1024, 8192}, {1, kHw}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_f32_baseline)->ArgsProduct({{1024, 8192}, {1, kHw}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_naive)->Arg(1024)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

BENCHMARK_MAIN();
