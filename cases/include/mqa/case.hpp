// Case descriptors: one small value that prints as ONE line, parses back exactly, and fully
// determines every tensor of a test case through mqa::CounterRng. Properties, the fuzz
// campaign, golden files and repro commands all speak in descriptors, so a failing case is a
// line of text and shrinking works on shapes and lengths, not on megabytes of tensors.
//
// Line format (keys in this order; parse accepts any order, missing keys take the defaults
// below, unknown keys are rejected):
//   op=paged_logits layout=preshuffle16 B=64 D=128 Qb=128 H=64 next_n=2 lens=1d:[513,0,64]
//   pages=70000 stride=natural max_blocks=auto table=perm tpad=0 pad_slots=0 max_ctx=auto
//   out_pad=0 enc=e4m3fn quant=exact ue8m0=0 profile=exact clean=0 dist=randn
//   M=0 ranges=causal topk=2048 seed=0x1234
// followed, only where they differ from their defaults (so that every line written before they
// existed prints and regenerates as it did), by the value keys
//   ksrc=bf16 amax=free nan_codes=0 odd_weights=0 odd_scales=0
// lens: `1d:[a,b,...]` (one per sequence) or `2d:[a,b|c,d]` (next_n per sequence, `|` between
// sequences). table: `perm` (distinct pages drawn from the pool by the seed) or explicit rows
// `[3,5,-1|7,-1,-1]` (row stride = max_blocks + tpad). ranges (ragged only): causal | random |
// full | explicit `[ks:ke,ks:ke,...]`.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mqa/case_elements.hpp"
#include "mqa/compare.hpp"
#include "mqa/fp8.hpp"
#include "mqa/kcache.hpp"
#include "mqa/layout.hpp"
#include "mqa/logits.hpp"
#include "mqa/sentinels.h"
#include "mqa/tolerance.hpp"
#include "mqa/topk.hpp"

namespace mqa {

enum class CaseOp : uint8_t { quant_cache = 0, gather = 1, paged_logits = 2, ragged_logits = 3 };
enum class RangeGen : uint8_t { causal = 0, random = 1, full = 2, explicit_list = 3 };
// ValueDist, KSource and AmaxEdge: mqa/case_elements.hpp (the element functions take them).

const char* to_string(CaseOp op);
CaseOp case_op_from_string(const std::string& s);
const char* to_string(ValueDist d);
ValueDist value_dist_from_string(const std::string& s);
const char* to_string(KSource k);
KSource k_source_from_string(const std::string& s);
const char* to_string(AmaxEdge a);
AmaxEdge amax_edge_from_string(const std::string& s);

struct CaseDescriptor {
  CaseOp op = CaseOp::paged_logits;
  PageLayoutKind layout = PageLayoutKind::standard;
  int32_t page_size = 64;    // B
  int32_t head_dim = 128;    // D
  int32_t quant_block = 128; // Qb (the logits ops need Qb == D)
  int32_t heads = 64;        // H
  int32_t next_n = 1;
  bool lens_2d = false;
  std::vector<int32_t> lens;  // 1d: [batch]; 2d: [batch * next_n] row-major
  int64_t pool_pages = 0;     // 0: "auto" = exactly the pages the table needs
  int64_t page_stride = 0;    // 0: "natural" = B*(D + 4*D/Qb)
  int32_t max_blocks = 0;     // 0: "auto" = the most pages any sequence needs
  std::vector<int32_t> table; // empty: "perm"; else explicit [batch, max_blocks + tpad]
  int32_t table_pad = 0;      // extra int32 per table row (row stride = max_blocks + tpad)
  int32_t pad_slots = 0;      // padding tokens (slot -1) mixed into the slot mapping
  int32_t max_context_len = 0;// 0: "auto" = the longest row (+ future region)
  int32_t out_pad = 0;        // extra floats per logits row (DeepGEMM pads rows to 256)
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;
  QuantVariant quant = QuantVariant::exact;
  bool ue8m0 = false;
  Profile profile = Profile::exact;
  bool clean_logits = false;
  ValueDist dist = ValueDist::randn;
  int32_t M = 0;              // ragged: query rows (k rows N = sum of lens)
  RangeGen ranges = RangeGen::causal;
  std::vector<int32_t> ks, ke;  // ragged, explicit ranges only
  int32_t topk = 2048;        // k of the top-k consumer (logits ops)
  uint64_t seed = 0;
  // ---- special values (docs/numerics.md defines the result of each; case_specials.cpp) ----
  KSource ksrc = KSource::bf16;   // dtype of the K source (ops whose cache comes from a source)
  AmaxEdge amax = AmaxEdge::free; // amax of every quant block at / next to FMAX*2^e
  bool nan_codes = false;   // NaN fp8 codes in q and in the cache's k (logits ops, gather)
  bool odd_weights = false; // weights +-inf, NaN, +-0, subnormal, +-3e38 (logits ops)
  bool odd_scales = false;  // k scales 0, -0, negative, subnormal, 1e30; NaN/+-inf where no
                            // row reads the token (ragged) or the op copies bytes (gather)

