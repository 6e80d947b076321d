// campaign_bench: cases/s of the campaign's per-case path at a deployed shape (default: paged
// logits, batch 64, every context L = 32768, H 64, D 128, page 64), through kut ABI version 2
// (device oracle + on-device compare) against version 1 (host reference + host compare), and
// where the time goes. Case i is the descriptor of that shape with seed i, materialised exactly
// as the campaign does it (a pure function of the descriptor), then run as the campaign runs it:
//   v2: lay out on the host (materialize_layout: table, slots, regions) | generate the inputs on
//       the device | upload (table, lens) + sentinel fill | oracle (HIP, on device) | kernel |
//       compare (on device) | report (only on a failure); with --host-inputs the campaign's
//       other route: materialise the inputs on the host and upload them
//   v1: materialise (inputs only) | oracle (host reference) | kernel + its copies + host compare
// Every case must pass (the kernels are exact): a failing case is printed and the exit is 1.
//
//   campaign_bench [--batch 64] [--len 32768] [--heads 64] [--dim 128] [--page 64]
//                  [--v2 builtin-hip-v2|PLUGIN.so] [--v1 builtin-hip|PLUGIN.so]
//                  [--cases-v2 40] [--cases-v1 2] [--host-inputs]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_internal.hpp"
#include "mqa/device_oracle.hpp"

using namespace mqa;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Options {
  int32_t batch = 64, len = 32768, heads = 64, dim = 128, page = 64;
  std::string v2 = "builtin-hip-v2", v1 = "builtin-hip";
  int cases_v2 = 40, cases_v1 = 2;
  bool host_inputs = false;  // v2: the inputs materialised on the host (the route before the device generator)
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto num = [&] {
      if (v == nullptr) { std::fprintf(stderr, "campaign_bench: %s needs a value\n", a.c_str()); std::exit(2); }
      ++i;
      return std::atoi(v);
    };
    if (a == "--batch") o.batch = num();
    else if (a == "--len") o.len = num();
    else if (a == "--heads") o.heads = num();
    else if (a == "--dim") o.dim = num();
    else if (a == "--page") o.page = num();
    else if (a == "--cases-v2") o.cases_v2 = num();
    else if (a == "--cases-v1") o.cases_v1 = num();
    else if (a == "--v2" && v) o.v2 = argv[++i];
    else if (a == "--v1" && v) o.v1 = argv[++i];
    else if (a == "--host-inputs") o.host_inputs = true;
    else { std::fprintf(stderr, "campaign_bench: unknown option '%s'\n", a.c_str()); std::exit(2); }
  }
  return o;
}

CaseDescriptor case_of(const Options& o, int i) {
  CaseDescriptor d;
  d.op = CaseOp::paged_logits;
  d.page_size = o.page, d.head_dim = o.dim, d.quant_block = o.dim, d.heads = o.heads;
  d.lens.assign(size_t(o.batch), o.len);
  d.seed = uint64_t(i) + 1;
  return d;
}

void progress(const char* route, int done, int total, double elapsed) {
  const double rate = done / elapsed;
  std::printf("[%s] %d/%d cases  %.3f cases/s  elapsed %.1fs  ETA %.1fs\n", route, done, total, rate, elapsed,
              (total - done) / rate);
  std::fflush(stdout);
}

