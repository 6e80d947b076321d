// The campaign loop: draw (what the kernel supports), run, judge, shrink, report. A case counts
// as run only when the kernel computed it (passed or failed); unsupported cases are counted
// apart, never in the coverage table, never as passing, and a campaign that ran fewer than
// --min-run cases says so instead of PASS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <sstream>
#include <stdexcept>

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

std::string first_line(const std::string& s) { return s.substr(0, std::min<size_t>(s.find('\n'), 200)); }

// The replay command with the run options that judge the case (compare mode, writes, repeat).
std::string full_replay_command(const CaseDescriptor& d, const CampaignOptions& o) {
  std::string cmd = replay_command(d, o.kernel);
  if (o.run.compare != "bitwise") cmd += " --compare " + shell_quote(o.run.compare);
  if (o.run.writes == WriteScope::columns) cmd += " --writes columns";
  if (o.run.repeat > 1) cmd += " --repeat " + std::to_string(o.run.repeat);
  return cmd;
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
    try {
      const CaseTensors t = materialize(c);
      return is_failure(run_case(k, t, o.run, isolate, o.case_timeout_s).verdict);
    } catch (const InvalidInput&) {
      return false;  // not a valid case: not a smaller failing one
    }
  };
  const ShrinkResult s = shrink_bounded(d, fails, o.shrink_steps, [&] { return since(t0) >= o.shrink_seconds; });
  f.shrunk = s.desc;
  f.shrink_steps = s.steps;
  f.shrink_stop = s.stop;
  if (!(f.shrunk == d)) f.outcome = run_case(k, materialize(f.shrunk), o.run, isolate, o.case_timeout_s);
  if (!o.quiet) out << "shrunk in " << s.steps << " steps, " << seconds_text(since(t0)) << "\n";
  if (s.stop == ShrinkStop::step_limit) {
    f.shrink_continue = full_replay_command(f.shrunk, o) + " --shrink-steps " + std::to_string(std::max(5 * o.shrink_steps, 2000));
  } else if (s.stop == ShrinkStop::time_limit) {
    char t[32];
    std::snprintf(t, sizeof t, "%gs", std::max(5 * o.shrink_seconds, 300.0));
    f.shrink_continue = full_replay_command(f.shrunk, o) + " --shrink-time " + t;
  }
  return f;
}

std::string shrink_limit_text(const Failure& f, const CampaignOptions& o) {
  char limit[64];
  if (f.shrink_stop == ShrinkStop::step_limit) std::snprintf(limit, sizeof limit, "the %d-step limit", o.shrink_steps);
  else std::snprintf(limit, sizeof limit, "the %gs time limit", o.shrink_seconds);
  return std::string("shrink stopped at ") + limit + " after " + std::to_string(f.shrink_steps) +
         " steps; the case may not be minimal: continue with\n    " + f.shrink_continue;
}

void report_failure(std::ostream& out, const CampaignOptions& o, Failure& f) {
  if (f.index < 0) out << "\n" << to_string(f.outcome.verdict) << " on the replayed case\n";
  else
    out << "\n" << to_string(f.outcome.verdict) << " on case #" << f.index << " (after " << f.passed_before
        << " passing cases)\n";
  out << "  original: " << to_string(f.original) << "\n";
  out << "  shrunk:   " << to_string(f.shrunk) << "\n";
  if (f.shrink_stop != ShrinkStop::minimal) out << "  " << shrink_limit_text(f, o) << "\n";
  out << f.outcome.detail << (f.outcome.detail.empty() || f.outcome.detail.back() == '\n' ? "" : "\n");
  if (!o.repro_dir.empty()) {
    std::ostringstream name;
    name << o.repro_dir << "/mqa-fuzz-repro-s" << o.seed << "-c" << f.index << ".h5";
    std::string why;
    try {
      std::error_code ec;  // a missing --repro-dir is created (its parents too); a failure is named
      std::filesystem::create_directories(o.repro_dir, ec);
      if (ec) throw std::runtime_error("--repro-dir '" + o.repro_dir + "' could not be created: " + ec.message());
      if (write_case_file(name.str(), materialize(f.shrunk), &why)) f.repro_path = name.str();
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (f.repro_path.empty()) out << "repro file not written: " << why << "\n";
    else out << "repro file (golden schema v1): " << f.repro_path << "\n";
  }
  f.replay_command = full_replay_command(f.shrunk, o);
  out << "replay: " << f.replay_command << "\n";
}

void check_campaign_options(const CampaignOptions& o) {
  if (o.shards < 1) reject("shard", o.shards, "the shard count must be >= 1");
  if (o.shard < 0 || o.shard >= o.shards) reject("shard", o.shard, "must be in [0, " + std::to_string(o.shards) + ")");
  if (o.replay.empty() && o.cases <= 0 && o.seconds <= 0) reject("cases", o.cases, "give --cases N or --time T");
  if (o.min_run < 0) reject("--min-run", o.min_run, "must be >= 0");
  if (o.redraws < 0) reject("--redraws", o.redraws, "must be >= 0");
  if (o.shrink_steps < 0) reject("--shrink-steps", o.shrink_steps, "must be >= 0");
  check_gen_options(o.gen);
}

// The cases of this shard, in order.
template <class F>
void for_each_index(const CampaignOptions& o, Clock::time_point t0, F&& f) {
  for (int64_t k = 0;; ++k) {
    const int64_t index = o.shard + k * o.shards;
    if (o.cases > 0 && index >= o.cases) break;
    if (o.seconds > 0 && since(t0) >= o.seconds) break;
    if (!f(index)) break;
  }
}

}  // namespace