  int32_t batch() const;  // number of sequences
  bool operator==(const CaseDescriptor&) const = default;
};

// The keys of d the element functions of mqa/case_elements.hpp read (for a device generator).
namespace casegen {
ValueKeys value_keys(const CaseDescriptor& d);
}

std::string to_string(const CaseDescriptor& d);
std::ostream& operator<<(std::ostream& os, const CaseDescriptor& d);  // the one-line form
// Parses one line; throws InvalidInput naming the field (e.g. "lens", "B") and the value.
CaseDescriptor parse_case(const std::string& line);

// Dense pools up to this size are materialised whole; larger ones are sparse (see PoolBuffer).
inline constexpr int64_t kDensePoolLimit = int64_t(64) << 20;
// The output sentinels (kCacheSentinel, kLogitSentinelBits, kGatherSentinel): mqa/sentinels.h.

// The cache pool as a kernel sees it: num_pages * page_stride bytes of HOST memory. A pool
// beyond kDensePoolLimit (page ids >= 65,536 with big strides, pools past 2^32 bytes) is an
// anonymous MAP_NORESERVE mapping in which only the pages the case uses are touched; the rest
// read as zero and cost no memory. That is how a cheap case reaches 64-bit offsets.
class PoolBuffer {
 public:
  PoolBuffer() = default;
  explicit PoolBuffer(int64_t bytes);
  ~PoolBuffer();
  PoolBuffer(PoolBuffer&& o) noexcept;
  PoolBuffer& operator=(PoolBuffer&& o) noexcept;
  PoolBuffer(const PoolBuffer&) = delete;
  PoolBuffer& operator=(const PoolBuffer&) = delete;
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  int64_t size_ = 0;
};

// Where a kernel's copy of a case's inputs lives (the case's host vectors, a PoolBuffer, device
// memory): a kernel-side problem of CaseTensors points there. Outputs are not inputs: a caller
// passes them to the converter (mqa/kut_problem.hpp) or the op itself.
struct CaseBuffers {
  const uint8_t* pool = nullptr;   // num_pages * page_stride bytes, the pages at their physical ids
  const int32_t* table = nullptr;  // the physical block table (block_table)
  const int32_t* lens = nullptr;
  const uint8_t* q = nullptr;
  const float* weights = nullptr;
  const uint8_t* k = nullptr;     // ragged: the gathered codes
  const float* kscale = nullptr;  // ragged
  const int32_t *ks = nullptr, *ke = nullptr;
};

struct CaseTensors {
  CaseDescriptor desc;  // normalised: auto fields resolved (pages, stride, max_blocks, max_ctx)
  int32_t batch = 0;
  // --- the pool --------------------------------------------------------------------------
  PagedCacheLayout pool;           // as the kernel sees it (pool.num_pages = desc.pool_pages)
  bool sparse_pool = false;        // true: only `page_ids` pages exist in a kernel's buffer
  std::vector<int64_t> page_ids;   // physical id of page c of `cache` (identity when dense)
  KCache cache;                    // compact pool (page c <-> page_ids[c]) AFTER the write
  // --- table and lengths (physical ids, as passed to a kernel) ---------------------------
  std::vector<int32_t> block_table;          // [batch, table_row_stride]
  std::vector<int32_t> block_table_compact;  // same, ids of `cache`
  int64_t table_row_stride = 0;
  std::vector<int32_t> lens;                 // desc.lens
  std::vector<int32_t> written;              // tokens written per sequence (W_b)
  // --- the write (quantise-and-cache) ----------------------------------------------------
  std::vector<uint16_t> k_bits16;  // [T, D] source K as bf16 or fp16 bits (desc.ksrc); empty for fp32
  std::vector<float> k;            // [T, D] the same values in fp32 (exact); the source itself for fp32
  std::vector<int64_t> slots;      // [T] physical slots (-1 = padding)
  std::vector<int64_t> slots_compact;
  bool cache_from_source = true;   // false: codes written directly (friendly), or NaN codes / odd
                                   // scales planted after the write: `k` is then decode(code) * scale
  // --- logits inputs ---------------------------------------------------------------------
  std::vector<uint8_t> q;          // paged: [batch, next_n, H, D]; ragged: [M, H, D] codes
  std::vector<float> weights;      // [rows, H]
  std::vector<int32_t> ks, ke;     // ragged [M]
  Gathered gathered;               // gather of every sequence (also ragged's k / kscale)
  std::vector<float> kscale;       // ragged [N] (= gathered scales as floats, Qb == D)
  // --- expected outputs (reference) ------------------------------------------------------
  int64_t rows = 0, cols = 0, logits_row_stride = 0;
  std::vector<float> logits;       // [rows, logits_row_stride], sentinel outside written cols
  LogitsRegions regions;
  std::vector<int32_t> topk;       // [rows, desc.topk] canonical top-k of the expected logits
  bool has_expected_logits = false;
  // false (materialize_layout): only the shape is on the host (table, pool layout, page ids,
  // slots, regions); k, the cache bytes, gathered, q and weights are empty: a generator elsewhere
  // (the device's, mqa/device_case_gen.hpp) builds them from the descriptor.
  bool inputs_on_host = true;

