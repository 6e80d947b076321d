// CompareMode string form, element metrics and coordinate builders of the comparator.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "mqa/compare.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace {

[[noreturn]] void bad_mode(const std::string& s, const std::string& why) {
  reject("compare_mode", "'" + s + "'", why);
}

// Whole-string unsigned parse; base 0 accepts 0x.. for sentinels.
uint64_t parse_unsigned(const std::string& whole, const std::string& text, int base, uint64_t max) {
  if (text.empty() || text[0] == '-' || text[0] == '+' || text[0] == ' ') bad_mode(whole, "'" + text + "' is not a number");
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, base);
  if (errno != 0 || end != text.c_str() + text.size() || v > max)
    bad_mode(whole, "'" + text + "' is not a number in [0, " + std::to_string(max) + "]");
  return v;
}

double parse_double(const std::string& whole, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double v = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v) || v < 0)
    bad_mode(whole, "'" + text + "' is not a finite non-negative number");
  return v;
}

}  // namespace

std::string CompareMode::to_string() const {
  std::string s;
  switch (kind) {
    case CompareKind::bitwise: s = "bitwise"; break;
    case CompareKind::ulp: s = "ulp:" + std::to_string(max_ulp); break;
    case CompareKind::tolerance:
      s = model == ToleranceModel::fp32_accum ? "tolerance" : std::string("tolerance:") + mqa::to_string(model);
      break;
  }
  if (zero_sign_equal && kind != CompareKind::tolerance) s += ",zero_sign_equal";
  if (future) s += ",future";
  if (clean) s += ",clean";
  if (sentinel) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ",sentinel:0x%08X", *sentinel);
    s += buf;
  }
  if (writes == WriteScope::defined) s += ",writes:defined";
  if (max_calc_diff) {
    char buf[48];
    std::snprintf(buf, sizeof buf, ",calc_diff:%.17g", *max_calc_diff);
    s += buf;
  }
  if (bf16_out) s += ",bf16_out";
  return s;
}

CompareMode CompareMode::parse(const std::string& s) {
  CompareMode m;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    parts.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const std::string& head = parts[0];
  if (head == "bitwise") {
    m.kind = CompareKind::bitwise;
  } else if (head == "tolerance" || head.rfind("tolerance:", 0) == 0) {
    m.kind = CompareKind::tolerance;
    m.zero_sign_equal = true;  // always, in tolerance modes (compare.hpp)
    if (head.size() > 9) {
      const std::string model = head.substr(10);
      if (model == "fp32") m.model = ToleranceModel::fp32_accum;
      else if (model == "fp8_mma") m.model = ToleranceModel::fp8_mma;
      else bad_mode(s, "unknown tolerance model '" + model + "' (known: fp32, fp8_mma)");
    }
  } else if (head.rfind("ulp:", 0) == 0) {
    m.kind = CompareKind::ulp;
    m.max_ulp = uint32_t(parse_unsigned(s, head.substr(4), 10, std::numeric_limits<uint32_t>::max()));
  } else {
    bad_mode(s, "expected 'bitwise', 'ulp:N', 'tolerance', 'tolerance:fp32' or 'tolerance:fp8_mma' first");
  }
  bool seen_writes = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& o = parts[i];
    auto once = [&](bool already) { if (already) bad_mode(s, "option '" + o + "' given twice"); };
    if (o == "zero_sign_equal") {
      if (m.kind != CompareKind::tolerance) once(m.zero_sign_equal);
      m.zero_sign_equal = true;
    } else if (o == "bf16_out") {
      if (m.kind != CompareKind::tolerance) bad_mode(s, "bf16_out is an option of the tolerance modes");
      once(m.bf16_out);
      m.bf16_out = true;
    }
    else if (o == "future") { once(m.future); m.future = true; }
    else if (o == "clean") { once(m.clean); m.clean = true; }
    else if (o.rfind("sentinel:", 0) == 0) {
      once(m.sentinel.has_value());
      const std::string v = o.substr(9);
      if (v.rfind("0x", 0) != 0 && v.rfind("0X", 0) != 0) bad_mode(s, "sentinel must be hex bits, e.g. 0x7FC0FFEE");
      m.sentinel = uint32_t(parse_unsigned(s, v, 16, std::numeric_limits<uint32_t>::max()));
    } else if (o == "writes:defined" || o == "writes:columns") {
      once(seen_writes);
      seen_writes = true;
      m.writes = o == "writes:defined" ? WriteScope::defined : WriteScope::columns;
    } else if (o.rfind("calc_diff:", 0) == 0) {
      once(m.max_calc_diff.has_value());
      m.max_calc_diff = parse_double(s, o.substr(10));
    } else {
      bad_mode(s, "unknown option '" + o +
                      "' (known: zero_sign_equal, future, clean, sentinel:0x.., writes:defined|columns, calc_diff:X, bf16_out)");
    }
  }
  if (seen_writes && !m.sentinel) bad_mode(s, "writes:... only means something with sentinel:0x..");
  return m;
}

