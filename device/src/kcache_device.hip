// Quantise-and-cache (`exact` variant) and gather on the device, with their host wrappers.
// Arithmetic comes from quant.hpp and every address from layout.hpp: the same code the host
// reference runs, so the bytes written are the same.
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "device_common.hpp"
#include "mqa/validate.hpp"

namespace mqa::device {

namespace {

constexpr int kThreads = 256;

// One thread per (token, quant block). Tokens whose slot is < 0 are skipped.
__global__ void quantize_kernel(const float* k, const int64_t* slots, int64_t tokens, PagedCacheLayout l,
                                Fp8Encoding enc, int32_t ue8m0, uint8_t* cache) {
  const int32_t spt = l.page.scales_per_token(), Qb = l.page.quant_block;
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= tokens * spt) return;
  const int64_t i = idx / spt;
  const int32_t qb = int32_t(idx % spt);
  const int64_t slot = slots[i];
  if (slot < 0) return;
  const int64_t page = l.slot_page(slot);
  const int32_t t = l.slot_in_page(slot);
  const float* blk = k + i * l.page.head_dim + int64_t(qb) * Qb;
  const float sc = exact_block_scale(block_amax(blk, Qb), enc, ue8m0 != 0);
  for (int32_t j = 0; j < Qb; ++j) cache[l.value_byte(page, t, qb * Qb + j)] = exact_quantize_value(blk[j], sc, enc);
  const uint32_t bits = f32_bits(sc);
  uint8_t* s = cache + l.scale_byte(page, t, qb);  // byte stores: D*B need not keep 4-alignment
  for (int j = 0; j < 4; ++j) s[j] = uint8_t(bits >> (8 * j));
}

// One thread per output byte of a gathered row: D value bytes, then 4*D/Qb scale bytes.
__global__ void gather_kernel(PagedView view, const uint8_t* cache, const int64_t* row_begin, int32_t batch,
                              int64_t rows, uint8_t* values, uint8_t* scales) {
  const int32_t D = view.cache.page.head_dim;
  const int32_t scale_row = 4 * view.cache.page.scales_per_token();
  const int64_t row_bytes = D + scale_row;
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= rows * row_bytes) return;
  const int64_t row = idx / row_bytes;
  const int32_t byte = int32_t(idx % row_bytes);
  int32_t lo = 0, hi = batch;  // last b with row_begin[b] <= row
  while (hi - lo > 1) {
    const int32_t mid = (lo + hi) / 2;
    if (row_begin[mid] <= row) lo = mid; else hi = mid;
  }
  const int64_t s = row - row_begin[lo];
  if (byte < D)
    values[row * D + byte] = cache[view.value_byte(lo, s, byte)];
  else
    scales[row * scale_row + (byte - D)] = cache[view.scale_byte(lo, s, 0) + (byte - D)];
}

unsigned blocks_for(int64_t n) { return unsigned((n + kThreads - 1) / kThreads); }

// Slots as the device writes them: when two tokens name one slot the later one wins, as in the
// reference's sequential loop; the earlier ones become -1 so no two threads write one slot.
std::vector<int64_t> last_writer_slots(std::span<const int64_t> slots) {
  std::vector<int64_t> out(slots.begin(), slots.end());
  std::unordered_map<int64_t, int64_t> last;
  last.reserve(slots.size());
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i] >= 0) {
      auto [it, fresh] = last.try_emplace(slots[i], int64_t(i));
      if (!fresh) {
        out[size_t(it->second)] = -1;
        it->second = int64_t(i);
      }
    }
  return out;
}

