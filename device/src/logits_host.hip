// Host wrappers of the MQA-logits kernels: validate through the reference's own region
// functions (logits.hpp), copy to the device, launch the chosen path, copy the output back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "device_common.hpp"
#include "logits_launch.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/validate.hpp"

namespace mqa::device {

namespace detail {

const char* to_string(LogitsKernel k) {
  switch (k) {
    case LogitsKernel::generic: return "generic";
    case LogitsKernel::token_warps: return "tw3";
    case LogitsKernel::lean: return "lean2";
  }
  return "?";
}

namespace {
// MQA_FAST_KERNEL, read once: true forces lean2 where tw3 would run.
bool force_lean() {
  static const bool lean = [] {
    const char* e = std::getenv("MQA_FAST_KERNEL");
    const std::string v = e == nullptr ? "" : e;
    if (v.empty() || v == "tw3") return false;
    if (v == "lean2") return true;
    throw DeviceError("invalid MQA_FAST_KERNEL = '" + v + "': expected tw3 (the default) or lean2 (its fallback); "
                      "mma1, lean1, tw1, tw2 and wgmma were removed (git history)");
  }();
  return lean;
}
}  // namespace

LogitsKernel choose_kernel(LogitsPath requested, int32_t heads, int32_t head_dim, bool direct_ok) {
  const bool fits = fast_path_fits(heads, head_dim);
  if (requested == LogitsPath::fast && !fits)
    throw DeviceError(std::string("the fast logits path ") + (fast_path_compiled() ? "does not cover" : "is not built for") +
                      " heads = " + std::to_string(heads) + ", head_dim = " + std::to_string(head_dim));
  if (requested == LogitsPath::generic || !fits) return LogitsKernel::generic;
  const bool lean = force_lean();  // an unknown value is an error on every fast launch
  return !lean && direct_ok && heads <= 64 ? LogitsKernel::token_warps : LogitsKernel::lean;
}

void launch_paged_logits(const LogitsDeviceArgs& a, const PagedTokens& t, LogitsKernel kernel, hipStream_t stream) {
  if (kernel == LogitsKernel::generic) launch_paged_logits_generic(a, t, stream);
  else launch_paged_logits_fast(a, t, kernel, stream);
}
void launch_ragged_logits(const LogitsDeviceArgs& a, const RaggedTokens& t, LogitsKernel kernel, hipStream_t stream) {
  if (kernel == LogitsKernel::generic) launch_ragged_logits_generic(a, t, stream);
  else launch_ragged_logits_fast(a, t, kernel, stream);
}

namespace {

std::vector<RowSpan> spans_of(const LogitsRegions& g) {
  std::vector<RowSpan> s(g.row.size());
  for (size_t r = 0; r < s.size(); ++r) s[r] = RowSpan{g.row[r].valid_begin, g.row[r].valid_end};
  return s;
}

// The part of the caller's output buffer that an op may touch: rows-1 strides plus one row.
size_t out_extent(const LogitsRegions& g) { return g.rows == 0 ? 0 : size_t((g.rows - 1) * g.row_stride + g.cols); }

void refuse_unsupported(Profile profile, int32_t heads, int32_t head_dim) {
  const std::string why = unsupported_logits(profile, heads, head_dim);
  if (!why.empty()) throw DeviceError("unsupported: " + why);
}

}  // namespace
}  // namespace detail

std::string chosen_logits_kernel(LogitsPath path, int32_t heads, int32_t head_dim, bool direct_copies) {
  return detail::to_string(detail::choose_kernel(path, heads, head_dim, direct_copies));
}

namespace detail {
namespace {

// Where the k tokens of each problem are, as the kernels read them (device pointers).
PagedTokens tokens_of(const PagedLogitsProblem& p) {
  const bool aligned = p.cache.page_stride % 16 == 0 && p.cache.page.head_dim % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(p.cache_bytes) % 16 == 0;
  return PagedTokens{PagedView{p.cache, p.table}, p.cache_bytes, p.next_n, int32_t(aligned)};
}
RaggedTokens tokens_of(const RaggedLogitsProblem& p) {
  const bool aligned = p.head_dim % 16 == 0 && reinterpret_cast<uintptr_t>(p.k) % 16 == 0;
  return RaggedTokens{p.k, p.kscale, p.head_dim, int32_t(aligned)};
}
int32_t head_dim_of(const PagedLogitsProblem& p) { return p.cache.page.head_dim; }
int32_t head_dim_of(const RaggedLogitsProblem& p) { return p.head_dim; }

// Launches the chosen kernel over device tensors (`p`'s pointers and `out` are device memory)
// and waits for the stream: the spans buffer lives until the kernel has finished. One body for
// both ops: the launch arguments are written once.
template <class Problem>
void run_logits(const Problem& p, const LogitsRegions& g, float* out, int64_t out_row_stride, hipStream_t stream,
                LogitsPath path, const char* op) {
  const int32_t H = p.heads, D = head_dim_of(p);
  const std::vector<RowSpan> spans = spans_of(g);
  DeviceBuffer<RowSpan> sp(spans.data(), spans.size());
  const LogitsDeviceArgs a{p.q, p.weights, out, out_row_stride, sp.get(), int32_t(g.rows), H, D,
                           g.cols, int32_t(p.clean_logits), p.encoding};
  const auto t = tokens_of(p);
  const LogitsKernel kernel = choose_kernel(path, H, D, t.direct_ok());
  if constexpr (std::is_same_v<Problem, PagedLogitsProblem>) launch_paged_logits(a, t, kernel, stream);
  else launch_ragged_logits(a, t, kernel, stream);
  check(hipGetLastError(), (std::string("launch of ") + op + " (" + to_string(kernel) + ")").c_str());
  check(hipStreamSynchronize(stream), (std::string(op) + " (" + to_string(kernel) + ")").c_str());
}

// The caller's regions must be the problem's (computed on host copies of the same problem).
void check_regions(const LogitsRegions& g, int64_t rows, int64_t cols, int64_t out_row_stride) {
  if (g.rows != rows) reject("regions.rows", g.rows, "the problem has " + std::to_string(rows) + " rows");
  if (g.cols != cols) reject("regions.cols", g.cols, "the problem has " + std::to_string(cols) + " columns");
  if (g.row_stride != out_row_stride)
    reject("regions.row_stride", g.row_stride, "differs from out_row_stride = " + std::to_string(out_row_stride));
  if (int64_t(g.row.size()) != rows) reject("regions.row.size", g.row.size(), "must equal rows");
  for (size_t r = 0; r < g.row.size(); ++r)
    if (g.row[r].valid_begin < 0 || g.row[r].valid_begin > g.row[r].valid_end || g.row[r].valid_end > cols)
      reject("regions.row[" + std::to_string(r) + "]", g.row[r].valid_end, "outside [0, cols]");
}

}  // namespace
}  // namespace detail

void paged_mqa_logits(const PagedLogitsProblem& p, float* out, int64_t out_row_stride, LogitsPath path) {
  using namespace detail;
  const int32_t H = p.heads, D = p.cache.page.head_dim;
  const LogitsRegions g = paged_logits_regions(p, out_row_stride);
  refuse_unsupported(p.profile, H, D);
  require_device();
  const size_t extent = out_extent(g);
  if (extent == 0) return;
  int64_t needed = 0;
  for (const RowRegion& r : g.row) needed += r.valid_end;
  const bool reads = needed > 0;
  DeviceBuffer<uint8_t> cache(reads ? p.cache_bytes : nullptr, reads ? size_t(p.cache.total_bytes()) : 0);
  const size_t table_len =
      reads ? size_t((int64_t(p.table.batch) - 1) * p.table.row_stride + p.table.max_blocks) : 0;
  DeviceBuffer<int32_t> table(p.table.data, table_len);
  const size_t rows = size_t(g.rows);
  DeviceBuffer<uint8_t> q(p.q, rows * size_t(H) * size_t(D));
  DeviceBuffer<float> w(p.weights, rows * size_t(H));
  DeviceBuffer<float> o(out, extent);
  PagedLogitsProblem dev = p;
  dev.cache_bytes = cache.get(), dev.table.data = table.get(), dev.q = q.get(), dev.weights = w.get();
  run_logits(dev, g, o.get(), out_row_stride, nullptr, path, "paged logits");
  o.download(out, extent);
}

void ragged_mqa_logits(const RaggedLogitsProblem& p, float* out, int64_t out_row_stride, LogitsPath path) {
  using namespace detail;
  const int32_t H = p.heads, D = p.head_dim;
  const LogitsRegions g = ragged_logits_regions(p, out_row_stride);
  refuse_unsupported(p.profile, H, D);
  require_device();
  const size_t extent = out_extent(g);
  if (extent == 0) return;
  int64_t needed = 0;
  for (const RowRegion& r : g.row) needed += r.valid_end - r.valid_begin;
  const bool reads = needed > 0;
  DeviceBuffer<uint8_t> k(reads ? p.k : nullptr, reads ? size_t(p.N) * size_t(D) : 0);
  DeviceBuffer<float> ks(reads ? p.kscale : nullptr, reads ? size_t(p.N) : 0);
  const size_t rows = size_t(g.rows);
  DeviceBuffer<uint8_t> q(p.q, rows * size_t(H) * size_t(D));
  DeviceBuffer<float> w(p.weights, rows * size_t(H));
  DeviceBuffer<float> o(out, extent);
  RaggedLogitsProblem dev = p;
  dev.k = k.get(), dev.kscale = ks.get(), dev.q = q.get(), dev.weights = w.get();
  run_logits(dev, g, o.get(), out_row_stride, nullptr, path, "ragged logits");
  o.download(out, extent);
}

void paged_mqa_logits_on_device(const PagedLogitsProblem& p, const LogitsRegions& g, float* out,
                                int64_t out_row_stride, void* stream, LogitsPath path) {
  using namespace detail;
  check_regions(g, int64_t(p.batch) * p.next_n, p.max_context_len, out_row_stride);
  refuse_unsupported(p.profile, p.heads, p.cache.page.head_dim);
  require_device();
  if (out_extent(g) == 0) return;
  run_logits(p, g, out, out_row_stride, static_cast<hipStream_t>(stream), path, "paged logits");
}

void ragged_mqa_logits_on_device(const RaggedLogitsProblem& p, const LogitsRegions& g, float* out,
                                 int64_t out_row_stride, void* stream, LogitsPath path) {
  using namespace detail;
  check_regions(g, p.M, p.N, out_row_stride);
  refuse_unsupported(p.profile, p.heads, p.head_dim);
  require_device();
  if (out_extent(g) == 0) return;
  run_logits(p, g, out, out_row_stride, static_cast<hipStream_t>(stream), path, "ragged logits");
}

}  // namespace mqa::device
