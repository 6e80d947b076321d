// The fuzz campaign (`mqa-harness fuzz`): random edge-weighted case descriptors, run against a
// kernel under test, compared bitwise with the reference; on failure the case is shrunk to the
// smallest failing descriptor, the comparator's report is printed, a repro file in the golden
// schema is written, and ONE command that replays it is printed. Cases are drawn within the
// constraints of GenOptions and what the kernel's supports() takes; only cases the kernel
// computed count as run, and a campaign that ran too few says INCONCLUSIVE, never PASS. Results
// go out as text, JSON and JUnit; the JSON of shards merges into the campaign's.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "mqa/case.hpp"
#include "mqa/case_random.hpp"
#include "mqa/compare.hpp"

namespace CLI {
class App;
}

namespace mqa::fuzz {

enum class Verdict : uint8_t { pass = 0, fail = 1, unsupported = 2, crash = 3, timeout = 4 };
const char* to_string(Verdict v);
inline bool is_failure(Verdict v) { return v == Verdict::fail || v == Verdict::crash || v == Verdict::timeout; }

struct Outcome {
  Verdict verdict = Verdict::pass;
  std::string detail;  // comparator report / kernel message / signal
};

// How outputs are judged. The sentinel, `clean` and the regions come from the case.
struct RunOptions {
  std::string compare = "bitwise";       // CompareMode text without sentinel/clean/writes
  WriteScope writes = WriteScope::defined;  // the ABI: an implementation writes only the defined region
  int max_listed = 10;
  int repeat = 1;  // runs per case; each must match the reference bit for bit (determinism)
  // Deadline of one run of a kernel that runs its code in processes of its own (exec:), which
  // it enforces itself by killing their process group; <= 0: none. run_case sets it.
  double timeout_s = 0;
};

// A kernel under test as the campaign sees it.
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual const std::string& spec() const = 0;
  virtual bool trusted() const = 0;  // built-ins run in-process; others isolated (--isolate auto)
  // Runs its code in processes of its own (exec:): isolated, it needs no forked child around
  // it, only RunOptions::timeout_s, and kills its processes itself on a timeout.
  virtual bool isolates_itself() const { return false; }
  virtual Outcome run(const CaseTensors& t, const RunOptions& o) const = 0;
  // Whether refusal() is the kernel's own answer (kut.h supports()); exec: kernels cannot say.
  virtual bool answers_supports() const { return false; }
  // "" when the kernel takes a case of this shape (mqa::kernel_shape), else its reason. A
  // plugin's supports() must be a pure query: it may be asked for thousands of shapes.
  virtual std::string refusal(const CaseDescriptor&) const { return {}; }
  // Whether run() needs the case's expected logits from the host reference (materialize(d,
  // true)); a kernel judged by the device oracle (kut ABI version 2) does not.
  virtual bool wants_expected(const CaseDescriptor&, const RunOptions&) const { return true; }
  // Whether run() needs the case's inputs on the host (materialize()); false: the shape is
  // enough (materialize_layout), the values are generated on the device (kut ABI version 2).
  virtual bool wants_host_inputs(const CaseDescriptor&, const RunOptions&) const { return true; }
  // A line for the campaign's log about how cases are judged ("" : nothing to say), e.g. that a
  // tolerance mode falls back to the host comparator.
  virtual std::string route_note(const RunOptions&) const { return {}; }
};

// "builtin-ref" | "builtin-hip" | PATH.so | "exec:CMD {in} {out}" | "exec-worker:CMD". Throws
// std::runtime_error.
std::unique_ptr<Kernel> make_kernel(const std::string& spec);

// Runs k on t isolated (a forked child, or for exec: kernels their own process group under a
// deadline: crashes and hangs become verdicts), or in-process (exec: without a deadline).
Outcome run_case(const Kernel& k, const CaseTensors& t, const RunOptions& o, bool isolate, double timeout_s);

// The case as k.run() needs it: materialize(d, k.wants_expected(d, o)), or materialize_layout(d)
// when k does not want the inputs on the host (they are generated on the device).
CaseTensors materialize_for(const Kernel& k, const CaseDescriptor& d, const RunOptions& o);

// Coverage classes of a case: "L=0", "partial last page", "L%256==0", "next_n>1", "page id>=65536",
// "offset>=2^32", "layout standard", "B=64", "op paged_logits", "dist adversarial", ...
std::vector<std::string> coverage_classes(const CaseTensors& t);

