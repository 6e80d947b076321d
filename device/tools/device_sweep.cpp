// Bit-exact sweep of the device kernels against the host reference: random cases over the
// issue's whole shape space (both layouts and encodings, B = 1 .. 512, next_n 1..4, H 8..128,
// D 32/64/128, 1-D/2-D lens, clean on/off, adversarial codes and weights, page ids past 65,536)
// plus the deployed DeepSeek-V3.2 decode shapes. Outputs and caches are pre-filled with
// sentinels; compare.hpp checks the defined regions bitwise and that nothing else was written;
// raw uint32 equality of whole buffers is checked on top. Ends with a table; exit status 1 on
// any mismatch.
//
//   device_sweep [--cases N] [--seed S] [--deployed-L L (0: none)] [--logits-only] [--dry-run]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mqa/compare.hpp"
#include "mqa/device_ops.hpp"
#include "mqa/sentinels.h"
#include "sweep_cases.hpp"

using namespace mqa;
using namespace mqa::sweep;

namespace {

constexpr uint32_t kSentinel = kLogitSentinelBits;
using Clock = std::chrono::steady_clock;

struct Tally {
  int64_t cases = 0, compared = 0, mismatches = 0, largest = 0, nan_expected = 0;
  std::string largest_case;
  double device_s = 0;
};
std::vector<std::pair<std::string, Tally>> g_table;
int g_failures_printed = 0;

Tally& tally(const std::string& key) {
  for (auto& [k, t] : g_table)
    if (k == key) return t;
  g_table.emplace_back(key, Tally{});
  return g_table.back().second;
}

void record(const std::string& key, const Case& c, int64_t size, int64_t compared, int64_t mismatches, double dev_s,
            const std::string& detail) {
  Tally& t = tally(key);
  ++t.cases;
  t.compared += compared;
  t.mismatches += mismatches;
  t.device_s += dev_s;
  if (size > t.largest) t.largest = size, t.largest_case = c.describe();
  if (mismatches > 0 && g_failures_printed++ < 8)
    std::printf("MISMATCH [%s] %s\n%s\n", key.c_str(), c.describe().c_str(), detail.substr(0, 4000).c_str());
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t raw_diffs(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += f32_bits(a[i]) != f32_bits(b[i]);
  return n;
}

void run_quant(const Case& c) {
  QuantInputs in = make_quant(c);
  const std::vector<uint8_t> before = in.cache.bytes;
  std::vector<uint8_t> dev = before;
  quantize_and_cache(in.k, in.slots, in.params, in.cache);
  const auto t0 = Clock::now();
  std::string err;
  try {
    device::quantize_and_cache(in.cache.layout, dev.data(), in.k, in.slots, in.params);
  } catch (const std::exception& e) {
    err = e.what();
  }
  const double dt = since(t0);
  const ByteCompareReport r = compare_bytes(in.cache.bytes, dev, in.cache.layout, ByteCompareOptions{"cache"});
  // Only addressed slots may change (on top of equality with the reference).
  std::set<int64_t> written(in.slots.begin(), in.slots.end());
  int64_t stray = 0;
  for (size_t i = 0; i < dev.size(); ++i)
    if (dev[i] != before[i]) {
      const CacheCoord cc = in.cache.layout.locate(int64_t(i));
      stray += cc.in_page.kind == PageCoord::padding ||
               !written.count(cc.page * c.page_size + cc.in_page.slot);
    }
  const int64_t bad = r.mismatched + stray + (err.empty() ? 0 : 1);
  record("quant_cache", c, int64_t(in.slots.size()) * c.head_dim, r.compared, bad, dt,
         err + r.to_text() + (stray ? "\nstray writes outside the addressed slots: " + std::to_string(stray) : ""));
}

void run_gather(const Case& c) {
  const PagedInputs in = make_paged(c);
  const std::vector<int32_t> lens = in.gather_lens(c);
  const BlockTableView t{in.table.data(), c.batch, in.max_blocks, in.table_row_stride};
  const Gathered ref = gather_k_cache(in.cache, t, lens);
  std::vector<uint8_t> vals(ref.values.size(), 0xA5), scs(ref.scales.size(), 0xA5);
  const auto t0 = Clock::now();
  std::string err;
  try {
    device::gather_k_cache(in.cache.layout, in.cache.bytes.data(), t, lens, vals.data(), scs.data());
  } catch (const std::exception& e) {
    err = e.what();
  }
  const double dt = since(t0);
  const ByteCompareReport rv = compare_bytes(ref.values, vals, std::nullopt, ByteCompareOptions{"values", 10, 8, c.head_dim});
  const ByteCompareReport rs = compare_bytes(ref.scales, scs, std::nullopt, ByteCompareOptions{"scales"});
  record("gather", c, ref.rows, rv.compared + rs.compared, rv.mismatched + rs.mismatched + (err.empty() ? 0 : 1), dt,
         err + rv.to_text() + rs.to_text());
}

CompareMode mode_for(bool clean) {
  CompareMode m;
  m.clean = clean;
  m.sentinel = kSentinel;
  m.writes = WriteScope::defined;
  return m;
}

// The device output of one path against the reference's, both started from the sentinel fill.
void check_logits(const std::string& op, const Case& c, device::LogitsPath path, const std::vector<float>& expected,
                  const LogitsRegions& g, const LogitsCoordinates& coords, int64_t size,
                  const std::function<void(float*)>& run_device) {
  std::vector<float> actual(expected.size(), f32_from_bits(kSentinel));
  const auto t0 = Clock::now();
  std::string err;
  try {
    run_device(actual.data());
  } catch (const std::exception& e) {
    err = e.what();
  }
  const double dt = since(t0);
  const CompareReport r = compare_logits(expected, actual, g, mode_for(c.clean), coords);
  const int64_t raw = raw_diffs(expected, actual);
  tally(op + " " + device::to_string(path)).nan_expected += r.expected_special.nan;
  const int64_t bad = std::max(r.mismatched, raw) + (err.empty() ? 0 : 1);
  record(op + " " + device::to_string(path), c, size, r.compared, bad, dt,
         err + r.to_text() + "\nraw uint32 differences: " + std::to_string(raw));
}

std::vector<device::LogitsPath> paths_for(const Case& c, bool deployed) {
  std::vector<device::LogitsPath> p;
  if (device::fast_path_fits(c.heads, c.head_dim)) p.push_back(device::LogitsPath::fast);
  if (!deployed || p.empty()) p.push_back(device::LogitsPath::generic);
  return p;
}

void run_paged(const Case& c, bool deployed) {
  const PagedInputs in = make_paged(c);
  const PagedLogitsProblem p = in.problem(c);
  const LogitsRegions g = paged_logits_regions(p, in.out_row_stride);
  std::vector<float> expected(size_t(g.rows * g.row_stride), f32_from_bits(kSentinel));
  paged_mqa_logits(p, expected.data(), in.out_row_stride);
  int64_t size = 0;
  for (const RowRegion& r : g.row) size += r.valid_end;
  for (device::LogitsPath path : paths_for(c, deployed))
    check_logits(deployed ? "deployed_paged" : "paged_logits", c, path, expected, g, paged_coordinates(p), size,
                 [&](float* out) { device::paged_mqa_logits(p, out, in.out_row_stride, path); });
}

void run_ragged(const Case& c) {
  const RaggedInputs in = make_ragged(c);
  const RaggedLogitsProblem p = in.problem(c);
  const LogitsRegions g = ragged_logits_regions(p, in.out_row_stride);
  std::vector<float> expected(size_t(g.rows * g.row_stride), f32_from_bits(kSentinel));
  ragged_mqa_logits(p, expected.data(), in.out_row_stride);
  int64_t size = 0;
  for (const RowRegion& r : g.row) size += r.valid_end - r.valid_begin;
  for (device::LogitsPath path : paths_for(c, false))
    check_logits("ragged_logits", c, path, expected, g, ragged_coordinates(p), size,
                 [&](float* out) { device::ragged_mqa_logits(p, out, in.out_row_stride, path); });
}

void run(const Case& c, bool deployed) {
  switch (c.op) {
    case Op::quant: return run_quant(c);
    case Op::gather: return run_gather(c);
    case Op::paged: return run_paged(c, deployed);
    case Op::ragged: return run_ragged(c);
  }
}

void print_table(double seconds) {
  std::printf("\n%-24s %7s %14s %11s %9s %10s  %s\n", "op / path", "cases", "compared", "mismatches", "NaN want",
              "device s", "largest case (elements: description)");
  int64_t cases = 0, compared = 0, bad = 0;
  for (const auto& [k, t] : g_table) {
    std::printf("%-24s %7lld %14lld %11lld %9lld %10.2f  %lld: %s\n", k.c_str(), (long long)t.cases,
                (long long)t.compared, (long long)t.mismatches, (long long)t.nan_expected, t.device_s,
                (long long)t.largest, t.largest_case.c_str());
    cases += t.cases, compared += t.compared, bad += t.mismatches;
  }
  std::printf("%-24s %7lld %14lld %11lld %9s %10s  (wall %.1f s)\n", "TOTAL", (long long)cases, (long long)compared,
              (long long)bad, "", "", seconds);
}

}  // namespace

int main(int argc, char** argv) {
  int n = 400;
  uint64_t seed = 2026;
  int32_t deployed_L = 131072;
  bool logits_only = false, dry_run = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string("0"); };
    if (a == "--cases") n = std::stoi(next());
    else if (a == "--seed") seed = std::stoull(next());
    else if (a == "--deployed-L") deployed_L = std::stoi(next());
    else if (a == "--logits-only") logits_only = true;
    else if (a == "--dry-run") dry_run = true;  // host side only: every device call fails
    else {
      std::fprintf(stderr, "usage: device_sweep [--cases N] [--seed S] [--deployed-L L] [--logits-only]\n");
      return 2;
    }
  }
  const device::DeviceStatus st = device::device_status();
  if (!st.available && !dry_run) {
    std::printf("device_sweep: %s\n", st.reason.c_str());
    return 3;
  }
  std::printf("device: %s; fast path compiled: %d\n", st.name.c_str(), int(device::fast_path_compiled()));
  std::vector<Case> cases = random_cases(n, seed);
  if (logits_only)
    std::erase_if(cases, [](const Case& c) { return c.op == Op::quant || c.op == Op::gather; });
  const size_t random_count = cases.size();
  if (deployed_L > 0)
    for (const Case& c : deployed_cases(deployed_L)) cases.push_back(c);
  const auto t0 = Clock::now();
  auto last = t0;
  for (size_t i = 0; i < cases.size(); ++i) {
    try {
      run(cases[i], i >= random_count);
    } catch (const std::exception& e) {
      record("harness_error", cases[i], 0, 0, 1, 0, e.what());
    }
    if (since(last) > 10.0 || i + 1 == cases.size() || i + 1 == random_count) {
      last = Clock::now();
      const double el = since(t0), rate = double(i + 1) / el;
      std::printf("[%zu/%zu] %.1f s, %.2f cases/s, ETA %.0f s (deployed cases are slower)\n", i + 1, cases.size(), el,
                  rate, double(cases.size() - i - 1) / rate);
      std::fflush(stdout);
    }
  }
  print_table(since(t0));
  int64_t bad = 0;
  for (const auto& [k, t] : g_table) bad += t.mismatches;
  std::printf("%s\n", bad == 0 ? "RESULT: bit-exact on every case" : "RESULT: MISMATCHES FOUND");
  return bad == 0 ? 0 : 1;
}
