// compare_logits / check_untouched: one pass over every float of the output buffer, each float
// classified by its column (valid, future, undefined, padding, beyond) and checked by the rule
// the mode gives that column.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <map>

#include "mqa/compare.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace {

constexpr uint32_t kNegInfBits = 0xFF800000u;

bool nan_bits(uint32_t x) { return (x & 0x7FFFFFFFu) > 0x7F800000u; }
bool zero_bits(uint32_t x) { return (x & 0x7FFFFFFFu) == 0; }
bool inf_bits(uint32_t x) { return (x & 0x7FFFFFFFu) == 0x7F800000u; }

void count_special(SpecialCounts& c, uint32_t x) {
  if (nan_bits(x)) ++c.nan;
  else if (x == 0x7F800000u) ++c.pos_inf;
  else if (x == kNegInfBits) ++c.neg_inf;
}

void validate_regions(const LogitsRegions& g) {
  if (g.rows < 0) reject("regions.rows", g.rows, "must be >= 0");
  if (g.cols < 0) reject("regions.cols", g.cols, "must be >= 0");
  if (g.row_stride < g.cols) reject("regions.row_stride", g.row_stride, "must be >= cols = " + std::to_string(g.cols));
  if (int64_t(g.row.size()) != g.rows)
    reject("regions.row.size", g.row.size(), "must equal rows = " + std::to_string(g.rows));
  for (int64_t r = 0; r < g.rows; ++r) {
    const RowRegion& x = g.row[size_t(r)];
    const std::string at = "regions.row[" + std::to_string(r) + "]";
    if (x.valid_begin < 0 || x.valid_begin > x.valid_end)
      reject(at + ".valid_begin", x.valid_begin, "must be in [0, valid_end = " + std::to_string(x.valid_end) + "]");
    if (x.valid_end > x.future_end)
      reject(at + ".valid_end", x.valid_end, "must be <= future_end = " + std::to_string(x.future_end));
    if (x.future_end > g.cols) reject(at + ".future_end", x.future_end, "must be <= cols = " + std::to_string(g.cols));
  }
}

int64_t needed_floats(const LogitsRegions& g) { return g.rows == 0 ? 0 : (g.rows - 1) * g.row_stride + g.cols; }

// The two ways a buffer is held. The pass reads a float through at(i, r, c) (flat index and its
// row and column) and asks where a tolerance bound of a compared float is (bound_index).
struct DenseBuffer {
  static constexpr bool dense = true;
  std::span<const float> s;
  bool empty() const { return s.empty(); }
  int64_t size() const { return int64_t(s.size()); }
  uint32_t at(int64_t i, int64_t, int64_t) const { return f32_bits(s[size_t(i)]); }
  int64_t bound_index(int64_t i, int64_t, int64_t) const { return i; }
  int64_t bound_floats(int64_t need) const { return need; }
};

// A RegionLogits with its row offsets into `runs`, checked against the regions.
struct RegionBuffer {
  static constexpr bool dense = false;
  const RegionLogits& b;
  const LogitsRegions& g;
  std::vector<int64_t> off;  // [rows + 1]: where row r's run starts in b.runs