std::string replay_command(const CaseDescriptor& d, const std::string& kernel) {
  return "mqa-harness fuzz --replay " + shell_quote(to_string(d)) + " --kernel " + shell_quote(kernel);
}

CampaignResult run_campaign(const CampaignOptions& o, std::ostream& out) {
  check_campaign_options(o);
  const std::unique_ptr<Kernel> kernel = make_kernel(o.kernel);
  const bool isolate = o.isolate < 0 ? !kernel->trusted() : o.isolate != 0;
  CampaignResult r;
  r.kernel = o.kernel;
  r.compare = o.run.compare;
  r.constraints = describe_constraints(o.gen);
  r.seed = o.seed;
  r.shard = o.shard;
  r.shards = o.shards;
  r.cases_total = o.replay.empty() ? o.cases : 1;
  r.min_run = o.min_run;
  Tally cov, unsupported, skipped;
  const auto t0 = Clock::now();

  // One case that reached the kernel: count it, shrink and report a failure.
  auto record = [&](const CaseDescriptor& drawn, const CaseTensors& t, const Outcome& oc, int64_t index, double secs) {
    ++r.cases;
    CaseRecord rec{index, to_string(drawn), oc.verdict, secs, ""};
    if (oc.verdict == Verdict::unsupported) {
      ++r.unsupported;
      rec.reason = oc.detail.substr(0, 100);
      unsupported.add(rec.reason);
      r.records.push_back(std::move(rec));
      return;
    }
    const bool failed = is_failure(oc.verdict);
    for (const std::string& c : coverage_classes(t)) cov.add(c, 1, failed);
    if (!failed) {
      ++r.passed;
      if (oc.detail.rfind(kMarginPrefix, 0) == 0) {  // tolerance modes: keep the worst margin
        const double ratio = std::strtod(oc.detail.c_str() + std::strlen(kMarginPrefix), nullptr);
        if (ratio > r.worst_ratio) { r.worst_ratio = ratio; r.worst_ratio_case = index; }
      }
      r.records.push_back(std::move(rec));
      return;
    }
    rec.reason = first_line(oc.detail);
    r.records.push_back(std::move(rec));
    const bool shrink = index >= 0 || o.shrink_replay;
    Failure f = shrink ? shrink_failure(*kernel, o, isolate, t.desc, oc, out) : Failure{};
    if (!shrink) {
      f.original = f.shrunk = t.desc;
      f.outcome = oc;
    }
    f.index = index;
    f.cases_before = r.passed + r.failed;
    f.passed_before = r.passed;
    ++r.failed;
    if (shrink) {
      report_failure(out, o, f);
    } else {
      f.replay_command = full_replay_command(f.shrunk, o);
    }
    r.failures.push_back(std::move(f));
  };

  if (!o.replay.empty()) {
    const CaseDescriptor d = parse_case(o.replay);
    if (!o.quiet && !kernel->route_note(o.run).empty()) out << "[fuzz] " << kernel->route_note(o.run) << "\n";
    const CaseTensors t = materialize_for(*kernel, d, o.run);
    const auto c0 = Clock::now();
    const Outcome oc = run_case(*kernel, t, o.run, isolate, o.case_timeout_s);
    out << "replay: " << to_string(t.desc) << "\n" << to_string(oc.verdict) << (oc.detail.empty() ? "" : ": ")
        << oc.detail << "\n";
    record(d, t, oc, -1, since(c0));
  } else {
    const DrawPlan plan(*kernel, o, isolate);
    r.narrowed = plan.narrowed();
    if (!o.quiet && !plan.note().empty()) out << "[fuzz] " << plan.note() << "\n";
    if (!o.quiet && !kernel->route_note(o.run).empty()) out << "[fuzz] " << kernel->route_note(o.run) << "\n";
    const int64_t my_cases = o.cases > 0 ? (o.cases - o.shard + o.shards - 1) / o.shards : 0;
    Progress progress(out, {.label = "[fuzz]", .total = my_cases, .time_budget_s = o.cases > 0 ? 0.0 : o.seconds,
                            .interval_s = o.progress_seconds, .enabled = !o.quiet});
    for_each_index(o, t0, [&](int64_t index) {
      const SupportedDraw s = plan.draw(uint64_t(index));
      const size_t replaced = s.refusals.size() - (s.supported ? 0 : 1);
      r.skipped_before_draw += int64_t(replaced);
      for (size_t i = 0; i < replaced; ++i) skipped.add(s.refusals[i].substr(0, 100));
      if (!s.supported) {  // every sub-draw refused: the case is unsupported, never drawn
        ++r.cases;
        ++r.unsupported;
        const std::string why = s.refusals.back().substr(0, 100);
        unsupported.add(why);
        r.records.push_back(CaseRecord{index, to_string(s.desc), Verdict::unsupported, 0, why});
      } else {
        const auto c0 = Clock::now();
        const CaseTensors t = materialize_for(*kernel, s.desc, o.run);
        const Outcome oc = run_case(*kernel, t, o.run, isolate, o.case_timeout_s);
        record(s.desc, t, oc, index, since(c0));
      }
      if (int64_t(r.failures.size()) >= o.max_failures) return false;
      if (progress.due())
        progress.update(r.cases, "(ran " + std::to_string(r.ran()) + ", unsupported " + std::to_string(r.unsupported) +
                                     ")  " + std::to_string(r.failed) + " failures");
      return true;
    });
  }
  r.seconds = since(t0);
  r.coverage = cov.rows();
  r.unsupported_reasons = unsupported.by_count();
  r.skipped_reasons = skipped.by_count();
  r.shortfall = shortfall_text(r);
  if (!o.quiet) print_summary(out, r);
  return r;
}

