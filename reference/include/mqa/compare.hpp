// The comparator behind every test, the fuzzer, the device sweep and `golden verify`.
//
// compare_logits() checks a kernel's fp32 logits against the expected ones inside the regions
// of the contract (mqa/logits.hpp: LogitsRegions) and returns a CompareReport that says what a
// kernel engineer needs first: verdict, counts, the first mismatches with logical AND physical
// coordinates, the worst elements, an ulp histogram, NaN/Inf counts, per-row and per-page
// summaries and DeepGEMM's calc_diff. compare_bytes() does the same for byte buffers (caches,
// gathered values and scales). Physical coordinates come only from PagedView/PagedCacheLayout.
//
// Element policy (every mode):
//   * NaN must be NaN at the same positions; NaN payloads and NaN signs are NOT compared
//     (kernels and codecs legitimately produce different quiet NaNs).
//   * +0 and -0 are different unless the mode has `zero_sign_equal` (the contract says where
//     the sign of a zero may differ). ulp:N does not relax this: it measures magnitude, the sign
//     of zero is a separate rule. Tolerance modes always have zero_sign_equal: a kernel that
//     sums in another order may legitimately produce either zero.
//   * +-Inf must match exactly (same sign) in every mode.
//   bitwise   : raw uint32 equality (modulo the two rules above).
//   ulp:N     : distance over the ordered-integer mapping of fp32 (+0 and -0 both map to 0) <= N.
//   tolerance:MODEL : |actual - expected| <= bound, bound per element, given by the caller (from
//               mqa/tolerance.hpp: fp32 or fp8_mma, option bf16_out) or computed as
//               n * 2^-24 * sum|terms| (numerics.md); observed/bound is reported per element.
// A test never passes on a fraction of elements: one failing element fails the verdict.
//
// Regions per row r (RowRegion): [valid_begin, valid_end) always compared; [valid_end,
// future_end) compared with option `future`; with `clean` every other column of [0, cols) must
// hold -inf bits (0xFF800000) exactly; with `sentinel:0xXXXXXXXX` every float the kernel may not
// write (padding columns cols..row_stride, anything after the last row, and with
// `writes:defined` also the undefined columns) must still hold the sentinel bits.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>  // callers of to_json() include <nlohmann/json.hpp>

#include "mqa/layout.hpp"
#include "mqa/logits.hpp"
#include "mqa/tolerance.hpp"

namespace mqa {

enum class CompareKind : uint8_t { bitwise = 0, ulp = 1, tolerance = 2 };

// Which floats a kernel may write when a sentinel check runs.
enum class WriteScope : uint8_t {
  columns = 0,  // any of [0, cols) of each row (upstream kernels write garbage past L_r)
  defined = 1,  // only what the contract writes: valid (+ future with `future`), all of [0, cols) with `clean`
};

// Parses from / prints to the string golden files store per output:
//   "bitwise" | "ulp:N" | "tolerance" (= "tolerance:fp32") | "tolerance:fp8_mma", then
//   comma-separated options in any order: zero_sign_equal, future, clean, sentinel:0xXXXXXXXX,
//   writes:defined|columns, calc_diff:X, bf16_out (tolerance only)
// e.g. "bitwise,clean,sentinel:0x7FBADBAD,writes:defined" or "tolerance:fp8_mma,calc_diff:5e-06".
// to_string() prints the canonical form (options in the order above, defaults omitted) and
// parse(to_string()) == *this. Bad strings throw InvalidInput naming "compare_mode".
struct CompareMode {
  CompareKind kind = CompareKind::bitwise;
  uint32_t max_ulp = 0;          // ulp:N
  bool zero_sign_equal = false;  // +0 == -0 (only where the contract allows either sign)
  bool future = false;           // also compare [valid_end, future_end)
  bool clean = false;            // actual must be -inf outside the compared columns of [0, cols)
  std::optional<uint32_t> sentinel;     // bits the actual buffer was pre-filled with
  WriteScope writes = WriteScope::columns;
  std::optional<double> max_calc_diff;  // verdict also needs calc_diff <= this
  ToleranceModel model = ToleranceModel::fp32_accum;  // tolerance: the arithmetic bounded
  bool bf16_out = false;                              // tolerance: logits rounded to bf16

  ToleranceSpec tolerance() const { return ToleranceSpec{model, bf16_out}; }