  RegionBuffer(const RegionLogits& buf, const LogitsRegions& regions, const char* what) : b(buf), g(regions) {
    off.reserve(size_t(g.rows) + 1);
    off.push_back(0);
    for (const RowRegion& x : g.row) off.push_back(off.back() + (x.future_end - x.valid_begin));
    const std::string name(what);
    if (int64_t(b.runs.size()) != off.back())
      reject(name + ".runs.size", b.runs.size(),
             "the regions need sum(future_end - valid_begin) = " + std::to_string(off.back()) + " floats");
    const int64_t n = size();
    for (size_t k = 0; k < b.outside.size(); ++k) {
      const int64_t i = b.outside[k].first;
      const std::string at = name + ".outside[" + std::to_string(k) + "]";
      if (i < 0 || i >= n)
        reject(at, i, "must be a float of the buffer, in [0, rows * row_stride = " + std::to_string(n) + ")");
      if (k > 0 && i <= b.outside[k - 1].first) reject(at, i, "indices must be strictly increasing");
      const RowRegion& x = g.row[size_t(i / g.row_stride)];
      const int64_t c = i % g.row_stride;
      if (c >= x.valid_begin && c < x.future_end)
        reject(at, i, "inside row " + std::to_string(i / g.row_stride) + "'s run");
    }
  }
  bool empty() const { return false; }
  int64_t size() const { return g.rows * g.row_stride; }
  uint32_t implied(int64_t c) const { return b.clean && c < g.cols ? kNegInfBits : b.fill; }
  uint32_t at(int64_t i, int64_t r, int64_t c) const {
    const RowRegion& x = g.row[size_t(r)];
    if (c >= x.valid_begin && c < x.future_end) return f32_bits(b.runs[size_t(off[size_t(r)] + c - x.valid_begin)]);
    const auto it = std::lower_bound(b.outside.begin(), b.outside.end(), i,
                                     [](const std::pair<int64_t, uint32_t>& e, int64_t v) { return e.first < v; });
    return it != b.outside.end() && it->first == i ? it->second : implied(c);
  }
  int64_t bound_index(int64_t, int64_t r, int64_t c) const { return off[size_t(r)] + c - g.row[size_t(r)].valid_begin; }
  int64_t bound_floats(int64_t) const { return int64_t(b.runs.size()); }
  // The outside floats in [lo, hi).
  std::span<const std::pair<int64_t, uint32_t>> outside_in(int64_t lo, int64_t hi) const {
    auto less = [](const std::pair<int64_t, uint32_t>& e, int64_t v) { return e.first < v; };
    const auto a = std::lower_bound(b.outside.begin(), b.outside.end(), lo, less);
    const auto z = std::lower_bound(a, b.outside.end(), hi, less);
    return {a, z};
  }
};

// Accumulates failures and statistics into a CompareReport.
class Collector {
 public:
  Collector(CompareReport& rep, const LogitsRegions& g, const LogitsCoordinates& co, const CompareOptions& op)
      : rep_(rep), g_(g), co_(co), op_(op) {}

  ElementDiff element(int64_t index, int64_t row, int64_t col, Column column, uint32_t e, uint32_t a) const {
    ElementDiff d;
    d.index = index;
    d.row = row;
    d.col = col;
    d.column = column;
    d.expected_bits = e;
    d.actual_bits = a;
    if (co_.kind == LogitsCoordinates::Kind::paged && row < g_.rows && co_.next_n > 0) {
      d.b = int32_t(row / co_.next_n);
      d.j = int32_t(row % co_.next_n);
    }
    return d;
  }

  void fail(ElementDiff d, Check check) {
    locate(d);
    d.check = check;
    d.ok = false;
    ++rep_.mismatched;
    ++rep_.mismatched_in[size_t(d.column)];
    ++rep_.mismatched_by[size_t(check)];
    RowSummary& rs = rows_[d.row];
    if (rs.mismatched++ == 0) rs = RowSummary{d.row, d.b, d.j, 1, d.col, 0};
    rs.max_ulp = std::max(rs.max_ulp, d.ulp);
    if (d.page >= 0) {
      PageSummary& ps = pages_[d.page];
      if (ps.mismatched++ == 0) ps = PageSummary{d.page, 1, d.slot};
    }
    if (int64_t(rep_.first.size()) < op_.max_listed) rep_.first.push_back(d);
  }