void row(const char* phase, double seconds, int cases, double total) {
  std::printf("  %-34s %10.2f ms/case %6.1f%%\n", phase, 1e3 * seconds / cases, 100.0 * seconds / total);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::printf("campaign_bench: paged logits, batch %d, L = %d, H %d, D %d, page %d\n", o.batch, o.len, o.heads, o.dim,
              o.page);
  const device::DeviceStatus st = device::device_status();
  std::printf("device: %s\n", st.available ? st.name.c_str() : st.reason.c_str());
  int failures = 0;

  // ---- version 2 ----
  fuzz::DevicePhases ph;
  double mat2 = 0, total2 = 0;
  int ran2 = 0;
  if (st.available && o.cases_v2 > 0) {
    const KernelUnderTest k = KernelUnderTest::load(o.v2);
    const auto t0 = Clock::now();
    const std::string refusal = fuzz::device_inputs_refusal(case_of(o, 0));
    const bool on_device = !o.host_inputs && refusal.empty();
    std::printf("v2 inputs: %s\n", on_device       ? "generated on the device (materialize_layout on the host)"
                                   : o.host_inputs ? "materialised on the host (--host-inputs)"
                                                   : ("materialised on the host: " + refusal).c_str());
    for (int i = 0; i < o.cases_v2; ++i) {
      const auto m0 = Clock::now();
      const CaseTensors t = on_device ? materialize_layout(case_of(o, i)) : materialize(case_of(o, i), false);
      mat2 += since(m0);
      const fuzz::Outcome r = fuzz::run_on_device(k, t, fuzz::RunOptions{}, &ph);
      if (r.verdict != fuzz::Verdict::pass) {
        ++failures;
        std::printf("v2 case %d: %s\n%s\n", i, fuzz::to_string(r.verdict), r.detail.c_str());
      }
      ++ran2;
      progress("v2", i + 1, o.cases_v2, since(t0));
    }
    total2 = since(t0);
  } else {
    std::printf("v2: NOT RUN (%s)\n", st.available ? "--cases-v2 0" : "no GPU");
  }

  // ---- version 1 ----
  double mat1 = 0, ref1 = 0, run1 = 0, total1 = 0;
  int ran1 = 0;
  if (o.cases_v1 > 0) {
    const std::unique_ptr<fuzz::Kernel> k = fuzz::make_kernel(o.v1);
    const auto t0 = Clock::now();
    for (int i = 0; i < o.cases_v1; ++i) {
      auto p0 = Clock::now();
      CaseTensors t = materialize(case_of(o, i), false);
      mat1 += since(p0);
      p0 = Clock::now();
      compute_expected_logits(t);
      ref1 += since(p0);
      p0 = Clock::now();
      const fuzz::Outcome r = fuzz::run_case(*k, t, fuzz::RunOptions{}, false, 0);
      run1 += since(p0);
      if (r.verdict != fuzz::Verdict::pass) {
        if (r.verdict != fuzz::Verdict::unsupported) ++failures;
        std::printf("v1 case %d: %s\n%s\n", i, fuzz::to_string(r.verdict), r.detail.substr(0, 2000).c_str());
      }
      ++ran1;
      progress("v1", i + 1, o.cases_v1, since(t0));
    }
    total1 = since(t0);
  }

  std::printf("\n================ campaign_bench summary ================\n");
  if (ran2 > 0) {
    std::printf("v2 (%s): %d cases, %.3f cases/s; without the host part %.2f cases/s\n", o.v2.c_str(), ran2,
                ran2 / total2, ran2 / (total2 - mat2));
    row(o.host_inputs ? "materialise inputs (CPU)" : "lay out (CPU: table, slots, regions)", mat2, ran2, total2);
    row("generate inputs (device)", ph.generate, ran2, total2);
    row(o.host_inputs ? "upload + sentinel fill" : "upload table, lens + sentinel fill", ph.upload, ran2, total2);
    row("oracle (HIP, device)", ph.oracle, ran2, total2);
    row("kernel under test", ph.kernel, ran2, total2);
    row("compare (device)", ph.compare, ran2, total2);
    row("report (failures only)", ph.report, ran2, total2);
    if (ph.host_fallbacks) std::printf("  %lld cases fell back to the host\n", static_cast<long long>(ph.host_fallbacks));
  }
  if (ran1 > 0) {
    std::printf("v1 (%s): %d cases, %.3f cases/s; without materialisation %.3f cases/s\n", o.v1.c_str(), ran1,
                ran1 / total1, ran1 / (total1 - mat1));
    row("materialise inputs (CPU)", mat1, ran1, total1);
    row("oracle (host reference)", ref1, ran1, total1);
    row("kernel + copies + host compare", run1, ran1, total1);
  }
  if (ran1 > 0 && ran2 > 0) std::printf("v2 / v1 cases/s: %.1fx\n", (ran2 / total2) / (ran1 / total1));
  std::printf("RESULT: %s\n", failures ? "FAIL" : ran1 + ran2 ? "ok" : "nothing ran");
  return failures ? 1 : 0;
}