struct CampaignOptions {
  std::string kernel = "builtin-ref";
  int64_t cases = 0;      // total over all shards (0: use seconds)
  double seconds = 0;     // time budget of this shard (0: use cases)
  uint64_t seed = 1;
  int32_t shard = 0, shards = 1;
  GenOptions gen;
  RunOptions run;
  int isolate = -1;            // -1: auto (isolated: plugins and exec), 0 off, 1 on
  double case_timeout_s = 300;
  int32_t max_failures = 1;    // stop after this many failing cases
  // Sub-draws per case while the kernel's supports() refuses it (mqa::random_supported_case),
  // after narrowing the draw to the shapes it supports (mqa::narrow_to_supported). 0: plain
  // draws, and what the kernel refuses counts as unsupported.
  int32_t redraws = 64;
  int64_t min_run = 1;         // fewer cases that ran (passed or failed) than this: exit 1, never PASS
  bool shrink = true;
  bool shrink_replay = false;  // --replay: shrink a failing case too (continuing a stopped shrink)
  double shrink_seconds = 60;
  int32_t shrink_steps = 400;
  std::string repro_dir = ".";  // "" : no repro file
  std::string replay;           // a descriptor: run only this case
  double progress_seconds = 2;
  bool quiet = false;           // no progress lines and no summary table
};

struct Failure {
  int64_t index = -1;           // case index in the campaign (-1: replay)
  int64_t cases_before = 0;     // cases this shard ran (passed or failed) before it (cases-to-detection - 1)
  int64_t passed_before = 0;    // of which passed
  CaseDescriptor original, shrunk;
  Outcome outcome;              // of the shrunk case
  int32_t shrink_steps = 0;
  ShrinkStop shrink_stop = ShrinkStop::minimal;  // a limit stopped it: `shrunk` may not be minimal
  std::string shrink_continue;  // then: the command that shrinks on from `shrunk`
  std::string repro_path;
  std::string replay_command;
};

struct CoverageRow {
  std::string name;
  int64_t cases = 0, failures = 0;
};

// One case of a shard (JUnit testcases; merged shards).
struct CaseRecord {
  int64_t index = -1;
  std::string descriptor;
  Verdict verdict = Verdict::pass;
  double seconds = 0;
  std::string reason;  // unsupported: why; a failure: the first line of its report
};

struct CampaignResult {
  // what was run (the JSON summary; merge checks that shards agree)
  std::string kernel, compare, constraints;
  std::string narrowed;          // the constraints after narrowing to the kernel's supports() ("" = none)
  uint64_t seed = 0;
  int32_t shard = 0, shards = 1;
  std::vector<int32_t> merged_shards;  // `fuzz merge`: the shards it holds (else empty)
  int64_t cases_total = 0;       // --cases over all shards (0: a --time campaign)
  int64_t min_run = 1;
  // what happened
  int64_t cases = 0, passed = 0, failed = 0, unsupported = 0;
  int64_t skipped_before_draw = 0;  // sub-draws supports() refused, each replaced by a redraw (never run)
  double seconds = 0;
  std::vector<Failure> failures;
  std::vector<CoverageRow> coverage;             // cases that ran (passed or failed) only
  std::vector<CoverageRow> unsupported_reasons;  // name = the kernel's message, cases = count
  std::vector<CoverageRow> skipped_reasons;      // the same for the refused sub-draws
  std::vector<CaseRecord> records;               // every case, in the order run
  std::string shortfall;  // why the campaign says neither PASS nor FAIL of its cases ("" = it can)
  // tolerance modes: the largest observed/bound of any passing case, and that case (-1: none)
  double worst_ratio = -1;
  int64_t worst_ratio_case = -1;

  int64_t ran() const { return passed + failed; }
  int exit_code() const { return failed || !shortfall.empty() ? 1 : 0; }
  const char* result() const { return failed ? "fail" : shortfall.empty() ? "pass" : "inconclusive"; }
};

// Throws std::runtime_error / InvalidInput for bad options (the CLI maps them to exit 2).
CampaignResult run_campaign(const CampaignOptions& o, std::ostream& out);

// `--list-cases`: prints the descriptors the campaign would run (after constraints, narrowing
// and redraws; kernel ops are never called, supports() is), one per line, and says on `note`
// how many were refused. Returns the exit code (1 when fewer than min_run could run).
int list_cases(const CampaignOptions& o, std::ostream& out, std::ostream& note);

// The shell-quoted replay command of a descriptor.
std::string replay_command(const CaseDescriptor& d, const std::string& kernel);

// The text summary (counts, coverage table, reasons, failures, RESULT line).
void print_summary(std::ostream& out, const CampaignResult& r);

// Reports (fuzz_report.cpp). to_json / from_json round-trip every field; write_junit writes one
// testsuite with a testcase per case (a <failure> for failures, <skipped> for unsupported).
std::string to_json_text(const CampaignResult& r);
CampaignResult from_json_text(const std::string& text, const std::string& source);  // InvalidInput naming source
void write_junit(const CampaignResult& r, std::ostream& out);
std::string xml_escape(const std::string& s);

// `fuzz merge`: the shards of one campaign (same kernel, seed, shard count, cases, compare
// mode and constraints; distinct shard indices, else InvalidInput) as one result: sums, the
// union of failures, merged coverage. Missing shards make `shortfall` say which.
// min_run < 0: the largest of the shards'.
CampaignResult merge_results(const std::vector<CampaignResult>& shards, const std::vector<std::string>& sources,
                             int64_t min_run = -1);

// Registers `fuzz` on the harness's app. Exit codes: 0 all pass, 1 failures, 2 bad input.
void add_cli(CLI::App& app);

}  // namespace mqa::fuzz