  void finish() {
    rep_.rows_failing = int64_t(rows_.size());
    for (const auto& [r, s] : rows_) rep_.rows.push_back(s);
    std::stable_sort(rep_.rows.begin(), rep_.rows.end(),
                     [](const RowSummary& x, const RowSummary& y) { return x.mismatched > y.mismatched; });
    if (int64_t(rep_.rows.size()) > op_.max_rows) rep_.rows.resize(size_t(std::max(0, op_.max_rows)));
    rep_.pages_failing = int64_t(pages_.size());
    for (const auto& [p, s] : pages_) rep_.pages.push_back(s);
    std::stable_sort(rep_.pages.begin(), rep_.pages.end(),
                     [](const PageSummary& x, const PageSummary& y) { return x.mismatched > y.mismatched; });
    if (int64_t(rep_.pages.size()) > op_.max_pages) rep_.pages.resize(size_t(std::max(0, op_.max_pages)));
  }

  // Physical coordinates of token column s of batch b, only through PagedView, and only where
  // the column belongs to the sequence (< future_end), so junk table entries are never shown.
  void locate(ElementDiff& d) const {
    if (!co_.view || d.b < 0 || d.page >= 0 || d.column == Column::padding || d.column == Column::beyond) return;
    const PagedView& v = *co_.view;
    const int32_t B = v.cache.page.page_size;
    if (B < 1 || d.b >= v.table.batch || d.col >= g_.row[size_t(d.row)].future_end) return;
    if (d.col / B >= v.table.max_blocks) return;
    const TokenAddress t = v.token(d.b, d.col);
    if (t.page < 0 || t.page >= v.cache.num_pages) return;
    d.page = t.page;
    d.slot = t.slot;
    d.value_byte = v.value_byte(d.b, d.col, 0);
    d.scale_byte = v.scale_byte(d.b, d.col, 0);
  }

 private:
  CompareReport& rep_;
  const LogitsRegions& g_;
  const LogitsCoordinates& co_;
  const CompareOptions& op_;
  std::map<int64_t, RowSummary> rows_;
  std::map<int64_t, PageSummary> pages_;
};

std::string shape_of(const LogitsRegions& g, const LogitsCoordinates& co) {
  std::string s;
  if (co.kind == LogitsCoordinates::Kind::paged)
    s = "paged batch=" + std::to_string(co.batch) + " next_n=" + std::to_string(co.next_n) + ", ";
  else if (co.kind == LogitsCoordinates::Kind::ragged)
    s = "ragged (row = query row i, col = k row j), ";
  return s + std::to_string(g.rows) + " x " + std::to_string(g.cols) + " (row stride " + std::to_string(g.row_stride) +
         ")";
}

void validate_inputs(const LogitsRegions& g, const LogitsCoordinates& co, const CompareOptions& op) {
  validate_regions(g);
  if (co.kind == LogitsCoordinates::Kind::paged) {
    if (co.next_n < 1) reject("coordinates.next_n", co.next_n, "must be >= 1");
    if (int64_t(co.batch) * co.next_n != g.rows)
      reject("coordinates.batch", co.batch,
             "batch * next_n = " + std::to_string(int64_t(co.batch) * co.next_n) + " must equal rows = " +
                 std::to_string(g.rows));
  }
  if (op.max_listed < 0) reject("options.max_listed", op.max_listed, "must be >= 0");
}

// Value check of one compared element under the mode; updates statistics.
struct ValueChecker {
  const CompareMode& mode;
  std::span<const double> bound;  // tolerance only
  CompareReport& rep;
  double sxy = 0, ssq = 0;

  void take_worst(std::optional<ElementDiff>& slot, const ElementDiff& d, double key, double cur) {
    if (key > 0 && (!slot || key > cur)) {
      slot = d;
      slot->check = Check::value;
    }
  }

  // Fast path for identical bits (the common case): acceptable in every mode, distance 0.
  void equal(uint32_t b) {
    count_special(rep.expected_special, b);
    count_special(rep.actual_special, b);
    if (nan_bits(b)) return;
    ++rep.ulp_histogram[0];
    if (inf_bits(b)) return;
    const double x = double(f32_from_bits(b));
    sxy += x * x;
    ssq += 2 * x * x;
  }