  std::string to_string() const;
  static CompareMode parse(const std::string& s);
  bool operator==(const CompareMode&) const = default;
};

// What each output row and column means, so a mismatch prints as (b, j, token) + (page, slot,
// byte offsets). Build it with paged_coordinates()/ragged_coordinates() or by hand.
struct LogitsCoordinates {
  enum class Kind : uint8_t { plain = 0, paged = 1, ragged = 2 };
  Kind kind = Kind::plain;
  int32_t batch = 0;   // paged
  int32_t next_n = 1;  // paged: row r = b*next_n + j, column = logical token s
  std::optional<PagedView> view;  // paged: cache layout + block table -> physical coordinates
};                                // ragged: row = query row i, column = k row j
LogitsCoordinates paged_coordinates(const PagedLogitsProblem& p);
LogitsCoordinates ragged_coordinates(const RaggedLogitsProblem& p);

// Everything the comparator accepts besides the buffers and the mode.
struct CompareOptions {
  std::string name = "logits";  // what is compared (shown in the report)
  int32_t max_listed = 10;      // first K mismatches kept
  int32_t max_rows = 8;         // rows shown in the per-row summary
  int32_t max_pages = 8;        // pages shown in the per-page summary
  // tolerance mode (one of the two; indexed like the buffers, r*row_stride + c):
  std::span<const double> bound;      // absolute bound per element
  std::span<const double> abs_terms;  // sum |terms| per element: bound = n * 2^-24 * abs_terms
  int64_t reduction_length = 0;       // n
};

enum class Column : uint8_t { valid = 0, future = 1, undefined = 2, padding = 3, beyond = 4 };
// unwritten: a compared (valid/future) element still holds the sentinel the output was filled
// with: the kernel never wrote it (reported as such, not as a NaN or a wrong value).
enum class Check : uint8_t { value = 0, nan = 1, zero_sign = 2, clean = 3, sentinel = 4, unwritten = 5 };
const char* to_string(Column c);
const char* to_string(Check c);

// One element: logical and physical coordinates, both values, distances.
struct ElementDiff {
  int64_t index = 0;  // float index into the buffers
  int64_t row = 0, col = 0;  // col may be >= cols (padding) or row >= rows (beyond)
  Column column = Column::valid;
  Check check = Check::value;  // why it failed (for worst-element records: value)
  bool ok = false;             // worst-element records may be within the mode
  int32_t b = -1, j = -1;      // paged: batch and next_n index of the row
  int64_t page = -1;           // paged, when the column maps to a valid table entry
  int32_t slot = -1;
  int64_t value_byte = -1;     // byte offset of the k vector's d=0 value (PagedView)
  int64_t scale_byte = -1;     // byte offset of its q=0 scale (PagedView)
  uint32_t expected_bits = 0, actual_bits = 0;  // clean check: expected = -inf; sentinel: the sentinel
  double abs_diff = 0, rel_diff = 0;
  uint64_t ulp = 0;            // ordered-integer distance (0 when a NaN is involved)
  double bound = 0, ratio = 0; // tolerance: bound and observed/bound
};

struct SpecialCounts {
  int64_t nan = 0, pos_inf = 0, neg_inf = 0;
};

struct RowSummary {
  int64_t row = 0;
  int32_t b = -1, j = -1;
  int64_t mismatched = 0, first_col = 0;
  uint64_t max_ulp = 0;
};

struct PageSummary {
  int64_t page = 0;
  int64_t mismatched = 0;
  int32_t first_slot = 0;
};

// Bucket 0: ulp 0; bucket k >= 1: ulp in [2^(k-1), 2^k). 33 buckets cover every fp32 distance.
inline constexpr int kUlpBuckets = 33;

struct CompareReport {
  std::string name, mode, shape;  // shape: e.g. "paged batch=4 next_n=2, 8 x 300 (stride 320)"
  bool pass = false;
  // Elements examined, per column kind (valid/future: value checks; undefined: clean check;
  // padding/beyond: sentinel check; undefined also counts sentinel checks with writes:defined).
  std::array<int64_t, 5> checked{}, mismatched_in{};
  std::array<int64_t, 6> mismatched_by{};  // indexed by Check
  int64_t compared = 0, mismatched = 0;    // totals over every check
  std::vector<ElementDiff> first;          // first K failures in index order
  std::optional<ElementDiff> worst_abs, worst_rel, worst_ulp, worst_ratio;  // over finite pairs
  std::array<int64_t, kUlpBuckets> ulp_histogram{};  // over compared non-NaN pairs
  SpecialCounts expected_special, actual_special;    // over compared (valid/future) elements
  std::vector<RowSummary> rows;    // rows with most failures, most first
  int64_t rows_failing = 0;
  std::vector<PageSummary> pages;  // paged: pages with most failures, most first
  int64_t pages_failing = 0;
  double calc_diff = 0;  // 1 - 2*sum(x*y)/sum(x^2+y^2) in double over compared finite pairs
  std::optional<double> max_calc_diff;