int list_cases(const CampaignOptions& o, std::ostream& out, std::ostream& note) {
  check_campaign_options(o);
  if (!o.replay.empty()) {
    out << to_string(parse_case(o.replay)) << "\n";
    return 0;
  }
  if (o.cases <= 0) reject("--list-cases", std::string("with --time"), "a listing needs --cases N");
  const std::unique_ptr<Kernel> kernel = make_kernel(o.kernel);
  const bool isolate = o.isolate < 0 ? !kernel->trusted() : o.isolate != 0;
  const DrawPlan plan(*kernel, o, isolate);
  if (!plan.note().empty()) note << "# " << plan.note() << "\n";
  int64_t listed = 0, refused = 0;
  Tally reasons;
  for_each_index(o, Clock::now(), [&](int64_t index) {
    const SupportedDraw s = plan.draw(uint64_t(index));
    if (s.supported) {
      out << to_string(s.desc) << "\n";
      ++listed;
    } else {
      ++refused;
      reasons.add(s.refusals.back().substr(0, 100));
    }
    return true;
  });
  if (refused > 0) {
    note << "# " << listed << " cases listed; " << refused << " not listed, the kernel refuses them:\n";
    for (const CoverageRow& row : reasons.by_count()) note << "#   " << row.cases << "x " << row.name << "\n";
  }
  if (listed < o.min_run) {
    note << "mqa-harness fuzz: " << listed << " cases listed, fewer than --min-run " << o.min_run << "\n";
    return 1;
  }
  return 0;
}

}  // namespace mqa::fuzz
