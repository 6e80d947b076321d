// Launchers of the token-warpgroup logits kernel (`twg`, fast_token_warpgroup.hpp): Hopper wgmma,
// so this object alone is compiled for sm_90a (CMake defines MQA_WGMMA=1 then). Elsewhere (other
// NVIDIA targets, AMD) it holds only twg_compiled() == false and launchers that refuse.
#include "device_common.hpp"
#include "fast_token_warpgroup.hpp"
#include "logits_launch.hpp"  // before the kernel headers: LogitsDeviceArgs, RowSpan

#ifndef MQA_WGMMA
#define MQA_WGMMA 0
#endif

namespace mqa::device::detail {

#if MQA_PLATFORM_NVIDIA && MQA_WGMMA

namespace {

using namespace fast;

template <int kH, class Tokens>
void launch_twg_dim(const LogitsDeviceArgs& a, const Tokens& t, dim3 grid, hipStream_t stream) {
  const dim3 block(unsigned(32 * kTwWarps));
  switch (a.head_dim) {
    case 32: hipLaunchKernelGGL((logits_token_warpgroup_kernel<1, kH, Tokens>), grid, block, 0, stream, a, t); break;
    case 64: hipLaunchKernelGGL((logits_token_warpgroup_kernel<2, kH, Tokens>), grid, block, 0, stream, a, t); break;
    default: hipLaunchKernelGGL((logits_token_warpgroup_kernel<4, kH, Tokens>), grid, block, 0, stream, a, t); break;
  }
}

template <class Tokens>
void launch_twg(const LogitsDeviceArgs& a, const Tokens& t, hipStream_t stream) {
  if (a.rows == 0 || a.cols == 0) return;
  const dim3 grid(unsigned(a.rows), unsigned((a.cols + kChunk - 1) / kChunk));
  switch (a.heads) {
    case 16: return launch_twg_dim<16>(a, t, grid, stream);
    case 32: return launch_twg_dim<32>(a, t, grid, stream);
    default: return launch_twg_dim<64>(a, t, grid, stream);
  }
}

}  // namespace

bool twg_compiled() { return true; }
void launch_paged_logits_twg(const LogitsDeviceArgs& a, const PagedTokens& t, hipStream_t s) { launch_twg(a, t, s); }
void launch_ragged_logits_twg(const LogitsDeviceArgs& a, const RaggedTokens& t, hipStream_t s) { launch_twg(a, t, s); }

#else  // not built for sm_90a, or not NVIDIA

bool twg_compiled() { return false; }
void launch_paged_logits_twg(const LogitsDeviceArgs&, const PagedTokens&, hipStream_t) {
  throw DeviceError("the twg logits kernel is not built (it needs an sm_90a build)");
}
void launch_ragged_logits_twg(const LogitsDeviceArgs&, const RaggedTokens&, hipStream_t) {
  throw DeviceError("the twg logits kernel is not built (it needs an sm_90a build)");
}

#endif

}  // namespace mqa::device::detail
