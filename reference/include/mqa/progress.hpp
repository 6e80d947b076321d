// The one progress reporter of every long run (the fuzz campaign, golden generate, the device
// sweep, the self-check): how many are done, the rate and the time left, at most once an
// interval, and a closing line. It lives at the lowest layer so that every layer can use it;
// it is a target of its own (mqa_progress), so the reference's numerics link no console code.
//
//   mqa::Progress p(std::cerr, {.label = "golden generate", .total = n});
//   for (...) { ...; p.update(i + 1); }
//   p.finish();   // "golden generate 40/40 cases in 1.2s  33.3 cases/s"
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace mqa {

struct ProgressOptions {
  std::string label;            // leads every line ("[fuzz]", "golden generate", ...)
  int64_t total = 0;            // units planned; 0: not known (a run bounded by time)
  double time_budget_s = 0;     // a run bounded by time: with total == 0 the ETA is what is left of it
  double interval_s = 2.0;      // at most one line an interval (finish() always prints)
  bool rewrite = false;         // a terminal: rewrite one line with '\r'; false: one line a report (logs)
  bool enabled = true;          // false: print nothing (the caller need not branch)
  std::string unit = "cases";
};

class Progress {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic; tests pass their own

  explicit Progress(std::ostream& out, ProgressOptions opt, Clock clock = {});

  // `done` units are done; prints a line when the interval has passed since the last one.
  // `detail` (failures, what is running) is appended to the line.
  void update(int64_t done, const std::string& detail = {});
  // The closing line, printed whatever the interval: done, total time, rate, detail.
  void finish(const std::string& detail = {});

  bool due() const;          // a line would print now: lets a caller skip building its detail
  double elapsed() const;    // seconds since construction
  int64_t done() const { return done_; }
  // The text of one line (no '\r' or '\n'); `final` gives the closing form.
  std::string line(int64_t done, const std::string& detail, bool final) const;

 private:
  void print(const std::string& text);

  std::ostream& out_;
  ProgressOptions opt_;
  Clock clock_;
  double start_ = 0, last_ = 0;
  int64_t done_ = 0;
  bool open_line_ = false;
};

// "12.3s" below two minutes, "4m05s" above: the one way every report writes a duration.
std::string seconds_text(double s);

}  // namespace mqa