  int64_t num_tokens() const { return int64_t(slots.size()); }
  // The kernel-visible pool: sentinel-filled, and (written = true) holding the case's pages.
  PoolBuffer make_pool(bool written) const;
  // Page c of `cache` inside a kernel-visible pool buffer.
  const uint8_t* pool_page(const PoolBuffer& buf, size_t c) const;
  // The case's pages cut out of a kernel-visible pool, in the order of `cache` (what a kernel
  // left there, to compare with cache.bytes; a dense pool is copied whole).
  std::vector<uint8_t> compact_pages(const PoolBuffer& buf) const;
  // The problem of each op: with no argument, what the reference runs (the compact cache and
  // table, the host vectors); with buffers, what a kernel gets (the physical pool of
  // num_pages * page_stride bytes, the physical table, every input where `b` says).
  PagedLogitsProblem paged_problem() const;
  RaggedLogitsProblem ragged_problem() const;
  PagedLogitsProblem paged_problem(const CaseBuffers& b) const;
  RaggedLogitsProblem ragged_problem(const CaseBuffers& b) const;
  // The case's host vectors with the physical table and `pool_bytes` (e.g. make_pool()'s data()).
  CaseBuffers host_buffers(const uint8_t* pool_bytes) const;
  // The cache ops as a kernel gets them, on a kernel-visible pool (make_pool(); a sparse one is
  // viewed, never copied): the physical slots / table, the host K source and lengths.
  QuantCacheProblem quant_problem(PoolBuffer& pool_buf) const;
  GatherProblem gather_problem(const PoolBuffer& pool_buf) const;

  // ---- judging a kernel's logits (case_compare.cpp; the campaign and the Python package) ----
  // The tolerance model's bound of every expected logit, indexed like `logits`.
  std::vector<double> logits_bounds(const ToleranceSpec& spec) const;
  // Coordinates of a mismatch: (b, j, token) and the physical page / slot / bytes of the pool
  // the kernel was given (page ids as in block_table, not the compact ones).
  LogitsCoordinates logits_coordinates() const;
  // `actual` ([rows * row_stride] floats or more, the rest checked against the sentinel when
  // `mode` has one) against the expected logits, sentinel-extended; `clean` comes from the
  // case, tolerance bounds from logits_bounds().
  CompareReport compare_logits(std::span<const float> actual, CompareMode mode, int32_t max_listed = 10) const;
  // The same against an expected buffer computed elsewhere (the device oracle of kut ABI
  // version 2), laid out like `logits`; tolerance modes still bound by the host's logits_bounds().
  CompareReport compare_logits_with(std::span<const float> expected, std::span<const float> actual, CompareMode mode,
                                    int32_t max_listed = 10) const;
};

// Builds every input and, with `expected`, the reference outputs of the descriptor's op
// (logits ops: the fast reference). Throws InvalidInput for a descriptor that is not a valid
// case (naming the field), including a sparse pool whose used pages exceed kDensePoolLimit.
CaseTensors materialize(const CaseDescriptor& d, bool expected = true);

// The shape of a paged_logits case without its values (CaseTensors::inputs_on_host = false): what
// materialize() builds of it on the host before the K source (the same table, pool, page ids,
// slot mapping, and the same InvalidInput for an invalid descriptor), then the logits shape and
// regions, checked without reading k scales. For a generator that builds the values from the
// descriptor elsewhere (the device); the host would spend seconds a deployed case on them.
CaseTensors materialize_layout(const CaseDescriptor& d);

// The checks materialize() makes before it allocates anything (the same InvalidInput), e.g.
// whether a drawn case fits MQA_CASE_BYTES_LIMIT, without building it.
void check_case(const CaseDescriptor& d);

// Recomputes the expected logits (and top-k) of t with the fast reference, or the naive oracle.
void compute_expected_logits(CaseTensors& t, bool naive = false);

}  // namespace mqa