  // Returns the failed check, or nullopt when the pair is acceptable.
  std::optional<Check> check(ElementDiff& d, int64_t bound_index) {
    const uint32_t e = d.expected_bits, a = d.actual_bits;
    count_special(rep.expected_special, e);
    count_special(rep.actual_special, a);
    // The sentinel left in place: the kernel never wrote this element (whatever the sentinel's class).
    if (mode.sentinel && a == *mode.sentinel && e != a) return Check::unwritten;
    if (nan_bits(e) || nan_bits(a)) return nan_bits(e) && nan_bits(a) ? std::nullopt : std::optional(Check::nan);
    d.ulp = ulp_distance(e, a);
    ++rep.ulp_histogram[size_t(std::bit_width(d.ulp))];
    const double x = double(f32_from_bits(e)), y = double(f32_from_bits(a));
    d.abs_diff = e == a ? 0.0 : std::fabs(y - x);
    if (std::isnan(d.abs_diff)) d.abs_diff = std::numeric_limits<double>::infinity();  // inf - inf
    d.rel_diff = x == 0 ? (d.abs_diff == 0 ? 0.0 : std::numeric_limits<double>::infinity()) : d.abs_diff / std::fabs(x);
    if (mode.kind == CompareKind::tolerance) {
      d.bound = bound[size_t(bound_index)];
      if (!(d.bound >= 0))
        reject("options.bound[" + std::to_string(bound_index) + "]", std::to_string(d.bound), "must be >= 0");
      d.ratio = d.abs_diff == 0 ? 0.0 : (d.bound == 0 ? std::numeric_limits<double>::infinity() : d.abs_diff / d.bound);
    }
    if (!inf_bits(e) && !inf_bits(a)) {
      sxy += x * y;
      ssq += x * x + y * y;
      take_worst(rep.worst_abs, d, d.abs_diff, rep.worst_abs ? rep.worst_abs->abs_diff : 0);
      take_worst(rep.worst_rel, d, d.rel_diff, rep.worst_rel ? rep.worst_rel->rel_diff : 0);
      take_worst(rep.worst_ulp, d, double(d.ulp), rep.worst_ulp ? double(rep.worst_ulp->ulp) : 0);
      if (mode.kind == CompareKind::tolerance)
        take_worst(rep.worst_ratio, d, d.ratio, rep.worst_ratio ? rep.worst_ratio->ratio : 0);
    }
    if (zero_bits(e) && zero_bits(a) && e != a) return mode.zero_sign_equal ? std::nullopt : std::optional(Check::zero_sign);
    if (inf_bits(e) || inf_bits(a)) return e == a ? std::nullopt : std::optional(Check::value);
    bool ok = false;
    switch (mode.kind) {
      case CompareKind::bitwise: ok = e == a; break;
      case CompareKind::ulp: ok = d.ulp <= mode.max_ulp; break;
      case CompareKind::tolerance: ok = d.abs_diff <= d.bound; break;
    }
    return ok ? std::nullopt : std::optional(Check::value);
  }
};

void mark_ok(std::optional<ElementDiff>& d, const CompareMode& mode) {
  if (!d) return;
  const bool zeros = zero_bits(d->expected_bits) && zero_bits(d->actual_bits);
  switch (mode.kind) {
    case CompareKind::bitwise: d->ok = d->expected_bits == d->actual_bits || (zeros && mode.zero_sign_equal); break;
    case CompareKind::ulp: d->ok = d->ulp <= mode.max_ulp; break;
    case CompareKind::tolerance: d->ok = d->abs_diff <= d->bound; break;
  }
}