// The same checks, fields and messages as the reference's quantize_and_cache.
void validate_quantize(KCacheView cache, std::span<const float> k, std::span<const int64_t> slots) {
  const PagedCacheLayout& l = cache.layout;
  validate_cache(l, cache.size);
  const int64_t T = int64_t(slots.size()), D = l.page.head_dim;
  if (int64_t(k.size()) != T * D)
    reject("k.size", k.size(), "expected slots.size * head_dim = " + std::to_string(T * D));
  const int64_t pool_slots = l.num_pages * l.page.page_size;
  for (int64_t i = 0; i < T; ++i) {
    if (slots[size_t(i)] >= pool_slots)
      reject("slot_mapping[" + std::to_string(i) + "]", slots[size_t(i)],
             "beyond the pool of " + std::to_string(pool_slots) + " slots (" + std::to_string(l.num_pages) +
                 " pages of " + std::to_string(l.page.page_size) + ")");
    if (slots[size_t(i)] < 0) continue;
    for (int64_t d = 0; d < D; ++d) {
      const float x = k[size_t(i * D + d)];
      if (!std::isfinite(x))
        reject("k[" + std::to_string(i) + "][" + std::to_string(d) + "]", std::to_string(x),
               "not finite: the scale would be NaN");
    }
  }
}

}  // namespace

void quantize_and_cache(const QuantCacheProblem& q) {
  const PagedCacheLayout& layout = q.cache.layout;
  const QuantParams& p = q.params;
  const std::span<const float> k = q.k;
  const std::span<const int64_t> slots = q.slots;
  uint8_t* const cache_bytes = q.cache.bytes;
  const std::string why = unsupported_quant(p.variant);
  if (!why.empty()) throw DeviceError("unsupported: " + why);
  validate_quantize(q.cache, k, slots);
  detail::require_device();
  const int64_t T = int64_t(slots.size());
  if (T == 0) return;
  const std::vector<int64_t> eff = last_writer_slots(slots);
  detail::DeviceBuffer<uint8_t> cache(cache_bytes, size_t(layout.total_bytes()));
  detail::DeviceBuffer<float> kd(k.data(), k.size());
  detail::DeviceBuffer<int64_t> sd(eff.data(), eff.size());
  const int64_t threads = T * layout.page.scales_per_token();
  hipLaunchKernelGGL(quantize_kernel, dim3(blocks_for(threads)), dim3(kThreads), 0, nullptr, kd.get(), sd.get(), T,
                     layout, p.encoding, int32_t(p.ue8m0), cache.get());
  detail::check_launch("quantize_kernel");
  cache.download(cache_bytes, size_t(layout.total_bytes()));
}

void gather_k_cache(const GatherProblem& g, uint8_t* values_out, uint8_t* scales_out) {
  const PagedCacheLayout& layout = g.cache.layout;
  const uint8_t* const cache_bytes = g.cache.bytes;
  const BlockTableView& table = g.table;
  const std::span<const int32_t> lens = g.lens;
  validate_cache(layout, g.cache.size);
  validate_table_for_lengths(table, lens, layout.page.page_size, layout.num_pages, "lens");
  detail::require_device();
  std::vector<int64_t> row_begin(lens.size() + 1, 0);
  for (size_t b = 0; b < lens.size(); ++b) row_begin[b + 1] = row_begin[b] + lens[b];
  const int64_t rows = row_begin.back();
  if (rows == 0) return;
  const int32_t D = layout.page.head_dim, scale_row = 4 * layout.page.scales_per_token();
  detail::DeviceBuffer<uint8_t> cache(cache_bytes, size_t(layout.total_bytes()));
  const size_t table_len = size_t((int64_t(table.batch) - 1) * table.row_stride + table.max_blocks);
  detail::DeviceBuffer<int32_t> tab(table.data, table_len);
  detail::DeviceBuffer<int64_t> rb(row_begin.data(), row_begin.size());
  detail::DeviceBuffer<uint8_t> vals(size_t(rows * D)), scs(size_t(rows * scale_row));
  const PagedView view{layout, BlockTableView{tab.get(), table.batch, table.max_blocks, table.row_stride}};
  hipLaunchKernelGGL(gather_kernel, dim3(blocks_for(rows * (D + scale_row))), dim3(kThreads), 0, nullptr, view,
                     cache.get(), rb.get(), int32_t(lens.size()), rows, vals.get(), scs.get());
  detail::check_launch("gather_kernel");
  vals.download(values_out, vals.size());
  scs.download(scales_out, scs.size());
}

}  // namespace mqa::device
