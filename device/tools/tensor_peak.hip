// tensor_peak: the int8 tensor-core throughput an exact limb kernel can reach on this GPU, so a
// logits kernel's time can be read against the instruction it is built on (device/PERFORMANCE.md).
// Each kernel below keeps the tensor pipe busy with independent work and nothing else:
//  - mma.sync m16n8k32 s8 (what tw3 and lean2 issue): every warp runs 8 independent accumulator
//    chains, 4 warps per block, 4 blocks per SM;
//  - wgmma m64nNk32 s8 (sm_90a, A from registers, B from shared memory, N = 32, 64, 128): one
//    accumulator per warpgroup, 8 chained instructions per commit group, one group kept in flight,
//    1 or 2 warpgroups per SM.
// The operands are arbitrary bytes: only the rate is measured (the sums are stored so nothing is
// optimised away). Printed: TOPS (2 ops per multiply-add), multiply-adds per clock per SM at the
// clock the device reports, and the time the paged-logits problem of device_bench (B 64, L 32768,
// H 64, D 128) needs at that rate with 9 and with 6 limb products per fp8 product.
//
//   tensor_peak [--ms 50] [--json FILE]      (options parsed by CLI11)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "device_common.hpp"
#include "fast_limbs.hpp"

using namespace mqa::device;
using namespace mqa::device::detail;

#if MQA_PLATFORM_NVIDIA  // mma.sync / wgmma: NVIDIA only (an AMD MFMA probe is not written)
namespace {

__global__ void __launch_bounds__(128, 4) mma_sync_loop(int32_t* out, int iters) {
  int32_t c[8][4] = {};
  const uint32_t t = threadIdx.x;
  const uint32_t a[4] = {t * 0x01010101u, t ^ 0x5A5A5A5Au, t * 7u, ~t};
  const uint32_t b[2] = {t * 0x00010001u, t + 0x13u};
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) fast::mma_s8(c[j], a, b);
  int32_t s = 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) s += c[j][0] + c[j][1] + c[j][2] + c[j][3];
  out[blockIdx.x * blockDim.x + t] = s;
}

// CMake compiles this tool for sm_90a (and defines MQA_TENSOR_PEAK_WGMMA) when the target is sm_90.
#ifndef MQA_TENSOR_PEAK_WGMMA
#define MQA_TENSOR_PEAK_WGMMA 0
#endif
constexpr bool kHasWgmma = MQA_TENSOR_PEAK_WGMMA != 0;

__device__ inline uint64_t smem_desc(const void* p) {  // no swizzle, core matrices 8 x 16 bytes
  const uint32_t lbo = 128, sbo = 256;
  return uint64_t((fast::smem_addr(p) >> 4) & 0x3FFFu) | (uint64_t((lbo >> 4) & 0x3FFFu) << 16) |
         (uint64_t((sbo >> 4) & 0x3FFFu) << 32);
}

// d (N/2 int32 per thread) += A (64 x 32 s8, registers) * B (32 x N s8, shared memory).
template <int N>
__device__ inline void wgmma_s8(int32_t (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc);

#define MQA_WG_OUT8(i)                                                                                        \
  "+r"(d[i]), "+r"(d[i + 1]), "+r"(d[i + 2]), "+r"(d[i + 3]), "+r"(d[i + 4]), "+r"(d[i + 5]), "+r"(d[i + 6]), \
      "+r"(d[i + 7])
template <>
__device__ inline void wgmma_s8<32>(int32_t (&d)[16], const uint32_t (&a)[4], uint64_t desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\nwgmma.mma_async.sync.aligned.m64n32k32.s32.s8.s8 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p;\n}\n"
      : MQA_WG_OUT8(0), MQA_WG_OUT8(8)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1));
#else
  (void)d, (void)a, (void)desc;
#endif
}
template <>
__device__ inline void wgmma_s8<64>(int32_t (&d)[32], const uint32_t (&a)[4], uint64_t desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\nwgmma.mma_async.sync.aligned.m64n64k32.s32.s8.s8 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
      "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p;\n}\n"
      : MQA_WG_OUT8(0), MQA_WG_OUT8(8), MQA_WG_OUT8(16), MQA_WG_OUT8(24)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1));
