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

// (Positional, in declaration order: the fields of CaseBuffers, PagedLogitsProblem and
// RaggedLogitsProblem as case.hpp and logits.hpp list them.)
CaseBuffers CaseTensors::host_buffers(const uint8_t* pool_bytes) const {
  return CaseBuffers{pool_bytes,    block_table.data(), lens.data(), q.data(), weights.data(), gathered.values.data(),
                     kscale.data(), ks.data(),          ke.data()};
}

PagedLogitsProblem CaseTensors::paged_problem(const CaseBuffers& b) const {
  const CaseDescriptor& d = desc;
  const BlockTableView table{b.table, batch, d.max_blocks, table_row_stride};
  return PagedLogitsProblem{pool,           b.pool,    d.encoding, b.q,       batch, d.next_n,
                            d.heads,        b.weights, b.lens,     d.lens_2d, table, d.max_context_len,
                            d.clean_logits, d.profile};
}

PagedLogitsProblem CaseTensors::paged_problem() const {  // the same on the compact pool
  CaseBuffers b = host_buffers(cache.bytes.data());
  b.table = block_table_compact.data();
  PagedLogitsProblem p = paged_problem(b);
  p.cache = cache.layout;
  return p;
}

RaggedLogitsProblem CaseTensors::ragged_problem(const CaseBuffers& b) const {
  const CaseDescriptor& d = desc;
  return RaggedLogitsProblem{d.encoding, b.q,  d.M,  d.heads,        d.head_dim, b.k, b.kscale, int32_t(gathered.rows),
                             b.weights,  b.ks, b.ke, d.clean_logits, d.profile};
}

RaggedLogitsProblem CaseTensors::ragged_problem() const { return ragged_problem(host_buffers(nullptr)); }

QuantCacheProblem CaseTensors::quant_problem(PoolBuffer& pool_buf) const {
  return QuantCacheProblem{.cache = KCacheRef{pool, pool_buf.data(), pool_buf.size()},
                           .k = k,
                           .slots = slots,
                           .params = QuantParams{desc.quant, desc.encoding, desc.ue8m0}};
}

GatherProblem CaseTensors::gather_problem(const PoolBuffer& pool_buf) const {
  return GatherProblem{.cache = KCacheView{pool, pool_buf.data(), pool_buf.size()},
                       .encoding = desc.encoding,
                       .table = BlockTableView{block_table.data(), batch, desc.max_blocks, table_row_stride},
                       .lens = lens};
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