  double percent_mismatched() const { return compared ? 100.0 * double(mismatched) / double(compared) : 0.0; }
  std::string to_text() const;
  nlohmann::json to_json() const;
  // One line for a summary (also on PASS): "bit-exact", or the worst observed/bound, max ulp
  // and calc_diff, e.g. "observed/bound 0.031, max ulp 12, calc_diff 2.1e-09".
  std::string margin() const;
};

// Compares expected vs actual (both at least (rows-1)*row_stride + cols floats; the sentinel
// check also covers every float of `actual` past that). Throws InvalidInput on inconsistent
// regions, sizes or options.
CompareReport compare_logits(std::span<const float> expected, std::span<const float> actual,
                             const LogitsRegions& regions, const CompareMode& mode,
                             const LogitsCoordinates& coords = {}, const CompareOptions& options = {});

// A logits buffer of rows x row_stride floats held by its regions instead of densely (golden
// SCHEMA.md, logits_storage = regions): a 2^30-float buffer of which a few thousand floats are
// defined costs only those. `runs`: row r's floats of columns [valid_begin, future_end), rows
// concatenated in row order. `outside`: every other float that does not hold the implied bits,
// as (flat index r*row_stride + c, bits), strictly increasing and never inside a run (a kernel's
// stray write, e.g. through a wrapped offset). Every remaining float holds the implied bits:
// -inf in [0, cols) with `clean`, else `fill` (the sentinel the buffer was pre-filled with).
struct RegionLogits {
  std::span<const float> runs;
  std::span<const std::pair<int64_t, uint32_t>> outside;
  uint32_t fill = 0;
  bool clean = false;
};
// Floats of `runs` the regions need: the sum over rows of future_end - valid_begin.
int64_t region_run_floats(const LogitsRegions& regions);

// The same verdict and report as compare_logits on the dense buffers these stand for (the same
// pass, element by element where a float is held, in bulk over implied floats that a check
// accepts), without building them. `expected` by regions; `actual` by regions or dense
// (rows x row_stride floats). Tolerance bounds (options.bound) are then indexed like `runs`.
CompareReport compare_logits(const RegionLogits& expected, const RegionLogits& actual, const LogitsRegions& regions,
                             const CompareMode& mode, const LogitsCoordinates& coords = {},
                             const CompareOptions& options = {});
CompareReport compare_logits(const RegionLogits& expected, std::span<const float> actual, const LogitsRegions& regions,
                             const CompareMode& mode, const LogitsCoordinates& coords = {},
                             const CompareOptions& options = {});

// Only the "written-only-where-allowed" check: every float outside what `scope` allows must
// still hold `sentinel` bits (no expected buffer needed); with `clean`, also the -inf check.
CompareReport check_untouched(std::span<const float> actual, const LogitsRegions& regions, uint32_t sentinel,
                              WriteScope scope = WriteScope::columns, bool future = false, bool clean = false,
                              const LogitsCoordinates& coords = {}, const CompareOptions& options = {});

// Ordered-integer ulp distance of two fp32 bit patterns (+0 and -0 both map to 0). NaN: 0.
uint64_t ulp_distance(uint32_t a, uint32_t b);
// bound = n * 2^-24 * abs_terms for every element.
std::vector<double> tolerance_bounds(std::span<const double> abs_terms, int64_t reduction_length);
// DeepGEMM's global similarity over all finite pairs: 1 - 2*sum(x*y)/sum(x^2+y^2); 0 if both are 0.
double calc_diff(std::span<const float> x, std::span<const float> y);

// ---- byte buffers (caches after quantise-and-cache, gathered values / scales) ----
struct ByteDiff {
  int64_t offset = 0;
  uint8_t expected = 0, actual = 0;
  std::optional<CacheCoord> where;  // with a cache layout: page, slot, value d / scale q / padding
  int64_t row = -1, col = -1;       // with row_bytes: row-major position
  std::string describe;             // describe_byte() line, or "row R byte C", or "byte N"
};

struct ByteCompareOptions {
  std::string name = "bytes";
  int32_t max_listed = 10;
  int32_t max_pages = 8;
  int64_t row_bytes = 0;  // > 0: the buffer is row-major with this many bytes per row
};

struct ByteCompareReport {
  std::string name, shape;
  bool pass = false;
  int64_t compared = 0, mismatched = 0;
  int64_t value_mismatches = 0, scale_mismatches = 0, padding_mismatches = 0;  // with a layout
  std::vector<ByteDiff> first;
  std::vector<PageSummary> pages;  // with a layout: pages with most mismatching bytes
  int64_t pages_failing = 0;

  std::string to_text() const;
  nlohmann::json to_json() const;
};

// Sizes must be equal (InvalidInput otherwise); with a layout they must equal total_bytes().
ByteCompareReport compare_bytes(std::span<const uint8_t> expected, std::span<const uint8_t> actual,
                                const std::optional<PagedCacheLayout>& layout = std::nullopt,
                                const ByteCompareOptions& options = {});

}  // namespace mqa