#else
  (void)d, (void)a, (void)desc;
#endif
}
template <>
__device__ inline void wgmma_s8<128>(int32_t (&d)[64], const uint32_t (&a)[4], uint64_t desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\nwgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
      "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
      "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
      "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, {%64,%65,%66,%67}, %68, p;\n}\n"
      : MQA_WG_OUT8(0), MQA_WG_OUT8(8), MQA_WG_OUT8(16), MQA_WG_OUT8(24), MQA_WG_OUT8(32), MQA_WG_OUT8(40),
        MQA_WG_OUT8(48), MQA_WG_OUT8(56)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1));
#else
  (void)d, (void)a, (void)desc;
#endif
}
#undef MQA_WG_OUT8

template <int N>
__global__ void __launch_bounds__(128) wgmma_loop(int32_t* out, int iters) {
  __shared__ __align__(128) uint8_t b[32 * N];
  const uint32_t t = threadIdx.x;
  for (uint32_t i = t; i < 32 * N; i += 128) b[i] = uint8_t(i * 37u + 11u);
  __syncthreads();
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
  int32_t d[N / 2] = {};
  const uint32_t a[4] = {t * 0x01010101u, t ^ 0x5A5A5A5Au, t * 7u, ~t};
  const uint64_t desc = smem_desc(b);
  for (int i = 0; i < iters; ++i) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
#pragma unroll
    for (int j = 0; j < 8; ++j) wgmma_s8<N>(d, a, desc);
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
#endif
  }
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
#endif
  int32_t s = 0;
#pragma unroll
  for (int j = 0; j < N / 2; ++j) s += d[j];
  out[blockIdx.x * blockDim.x + t] = s;
}

struct Rate {
  std::string name;
  double tops = 0, mac_per_clk_sm = 0;
};

// Seconds of one launch, after one warm-up launch.
template <class Launch>
double seconds(Launch&& launch) {
  hipEvent_t a{}, b{};
  check(hipEventCreate(&a), "hipEventCreate");
  check(hipEventCreate(&b), "hipEventCreate");
  launch();
  check_launch("warm-up");
  check(hipEventRecord(a, nullptr), "hipEventRecord");
  launch();
  check(hipEventRecord(b, nullptr), "hipEventRecord");
  check(hipEventSynchronize(b), "hipEventSynchronize");
  check_launch("timed launch");
  float ms = 0;
  check(hipEventElapsedTime(&ms, a, b), "hipEventElapsedTime");
  (void)hipEventDestroy(a);
  (void)hipEventDestroy(b);
  return ms * 1e-3;
}

Rate measure(const std::string& name, double macs_per_iter_block, int blocks, double target_s, double clock_hz, int sms,
             void (*launch)(int32_t*, int, int)) {
  DeviceBuffer<int32_t> out(size_t(blocks) * 128);
  int iters = 256;
  double s = seconds([&] { launch(out.get(), blocks, iters); });
  iters = int(double(iters) * target_s / (s > 1e-6 ? s : 1e-6));
  if (iters < 256) iters = 256;
  s = seconds([&] { launch(out.get(), blocks, iters); });
  const double macs = macs_per_iter_block * blocks * double(iters);
  return Rate{name, 2.0 * macs / s / 1e12, macs / s / clock_hz / sms};
}

}  // namespace
#endif

