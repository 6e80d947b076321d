// The fuzz campaign (`mqa-harness fuzz`): random edge-weighted case descriptors, run against a
// kernel under test, compared bitwise with the reference; on failure the case is shrunk to the
// smallest failing descriptor, the comparator's report is printed, a repro file in the golden
// schema is written, and ONE command that replays it is printed.
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
};

// A kernel under test as the campaign sees it.
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual const std::string& spec() const = 0;
  virtual bool trusted() const = 0;  // built-ins run in-process; others in a child process
  virtual Outcome run(const CaseTensors& t, const RunOptions& o) const = 0;
};

// "builtin-ref" | "builtin-hip" | PATH.so | "exec:CMD {in} {out}". Throws std::runtime_error.
std::unique_ptr<Kernel> make_kernel(const std::string& spec);

// Runs k on t in a forked child (crashes and hangs become verdicts), or in-process.
Outcome run_case(const Kernel& k, const CaseTensors& t, const RunOptions& o, bool isolate, double timeout_s);

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
  int isolate = -1;            // -1: auto (children for plugins and exec), 0 off, 1 on
  double case_timeout_s = 300;
  int32_t max_failures = 1;    // stop after this many failing cases
  bool shrink = true;
  double shrink_seconds = 60;
  int32_t shrink_steps = 400;
  std::string repro_dir = ".";  // "" : no repro file
  std::string replay;           // a descriptor: run only this case
  double progress_seconds = 2;
  bool quiet = false;           // no progress lines and no summary table
};

struct Failure {
  int64_t index = -1;           // case index in the campaign (-1: replay)
  int64_t cases_before = 0;     // cases this shard ran before it (cases-to-detection - 1)
  CaseDescriptor original, shrunk;
  Outcome outcome;              // of the shrunk case
  int32_t shrink_steps = 0;
  std::string repro_path;
  std::string replay_command;
};

struct CoverageRow {
  std::string name;
  int64_t cases = 0, failures = 0;
};

struct CampaignResult {
  int64_t cases = 0, passed = 0, failed = 0, unsupported = 0;
  double seconds = 0;
  std::vector<Failure> failures;
  std::vector<CoverageRow> coverage;
  std::vector<CoverageRow> unsupported_reasons;  // name = the kernel's message, cases = count
  int exit_code() const { return failed ? 1 : 0; }
};

// Throws std::runtime_error / InvalidInput for bad options (the CLI maps them to exit 2).
CampaignResult run_campaign(const CampaignOptions& o, std::ostream& out);

// The shell-quoted replay command of a descriptor.
std::string replay_command(const CaseDescriptor& d, const std::string& kernel);

// Registers `fuzz` on the harness's app. Exit codes: 0 all pass, 1 failures, 2 bad input.
void add_cli(CLI::App& app);

}  // namespace mqa::fuzz
