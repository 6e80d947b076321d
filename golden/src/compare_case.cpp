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

LogitsRegions regions_of(const Case& g) {
  const Array& a = g.at("logits_regions");
  const auto v = a.view<int64_t>();
  LogitsRegions r;
  r.rows = g.info.rows;
  r.cols = g.info.logits_cols;
  r.row_stride = g.info.logits_row_stride;
  for (int64_t i = 0; i < r.rows; ++i) r.row.push_back(RowRegion{v[size_t(3 * i)], v[size_t(3 * i + 1)], v[size_t(3 * i + 2)]});
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

OutputResult compare_logits_dataset(const Case& g, const Array& expected, const Array& actual, const std::string& mode,
                                    int max_listed) {
  const CaseInfo& i = g.info;
  const CompareMode m = CompareMode::parse(mode);
  const LogitsRegions regions = regions_of(g);
  LogitsCoordinates coords;
  const Array& table = g.at("block_table");
  if (i.op == "paged_logits") {
    coords.kind = LogitsCoordinates::Kind::paged;
    coords.batch = i.batch;
    coords.next_n = i.next_n;
    coords.view = PagedView{cache_layout(i, i.num_pages),
                            BlockTableView{table.view<int32_t>().data(), i.batch, int32_t(table.shape[1]), table.shape[1]}};
  } else {
    coords.kind = LogitsCoordinates::Kind::ragged;
  }
  CompareOptions opt;
  opt.name = g.name + "/logits";
  opt.max_listed = max_listed;
  std::vector<double> bound;
  if (m.kind == CompareKind::tolerance) {
    const auto stored = g.data.find(std::string("logits_bound_") + to_string(m.model));
    if (stored != g.data.end() && !m.bf16_out) {  // the bound the golden's writer derived (float, rounded up)
      const auto b = stored->second.view<float>();
      bound.assign(b.begin(), b.end());
    } else {
      bound = tolerance_bound(g, regions, m.tolerance(), expected.view<float>());
    }
    opt.bound = bound;
  }
  const CompareReport rep = compare_logits(expected.view<float>(), actual.view<float>(), regions, m, coords, opt);
  OutputResult r{g.name, "logits", mode, rep.pass, rep.to_text(), rep.to_json(), rep.margin()};
  r.json["margin"] = r.margin;
  return r;
}

OutputResult compare_topk_dataset(const Case& g, const Array& expected, const Array& actual, const std::string& mode) {
  if (mode != "topk_set") reject("compare_mode", "'" + mode + "'", "top-k supports only topk_set");
  const LogitsRegions regions = regions_of(g);
  const TopkCheck c = compare_topk(g.at("logits").view<float>().data(), regions, expected.view<int32_t>(),
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
                             const std::string& actual_file, int max_listed) {
  const Array& expected = g.at(name);
  if (actual.dtype != expected.dtype)
    throw GoldenError(actual_file, g.name, name,
                      std::string("dtype ") + to_string(actual.dtype) + ", the golden has " + to_string(expected.dtype));
  if (mode.empty()) mode = expected.compare.empty() ? "bitwise" : expected.compare;
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
