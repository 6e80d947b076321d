// One dataset of a golden case against the same dataset of a candidate (or of another golden
// file): logits through the comparator (regions, logical + physical coordinates), top-k through
// the tie-aware set comparison, byte tensors through compare_bytes with the cache layout.
#include "compare_case.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "golden_schema.hpp"
#include "mqa/compare.hpp"
#include "mqa/kcache.hpp"
#include "mqa/topk.hpp"
#include "mqa/validate.hpp"

namespace mqa::golden {
namespace {

PagedCacheLayout cache_layout(const CaseInfo& i, int64_t pages) {
  return PagedCacheLayout{PageLayout{page_layout_from_string(i.layout), i.page_size, i.head_dim, i.quant_block},
                          i.page_stride, pages};
}

// Columns [0, n) of row r of a buffer by regions (off: regions_runs): its run, its outside
// floats, the implied bits elsewhere. The regions and the outside indices are checked already.
void region_row(const RegionLogits& b, const LogitsRegions& g, const std::vector<int64_t>& off, int64_t r, int64_t n,
                float* out) {
  const RowRegion& x = g.row[size_t(r)];
  for (int64_t c = 0; c < n; ++c)
    out[c] = c >= x.valid_begin && c < x.future_end ? b.runs[size_t(off[size_t(r)] + c - x.valid_begin)]
             : b.clean && c < g.cols                ? f32_from_bits(0xFF800000u)
                                                    : f32_from_bits(b.fill);
  const int64_t base = r * g.row_stride;
  auto it = std::lower_bound(b.outside.begin(), b.outside.end(), base,
                             [](const std::pair<int64_t, uint32_t>& e, int64_t v) { return e.first < v; });
  for (; it != b.outside.end() && it->first < base + n; ++it) out[it->first - base] = f32_from_bits(it->second);
}

LogitsRegions regions_of(const Case& g) {
  const Array& a = g.at("logits_regions");
  const auto v = a.view<int64_t>();
  LogitsRegions r;
  r.rows = g.info.rows;
  r.cols = g.info.logits_cols;
  r.row_stride = g.info.logits_row_stride;
  for (int64_t i = 0; i < r.rows; ++i)
    r.row.push_back(RowRegion{v[size_t(3 * i)], v[size_t(3 * i + 1)], v[size_t(3 * i + 2)]});
  return r;
}

// The tolerance model's bound of every logit (mqa/tolerance.hpp), from the case's own inputs:
// the stored pages renumbered 0..P-1 (renaming pages changes no logit) or the gathered k rows.
std::vector<double> tolerance_bound(const Case& g, const LogitsRegions& regions, const ToleranceSpec& spec,
                                    std::span<const float> expected) {
  const CaseInfo& i = g.info;
  const Fp8Encoding enc = fp8_encoding_from_string(i.encoding);
  const std::span<const float> w = g.at("weights").view<float>();
  const uint8_t* q = g.at("q").bytes.data();
  if (i.op == "paged_logits") {
    const Array& cache = g.at("cache");
    std::unordered_map<int64_t, int32_t> compact;
    const auto ids = g.at("page_ids").view<int64_t>();
    for (size_t c = 0; c < ids.size(); ++c) compact.emplace(ids[c], int32_t(c));
    const Array& table = g.at("block_table");
    std::vector<int32_t> tab(table.view<int32_t>().begin(), table.view<int32_t>().end());
    for (int32_t& e : tab) e = compact.count(e) ? compact[e] : -1;
    PagedLogitsProblem p;
    p.cache = cache_layout(i, cache.shape[0]);
    p.cache_bytes = cache.bytes.data();
    p.encoding = enc;
    p.q = q;
    p.batch = i.batch;
    p.next_n = i.next_n;
    p.heads = i.heads;
    p.weights = w.data();
    p.context_lens = g.at("context_lens").view<int32_t>().data();
    p.lens_2d = i.lens_2d;
    p.table = BlockTableView{tab.data(), i.batch, int32_t(table.shape[1]), table.shape[1]};
    p.max_context_len = int32_t(i.logits_cols);
    return paged_logits_bounds(p, regions, spec, expected);
  }
  const Array& sc = g.at("gathered_scales");
  std::vector<float> kscale(size_t(i.logits_cols));
  for (size_t n = 0; n < kscale.size(); ++n) std::memcpy(&kscale[n], sc.bytes.data() + n * size_t(sc.shape[1]), 4);
  RaggedLogitsProblem p;
  p.encoding = enc;
  p.q = q;
  p.M = i.rows;
  p.heads = i.heads;
  p.head_dim = i.head_dim;
  p.k = g.at("gathered_values").bytes.data();
  p.kscale = kscale.data();
  p.N = int32_t(i.logits_cols);
  p.weights = w.data();
  p.ks = g.at("ks").view<int32_t>().data();
  p.ke = g.at("ke").view<int32_t>().data();
  return ragged_logits_bounds(p, regions, spec, expected);
}

bool unpadded_logits(const Case& g, const Array& expected, const Array& actual) {
  return expected.shape.size() == 2 && actual.shape.size() == 2 && actual.shape[0] == expected.shape[0] &&
         actual.shape[1] == g.info.logits_cols && g.info.logits_cols < expected.shape[1];
}

Array pad_logits(const Array& expected, const Array& actual, std::optional<uint32_t> sentinel) {
  Array out = expected;
  const int64_t rows = expected.shape[0], stride = expected.shape[1], cols = actual.shape[1];
  float* o = reinterpret_cast<float*>(out.bytes.data());
  const std::span<const float> a = actual.view<float>();
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(a.begin() + r * cols, a.begin() + (r + 1) * cols, o + r * stride);
    if (sentinel)
      for (int64_t c = cols; c < stride; ++c) o[r * stride + c] = f32_from_bits(*sentinel);
  }
  return out;
}

LogitsCoordinates coordinates_of(const Case& g) {
  const CaseInfo& i = g.info;
  LogitsCoordinates coords;
  const Array& table = g.at("block_table");
  if (i.op == "paged_logits") {
    coords.kind = LogitsCoordinates::Kind::paged;
    coords.batch = i.batch;
    coords.next_n = i.next_n;
    coords.view = PagedView{cache_layout(i, i.num_pages), BlockTableView{table.view<int32_t>().data(), i.batch,
                                                                         int32_t(table.shape[1]), table.shape[1]}};
  } else {
    coords.kind = LogitsCoordinates::Kind::ragged;
  }
  return coords;
}

// The bound the golden's writer derived (float, rounded up) for a tolerance mode, when the file
// holds one that applies (a bf16-output mode derives its own); false otherwise.
bool stored_bound(const Case& g, const CompareMode& m, std::vector<double>& bound) {
  const auto stored = g.data.find(std::string("logits_bound_") + to_string(m.model));
  if (stored == g.data.end() || m.bf16_out) return false;
  const auto b = stored->second.view<float>();
  bound.assign(b.begin(), b.end());
  return true;
}

OutputResult compare_logits_dataset(const Case& g, const Array& expected, const Array& actual, const std::string& mode,
                                    int max_listed) {
  const CompareMode m = CompareMode::parse(mode);
  const LogitsRegions regions = regions_of(g);
  const LogitsCoordinates coords = coordinates_of(g);
  CompareOptions opt;
  opt.name = g.name + "/logits";
  opt.max_listed = max_listed;
  std::vector<double> bound;
  if (m.kind == CompareKind::tolerance) {
    if (!stored_bound(g, m, bound)) bound = tolerance_bound(g, regions, m.tolerance(), expected.view<float>());
    opt.bound = bound;
  }
  const CompareReport rep = compare_logits(expected.view<float>(), actual.view<float>(), regions, m, coords, opt);
  OutputResult r{g.name, "logits", mode, rep.pass, rep.to_text(), rep.to_json(), rep.margin()};
  r.json["margin"] = r.margin;
  return r;
}

// ---- logits by regions (SCHEMA.md, logits_storage = regions) ----

// The valid and future floats of a case as [rows, logits_cols] (columns outside the runs hold
// the implied bits), with regions of that row stride: what the top-k check and the tolerance
// model read, without the padding columns.
struct UnpaddedLogits {
  LogitsRegions regions;
  std::vector<float> v;
};
UnpaddedLogits unpadded_expected(const Case& g, const LogitsRegions& regions) {
  UnpaddedLogits u{regions, {}};
  const int64_t cols = regions.cols;
  u.regions.row_stride = cols;
  u.v.resize(size_t(regions.rows * cols));
  const RegionLogits e{g.at("logits").view<float>(), {}, g.info.logits_sentinel, g.info.clean_logits};
  const std::vector<int64_t> off = regions_runs(g);
  for (int64_t r = 0; r < regions.rows; ++r) region_row(e, regions, off, r, cols, u.v.data() + r * cols);
  return u;
}

// A candidate's logits_outside [X, 2]: (flat index, bits), checked as every index of a file is
// (hostile inputs, HOSTILE.md), before the comparator reads one.
std::vector<std::pair<int64_t, uint32_t>> outside_of(const Case& g, const LogitsRegions& regions, const Array* a,
                                                     const std::string& file) {
  std::vector<std::pair<int64_t, uint32_t>> out;
  if (!a) return out;
  auto fail = [&](const std::string& why) { throw GoldenError(file, g.name, "logits_outside", why); };
  if (a->dtype != DType::i64 || a->shape.size() != 2 || a->shape[1] != 2)
    fail(std::string("dtype ") + to_string(a->dtype) + " shape " + shape_string(a->shape) +
         ", expected int64 [*, 2] (flat index, bits)");
  const auto v = a->view<int64_t>();
  const int64_t n = regions.rows * regions.row_stride;
  for (int64_t k = 0; k < a->shape[0]; ++k) {
    const int64_t i = v[size_t(2 * k)], bits = v[size_t(2 * k + 1)];
    const std::string at = "logits_outside[" + std::to_string(k) + "]";
    if (i < 0 || i >= n)
      fail(at + "[0] = " + std::to_string(i) + ": must be a float of the [rows, logits_row_stride] buffer, in [0, " +
           std::to_string(n) + ")");
    if (k > 0 && i <= out.back().first)
      fail(at + "[0] = " + std::to_string(i) + ": indices must be strictly increasing");
    const RowRegion& x = regions.row[size_t(i / regions.row_stride)];
    const int64_t c = i % regions.row_stride;
    if (c >= x.valid_begin && c < x.future_end)
      fail(at + "[0] = " + std::to_string(i) + ": row " + std::to_string(i / regions.row_stride) + " column " +
           std::to_string(c) + " is inside the row's run (logits holds it)");
    if (bits < 0 || bits > int64_t(UINT32_MAX))
      fail(at + "[1] = " + std::to_string(bits) + ": must be a float's bits, in [0, 2^32 - 1]");
    out.emplace_back(i, uint32_t(bits));
  }
  return out;
}

// What the candidate's shape says its logits are, against a golden by regions (or a candidate by
// regions against a dense golden): the comparator's pass on buffers held by regions, whose
// verdict and report are those of the dense buffers they stand for.
OutputResult compare_region_logits(const Case& g, const Array& actual, const Array* outside, const std::string& mode,
                                   const std::string& file, int max_listed) {
  const CaseInfo& i = g.info;
  const CompareMode m = CompareMode::parse(mode);
  const LogitsRegions regions = regions_of(g);
  const int64_t runs = region_run_floats(regions);
  const std::vector<int64_t> dense_shape{i.rows, i.logits_row_stride}, unpadded_shape{i.rows, i.logits_cols};
  const bool by_regions = actual.shape == std::vector<int64_t>{runs};
  if (outside && !by_regions)
    throw GoldenError(file, g.name, "logits_outside",
                      "only beside logits by regions (shape [" + std::to_string(runs) + "])");
  if (!by_regions && actual.shape != dense_shape && actual.shape != unpadded_shape)
    throw GoldenError(file, g.name, "logits",
                      "shape " + shape_string(actual.shape) + ", expected " + shape_string(dense_shape) + " (dense), " +
                          shape_string(unpadded_shape) + " (unpadded) or [" + std::to_string(runs) +
                          "] (by regions: the runs of logits_regions)");
  const std::vector<std::pair<int64_t, uint32_t>> out = outside_of(g, regions, outside, file);
  const RegionLogits act_regions{actual.view<float>(), out, i.logits_sentinel, i.clean_logits};
  if (!i.regions_storage()) {  // a dense golden: the candidate's dense buffer is as small as the golden's
    Array dense = g.at("logits");
    float* d = reinterpret_cast<float*>(dense.bytes.data());
    const std::vector<int64_t> off = regions_runs(g);
    for (int64_t r = 0; r < i.rows; ++r)
      region_row(act_regions, regions, off, r, i.logits_row_stride, d + r * i.logits_row_stride);
    return compare_logits_dataset(g, g.at("logits"), dense, mode, max_listed);
  }
  const RegionLogits exp{g.at("logits").view<float>(), {}, i.logits_sentinel, i.clean_logits};
  CompareOptions opt;
  opt.name = g.name + "/logits";
  opt.max_listed = max_listed;
  std::vector<double> bound;
  if (m.kind == CompareKind::tolerance) {
    if (!stored_bound(g, m, bound)) {  // derived on [rows, logits_cols], then indexed like the runs
      const UnpaddedLogits u = unpadded_expected(g, regions);
      const std::vector<double> full = tolerance_bound(g, u.regions, m.tolerance(), u.v);
      for (int64_t r = 0; r < i.rows; ++r)
        for (int64_t c = regions.row[size_t(r)].valid_begin; c < regions.row[size_t(r)].future_end; ++c)
          bound.push_back(full[size_t(r * regions.cols + c)]);
    }
    opt.bound = bound;
  }
  const LogitsCoordinates coords = coordinates_of(g);
  CompareReport rep;
  std::string note;
  if (by_regions) {
    rep = compare_logits(exp, act_regions, regions, m, coords, opt);
  } else if (actual.shape == dense_shape) {
    rep = compare_logits(exp, actual.view<float>(), regions, m, coords, opt);
  } else {
    // unpadded [rows, logits_cols], as DeepGEMM returns them: its padding columns are not
    // judged (they are taken to hold what the mode expects there, as for a dense golden)
    const uint32_t fill = m.sentinel.value_or(i.logits_sentinel);
    const auto a = actual.view<float>();
    std::vector<float> ar;
    std::vector<std::pair<int64_t, uint32_t>> ao;
    for (int64_t r = 0; r < i.rows; ++r)
      for (int64_t c = 0; c < i.logits_cols; ++c) {
        const RowRegion& x = regions.row[size_t(r)];
        const uint32_t bits = f32_bits(a[size_t(r * i.logits_cols + c)]);
        if (c >= x.valid_begin && c < x.future_end) ar.push_back(a[size_t(r * i.logits_cols + c)]);
        else if (bits != (i.clean_logits ? 0xFF800000u : fill)) ao.emplace_back(r * i.logits_row_stride + c, bits);
      }
    rep = compare_logits(exp, RegionLogits{ar, ao, fill, bool(i.clean_logits)}, regions, m, coords, opt);
    note = "candidate logits are unpadded " + shape_string(actual.shape) + " (golden by regions, row stride " +
           std::to_string(i.logits_row_stride) + "): padding columns not checked";
  }
  OutputResult r{g.name, "logits", mode, rep.pass, rep.to_text(), rep.to_json(), rep.margin()};
  r.json["margin"] = r.margin;
  if (!note.empty()) {
    r.text = note + "\n" + r.text;
    r.json["note"] = note;
    r.margin += " (unpadded candidate)";
  }
  return r;
}

OutputResult compare_topk_dataset(const Case& g, const Array& expected, const Array& actual, const std::string& mode) {
  if (mode != "topk_set") reject("compare_mode", "'" + mode + "'", "top-k supports only topk_set");
  const LogitsRegions regions = regions_of(g);
  // by regions the top-k check reads the valid floats through [rows, logits_cols]
  const UnpaddedLogits u = g.info.regions_storage() ? unpadded_expected(g, regions) : UnpaddedLogits{};
  const TopkCheck c = compare_topk(g.info.regions_storage() ? u.v.data() : g.at("logits").view<float>().data(),
                                   g.info.regions_storage() ? u.regions : regions, expected.view<int32_t>(),
                                   actual.view<int32_t>(), g.info.topk);
  OutputResult r{g.name, "topk", mode, c.ok, {}, {}, {}};
  r.text = g.name + "/topk: " + (c.ok ? "PASS" : "FAIL") + " (topk_set, k=" + std::to_string(g.info.topk) + ", " +
           std::to_string(c.rows_checked) + " rows)" + (c.ok ? "" : "\n  " + c.message) + "\n";
  r.json = {{"name", g.name + "/topk"}, {"mode", mode}, {"pass", c.ok}, {"rows_checked", c.rows_checked}};
  if (!c.ok) r.json.update({{"row", c.row}, {"position", c.position}, {"token", c.token}, {"message", c.message}});
  return r;
}

}  // namespace