const char* to_string(Column c) {
  switch (c) {
    case Column::valid: return "valid";
    case Column::future: return "future";
    case Column::undefined: return "undefined";
    case Column::padding: return "padding";
    case Column::beyond: return "beyond";
  }
  return "?";
}

const char* to_string(Check c) {
  switch (c) {
    case Check::value: return "value";
    case Check::nan: return "nan";
    case Check::zero_sign: return "zero_sign";
    case Check::clean: return "clean";
    case Check::sentinel: return "sentinel";
    case Check::unwritten: return "unwritten";
  }
  return "?";
}

// Sign-magnitude to a monotone integer line: -x maps to -|x|, so both zeros map to 0 and the
// distance between two finite floats counts the representable values between them.
uint64_t ulp_distance(uint32_t a, uint32_t b) {
  auto is_nan = [](uint32_t x) { return (x & 0x7FFFFFFFu) > 0x7F800000u; };
  if (is_nan(a) || is_nan(b)) return 0;
  auto ordered = [](uint32_t x) { return (x & 0x80000000u) ? -int64_t(x & 0x7FFFFFFFu) : int64_t(x); };
  const int64_t d = ordered(a) - ordered(b);
  return uint64_t(d < 0 ? -d : d);
}

std::vector<double> tolerance_bounds(std::span<const double> abs_terms, int64_t reduction_length) {
  if (reduction_length < 1) reject("reduction_length", reduction_length, "must be >= 1");
  const double unit = std::ldexp(1.0, -24);
  std::vector<double> out(abs_terms.size());
  for (size_t i = 0; i < abs_terms.size(); ++i) {
    if (!(abs_terms[i] >= 0) || !std::isfinite(abs_terms[i]))
      reject("abs_terms[" + std::to_string(i) + "]", std::to_string(abs_terms[i]), "must be finite and >= 0");
    out[i] = double(reduction_length) * unit * abs_terms[i];
  }
  return out;
}

double calc_diff(std::span<const float> x, std::span<const float> y) {
  if (x.size() != y.size()) reject("calc_diff.y.size", y.size(), "must equal x.size = " + std::to_string(x.size()));
  double xy = 0, sq = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    xy += double(x[i]) * double(y[i]);
    sq += double(x[i]) * double(x[i]) + double(y[i]) * double(y[i]);
  }
  return sq == 0 ? 0.0 : 1.0 - 2.0 * xy / sq;
}

LogitsCoordinates paged_coordinates(const PagedLogitsProblem& p) {
  LogitsCoordinates c;
  c.kind = LogitsCoordinates::Kind::paged;
  c.batch = p.batch;
  c.next_n = p.next_n;
  if (p.table.data != nullptr) c.view = PagedView{p.cache, p.table};
  return c;
}

LogitsCoordinates ragged_coordinates(const RaggedLogitsProblem&) {
  LogitsCoordinates c;
  c.kind = LogitsCoordinates::Kind::ragged;
  return c;
}

}  // namespace mqa
