// Materialised case -> golden Case. The only place that decides which tensor becomes which
// dataset, with which role, encoding and comparison mode (SCHEMA.md).
#include <cmath>
#include <cstdio>
#include <limits>
#include <fstream>

#include "golden_schema.hpp"
#include "mqa/compare.hpp"
#include "mqa/golden_cases.hpp"
#include "mqa/validate.hpp"

namespace mqa::golden {
namespace {

template <class T>
void add(Case& c, const std::string& name, std::vector<int64_t> shape, const std::vector<T>& v,
         std::string encoding = {}, std::string compare = {}) {
  c.data[name] = Array::of<T>(std::move(shape), std::span<const T>(v), role_for(name, c.info), std::move(encoding),
                              std::move(compare));
}

}  // namespace

std::string case_name(const std::string& prefix, size_t index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "_%03zu", index);
  return prefix + buf;
}

// The model's bound of every logit, rounded up to float32 (a stored bound never shrinks).
std::vector<float> stored_bound(const CaseTensors& t, ToleranceModel model) {
  const std::vector<double> b = t.logits_bounds(ToleranceSpec{model, false});
  std::vector<float> out(size_t(t.rows * t.logits_row_stride), 0.0f);
  for (size_t i = 0; i < b.size() && i < out.size(); ++i) {
    float f = float(b[i]);
    if (double(f) < b[i]) f = std::nextafter(f, std::numeric_limits<float>::infinity());
    out[i] = f;
  }
  return out;
}

Case case_from_tensors(const std::string& name, const CaseTensors& t, const std::vector<ToleranceModel>& bounds) {
  const CaseDescriptor& d = t.desc;
  Case c;
  c.name = name;
  CaseInfo& i = c.info;
  i.op = to_string(d.op);
  i.descriptor = to_string(d);
  i.profile = to_string(d.profile);
  i.layout = to_string(d.layout);
  i.page_size = d.page_size;
  i.page_stride = t.pool.page_stride;
  i.num_pages = t.pool.num_pages;
  i.head_dim = d.head_dim;
  i.heads = is_logits_op(i.op) ? d.heads : 0;
  i.next_n = d.next_n;
  i.quant_block = d.quant_block;
  i.batch = t.batch;
  i.rows = int32_t(t.rows);
  i.quant_variant = to_string(d.quant);
  i.ue8m0 = d.ue8m0;
  i.encoding = to_string(d.encoding);
  i.seed = d.seed;
  i.lens_2d = d.lens_2d;
  i.clean_logits = d.clean_logits;
  i.cache_fill = kCacheSentinel;
  i.cache_from_source = t.cache_from_source;
  i.logits_sentinel = kLogitSentinelBits;
  const std::string enc = i.encoding;
  const int64_t D = d.head_dim, T = t.num_tokens();

  if (t.cache_from_source) {
    if (d.ksrc == KSource::fp32) add(c, "k_source", {T, D}, t.k, "fp32");
    else add(c, "k_source", {T, D}, t.k_bits16, to_string(d.ksrc));
    add(c, "slot_mapping", {T}, t.slots);
  }
  const int64_t P = int64_t(t.page_ids.size());
  c.data["cache"] = Array::of<uint8_t>({P, t.pool.page_stride}, t.cache.bytes, role_for("cache", i), enc,
                                       t.cache_from_source ? "bitwise" : "");
  add(c, "page_ids", {P}, t.page_ids);
  add(c, "block_table", {t.batch, t.table_row_stride}, t.block_table);
  if (d.lens_2d) add(c, "context_lens", {t.batch, d.next_n}, t.lens);
  else add(c, "context_lens", {t.batch}, t.lens);
  const int64_t G = t.gathered.rows, scale_row = 4 * (D / d.quant_block);
  add(c, "gathered_values", {G, D}, t.gathered.values, enc, "bitwise");
  add(c, "gathered_scales", {G, scale_row}, t.gathered.scales, "", "bitwise");

  if (is_logits_op(i.op)) {
    if (!t.has_expected_logits) throw std::logic_error("case_from_tensors: materialize(d, expected=true) needed");
    i.logits_cols = t.cols;
    i.logits_row_stride = t.logits_row_stride;
    i.topk = d.topk;
    const int64_t H = d.heads;
    if (d.op == CaseOp::paged_logits) add(c, "q", {t.batch, d.next_n, H, D}, t.q, enc);
    else add(c, "q", {t.rows, H, D}, t.q, enc);
    add(c, "weights", {t.rows, H}, t.weights);
    if (d.op == CaseOp::ragged_logits) {
      add(c, "ks", {t.rows}, t.ks);
      add(c, "ke", {t.rows}, t.ke);
    }
    CompareMode mode;
    mode.clean = d.clean_logits;
    add(c, "logits", {t.rows, t.logits_row_stride}, t.logits, "", mode.to_string());
    std::vector<int64_t> regions;
    for (const RowRegion& r : t.regions.row) regions.insert(regions.end(), {r.valid_begin, r.valid_end, r.future_end});
    add(c, "logits_regions", {t.rows, 3}, regions);
    add(c, "topk", {t.rows, int64_t(d.topk)}, t.topk, "", "topk_set");
    for (ToleranceModel m : bounds)
      add(c, std::string("logits_bound_") + to_string(m), {t.rows, t.logits_row_stride}, stored_bound(t, m));
  }
  validate_case(c, FileKind::golden);
  return c;
}

Case generate_case(const std::string& name, const std::string& descriptor, const std::vector<ToleranceModel>& bounds) {
  const CaseDescriptor d = parse_case(descriptor);
  if (d.op != CaseOp::paged_logits && d.op != CaseOp::ragged_logits)
    return case_from_tensors(name, materialize(d, true), bounds);
  // The row padding (out_pad) changes no value, only where rows start: materialised without it,
  // a case whose padded logits pass kRegionsStorageBytes is stored by regions and never holds
  // its dense buffer (512 rows of 2^21 floats: 4 GiB dense, a few KB of runs).
  CaseDescriptor unpadded = d;
  unpadded.out_pad = 0;
  const CaseTensors t = materialize(unpadded, true);
  const int64_t stride = t.cols + d.out_pad;
  if (t.rows * stride * 4 < kRegionsStorageBytes)
    return d.out_pad == 0 ? case_from_tensors(name, t, bounds) : case_from_tensors(name, materialize(d, true), bounds);
  Case c = logits_by_regions(case_from_tensors(name, t, bounds), stride);
  c.info.descriptor = to_string(d);
  validate_case(c, FileKind::golden);
  return c;
}

std::vector<CaseLine> read_case_list(const std::string& path) {
  if (const std::string why = input_file_problem(path); !why.empty()) throw GoldenError(path, "", "", "the case list " + why);
  std::ifstream in(path);
  if (!in) throw GoldenError(path, "", "", "cannot read the case list");
  std::vector<CaseLine> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
    try {
      parse_case(line);
    } catch (const InvalidInput& e) {
      throw GoldenError(path, "", "", "line " + std::to_string(n) + ": " + e.what());
    }
    out.push_back(CaseLine{n, line});
  }
  if (out.empty()) throw GoldenError(path, "", "", "no case descriptor in the list");
  return out;
}

}  // namespace mqa::golden
