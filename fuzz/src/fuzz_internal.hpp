// Private to the fuzz library.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mqa/fuzz.hpp"
#include "mqa/kut_registry.hpp"
#include "mqa/progress.hpp"

namespace mqa::fuzz {

// A passing case under a tolerance mode says its margin in Outcome::detail, so that it also
// crosses the pipe of an isolated run: "worst observed/bound 0.0318".
inline constexpr const char* kMarginPrefix = "worst observed/bound ";

inline constexpr int64_t kGuardFloats = 64;  // after every logits buffer (sentinel-checked)
inline constexpr int64_t kGuardBytes = 256;  // after every gathered buffer

// ---- the kut ABI side of a case (fuzz_run.cpp) ------------------------------------------
// A call's arguments are the case's kernel-side problem (CaseTensors::*_problem(CaseBuffers):
// host memory for ABI version 1, device memory for 2) through mqa/kut_problem.hpp.
mqa_case_shape case_shape(const CaseDescriptor& d);
Outcome kernel_error(const char* op, const KutResult& r);
// --compare with the ABI's sentinel and --writes (clean comes from the case).
CompareMode logits_mode(const RunOptions& ro);
// A kernel's logits (host) judged by the host comparator against t's expected logits.
Outcome compare_logits_out(const CaseTensors& t, const std::vector<float>& actual, const RunOptions& ro);

// ---- ABI version 2: cases judged on the GPU (fuzz_run_device.cpp) ------------------------
// How a case goes through a version-2 kernel: what (if anything) runs on the host, and why.
struct DeviceRoute {
  bool host_expected = false;  // expected logits from the host reference (uploaded), not the device oracle
  bool host_compare = false;   // the kernel's logits copied back and judged by the host comparator
  std::string why;             // "" when neither
  bool device_inputs = false;  // the inputs generated on the GPU (materialize_layout + the device generator)
  std::string inputs_why;      // why not ("" when they are)
};
// "" when the device generator builds d's inputs (mqa/device_case_gen.hpp), else why not.
std::string device_inputs_refusal(const CaseDescriptor& d);
// The inputs of a materialize_layout() case generated on the device (the route's own staging)
// into the caller's device buffers: pool (t.pool.total_bytes()), q (rows x H x D codes) and
// weights (rows x H floats); waits for `stream`. std::logic_error for a case it does not cover.
void generate_case_inputs(const CaseTensors& t, void* stream, uint8_t* pool, uint8_t* q, float* weights);
DeviceRoute device_route(const CaseDescriptor& d, const RunOptions& o);
// The campaign's log line about host fallbacks under these options ("" when none can happen).
std::string device_route_note(const RunOptions& o);
// What the harness itself cannot run through version 2 ("" when it can): no GPU, quant_cache
// and gather (not routed through version 2 yet).
std::string device_route_refusal(const CaseDescriptor& d);
// Seconds per phase, summed over the cases run (the benchmark's breakdown).
struct DevicePhases {
  double generate = 0;  // the device generator (with its uploads of slots and page ids); 0 for host inputs
  double upload = 0, oracle = 0, kernel = 0, compare = 0, report = 0;
  int64_t cases = 0, host_fallbacks = 0;
};
// One case through a version-2 kernel: sentinel fill, oracle, kernel and comparison on the GPU.
Outcome run_on_device(const KernelUnderTest& k, const CaseTensors& t, const RunOptions& o, DevicePhases* phases);

// "exec:CMD {in} {out}" / "exec-worker:CMD": the case's inputs go to CMD as an input file (golden
// schema v1, kind input); CMD writes a candidate file; `golden verify` judges it against the
// golden file the harness keeps (exec_kernel.cpp).
std::unique_ptr<Kernel> make_exec_kernel(const std::string& spec);

// Writes the golden-schema file of one case (repro files). Returns false (and says why in
// `why`) when the golden library is not built in.
bool write_case_file(const std::string& path, const CaseTensors& t, std::string* why);

// work() in a forked child; its return value comes back through a pipe. `error` says how the
// child ended when it did not return ("signal 11 (Segmentation fault)", "timeout").
struct ChildOutput {
  bool ok = false;
  bool timed_out = false;
  int signal = 0;
  std::string payload, error;
};
ChildOutput run_in_child(const std::function<std::string()>& work, double timeout_s);

using mqa::seconds_text;  // "12.3s" or "4m05s" (mqa/progress.hpp)

// Why r can say neither PASS nor FAIL of its cases: fewer than r.min_run ran ("" when enough
// did), e.g. "0 of 200 cases ran: 200 unsupported (reasons: 200x no GPU: ...)".
std::string shortfall_text(const CampaignResult& r);

// Counts per name (coverage classes, reasons); rows() in the summary's order.
class Tally {
 public:
  void add(const std::string& name, int64_t cases = 1, int64_t failures = 0);
  void add(const std::vector<CoverageRow>& rows);
  // The edge classes first, in a fixed order; then the rest (op, layout, B, ...) by name,
  // numbers by value (B = 16 before B = 128).
  std::vector<CoverageRow> rows() const;
  // Most cases first (reasons).
  std::vector<CoverageRow> by_count() const;

 private:
  std::map<std::string, size_t> index_;
  std::vector<CoverageRow> rows_;
};

// How the campaign draws: the options after narrowing to what the kernel supports, and the
// kernel's answer for each drawable shape (asked once, in a child when the kernel is isolated).
class DrawPlan {
 public:
  DrawPlan(const Kernel& k, const CampaignOptions& o, bool isolate);
  SupportedDraw draw(uint64_t index) const;
  const GenOptions& gen() const { return gen_; }
  const std::string& narrowed() const { return narrowed_; }  // "" : not narrowed
  const std::string& note() const { return note_; }          // what the probe found, for the log

 private:
  uint64_t seed_;
  GenOptions gen_;
  int32_t attempts_ = 1;
  std::unordered_map<std::string, std::string> refusals_;  // to_string(kernel_shape) -> reason
  std::string narrowed_, note_;
};

}  // namespace mqa::fuzz
