// One case through a kernel under test (kut.h ABI) and the comparator: the kernel gets the
// physical pool (page ids as drawn, sparse when large), sentinel-filled outputs with a guard
// zone after them, and every output is compared with the reference bit for bit.
#include <dlfcn.h>
#include <cstring>
#include <sstream>

#include "fuzz_internal.hpp"
#include "mqa/kut_problem.hpp"
#include "mqa/kut_registry.hpp"
#include "mqa/validate.hpp"

namespace mqa::fuzz {

mqa_case_shape case_shape(const CaseDescriptor& d) {
  return mqa_case_shape{int32_t(d.op), int32_t(d.layout), d.page_size, d.head_dim, d.quant_block,
                        int32_t(d.encoding), d.heads, d.next_n, int32_t(d.profile), int32_t(d.quant),
                        int32_t(d.ue8m0), int32_t(d.lens_2d), int32_t(d.clean_logits)};
}

Outcome kernel_error(const char* op, const KutResult& r) {
  return Outcome{Verdict::fail, std::string(op) + " returned " + mqa::to_string(r.status) + " on a valid case: " + r.message};
}

namespace {

Outcome from_bytes(const ByteCompareReport& r) {
  return r.pass ? Outcome{} : Outcome{Verdict::fail, r.to_text()};
}

Outcome run_quant(const KernelUnderTest& k, const CaseTensors& t) {
  PoolBuffer pool = t.make_pool(false);
  const KutResult r = k.quant_cache(kut::quant_cache_args(t.quant_problem(pool)));
  if (!r.ok()) return r.status == MQA_UNSUPPORTED ? Outcome{Verdict::unsupported, r.message} : kernel_error("quant_cache", r);
  ByteCompareOptions opt;
  opt.name = "cache after quant_cache";
  const std::vector<uint8_t> actual = t.compact_pages(pool);
  return from_bytes(compare_bytes(t.cache.bytes, actual, t.cache.layout, opt));
}

Outcome run_gather(const KernelUnderTest& k, const CaseTensors& t) {
  const PoolBuffer pool = t.make_pool(true);
  const Gathered& g = t.gathered;
  std::vector<uint8_t> values(g.values.size() + kGuardBytes, kGatherSentinel);
  std::vector<uint8_t> scales(g.scales.size() + kGuardBytes, kGatherSentinel);
  const KutResult r = k.gather(kut::gather_args(t.gather_problem(pool), values.data(), scales.data()));
  if (!r.ok()) return r.status == MQA_UNSUPPORTED ? Outcome{Verdict::unsupported, r.message} : kernel_error("gather", r);
  std::vector<uint8_t> want_v = g.values, want_s = g.scales;  // + untouched guard zones
  want_v.resize(values.size(), kGatherSentinel);
  want_s.resize(scales.size(), kGatherSentinel);
  ByteCompareOptions ov;
  ov.name = "gathered values (+256 guard bytes)";
  ov.row_bytes = t.desc.head_dim;
  Outcome o = from_bytes(compare_bytes(want_v, values, std::nullopt, ov));
  if (o.verdict != Verdict::pass) return o;
  ByteCompareOptions os = ov;
  os.name = "gathered scales (+256 guard bytes)";
  os.row_bytes = 4 * (t.desc.head_dim / t.desc.quant_block);
  return from_bytes(compare_bytes(want_s, scales, std::nullopt, os));
}

}  // namespace

CompareMode logits_mode(const RunOptions& ro) {
  CompareMode mode = CompareMode::parse(ro.compare);
  mode.sentinel = kLogitSentinelBits;
  mode.writes = ro.writes;
  return mode;
}

// The kernel's logits judged as the ABI says: every float outside what `--writes` allows must
// still hold the sentinel.
Outcome compare_logits_out(const CaseTensors& t, const std::vector<float>& actual, const RunOptions& ro) {
  const CompareMode mode = logits_mode(ro);
  const CompareReport rep = t.compare_logits(actual, mode, ro.max_listed);
  if (!rep.pass) return Outcome{Verdict::fail, rep.to_text()};
  Outcome ok;
  if (mode.kind == CompareKind::tolerance) ok.detail = kMarginPrefix + std::to_string(rep.worst_ratio ? rep.worst_ratio->ratio : 0.0);
  return ok;
}

namespace {

Outcome run_paged(const KernelUnderTest& k, const CaseTensors& t, const RunOptions& ro) {
  PoolBuffer pool = t.make_pool(true);
  std::vector<float> out(size_t(t.rows * t.logits_row_stride + kGuardFloats), f32_from_bits(kLogitSentinelBits));
  const PagedLogitsProblem p = t.paged_problem(t.host_buffers(pool.data()));
  const KutResult r = k.paged_logits(kut::paged_args(p, out.data(), t.logits_row_stride));
  if (!r.ok()) return r.status == MQA_UNSUPPORTED ? Outcome{Verdict::unsupported, r.message} : kernel_error("paged_logits", r);
  return compare_logits_out(t, out, ro);
}

Outcome run_ragged(const KernelUnderTest& k, const CaseTensors& t, const RunOptions& ro) {
  std::vector<float> out(size_t(t.rows * t.logits_row_stride + kGuardFloats), f32_from_bits(kLogitSentinelBits));
  const KutResult r = k.ragged_logits(kut::ragged_args(t.ragged_problem(), out.data(), t.logits_row_stride));
  if (!r.ok()) return r.status == MQA_UNSUPPORTED ? Outcome{Verdict::unsupported, r.message} : kernel_error("ragged_logits", r);
  return compare_logits_out(t, out, ro);
}

class AbiKernel final : public Kernel {
 public:
  explicit AbiKernel(const std::string& spec) : spec_(spec), k_(KernelUnderTest::load(spec)) {}
  const std::string& spec() const override { return spec_; }
  bool trusted() const override { return spec_ == "builtin-ref" || spec_ == "builtin-hip" || spec_ == "builtin-hip-v2"; }
  bool answers_supports() const override { return true; }
  bool wants_expected(const CaseDescriptor& d, const RunOptions& o) const override {
    return !k_.takes_device_pointers() || device_route(d, o).host_expected;
  }
  bool wants_host_inputs(const CaseDescriptor& d, const RunOptions& o) const override {
    return !k_.takes_device_pointers() || !device_route(d, o).device_inputs;
  }
  std::string route_note(const RunOptions& o) const override {
    return k_.takes_device_pointers() ? device_route_note(o) : std::string();
  }
  std::string refusal(const CaseDescriptor& d) const override {
    if (k_.takes_device_pointers()) {
      const std::string why = device_route_refusal(d);
      if (!why.empty()) return why;
    }
    const KutResult s = k_.supports(case_shape(d));
    if (s.status != MQA_UNSUPPORTED) return {};  // MQA_INVALID / MQA_ERROR: running the case reports it
    return s.message.empty() ? std::string("unsupported (supports() gave no reason)") : s.message;
  }
  Outcome run(const CaseTensors& t, const RunOptions& o) const override {
    const KutResult s = k_.supports(case_shape(t.desc));
    if (s.status == MQA_UNSUPPORTED) return Outcome{Verdict::unsupported, s.message};
    if (!s.ok()) return kernel_error("supports", s);
    if (k_.takes_device_pointers()) return run_on_device(k_, t, o, nullptr);
    switch (t.desc.op) {
      case CaseOp::quant_cache: return run_quant(k_, t);
      case CaseOp::gather: return run_gather(k_, t);
      case CaseOp::paged_logits: return run_paged(k_, t, o);
      case CaseOp::ragged_logits: return run_ragged(k_, t, o);
    }
    return Outcome{Verdict::fail, "unknown op"};
  }

