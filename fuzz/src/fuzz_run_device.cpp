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
// Host fallbacks, never silent (device_route_note() is printed in the campaign's log):
//   * a tolerance or calc_diff mode: the kernel's logits are copied back and judged on the host
//     against the host reference (per-element bounds come from the host's tolerance model);
//   * a case the oracle does not cover (a profile other than exact, heads or D beyond the
//     device kernels): the expected logits are the host reference's, uploaded.
#include <chrono>
#include <cstring>

#include "fuzz_internal.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/kut_problem.hpp"

namespace mqa::fuzz {

namespace {

using Clock = std::chrono::steady_clock;
using device::DeviceBytes;

bool logits_op(CaseOp op) { return op == CaseOp::paged_logits || op == CaseOp::ragged_logits; }

template <class T>
DeviceBytes upload(const std::vector<T>& v) {
  DeviceBytes d(v.size() * sizeof(T));
  device::copy_to_device(d.get(), v.data(), d.size());
  return d;
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

// The case's tensors in device memory, and the two sentinel-filled output buffers.
struct DeviceCase {
  DeviceBytes pool, table, lens, q, weights, k, kscale, ks, ke, expected, actual;
  int64_t out_floats = 0;
};

DeviceCase stage(const CaseTensors& t, const device::Stream& s) {
  DeviceCase c;
  if (t.desc.op == CaseOp::paged_logits) {
    c.pool = DeviceBytes(size_t(t.pool.total_bytes()));
    if (!t.sparse_pool) {
      device::copy_to_device(c.pool.get(), t.cache.bytes.data(), t.cache.bytes.size());
    } else {  // as make_pool(true): untouched pages read zero, the case's pages where they belong
      device::fill_bytes(c.pool.get(), 0, c.pool.size(), s.handle());
      const DeviceBytes compact = upload(t.cache.bytes), ids = upload(t.page_ids);
      device::scatter_pages(c.pool.as<uint8_t>(), compact.as<uint8_t>(), ids.as<int64_t>(), int64_t(t.page_ids.size()),
                            t.pool.page_stride, s.handle());
      s.synchronize("staging the pool");
    }
    c.table = upload(t.block_table);
    c.lens = upload(t.lens);
  } else {
    c.k = upload(t.gathered.values);
    c.kscale = upload(t.kscale);
    c.ks = upload(t.ks);
    c.ke = upload(t.ke);
  }
  c.q = upload(t.q);
  c.weights = upload(t.weights);
  c.out_floats = t.rows * t.logits_row_stride + kGuardFloats;
  c.expected = DeviceBytes(size_t(c.out_floats) * 4);
  c.actual = DeviceBytes(size_t(c.out_floats) * 4);
  device::fill_words(c.expected.get(), kLogitSentinelBits, size_t(c.out_floats), s.handle());
  device::fill_words(c.actual.get(), kLogitSentinelBits, size_t(c.out_floats), s.handle());
  s.synchronize("sentinel fill");
  return c;
}

CaseBuffers buffers_of(const DeviceCase& c) {  // positional: CaseBuffers' order (case.hpp)
  return CaseBuffers{c.pool.as<uint8_t>(), c.table.as<int32_t>(), c.lens.as<int32_t>(),
                     c.q.as<uint8_t>(),    c.weights.as<float>(), c.k.as<uint8_t>(),
                     c.kscale.as<float>(), c.ks.as<int32_t>(),    c.ke.as<int32_t>()};
}

// The expected logits in c.expected: the device oracle, or the host reference's uploaded.
void expected_on_device(const CaseTensors& t, const DeviceCase& c, const device::Stream& s) {
  if (t.has_expected_logits) {
    device::copy_to_device(c.expected.get(), t.logits.data(), t.logits.size() * 4);
    return;
  }
  const CaseBuffers b = buffers_of(c);  // the physical pool and table, as the kernel gets them
  float* const out = c.expected.as<float>();
  if (t.desc.op == CaseOp::paged_logits)
    device::paged_mqa_logits_on_device(t.paged_problem(b), t.regions, out, t.logits_row_stride, s.handle());
  else device::ragged_mqa_logits_on_device(t.ragged_problem(b), t.regions, out, t.logits_row_stride, s.handle());
}

std::vector<float> download(const DeviceBytes& d, int64_t floats) {
  std::vector<float> h(static_cast<size_t>(floats));
  device::copy_to_host(h.data(), d.get(), h.size() * 4);
  return h;
}

}  // namespace

DeviceRoute device_route(const CaseDescriptor& d, const RunOptions& o) {
  DeviceRoute r;
  if (!logits_op(d.op)) return r;
  const std::string compare = device::device_compare_refusal(CompareMode::parse(o.compare));
  const std::string oracle = device::unsupported_logits(d.profile, d.heads, d.head_dim);
  if (!compare.empty()) {
    r.host_expected = r.host_compare = true;
    r.why = compare;
  } else if (!oracle.empty()) {
    r.host_expected = true;
    r.why = "the device oracle does not cover the case (" + oracle + ")";
  }
  return r;
}

std::string device_route_note(const RunOptions& o) {
  const std::string compare = device::device_compare_refusal(CompareMode::parse(o.compare));
  if (!compare.empty())
    return "ABI version 2: " + compare + ", so every logits case is judged ON THE HOST (the kernel's logits are "
           "copied back; expected from the host reference)";
  return "ABI version 2: logits judged on the GPU (device oracle, on-device " + o.compare +
         " compare); a case the oracle does not cover (profile other than exact, heads > 128 or not a power of two, "
         "D > 128) takes its expected logits from the host reference";
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
    c = stage(t, stream);
  } catch (const device::DeviceError& e) {  // the harness's limit (e.g. device memory), not the kernel's fault
    return Outcome{Verdict::unsupported, std::string("the harness could not stage the case on the device: ") + e.what()};
  }
  laps.lap(&DevicePhases::upload);
  if (!route.host_compare) expected_on_device(t, c, stream);
  laps.lap(&DevicePhases::oracle);

  const CaseBuffers b = buffers_of(c);
  float* const out = c.actual.as<float>();
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
      device::compare_logits_on_device(c.expected.as<float>(), c.actual.as<float>(), c.out_floats, t.regions, mode,
                                       stream.handle());
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
