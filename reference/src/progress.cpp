// mqa::Progress (progress.hpp): the text of a progress line and when one is printed.
#include "mqa/progress.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>

namespace mqa {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Enough digits to tell a slow run's rate (a deployed case takes seconds) from zero.
std::string rate_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, r >= 100 ? "%.0f" : r >= 1 ? "%.1f" : "%.3f", r);
  return buf;
}

}  // namespace

std::string seconds_text(double s) {
  char buf[32];
  if (s < 120) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  return buf;
}

Progress::Progress(std::ostream& out, ProgressOptions opt, Clock clock)
    : out_(out), opt_(std::move(opt)), clock_(clock ? std::move(clock) : Clock(steady_seconds)) {
  start_ = last_ = clock_();
}

double Progress::elapsed() const { return clock_() - start_; }

bool Progress::due() const {
  return opt_.enabled && clock_() - last_ >= opt_.interval_s;
}

std::string Progress::line(int64_t done, const std::string& detail, bool final) const {
  const double el = elapsed();
  const double rate = el > 0 ? double(done) / el : 0.0;
  std::string s;  // appended piece by piece (GCC 12 misreads chains of operator+ as overlapping)
  if (!opt_.label.empty()) s.append(opt_.label).append(" ");
  s.append(std::to_string(done));
  if (opt_.total > 0) s.append("/").append(std::to_string(opt_.total));
  s.append(" ").append(opt_.unit);
  if (final) s.append(" in ").append(seconds_text(el));
  s.append("  ").append(rate_text(rate)).append(" ").append(opt_.unit).append("/s");
  if (!final) {
    s.append("  elapsed ").append(seconds_text(el)).append("  ETA ");
    if (opt_.total > 0 && rate > 0) s.append(seconds_text(double(std::max<int64_t>(opt_.total - done, 0)) / rate));
    else if (opt_.total <= 0 && opt_.time_budget_s > 0) s.append(seconds_text(std::max(0.0, opt_.time_budget_s - el)));
    else s.append("?");
  }
  if (!detail.empty()) s.append("  ").append(detail);
  return s;
}

void Progress::print(const std::string& text) {
  if (opt_.rewrite) {
    out_ << '\r' << text << "\033[K";  // clear what a longer previous line left
    open_line_ = true;
  } else {
    out_ << text << '\n';
  }
  out_ << std::flush;
}

void Progress::update(int64_t done, const std::string& detail) {
  done_ = done;
  if (!due()) return;
  last_ = clock_();
  print(line(done, detail, false));
}

void Progress::finish(const std::string& detail) {
  if (!opt_.enabled) return;
  print(line(done_, detail, true));
  if (open_line_) out_ << '\n' << std::flush;
  open_line_ = false;
}

}  // namespace mqa