int main(int argc, char** argv) {
#if !MQA_PLATFORM_NVIDIA
  (void)argc, (void)argv;
  std::printf("tensor_peak: NVIDIA only\n");
  return 3;
#else
  double target_ms = 50;
  std::string json;
  CLI::App app{"int8 tensor-core throughput of mma.sync and wgmma on this GPU"};
  app.add_option("--ms", target_ms, "approximate milliseconds per timed launch")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 10000.0));
  app.add_option("--json", json, "also write the rates to this file (JSON)");
  CLI11_PARSE(app, argc, argv);
  const DeviceStatus st = device_status();
  if (!st.available) {
    std::printf("tensor_peak: %s\n", st.reason.c_str());
    return 3;
  }
  int dev = 0, sms = 0, clock_khz = 0;
  check(hipGetDevice(&dev), "hipGetDevice");
  check(hipDeviceGetAttribute(&sms, hipDeviceAttributeMultiprocessorCount, dev), "SM count");
  check(hipDeviceGetAttribute(&clock_khz, hipDeviceAttributeClockRate, dev), "clock rate");
  const double hz = double(clock_khz) * 1e3, target = target_ms * 1e-3;
  std::printf("device: %s, %d SMs, clock %.0f MHz (as reported)\n", st.name.c_str(), sms, hz / 1e6);

  std::vector<Rate> rates;
  rates.push_back(measure("mma.sync m16n8k32 s8 (4 warps x 4 blocks / SM)", 4.0 * 8 * 16 * 8 * 32, 4 * sms, target, hz,
                          sms, [](int32_t* o, int blocks, int it) {
                            hipLaunchKernelGGL(mma_sync_loop, dim3(unsigned(blocks)), dim3(128), 0, nullptr, o, it);
                          }));
  if (kHasWgmma) {
    for (int per_sm : {1, 2}) {
      const std::string w = " (" + std::to_string(per_sm) + " warpgroup" + (per_sm > 1 ? "s" : "") + " / SM)";
      rates.push_back(measure("wgmma m64n32k32 s8" + w, 8.0 * 64 * 32 * 32, per_sm * sms, target, hz, sms,
                              [](int32_t* o, int blocks, int it) {
                                hipLaunchKernelGGL(wgmma_loop<32>, dim3(unsigned(blocks)), dim3(128), 0, nullptr, o,
                                                   it);
                              }));
      rates.push_back(measure("wgmma m64n64k32 s8" + w, 8.0 * 64 * 64 * 32, per_sm * sms, target, hz, sms,
                              [](int32_t* o, int blocks, int it) {
                                hipLaunchKernelGGL(wgmma_loop<64>, dim3(unsigned(blocks)), dim3(128), 0, nullptr, o,
                                                   it);
                              }));
      rates.push_back(measure("wgmma m64n128k32 s8" + w, 8.0 * 64 * 128 * 32, per_sm * sms, target, hz, sms,
                              [](int32_t* o, int blocks, int it) {
                                hipLaunchKernelGGL(wgmma_loop<128>, dim3(unsigned(blocks)), dim3(128), 0, nullptr, o,
                                                   it);
                              }));
    }
  }
  // The paged-logits problem of device_bench: 64 rows x 32768 tokens x 64 heads x 128 d products.
  const double products = 64.0 * 32768 * 64 * 128;
  std::printf("\n%-52s %8s %14s %16s %16s\n", "instruction", "TOPS", "MAC/clk/SM", "9 limbs (us)", "6 limbs (us)");
  for (const Rate& r : rates)
    std::printf("%-52s %8.1f %14.0f %16.1f %16.1f\n", r.name.c_str(), r.tops, r.mac_per_clk_sm,
                9 * products * 2 / (r.tops * 1e12) * 1e6, 6 * products * 2 / (r.tops * 1e12) * 1e6);
  std::printf(
      "\nlast two columns: the tensor-core time alone of paged logits at B 64, L 32768, H 64, D 128 "
      "with 9 (3 x 3) or 6 (Karatsuba) int8 limb products per fp8 product, at that rate\n");
  if (!json.empty()) {
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(json.c_str(), "w"), &std::fclose);
    if (!f) {
      std::fprintf(stderr, "tensor_peak: cannot write --json %s\n", json.c_str());
      return 2;
    }
    std::fprintf(f.get(), "{\"device\": \"%s\", \"sms\": %d, \"clock_mhz\": %.0f, \"rates\": [", st.name.c_str(), sms,
                 hz / 1e6);
    for (size_t i = 0; i < rates.size(); ++i)
      std::fprintf(f.get(), "%s\n  {\"instruction\": \"%s\", \"tops\": %.2f, \"mac_per_clk_sm\": %.1f}", i ? "," : "",
                   rates[i].name.c_str(), rates[i].tops, rates[i].mac_per_clk_sm);
    std::fprintf(f.get(), "\n]}\n");
  }
  return 0;
#endif
}