// The shared pass. `expected` empty (dense) means "sentinel check only". Buffers held by
// regions are read float by float where a float is held and in bulk over the implied floats of
// the padding, so a 2^30-float buffer costs its held floats (and its rows' [0, cols)).
template <class Expected, class Actual>
CompareReport run(const Expected& expected, const Actual& actual, const LogitsRegions& g, const CompareMode& mode,
                  const LogitsCoordinates& co, const CompareOptions& op) {
  const int64_t need = needed_floats(g);
  const bool values = !expected.empty() || need == 0;
  const int64_t bound_floats = expected.bound_floats(need);
  if (values && expected.size() < need)
    reject("expected.size", expected.size(), "need (rows-1)*row_stride + cols = " + std::to_string(need) + " floats");
  if (actual.size() < need)
    reject("actual.size", actual.size(), "need (rows-1)*row_stride + cols = " + std::to_string(need) + " floats");
  std::vector<double> computed_bound;
  std::span<const double> bound = op.bound;
  if (values && mode.kind == CompareKind::tolerance) {
    if (op.bound.empty() && !op.abs_terms.empty()) {
      computed_bound = tolerance_bounds(op.abs_terms, op.reduction_length);
      bound = computed_bound;
    }
    if (int64_t(bound.size()) < bound_floats)
      reject(
          "options.bound.size", bound.size(),
          "tolerance needs a bound (or abs_terms + reduction_length) for " + std::to_string(bound_floats) + " floats");
  }

  CompareReport rep;
  rep.name = op.name;
  rep.mode = mode.to_string();
  rep.shape = shape_of(g, co);
  rep.max_calc_diff = mode.max_calc_diff;
  Collector col(rep, g, co, op);
  ValueChecker vc{mode, bound, rep};
  const bool has_sentinel = mode.sentinel.has_value();
  const uint32_t sentinel = mode.sentinel.value_or(0);

  auto sentinel_check = [&](int64_t i, int64_t r, int64_t c, Column kind) {
    ++rep.checked[size_t(kind)];
    const uint32_t a = actual.at(i, r, c);
    if (a != sentinel) col.fail(col.element(i, r, c, kind, sentinel, a), Check::sentinel);
  };
  // The sentinel check of [lo, hi) of row r, columns from c0 (padding or beyond).
  auto sentinel_range = [&](int64_t lo, int64_t hi, int64_t r, int64_t c0, Column kind) {
    if constexpr (!Actual::dense) {
      if (actual.b.fill == sentinel) {  // the implied floats pass: count them, check the held ones
        rep.checked[size_t(kind)] += hi - lo;
        for (const auto& [i, a] : actual.outside_in(lo, hi))
          if (a != sentinel) col.fail(col.element(i, r, c0 + i - lo, kind, sentinel, a), Check::sentinel);
        return;
      }
    }
    for (int64_t i = lo; i < hi; ++i) sentinel_check(i, r, c0 + i - lo, kind);
  };

  for (int64_t r = 0; r < g.rows; ++r) {
    const RowRegion& rr = g.row[size_t(r)];
    const int64_t base = r * g.row_stride;
    for (int64_t c = 0; c < g.cols; ++c) {
      const int64_t i = base + c;
      const Column kind = c >= rr.valid_begin && c < rr.valid_end ? Column::valid
                          : c >= rr.valid_end && c < rr.future_end ? Column::future
                                                                   : Column::undefined;
      const bool compared = values && (kind == Column::valid || (kind == Column::future && mode.future));
      const bool written = kind == Column::valid || (kind == Column::future && mode.future);
      if (compared) {
        ++rep.checked[size_t(kind)];
        const uint32_t eb = expected.at(i, r, c), ab = actual.at(i, r, c);
        if (eb == ab) {
          vc.equal(eb);
          continue;
        }
        ElementDiff d = col.element(i, r, c, kind, eb, ab);
        if (const std::optional<Check> bad = vc.check(d, expected.bound_index(i, r, c))) col.fail(d, *bad);
      } else if (!written && mode.clean) {
        ++rep.checked[size_t(kind)];
        const uint32_t a = actual.at(i, r, c);
        if (a != kNegInfBits) col.fail(col.element(i, r, c, kind, kNegInfBits, a), Check::clean);
      } else if (has_sentinel && mode.writes == WriteScope::defined && !written) {
        sentinel_check(i, r, c, kind);
      }
    }
    if (has_sentinel)
      sentinel_range(base + g.cols, std::max(base + g.cols, std::min(base + g.row_stride, actual.size())), r, g.cols,
                     Column::padding);
  }
  if (has_sentinel)  // a buffer held by regions has none: it is rows x row_stride floats
    for (int64_t i = g.rows * g.row_stride; i < actual.size(); ++i) {
      const int64_t r = g.row_stride > 0 ? i / g.row_stride : g.rows;
      sentinel_check(i, r, g.row_stride > 0 ? i % g.row_stride : i - g.rows * g.row_stride, Column::beyond);
    }

  col.finish();
  for (auto* w : {&rep.worst_abs, &rep.worst_rel, &rep.worst_ulp, &rep.worst_ratio})
    if (*w) col.locate(**w);  // only now: physical coordinates cost a table lookup
  for (int64_t n : rep.checked) rep.compared += n;
  rep.calc_diff = vc.ssq == 0 ? 0.0 : 1.0 - 2.0 * vc.sxy / vc.ssq;
  for (auto* w : {&rep.worst_abs, &rep.worst_rel, &rep.worst_ulp, &rep.worst_ratio}) mark_ok(*w, mode);
  rep.pass = rep.mismatched == 0 && (!mode.max_calc_diff || rep.calc_diff <= *mode.max_calc_diff);
  return rep;
}

}  // namespace

