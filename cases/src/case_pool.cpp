// The kernel-visible pool and the reference problem views of a materialised case.
#include <sys/mman.h>

#include <cstring>
#include <new>
#include <utility>

#include "mqa/case.hpp"
#include "mqa/validate.hpp"

namespace mqa {

PoolBuffer::PoolBuffer(int64_t bytes) : size_(bytes) {
  if (bytes <= 0) { size_ = 0; return; }
  // Anonymous private mapping: untouched pages cost nothing and read as zero.
  void* p = mmap(nullptr, size_t(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) reject("pool bytes", bytes, "mmap failed (address space)");
  data_ = static_cast<uint8_t*>(p);
}

PoolBuffer::~PoolBuffer() {
  if (data_) munmap(data_, size_t(size_));
}

PoolBuffer::PoolBuffer(PoolBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

PoolBuffer& PoolBuffer::operator=(PoolBuffer&& o) noexcept {
  if (this != &o) {
    if (data_) munmap(data_, size_t(size_));
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

PoolBuffer CaseTensors::make_pool(bool written) const {
  PoolBuffer buf(pool.total_bytes());
  const size_t stride = size_t(pool.page_stride);
  if (!sparse_pool) {
    if (written) std::memcpy(buf.data(), cache.bytes.data(), cache.bytes.size());
    else std::memset(buf.data(), kCacheSentinel, size_t(buf.size()));
    return buf;
  }
  for (size_t c = 0; c < page_ids.size(); ++c) {
    uint8_t* dst = buf.data() + page_ids[c] * pool.page_stride;
    if (written) std::memcpy(dst, cache.bytes.data() + c * stride, stride);
    else std::memset(dst, kCacheSentinel, stride);
  }
  return buf;
}

const uint8_t* CaseTensors::pool_page(const PoolBuffer& buf, size_t c) const {
  return buf.data() + page_ids[c] * pool.page_stride;
}

std::vector<uint8_t> CaseTensors::compact_pages(const PoolBuffer& buf) const {
  if (!sparse_pool) return std::vector<uint8_t>(buf.data(), buf.data() + buf.size());
  const size_t stride = size_t(pool.page_stride);
  std::vector<uint8_t> out(page_ids.size() * stride);
  for (size_t c = 0; c < page_ids.size(); ++c) std::memcpy(out.data() + c * stride, pool_page(buf, c), stride);
  return out;
}

PagedLogitsProblem CaseTensors::paged_problem() const {
  PagedLogitsProblem p;
  p.cache = cache.layout;
  p.cache_bytes = cache.bytes.data();
  p.encoding = desc.encoding;
  p.q = q.data();
  p.batch = batch;
  p.next_n = desc.next_n;
  p.heads = desc.heads;
  p.weights = weights.data();
  p.context_lens = lens.data();
  p.lens_2d = desc.lens_2d;
  p.table = BlockTableView{block_table_compact.data(), batch, desc.max_blocks, table_row_stride};
  p.max_context_len = desc.max_context_len;
  p.clean_logits = desc.clean_logits;
  p.profile = desc.profile;
  return p;
}

RaggedLogitsProblem CaseTensors::ragged_problem() const {
  RaggedLogitsProblem p;
  p.encoding = desc.encoding;
  p.q = q.data();
  p.M = desc.M;
  p.heads = desc.heads;
  p.head_dim = desc.head_dim;
  p.k = gathered.values.data();
  p.kscale = kscale.data();
  p.N = int32_t(gathered.rows);
  p.weights = weights.data();
  p.ks = ks.data();
  p.ke = ke.data();
  p.clean_logits = desc.clean_logits;
  p.profile = desc.profile;
  return p;
}

void compute_expected_logits(CaseTensors& t, bool naive) {
  t.logits.assign(size_t(t.rows * t.logits_row_stride), f32_from_bits(kLogitSentinelBits));
  if (t.desc.op == CaseOp::paged_logits) {
    const PagedLogitsProblem p = t.paged_problem();
    t.regions = paged_logits_regions(p, t.logits_row_stride);
    (naive ? paged_mqa_logits_naive : paged_mqa_logits)(p, t.logits.data(), t.logits_row_stride);
  } else if (t.desc.op == CaseOp::ragged_logits) {
    const RaggedLogitsProblem p = t.ragged_problem();
    t.regions = ragged_logits_regions(p, t.logits_row_stride);
    (naive ? ragged_mqa_logits_naive : ragged_mqa_logits)(p, t.logits.data(), t.logits_row_stride);
  } else {
    return;
  }
  t.topk = topk_indices(t.logits.data(), t.regions, t.desc.topk);
  t.has_expected_logits = true;
}

}  // namespace mqa
