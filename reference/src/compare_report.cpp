// Text and JSON renderings of the comparator's reports. The text leads with the verdict and
// the counts, then the worst elements and the first failures with logical and physical
// coordinates, then where the failures cluster (rows, pages).
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mqa/compare.hpp"

namespace mqa {

namespace {

constexpr std::array<Column, 5> kColumns{Column::valid, Column::future, Column::undefined, Column::padding,
                                         Column::beyond};
constexpr std::array<Check, 6> kChecks{Check::value, Check::nan, Check::zero_sign, Check::clean, Check::sentinel, Check::unwritten};

std::string hex32(uint32_t b) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", b);
  return buf;
}

std::string hex8(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

// Shortest text that reads back to the same float: %.9g always does for fp32.
std::string fmt_float(uint32_t bits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", double(f32_from_bits(bits)));
  return buf;
}

std::string fmt_double(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

std::string fmt_value(uint32_t bits) { return fmt_float(bits) + " (" + hex32(bits) + ")"; }

std::string ulp_bucket_label(size_t k) {
  if (k == 0) return "0";
  if (k == 1) return "1";
  const uint64_t lo = uint64_t(1) << (k - 1), hi = (uint64_t(1) << k) - 1;
  return std::to_string(lo) + "-" + std::to_string(hi);
}

// "row 3 col 17 (b=1 j=1 token 17; page 70001 slot 1, value byte 40296448, scale byte ...)".
std::string where(const ElementDiff& d) {
  std::string s = "row " + std::to_string(d.row) + " col " + std::to_string(d.col);
  if (d.b >= 0) {
    s += " (b=" + std::to_string(d.b) + " j=" + std::to_string(d.j) + " token " + std::to_string(d.col);
    if (d.page >= 0)
      s += "; page " + std::to_string(d.page) + " slot " + std::to_string(d.slot) + ", value byte " +
           std::to_string(d.value_byte) + ", scale byte " + std::to_string(d.scale_byte);
    s += ")";
  }
  return s;
}

// JSON number where it is one, else a string ("nan", "inf", "-inf").
nlohmann::json json_float(uint32_t bits) {
  const float f = f32_from_bits(bits);
  if (std::isfinite(f)) return double(f);
  return fmt_float(bits);
}

nlohmann::json json_double(double x) {
  if (std::isfinite(x)) return x;
  return fmt_double(x);
}

nlohmann::json to_json(const ElementDiff& d) {
  nlohmann::json j = {{"index", d.index},
                      {"row", d.row},
                      {"col", d.col},
                      {"column", to_string(d.column)},
                      {"check", to_string(d.check)},
                      {"ok", d.ok},
                      {"expected", json_float(d.expected_bits)},
                      {"expected_bits", hex32(d.expected_bits)},
                      {"actual", json_float(d.actual_bits)},
                      {"actual_bits", hex32(d.actual_bits)},
                      {"abs_diff", json_double(d.abs_diff)},
                      {"rel_diff", json_double(d.rel_diff)},
                      {"ulp", d.ulp}};
  if (d.b >= 0) {
    j["b"] = d.b;
    j["j"] = d.j;
    j["token"] = d.col;
  }
  if (d.page >= 0) {
    j["page"] = d.page;
    j["slot"] = d.slot;
    j["value_byte"] = d.value_byte;
    j["scale_byte"] = d.scale_byte;
  }
  if (d.bound != 0 || d.ratio != 0) {
    j["bound"] = json_double(d.bound);
    j["ratio"] = json_double(d.ratio);
  }
  return j;
}

nlohmann::json to_json(const SpecialCounts& c) { return {{"nan", c.nan}, {"pos_inf", c.pos_inf}, {"neg_inf", c.neg_inf}}; }

nlohmann::json pages_json(const std::vector<PageSummary>& pages) {
  nlohmann::json a = nlohmann::json::array();
  for (const PageSummary& p : pages) a.push_back({{"page", p.page}, {"mismatched", p.mismatched}, {"first_slot", p.first_slot}});
  return a;
}

}  // namespace

std::string CompareReport::margin() const {
  const int64_t unequal = compared - ulp_histogram[0];
  if (worst_ratio == std::nullopt && (!worst_ulp || worst_ulp->ulp == 0) && unequal <= 0) return "bit-exact";
  std::string s;
  if (worst_ratio) s = "observed/bound " + fmt_double(worst_ratio->ratio) + ", ";
  s += "max ulp " + std::to_string(worst_ulp ? worst_ulp->ulp : 0) + ", calc_diff " + fmt_double(calc_diff);
  return s;
}

std::string CompareReport::to_text() const {
  std::ostringstream os;
  os << (pass ? "PASS  " : "FAIL  ") << name << "  mode=" << mode << "  " << shape << '\n';
  os << "  failed " << mismatched << " of " << compared << " checked (" << std::setprecision(4) << percent_mismatched()
     << "%):";
  for (Check c : kChecks) os << ' ' << to_string(c) << ' ' << mismatched_by[size_t(c)];
  os << "\n  by column (failed/checked):";
  for (Column c : kColumns)
    if (checked[size_t(c)] || mismatched_in[size_t(c)])
      os << ' ' << to_string(c) << ' ' << mismatched_in[size_t(c)] << '/' << checked[size_t(c)] << " ("
         << fmt_double(checked[size_t(c)] ? 100.0 * double(mismatched_in[size_t(c)]) / double(checked[size_t(c)]) : 0.0)
         << "%)";
  os << "\n  calc_diff " << fmt_double(calc_diff);
  if (max_calc_diff) os << " (limit " << fmt_double(*max_calc_diff) << (calc_diff <= *max_calc_diff ? ", ok)" : ", EXCEEDED)");
  os << '\n';
  // Worst elements, one line per distinct element with every metric it is worst in.
  std::vector<std::pair<const ElementDiff*, std::string>> worst;
  auto add_worst = [&](const std::optional<ElementDiff>& d, const std::string& what) {
    if (!d) return;
    for (auto& w : worst)
      if (w.first->index == d->index) {
        w.second += ", " + what;
        return;
      }
    worst.emplace_back(&*d, what);
  };
  if (worst_abs) add_worst(worst_abs, "abs " + fmt_double(worst_abs->abs_diff));
  if (worst_rel) add_worst(worst_rel, "rel " + fmt_double(worst_rel->rel_diff));
  if (worst_ulp) add_worst(worst_ulp, "ulp " + std::to_string(worst_ulp->ulp));
  if (worst_ratio)
    add_worst(worst_ratio, "observed/bound " + fmt_double(worst_ratio->ratio) + " (bound " + fmt_double(worst_ratio->bound) + ")");
  for (const auto& [d, what] : worst)
    os << "  worst " << what << " at " << where(*d) << ": expected " << fmt_value(d->expected_bits) << " actual "
       << fmt_value(d->actual_bits) << (d->ok ? " [within mode]" : "") << '\n';
  os << "  ulp histogram:";
  bool any = false;
  for (size_t k = 0; k < ulp_histogram.size(); ++k)
    if (ulp_histogram[k]) {
      os << "  " << ulp_bucket_label(k) << ": " << ulp_histogram[k];
      any = true;
    }
  if (!any) os << " (empty)";
  os << "\n  specials  expected: NaN " << expected_special.nan << " +Inf " << expected_special.pos_inf << " -Inf "
     << expected_special.neg_inf << "  |  actual: NaN " << actual_special.nan << " +Inf " << actual_special.pos_inf
     << " -Inf " << actual_special.neg_inf << '\n';
  if (!first.empty()) {
    os << "first " << first.size() << " failures (of " << mismatched << "):\n";
    os << "  " << std::left << std::setw(10) << "check" << std::setw(10) << "column" << std::right << std::setw(7) << "row"
       << std::setw(8) << "col" << std::setw(6) << "b" << std::setw(4) << "j" << "  " << std::left << std::setw(29)
       << "expected" << std::setw(29) << "actual" << std::right << std::setw(11) << "ulp" << std::setw(11) << "abs_diff"
       << std::setw(9) << "page" << std::setw(6) << "slot" << std::setw(13) << "value_byte" << std::setw(13)
       << "scale_byte" << '\n';
    for (const ElementDiff& d : first) {
      auto opt = [](int64_t v) { return v >= 0 ? std::to_string(v) : std::string("-"); };
      const bool metric = d.check == Check::value || d.check == Check::zero_sign;  // distances mean something
      os << "  " << std::left << std::setw(10) << to_string(d.check) << std::setw(10) << to_string(d.column) << std::right
         << std::setw(7) << d.row << std::setw(8) << d.col << std::setw(6) << opt(d.b) << std::setw(4) << opt(d.j) << "  "
         << std::left << std::setw(29) << fmt_value(d.expected_bits) << std::setw(29)
         << (d.check == Check::unwritten ? "unwritten (sentinel " + hex32(d.actual_bits) + ")" : fmt_value(d.actual_bits))
         << std::right << std::setw(11) << (metric ? std::to_string(d.ulp) : "-") << std::setw(11)
         << (metric ? fmt_double(d.abs_diff) : "-") << std::setw(9)
         << opt(d.page) << std::setw(6) << opt(d.slot) << std::setw(13) << opt(d.value_byte) << std::setw(13)
         << opt(d.scale_byte);
      if (d.bound != 0 || d.ratio != 0) os << "  observed/bound " << fmt_double(d.ratio);
      os << '\n';
    }
  }
  if (!rows.empty()) {
    os << "rows with most failures (rows failing: " << rows_failing << "):\n";
    for (const RowSummary& r : rows) {
      os << "  row " << r.row;
      if (r.b >= 0) os << " (b=" << r.b << " j=" << r.j << ")";
      os << ": failures " << r.mismatched << ", first col " << r.first_col << ", max ulp " << r.max_ulp << '\n';
    }
  }
  if (!pages.empty()) {
    os << "pages with most failures (pages failing: " << pages_failing << "):\n";
    for (const PageSummary& p : pages)
      os << "  page " << p.page << ": failures " << p.mismatched << ", first slot " << p.first_slot << '\n';
  }
  return os.str();
}

nlohmann::json CompareReport::to_json() const {
  nlohmann::json j;
  j["name"] = name;
  j["mode"] = mode;
  j["shape"] = shape;
  j["pass"] = pass;
  j["compared"] = compared;
  j["mismatched"] = mismatched;
  j["percent_mismatched"] = percent_mismatched();
  for (Column c : kColumns)
    j["by_column"][to_string(c)] = {{"checked", checked[size_t(c)]}, {"mismatched", mismatched_in[size_t(c)]}};
  for (Check c : kChecks) j["by_check"][to_string(c)] = mismatched_by[size_t(c)];
  j["first"] = nlohmann::json::array();
  for (const ElementDiff& d : first) j["first"].push_back(mqa::to_json(d));
  if (worst_abs) j["worst"]["abs"] = mqa::to_json(*worst_abs);
  if (worst_rel) j["worst"]["rel"] = mqa::to_json(*worst_rel);
  if (worst_ulp) j["worst"]["ulp"] = mqa::to_json(*worst_ulp);
  if (worst_ratio) j["worst"]["ratio"] = mqa::to_json(*worst_ratio);
  j["ulp_histogram"] = nlohmann::json::array();
  for (size_t k = 0; k < ulp_histogram.size(); ++k)
    if (ulp_histogram[k]) j["ulp_histogram"].push_back({{"bucket", ulp_bucket_label(k)}, {"count", ulp_histogram[k]}});
  j["expected_special"] = mqa::to_json(expected_special);
  j["actual_special"] = mqa::to_json(actual_special);
  j["rows_failing"] = rows_failing;
  j["rows"] = nlohmann::json::array();
  for (const RowSummary& r : rows) {
    nlohmann::json x = {{"row", r.row}, {"mismatched", r.mismatched}, {"first_col", r.first_col}, {"max_ulp", r.max_ulp}};
    if (r.b >= 0) {
      x["b"] = r.b;
      x["j"] = r.j;
    }
    j["rows"].push_back(x);
  }
  j["pages_failing"] = pages_failing;
  j["pages"] = pages_json(pages);
  j["calc_diff"] = json_double(calc_diff);
  if (max_calc_diff) j["max_calc_diff"] = *max_calc_diff;
  return j;
}

std::string ByteCompareReport::to_text() const {
  std::ostringstream os;
  os << (pass ? "PASS  " : "FAIL  ") << name << "  " << shape << '\n';
  os << "  mismatched " << mismatched << " of " << compared << " bytes";
  if (value_mismatches || scale_mismatches || padding_mismatches)
    os << ": value " << value_mismatches << ", scale " << scale_mismatches << ", padding " << padding_mismatches;
  os << '\n';
  if (!first.empty()) {
    os << "first " << first.size() << " mismatches (of " << mismatched << "):\n";
    for (const ByteDiff& d : first)
      os << "  expected " << hex8(d.expected) << " actual " << hex8(d.actual) << "  " << d.describe << '\n';
  }
  if (!pages.empty()) {
    os << "pages with most mismatches (pages differing: " << pages_failing << "):\n";
    for (const PageSummary& p : pages)
      os << "  page " << p.page << ": bytes " << p.mismatched << ", first slot " << p.first_slot << '\n';
  }
  return os.str();
}

nlohmann::json ByteCompareReport::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"shape", shape},
                      {"pass", pass},
                      {"compared", compared},
                      {"mismatched", mismatched},
                      {"value_mismatches", value_mismatches},
                      {"scale_mismatches", scale_mismatches},
                      {"padding_mismatches", padding_mismatches},
                      {"pages_failing", pages_failing},
                      {"pages", pages_json(pages)}};
  j["first"] = nlohmann::json::array();
  for (const ByteDiff& d : first) {
    nlohmann::json x = {{"offset", d.offset}, {"expected", d.expected}, {"actual", d.actual}, {"describe", d.describe}};
    if (d.where) {
      x["page"] = d.where->page;
      x["kind"] = d.where->in_page.kind == PageCoord::value   ? "value"
                  : d.where->in_page.kind == PageCoord::scale ? "scale"
                                                              : "padding";
      x["slot"] = d.where->in_page.slot;
      x["index"] = d.where->in_page.index;
    }
    if (d.row >= 0) {
      x["row"] = d.row;
      x["col"] = d.col;
    }
    j["first"].push_back(x);
  }
  return j;
}

}  // namespace mqa