 private:
  std::string spec_;
  KernelUnderTest k_;
};

}  // namespace

CaseTensors materialize_for(const Kernel& k, const CaseDescriptor& d, const RunOptions& o) {
  return k.wants_host_inputs(d, o) ? materialize(d, k.wants_expected(d, o)) : materialize_layout(d);
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "FAIL";
    case Verdict::unsupported: return "unsupported";
    case Verdict::crash: return "CRASH";
    case Verdict::timeout: return "TIMEOUT";
  }
  return "?";
}

namespace {
// A plugin is loaded once in a forked child before the harness loads it: a static constructor
// that crashes or hangs becomes a clear error naming the library, not the harness's own crash.
// (A dlopen that merely fails is left to the registry, whose message names the reason.)
void probe_plugin_load(const std::string& spec) {
  if (spec == "builtin-ref" || spec == "builtin-hip") return;
  const ChildOutput c = run_in_child(
      [&]() -> std::string {
        void* h = dlopen(spec.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (h != nullptr) dlclose(h);
        return "";
      },
      60);
  if (c.timed_out)
    throw InvalidInput("--kernel", "'" + spec + "'", "loading the plugin did not finish in 60 s (its static initialisation hangs)");
  if (c.signal != 0 || !c.ok)  // (a sanitizer's crash handler exits instead of dying of the signal)
    throw InvalidInput("--kernel", "'" + spec + "'", "loading the plugin crashed in its static initialisation (" + c.error +
                                                     "); nothing of it ran in the harness");
}
}  // namespace

std::unique_ptr<Kernel> make_kernel(const std::string& spec) {
  if (spec.rfind("exec:", 0) == 0 || spec.rfind("exec-worker:", 0) == 0) return make_exec_kernel(spec);
  probe_plugin_load(spec);
  return std::make_unique<AbiKernel>(spec);
}

std::vector<std::string> coverage_classes(const CaseTensors& t) {
  const CaseDescriptor& d = t.desc;
  std::vector<std::string> c;
  bool zero = false, partial = false, mult256 = false;
  for (int32_t L : t.lens) {
    zero |= L == 0;
    partial |= L % d.page_size != 0;
    mult256 |= L > 0 && L % 256 == 0;
  }
  bool high = false, past4g = false;
  for (int32_t b = 0; b < t.batch; ++b)
    for (int64_t i = 0; i < (t.written[size_t(b)] + d.page_size - 1) / d.page_size; ++i) {
      const int64_t p = t.block_table[size_t(b * t.table_row_stride + i)];
      high |= p >= 65536;
      past4g |= p * t.pool.page_stride >= (int64_t(1) << 32);
    }
  if (zero) c.push_back("L = 0");
  if (partial) c.push_back("partial last page");
  if (mult256) c.push_back("L % 256 == 0");
  if (d.next_n > 1) c.push_back("next_n > 1");
  if (d.lens_2d) c.push_back("2-D lens");
  if (high) c.push_back("page id >= 65536");
  if (past4g) c.push_back("byte offset >= 2^32");
  if (d.page_stride != t.pool.page.natural_page_bytes()) c.push_back("padded page stride");
  if (d.clean_logits) c.push_back("clean_logits");
  c.push_back(std::string("op ") + to_string(d.op));
  c.push_back(std::string("layout ") + to_string(d.layout));
  c.push_back("B = " + std::to_string(d.page_size));
  c.push_back("D = " + std::to_string(d.head_dim));
  c.push_back(std::string("dist ") + to_string(d.dist));
  c.push_back(std::string("enc ") + to_string(d.encoding));
  if (d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits) c.push_back(std::string("profile ") + to_string(d.profile));
  if (d.op == CaseOp::quant_cache) c.push_back(std::string("quant ") + to_string(d.quant) + (d.ue8m0 ? " ue8m0" : ""));
  if (d.op == CaseOp::quant_cache || (d.dist != ValueDist::friendly && d.dist != ValueDist::exact_dot))
    c.push_back(std::string("ksrc ") + to_string(d.ksrc));
  if (d.amax != AmaxEdge::free) c.push_back(std::string("amax ") + to_string(d.amax));
  if (d.nan_codes) c.push_back("NaN codes");
  if (d.odd_weights) c.push_back("odd weights");
  if (d.odd_scales) c.push_back("odd k scales");
  return c;
}

}  // namespace mqa::fuzz