OutputResult compare_dataset(const Case& g, const std::string& name, const Array& actual, std::string mode,
                             const std::string& actual_file, int max_listed, const Array* outside) {
  const Array& expected = g.at(name);
  if (actual.dtype != expected.dtype)
    throw GoldenError(
        actual_file, g.name, name,
        std::string("dtype ") + to_string(actual.dtype) + ", the golden has " + to_string(expected.dtype));
  if (mode.empty()) mode = expected.compare.empty() ? "bitwise" : expected.compare;
  if (name == "logits" && (g.info.regions_storage() || actual.shape.size() == 1 || outside))
    return compare_region_logits(g, actual, outside, mode, actual_file, max_listed);
  if (name == "logits" && actual.shape != expected.shape && unpadded_logits(g, expected, actual)) {
    // [rows, max_context_len] as DeepGEMM returns them: padded here to the golden's row stride
    // with what the mode expects there (the sentinel, else the golden's own padding), so the
    // padding columns the candidate does not have are not judged; the note says so.
    const Array padded = pad_logits(expected, actual, CompareMode::parse(mode).sentinel);
    OutputResult r = compare_logits_dataset(g, expected, padded, mode, max_listed);
    const std::string note = "candidate logits are unpadded " + shape_string(actual.shape) + " (golden " +
                             shape_string(expected.shape) + "): padding columns not checked";
    r.text = note + "\n" + r.text;
    r.json["note"] = note;
    r.margin += " (unpadded candidate)";
    return r;
  }
  if (actual.shape != expected.shape)
    throw GoldenError(actual_file, g.name, name,
                      "shape " + shape_string(actual.shape) + ", the golden has " + shape_string(expected.shape) +
                          (name == "logits" ? " (or [rows, max_context_len] = [" + std::to_string(g.info.rows) + ", " +
                                                  std::to_string(g.info.logits_cols) + "])"
                                            : ""));
  if (name == "logits") return compare_logits_dataset(g, expected, actual, mode, max_listed);
  if (name == "topk") return compare_topk_dataset(g, expected, actual, mode);
  if (mode != "bitwise") reject("compare_mode", "'" + mode + "'", "byte tensors compare only bitwise");
  ByteCompareOptions opt;
  opt.name = g.name + "/" + name;
  opt.max_listed = max_listed;
  std::optional<PagedCacheLayout> layout;
  if (name == "cache") layout = cache_layout(g.info, expected.shape[0]);  // page numbers index page_ids
  else opt.row_bytes = expected.shape.size() > 1 ? expected.shape.back() * size_of(expected.dtype) : 0;
  const ByteCompareReport rep = compare_bytes(expected.bytes, actual.bytes, layout, opt);
  return OutputResult{g.name, name, mode, rep.pass, rep.to_text(), rep.to_json(), {}};
}

OutputResult compare_raw(const std::string& case_name, const std::string& name, const Array& expected,
                         const Array& actual, int max_listed) {
  ByteCompareOptions opt;
  opt.name = case_name + "/" + name;
  opt.max_listed = max_listed;
  opt.row_bytes = expected.shape.size() > 1 ? expected.shape.back() * size_of(expected.dtype) : 0;
  const ByteCompareReport rep = compare_bytes(expected.bytes, actual.bytes, std::nullopt, opt);
  return OutputResult{case_name, name, "bytes", rep.pass, rep.to_text(), rep.to_json(), {}};
}

}  // namespace mqa::golden