CompareReport compare_logits(std::span<const float> expected, std::span<const float> actual,
                             const LogitsRegions& regions, const CompareMode& mode, const LogitsCoordinates& coords,
                             const CompareOptions& options) {
  if (needed_floats(regions) > 0 && expected.empty())
    reject("expected.size", 0, "compare_logits needs the expected buffer (check_untouched does not)");
  validate_inputs(regions, coords, options);
  return run(DenseBuffer{expected}, DenseBuffer{actual}, regions, mode, coords, options);
}

CompareReport compare_logits(const RegionLogits& expected, const RegionLogits& actual, const LogitsRegions& regions,
                             const CompareMode& mode, const LogitsCoordinates& coords, const CompareOptions& options) {
  validate_inputs(regions, coords, options);
  return run(RegionBuffer(expected, regions, "expected"), RegionBuffer(actual, regions, "actual"), regions, mode,
             coords, options);
}

CompareReport compare_logits(const RegionLogits& expected, std::span<const float> actual, const LogitsRegions& regions,
                             const CompareMode& mode, const LogitsCoordinates& coords, const CompareOptions& options) {
  validate_inputs(regions, coords, options);
  return run(RegionBuffer(expected, regions, "expected"), DenseBuffer{actual}, regions, mode, coords, options);
}

int64_t region_run_floats(const LogitsRegions& regions) {
  int64_t n = 0;
  for (const RowRegion& x : regions.row) n += x.future_end - x.valid_begin;
  return n;
}

CompareReport check_untouched(std::span<const float> actual, const LogitsRegions& regions, uint32_t sentinel,
                              WriteScope scope, bool future, bool clean, const LogitsCoordinates& coords,
                              const CompareOptions& options) {
  CompareMode mode;
  mode.sentinel = sentinel;
  mode.writes = scope;
  mode.future = future;
  mode.clean = clean;
  validate_inputs(regions, coords, options);
  CompareReport rep = run(DenseBuffer{}, DenseBuffer{actual}, regions, mode, coords, options);
  rep.mode = "untouched" + mode.to_string().substr(7);  // no value comparison ran
  return rep;
}

}  // namespace mqa
