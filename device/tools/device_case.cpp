// device_case.hpp: one materialised case through the device op its descriptor names, compared
// with the case's reference outputs (raw uint32 / byte equality over sentinel-filled buffers).
#include "device_case.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include "mqa/compare.hpp"
#include "mqa/validate.hpp"

namespace mqa::device {

namespace {

constexpr int64_t kGuardFloats = 64;  // after every logits buffer
constexpr int64_t kGuardBytes = 256;  // after every gathered buffer

// The reference problem of a paged case with the kernel-visible pool and the physical block
// table in place of the compact cache the reference itself reads.
PagedLogitsProblem physical_problem(const CaseTensors& t, const PoolBuffer& pool) {
  PagedLogitsProblem p = t.paged_problem();
  p.cache = t.pool;
  p.cache_bytes = pool.data();
  p.table = BlockTableView{t.block_table.data(), t.batch, t.desc.max_blocks, t.table_row_stride};
  return p;
}

// Runs the device call, timing it; what it throws is the run's error.
template <class F>
void timed(CaseRun& r, F&& call) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    call();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.device_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void add_bytes(CaseRun& r, const ByteCompareReport& rep) {
  r.compared += rep.compared;
  r.mismatches += rep.mismatched;
  if (!rep.pass) r.detail += rep.to_text();
}

// The reference bytes followed by an untouched guard zone: what a gathered buffer must hold.
std::vector<uint8_t> with_guard(const std::vector<uint8_t>& want) {
  std::vector<uint8_t> v = want;
  v.resize(want.size() + kGuardBytes, kGatherSentinel);
  return v;
}

void run_quant(CaseRun& r, const CaseTensors& t) {
  PoolBuffer pool = t.make_pool(false);
  timed(r, [&] { quantize_and_cache(t.quant_problem(pool)); });
  ByteCompareOptions o;
  o.name = "cache after quant_cache";
  add_bytes(r, compare_bytes(t.cache.bytes, t.compact_pages(pool), t.cache.layout, o));
}

void run_gather(CaseRun& r, const CaseTensors& t) {
  const PoolBuffer pool = t.make_pool(true);
  const std::vector<uint8_t> want_v = with_guard(t.gathered.values), want_s = with_guard(t.gathered.scales);
  std::vector<uint8_t> values(want_v.size(), kGatherSentinel), scales(want_s.size(), kGatherSentinel);
  timed(r, [&] { gather_k_cache(t.gather_problem(pool), values.data(), scales.data()); });
  ByteCompareOptions o;
  o.name = "gathered values (+256 guard bytes)";
  o.row_bytes = t.desc.head_dim;
  add_bytes(r, compare_bytes(want_v, values, std::nullopt, o));
  o.name = "gathered scales (+256 guard bytes)";
  o.row_bytes = 4 * (t.desc.head_dim / t.desc.quant_block);
  add_bytes(r, compare_bytes(want_s, scales, std::nullopt, o));
}

void run_logits(CaseRun& r, const CaseTensors& t, LogitsPath path) {
  const PoolBuffer pool = t.desc.op == CaseOp::paged_logits ? t.make_pool(true) : PoolBuffer();
  std::vector<float> out(size_t(t.rows * t.logits_row_stride + kGuardFloats), f32_from_bits(kLogitSentinelBits));
  timed(r, [&] {
    if (t.desc.op == CaseOp::paged_logits) paged_mqa_logits(physical_problem(t, pool), out.data(), t.logits_row_stride, path);
    else ragged_mqa_logits(t.ragged_problem(), out.data(), t.logits_row_stride, path);
  });
  CompareMode mode;  // bitwise; the case's clean_logits; nothing written outside the defined region
  mode.sentinel = kLogitSentinelBits;
  mode.writes = WriteScope::defined;
  const CompareReport rep = t.compare_logits(out, mode);
  int64_t raw = 0;  // raw uint32 equality of the whole buffer (the guard zone holds the sentinel)
  for (size_t i = 0; i < out.size(); ++i)
    raw += f32_bits(out[i]) != (i < t.logits.size() ? f32_bits(t.logits[i]) : kLogitSentinelBits);
  r.compared = rep.compared;
  r.mismatches = std::max(rep.mismatched, raw);
  r.nan_expected = rep.expected_special.nan;
  if (r.mismatches > 0) r.detail = rep.to_text() + "\nraw uint32 differences: " + std::to_string(raw);
}

}  // namespace

std::string unsupported_case(const CaseDescriptor& d, LogitsPath path) {
  if (d.op == CaseOp::quant_cache) return unsupported_quant(d.quant);
  if (d.op == CaseOp::gather) return "";
  std::string why = unsupported_logits(d.profile, d.heads, d.head_dim);
  if (why.empty() && path == LogitsPath::fast && !fast_path_fits(d.heads, d.head_dim))
    why = "the fast path does not cover H = " + std::to_string(d.heads) + ", D = " + std::to_string(d.head_dim);
  return why;
}

CaseRun run_case(const CaseTensors& t, LogitsPath path) {
  CaseRun r;
  r.unsupported = unsupported_case(t.desc, path);
  if (!r.unsupported.empty()) return r;
  switch (t.desc.op) {
    case CaseOp::quant_cache: run_quant(r, t); break;
    case CaseOp::gather: run_gather(r, t); break;
    case CaseOp::paged_logits:
    case CaseOp::ragged_logits: run_logits(r, t, path); break;
  }
  if (!r.error.empty()) {
    ++r.mismatches;
    r.detail = "device op threw: " + r.error + "\n" + r.detail;
  }
  return r;
}

std::vector<float> device_logits(const CaseTensors& t, LogitsPath path) {
  if (t.desc.op != CaseOp::paged_logits && t.desc.op != CaseOp::ragged_logits)
    reject("op", std::string(to_string(t.desc.op)), "device_logits takes the logits ops");
  std::vector<float> out(size_t(t.rows * t.logits_row_stride), f32_from_bits(kLogitSentinelBits));
  if (t.desc.op == CaseOp::ragged_logits) {
    ragged_mqa_logits(t.ragged_problem(), out.data(), t.logits_row_stride, path);
  } else {
    const PoolBuffer pool = t.make_pool(true);
    paged_mqa_logits(physical_problem(t, pool), out.data(), t.logits_row_stride, path);
  }
  return out;
}

}  // namespace mqa::device
