// The campaign loop: generate, run, judge, shrink, report.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include "fuzz_internal.hpp"
#include "mqa/validate.hpp"

namespace mqa::fuzz {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string seconds_text(double s) {
  char buf[32];
  if (s < 120) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  return buf;
}

class Coverage {
 public:
  void add(const std::vector<std::string>& classes, bool failed) {
    for (const std::string& c : classes) {
      auto [it, fresh] = index_.emplace(c, rows_.size());
      if (fresh) rows_.push_back(CoverageRow{c, 0, 0});
      rows_[it->second].cases += 1;
      rows_[it->second].failures += failed;
    }
  }
  // The edge classes first, in a fixed order; then the rest (op, layout, B, ...) by name.
  std::vector<CoverageRow> rows() const {
    static const char* const kFirst[] = {"L = 0", "partial last page", "L % 256 == 0", "next_n > 1", "2-D lens",
                                         "page id >= 65536", "byte offset >= 2^32", "padded page stride",
                                         "clean_logits"};
    auto rank = [](const std::string& n) {
      for (size_t i = 0; i < std::size(kFirst); ++i)
        if (n == kFirst[i]) return int(i);
      return int(std::size(kFirst));
    };
    std::vector<CoverageRow> r = rows_;
    std::stable_sort(r.begin(), r.end(), [&](const CoverageRow& a, const CoverageRow& b) {
      const int ra = rank(a.name), rb = rank(b.name);
      if (ra != rb) return ra < rb;
      const size_t ea = a.name.find(" = "), eb = b.name.find(" = ");
      if (ea != std::string::npos && ea == eb && a.name.compare(0, ea, b.name, 0, eb) == 0 &&
          a.name.size() != b.name.size())
        return a.name.size() < b.name.size();  // numbers: B = 16 before B = 128
      return a.name < b.name;
    });
    return r;
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<CoverageRow> rows_;
};

void print_summary(std::ostream& out, const CampaignOptions& o, const CampaignResult& r) {
  out << "\n== fuzz summary: kernel " << o.kernel << ", seed " << o.seed << ", shard " << o.shard << "/" << o.shards
      << " ==\n";
  char line[200];
  std::snprintf(line, sizeof line, "cases %lld  passed %lld  FAILED %lld  unsupported %lld  in %s (%.1f cases/s)\n",
                static_cast<long long>(r.cases), static_cast<long long>(r.passed), static_cast<long long>(r.failed),
                static_cast<long long>(r.unsupported), seconds_text(r.seconds).c_str(),
                r.seconds > 0 ? double(r.cases) / r.seconds : 0.0);
  out << line;
  out << std::left << std::setw(28) << "coverage class" << std::right << std::setw(10) << "cases" << std::setw(10)
      << "failures" << "\n";
  out << std::string(48, '-') << "\n";
  for (const CoverageRow& c : r.coverage)
    out << std::left << std::setw(28) << c.name << std::right << std::setw(10) << c.cases << std::setw(10)
        << c.failures << "\n";
  if (!r.unsupported_reasons.empty()) {
    out << "unsupported by the kernel (cases: reason):\n";
    for (const CoverageRow& u : r.unsupported_reasons) out << std::setw(8) << u.cases << ": " << u.name << "\n";
  }
  for (const Failure& f : r.failures)
    out << "failure: case #" << f.index << " -> " << f.replay_command << "\n";
  out << (r.failed ? "RESULT: FAIL" : "RESULT: PASS") << "\n";
}

// Shrinks a failing case against the kernel, within the step and time budgets.
Failure shrink_failure(const Kernel& k, const CampaignOptions& o, bool isolate, const CaseDescriptor& d,
                       const Outcome& first, std::ostream& out) {
  Failure f;
  f.original = d;
  f.shrunk = d;
  f.outcome = first;
  if (!o.shrink) return f;
  const auto t0 = Clock::now();
  auto fails = [&](const CaseDescriptor& c) {
    if (since(t0) > o.shrink_seconds) return false;
    try {
      const CaseTensors t = materialize(c);
      return is_failure(run_case(k, t, o.run, isolate, o.case_timeout_s).verdict);
    } catch (const InvalidInput&) {
      return false;  // not a valid case: not a smaller failing one
    }
  };
  int steps = 0;
  f.shrunk = shrink_case(d, fails, o.shrink_steps, &steps);
  f.shrink_steps = steps;
  if (!(f.shrunk == d)) f.outcome = run_case(k, materialize(f.shrunk), o.run, isolate, o.case_timeout_s);
  if (!o.quiet) out << "shrunk in " << steps << " steps, " << seconds_text(since(t0)) << "\n";
  return f;
}

void report_failure(std::ostream& out, const CampaignOptions& o, Failure& f) {
  out << "\n" << to_string(f.outcome.verdict) << " on case #" << f.index << " (after " << f.cases_before
      << " passing cases)\n";
  out << "  original: " << to_string(f.original) << "\n";
  out << "  shrunk:   " << to_string(f.shrunk) << "\n";
  out << f.outcome.detail << (f.outcome.detail.empty() || f.outcome.detail.back() == '\n' ? "" : "\n");
  if (!o.repro_dir.empty()) {
    std::ostringstream name;
    name << o.repro_dir << "/mqa-fuzz-repro-s" << o.seed << "-c" << f.index << ".h5";
    std::string why;
    try {
      if (write_case_file(name.str(), materialize(f.shrunk), &why)) f.repro_path = name.str();
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (f.repro_path.empty()) out << "repro file not written: " << why << "\n";
    else out << "repro file (golden schema v1): " << f.repro_path << "\n";
  }
  f.replay_command = replay_command(f.shrunk, o.kernel);
  out << "replay: " << f.replay_command << "\n";
}

}  // namespace

std::string replay_command(const CaseDescriptor& d, const std::string& kernel) {
  return "mqa-harness fuzz --replay " + shell_quote(to_string(d)) + " --kernel " + shell_quote(kernel);
}

CampaignResult run_campaign(const CampaignOptions& o, std::ostream& out) {
  if (o.shards < 1) reject("shard", o.shards, "the shard count must be >= 1");
  if (o.shard < 0 || o.shard >= o.shards) reject("shard", o.shard, "must be in [0, " + std::to_string(o.shards) + ")");
  if (o.replay.empty() && o.cases <= 0 && o.seconds <= 0) reject("cases", o.cases, "give --cases N or --time T");
  if (o.gen.ops.empty()) reject("ops", std::string("(none)"), "no op selected");
  const std::unique_ptr<Kernel> kernel = make_kernel(o.kernel);
  const bool isolate = o.isolate < 0 ? !kernel->trusted() : o.isolate != 0;
  CampaignResult r;
  Coverage cov, unsupported;
  const auto t0 = Clock::now();
  auto record = [&](const CaseTensors& t, const Outcome& oc, int64_t index, int64_t before) {
    ++r.cases;
    cov.add(coverage_classes(t), is_failure(oc.verdict));
    if (oc.verdict == Verdict::pass) { ++r.passed; return; }
    if (oc.verdict == Verdict::unsupported) {
      ++r.unsupported;
      unsupported.add({oc.detail.substr(0, 100)}, false);
      return;
    }
    ++r.failed;
    Failure f = shrink_failure(*kernel, o, isolate, t.desc, oc, out);
    f.index = index;
    f.cases_before = before;
    report_failure(out, o, f);
    r.failures.push_back(std::move(f));
  };

  if (!o.replay.empty()) {
    const CaseTensors t = materialize(parse_case(o.replay));
    const Outcome oc = run_case(*kernel, t, o.run, isolate, o.case_timeout_s);
    out << "replay: " << to_string(t.desc) << "\n" << to_string(oc.verdict) << (oc.detail.empty() ? "" : ": ")
        << oc.detail << "\n";
    ++r.cases;
    cov.add(coverage_classes(t), is_failure(oc.verdict));
    if (oc.verdict == Verdict::pass) ++r.passed;
    else if (oc.verdict == Verdict::unsupported) ++r.unsupported;
    else ++r.failed;
    r.seconds = since(t0);
    r.coverage = cov.rows();
    return r;
  }

  auto last_progress = t0;
  const int64_t my_cases = o.cases > 0 ? (o.cases - o.shard + o.shards - 1) / o.shards : 0;
  for (int64_t k = 0;; ++k) {
    const int64_t index = o.shard + k * o.shards;
    if (o.cases > 0 && index >= o.cases) break;
    if (o.seconds > 0 && since(t0) >= o.seconds) break;
    const CaseDescriptor d = random_case(o.seed, uint64_t(index), o.gen);
    const CaseTensors t = materialize(d);
    record(t, run_case(*kernel, t, o.run, isolate, o.case_timeout_s), index, k);
    if (int64_t(r.failures.size()) >= o.max_failures) break;
    if (!o.quiet && since(last_progress) >= o.progress_seconds) {
      last_progress = Clock::now();
      const double el = since(t0), rate = double(r.cases) / el;
      const double eta = o.cases > 0 ? double(my_cases - r.cases) / rate : std::max(0.0, o.seconds - el);
      char line[200];
      std::snprintf(line, sizeof line, "[fuzz] %lld cases  %.1f cases/s  %lld failures  elapsed %s  ETA %s\n",
                    static_cast<long long>(r.cases), rate, static_cast<long long>(r.failed), seconds_text(el).c_str(),
                    seconds_text(eta).c_str());
      out << line << std::flush;
    }
  }
  r.seconds = since(t0);
  r.coverage = cov.rows();
  r.unsupported_reasons = unsupported.rows();
  if (!o.quiet) print_summary(out, o, r);
  return r;
}

}  // namespace mqa::fuzz
