// One case through a kernel under test of ABI version 2 (kut.h: device pointers and a stream):
// the case's tensors go to the GPU once (a sparse pool as zeros plus its used pages, scattered
// there), both output buffers are sentinel-filled there, the built-in HIP kernels compute the
// expected logits there (the oracle: bit-identical to the reference, tested by the sweep and
// test_kut_v2), the kernel runs on the harness's stream, and compare_logits()'s bitwise or
// ulp:N policy runs there. A passing case sends 24 bytes back. A failing one brings back its
// two output buffers (rows x row stride floats each) so that the host comparator writes the
// usual report (first mismatches with coordinates, worst elements, histograms); the device's
// and the host's mismatch counts must agree, else the report says so and the case fails.
//
// The inputs: a paged_logits case the device generator covers (device_inputs_refusal() is "") is
// laid out on the host (materialize_layout: table, page ids, slot mapping, regions) and its
// values are generated on the GPU (mqa/device_case_gen.hpp: the host's element functions, the
// same bits); every other case is materialised on the host and uploaded, as the log says.
//
// Host fallbacks, never silent (device_route_note() is printed in the campaign's log):
//   * a tolerance or calc_diff mode: the kernel's logits are copied back and judged on the host
//     against the host reference (per-element bounds come from the host's tolerance model);
//   * a case the oracle does not cover (a profile other than exact, heads or D beyond the
//     device kernels): the expected logits are the host reference's, uploaded.
#include <chrono>
#include <cstring>

#include "fuzz_internal.hpp"
#include "mqa/device_case_gen.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/kut_problem.hpp"

namespace mqa::fuzz {

namespace {

using Clock = std::chrono::steady_clock;
using device::DeviceBytes;

bool logits_op(CaseOp op) { return op == CaseOp::paged_logits || op == CaseOp::ragged_logits; }

// Device buffers kept from one case to the next, one per role, grown when a case needs more:
// a cudaMalloc + cudaFree of a deployed case's 277 MB pool and two 8 MB logits buffers cost
// milliseconds a case, and cudaFree waits for the whole device. Every byte a case reads is
// written for it again (the pool filled, the outputs sentinel-filled, the inputs copied or
// generated), so nothing of an earlier case is seen. Never freed: the runtime may be gone by
// the time static destructors run. A 0-byte buffer is null, as a fresh allocation is.
enum Role { kPool, kTable, kLens, kQ, kWeights, kK, kKScale, kKs, kKe, kExpected, kActual, kSlots, kPageIds, kRoles };
void* buffer(Role role, size_t bytes) {
  thread_local std::vector<DeviceBytes>* kept = new std::vector<DeviceBytes>(kRoles);
  if (bytes == 0) return nullptr;
  DeviceBytes& b = (*kept)[role];
  if (b.size() < bytes) {
    b = DeviceBytes();  // free first: the old and the new one need not fit together
    b = DeviceBytes(bytes);
  }
  return b.get();
}

template <class T>
T* upload(Role role, const std::vector<T>& v) {
  void* d = buffer(role, v.size() * sizeof(T));
  device::copy_to_device(d, v.data(), v.size() * sizeof(T));
  return static_cast<T*>(d);
}

// Adds the seconds since the last lap to a phase.
class Laps {
 public:
  explicit Laps(DevicePhases* p) : p_(p) {}
  void lap(double DevicePhases::*phase) {
    const auto now = Clock::now();
    if (p_ != nullptr) p_->*phase += std::chrono::duration<double>(now - t_).count();
    t_ = now;
  }

 private:
  DevicePhases* p_;
  Clock::time_point t_ = Clock::now();
};

// The case's tensors in device memory (where CaseBuffers says), and the two sentinel-filled
// output buffers; the memory is buffer()'s.
struct DeviceCase {
  CaseBuffers in;
  float *expected = nullptr, *actual = nullptr;
  int64_t out_floats = 0;
};

// The host's tensors uploaded (materialize()).
void stage_host_inputs(const CaseTensors& t, const device::Stream& s, DeviceCase& c) {
  if (t.desc.op == CaseOp::paged_logits) {
    uint8_t* pool = static_cast<uint8_t*>(buffer(kPool, size_t(t.pool.total_bytes())));
    if (!t.sparse_pool) {
      device::copy_to_device(pool, t.cache.bytes.data(), t.cache.bytes.size());
    } else {  // as make_pool(true): untouched pages read zero, the case's pages where they belong
      device::fill_bytes(pool, 0, size_t(t.pool.total_bytes()), s.handle());
      const DeviceBytes compact(t.cache.bytes.size());
      device::copy_to_device(compact.get(), t.cache.bytes.data(), compact.size());
      const int64_t* ids = upload(kPageIds, t.page_ids);
      device::scatter_pages(pool, compact.as<uint8_t>(), ids, int64_t(t.page_ids.size()), t.pool.page_stride,
                            s.handle());
      s.synchronize("staging the pool");
    }
    c.in.pool = pool;
  } else {
    c.in.k = upload(kK, t.gathered.values);
    c.in.kscale = upload(kKScale, t.kscale);
    c.in.ks = upload(kKs, t.ks);
    c.in.ke = upload(kKe, t.ke);
  }
  c.in.q = upload(kQ, t.q);
  c.in.weights = upload(kWeights, t.weights);
}

// The device generator's inputs into c, in buffer()'s memory.
void stage_device_inputs(const CaseTensors& t, const device::Stream& s, DeviceCase& c) {
  uint8_t* pool = static_cast<uint8_t*>(buffer(kPool, size_t(t.pool.total_bytes())));
  uint8_t* q = static_cast<uint8_t*>(buffer(kQ, size_t(t.rows * t.desc.heads * t.desc.head_dim)));
  float* w = static_cast<float*>(buffer(kWeights, size_t(t.rows * t.desc.heads) * 4));
  generate_case_inputs(t, s.handle(), pool, q, w);
  c.in.pool = pool;
  c.in.q = q;
  c.in.weights = w;
}

DeviceCase stage(const CaseTensors& t, const device::Stream& s, Laps& laps) {
  DeviceCase c;
  if (t.inputs_on_host) {
    stage_host_inputs(t, s, c);
  } else {
    stage_device_inputs(t, s, c);
    laps.lap(&DevicePhases::generate);
  }
  if (t.desc.op == CaseOp::paged_logits) {
    c.in.table = upload(kTable, t.block_table);
    c.in.lens = upload(kLens, t.lens);
  }
  c.out_floats = t.rows * t.logits_row_stride + kGuardFloats;
  c.expected = static_cast<float*>(buffer(kExpected, size_t(c.out_floats) * 4));
  c.actual = static_cast<float*>(buffer(kActual, size_t(c.out_floats) * 4));
  device::fill_words(c.expected, kLogitSentinelBits, size_t(c.out_floats), s.handle());
  device::fill_words(c.actual, kLogitSentinelBits, size_t(c.out_floats), s.handle());
  s.synchronize("sentinel fill");
  return c;
}

// The expected logits in c.expected: the device oracle, or the host reference's uploaded.
void expected_on_device(const CaseTensors& t, const DeviceCase& c, const device::Stream& s) {
  if (t.has_expected_logits) {
    device::copy_to_device(c.expected, t.logits.data(), t.logits.size() * 4);
    return;
  }
  const CaseBuffers& b = c.in;  // the physical pool and table, as the kernel gets them
  float* const out = c.expected;
  if (t.desc.op == CaseOp::paged_logits)
    device::paged_mqa_logits_on_device(t.paged_problem(b), t.regions, out, t.logits_row_stride, s.handle());
  else device::ragged_mqa_logits_on_device(t.ragged_problem(b), t.regions, out, t.logits_row_stride, s.handle());
}

std::vector<float> download(const float* d, int64_t floats) {
  std::vector<float> h(static_cast<size_t>(floats));
  device::copy_to_host(h.data(), d, h.size() * 4);
  return h;
}

}  // namespace

// The values generated on the device from the descriptor (materialize_layout()'s case); the
// slot mapping and the used page ids are the host's. What the generator counted that the host
// would refuse sends the case to materialize() for its verdict (never taken by a case the
// generator builds: every K value and written scale is finite by construction).
void generate_case_inputs(const CaseTensors& t, void* stream, uint8_t* pool, uint8_t* q, float* weights) {
  const CaseDescriptor& d = t.desc;
  if (const std::string why = device_inputs_refusal(d); !why.empty())
    throw std::logic_error("generate_case_inputs: " + why);
  device::PagedInputsPlan plan;
  plan.keys = casegen::value_keys(d);
  plan.pool = t.pool;
  plan.sparse = t.sparse_pool;
  plan.from_source = t.cache_from_source;
  plan.slots = upload(kSlots, t.slots);
  plan.tokens = t.num_tokens();
  if (t.sparse_pool) plan.page_ids = upload(kPageIds, t.page_ids), plan.used_pages = int64_t(t.page_ids.size());
  plan.q_codes = t.rows * d.heads * d.head_dim;
  plan.weights = t.rows * d.heads;
  const device::GeneratedCounts n = device::generate_paged_inputs(plan, pool, q, weights, stream);
  if (n.nonfinite_k > 0 || n.nonfinite_scales > 0) {
    (void)materialize(d, false);  // the host's InvalidInput, as if the campaign had materialised it
    throw std::logic_error("HARNESS ERROR: the device generator wrote " + std::to_string(n.nonfinite_k) +
                           " tokens with a non-finite K value and " + std::to_string(n.nonfinite_scales) +
                           " non-finite k scales, but the host's materialize() accepts " + to_string(d));
  }
}

std::string device_inputs_refusal(const CaseDescriptor& d) {
  if (d.op != CaseOp::paged_logits)
    return std::string("the device generator builds paged_logits cases only (") + to_string(d.op) + ")";
  if (d.head_dim > device::kGenMaxHeadDim)
    return "the device generator holds at most D = " + std::to_string(device::kGenMaxHeadDim) + " values a token";
  const bool from_source = d.dist != ValueDist::friendly && d.dist != ValueDist::exact_dot;
  if (from_source && d.quant != QuantVariant::exact)
    return std::string("the device generator quantises with the exact variant only (quant=") + to_string(d.quant) + ")";
  return {};
}

DeviceRoute device_route(const CaseDescriptor& d, const RunOptions& o) {
  DeviceRoute r;
  if (!logits_op(d.op)) return r;
  r.inputs_why = device_inputs_refusal(d);
  const std::string compare = device::device_compare_refusal(CompareMode::parse(o.compare));
  const std::string oracle = device::unsupported_logits(d.profile, d.heads, d.head_dim);
  if (!compare.empty()) {
    r.host_expected = r.host_compare = true;
    r.why = compare;
  } else if (!oracle.empty()) {
    r.host_expected = true;
    r.why = "the device oracle does not cover the case (" + oracle + ")";
  }
  if (r.host_expected && r.inputs_why.empty()) r.inputs_why = "the host reference needs the inputs on the host";
  r.device_inputs = r.inputs_why.empty();
  return r;
}

std::string device_route_note(const RunOptions& o) {
  const std::string compare = device::device_compare_refusal(CompareMode::parse(o.compare));
  if (!compare.empty())
    return "ABI version 2: " + compare + ", so every logits case is judged ON THE HOST (the kernel's logits are "
           "copied back; expected from the host reference)";
  return "ABI version 2: logits judged on the GPU (device oracle, on-device " + o.compare +
         " compare); a case the oracle does not cover (profile other than exact, heads > 128 or not a power of two, "
         "D > 128) takes its expected logits from the host reference. Inputs generated ON THE GPU (the host's element "
         "functions) for paged_logits with D <= " +
         std::to_string(device::kGenMaxHeadDim) +
         " and, from a K source, quant=exact; every other case (ragged_logits, other quant variants, host-expected "
         "cases) is materialised on the host and uploaded";
}

std::string device_route_refusal(const CaseDescriptor& d) {
  if (!logits_op(d.op))
    return std::string("the harness does not route ") + to_string(d.op) +
           " through ABI version 2 (device pointers) yet: only the logits ops";
  static const device::DeviceStatus st = device::device_status();
  if (!st.available) return "ABI version 2 needs a GPU: " + st.reason;
  return {};
}

Outcome run_on_device(const KernelUnderTest& k, const CaseTensors& t, const RunOptions& o, DevicePhases* phases) {
  if (const std::string why = device_route_refusal(t.desc); !why.empty()) return Outcome{Verdict::unsupported, why};
  const DeviceRoute route = device_route(t.desc, o);
  if (route.host_expected && !t.has_expected_logits)
    throw std::logic_error("run_on_device: the case was materialised without the expected logits it needs");
  Laps laps(phases);
  const device::Stream stream;
  DeviceCase c;
  try {
    c = stage(t, stream, laps);
  } catch (const device::DeviceError& e) {  // the harness's limit (e.g. device memory), not the kernel's fault
    return Outcome{Verdict::unsupported, std::string("the harness could not stage the case on the device: ") + e.what()};
  }
  laps.lap(&DevicePhases::upload);
  if (!route.host_compare) expected_on_device(t, c, stream);
  laps.lap(&DevicePhases::oracle);

  const CaseBuffers& b = c.in;
  float* const out = c.actual;
  const bool paged = t.desc.op == CaseOp::paged_logits;
  const KutResult r =
      paged
          ? k.paged_logits_on_device(stream.handle(), kut::paged_args(t.paged_problem(b), out, t.logits_row_stride))
          : k.ragged_logits_on_device(stream.handle(), kut::ragged_args(t.ragged_problem(b), out, t.logits_row_stride));
  const char* op = paged ? "paged_logits" : "ragged_logits";
  try {
    stream.synchronize(op);
  } catch (const device::DeviceError& e) {
    return Outcome{Verdict::fail, std::string(op) + ": " + e.what()};
  }
  laps.lap(&DevicePhases::kernel);
  if (phases != nullptr) ++phases->cases, phases->host_fallbacks += route.host_expected || route.host_compare;
  if (!r.ok()) return r.status == MQA_UNSUPPORTED ? Outcome{Verdict::unsupported, r.message} : kernel_error(op, r);

  if (route.host_compare) {  // tolerance / calc_diff: the host comparator on the copied-back logits
    const Outcome out = compare_logits_out(t, download(c.actual, c.out_floats), o);
    laps.lap(&DevicePhases::compare);
    return out;
  }
  CompareMode mode = logits_mode(o);
  mode.clean = t.desc.clean_logits;
  const device::DeviceCompareCounts n =
      device::compare_logits_on_device(c.expected, c.actual, c.out_floats, t.regions, mode, stream.handle());
  laps.lap(&DevicePhases::compare);
  if (n.mismatched == 0) return Outcome{};
  // A failure: both buffers come back, the host comparator writes the report.
  const std::vector<float> expected = download(c.expected, c.out_floats), actual = download(c.actual, c.out_floats);
  const CompareReport rep = t.compare_logits_with(expected, actual, mode, o.max_listed);
  std::string head = "judged on the GPU: " + std::to_string(n.mismatched) + " of " + std::to_string(n.compared) +
                     " checked floats failed (first at float " + std::to_string(n.first_index) +
                     "); the report is the host comparator's on the copied-back buffers\n";
  if (rep.mismatched != n.mismatched || rep.compared != n.compared)
    head += "HARNESS ERROR: the device comparator counted " + std::to_string(n.mismatched) + " of " +
            std::to_string(n.compared) + ", the host comparator " + std::to_string(rep.mismatched) + " of " +
            std::to_string(rep.compared) + "\n";
  laps.lap(&DevicePhases::report);
  return Outcome{Verdict::fail, head + rep.to_text()};
}

}  // namespace mqa::fuzz
