// Bit-exact sweep of the device kernels against the host reference, on case descriptors
// (cases/): N random cases of a tier (`--tier small`: every op over the whole shape space, both
// layouts and encodings, B 1..256, next_n 1..4, H 1..128, D 32/64/128, 1-D/2-D lens, clean on/off,
// adversarial values, page ids past 65,536 and pools past 2^32 bytes; `--tier deployed`: batch up
// to 256, L up to 160K, logits past 2^31 bytes) plus the named deployed suite up to --deployed-L
// (DeepSeek-V3.2 and GLM-5 decode and MTP, prefill, aiter#4244's wide logits). Every case runs
// through device_case.hpp (sentinels, compare.hpp, raw uint32 equality); a mismatch prints the
// descriptor, which `mqa-harness fuzz --replay '<descriptor>' --kernel builtin-hip` replays.
// Progress through mqa::Progress (done, rate, ETA every 10 s, a closing line); ends with a
// table; exit status 1 on any mismatch, 2 on bad options, 3 without a GPU.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "device_case.hpp"
#include "mqa/case_tiers.hpp"
#include "mqa/progress.hpp"

using namespace mqa;

namespace {

struct Options {
  int cases = 400;
  uint64_t seed = 2026;
  std::string tier = "small";
  int32_t deployed_L = 131072;
  bool wide_logits = true, logits_only = false, dry_run = false;
};

struct SweepCase {
  std::string name;  // "random 17" or the suite's name
  CaseDescriptor desc;
  bool deployed = false;
};

struct Tally {
  int64_t cases = 0, unsupported = 0, compared = 0, mismatches = 0, largest = 0, nan_expected = 0;
  std::string largest_case;
  double device_s = 0;
};

class Table {
 public:
  Tally& at(const std::string& key) {
    for (auto& [k, t] : rows_)
      if (k == key) return t;
    rows_.emplace_back(key, Tally{});
    return rows_.back().second;
  }
  void record(const std::string& key, const SweepCase& c, const device::CaseRun& r) {
    Tally& t = at(key);
    ++t.cases;
    if (!r.unsupported.empty()) { ++t.unsupported; return; }
    t.compared += r.compared;
    t.mismatches += r.mismatches;
    t.nan_expected += r.nan_expected;
    t.device_s += r.device_s;
    if (r.compared > t.largest) t.largest = r.compared, t.largest_case = c.name;
    if (r.mismatches > 0 && printed_++ < 8)
      std::printf("MISMATCH [%s] %s\n  %s\n  replay: mqa-harness fuzz --replay '%s' --kernel builtin-hip\n%s\n", key.c_str(),
                  c.name.c_str(), to_string(c.desc).c_str(), to_string(c.desc).c_str(), r.detail.substr(0, 4000).c_str());
  }
  int64_t mismatches() const { return sum(&Tally::mismatches); }
  int64_t compared() const { return sum(&Tally::compared); }
  void print(double seconds) const {
    std::printf("\n%-24s %7s %7s %14s %11s %9s %10s  %s\n", "op / path", "cases", "unsupp", "compared", "mismatches",
                "NaN want", "device s", "largest case (elements or bytes: name)");
    Tally all;
    for (const auto& [k, t] : rows_) {
      std::printf("%-24s %7lld %7lld %14lld %11lld %9lld %10.2f  %lld: %s\n", k.c_str(), (long long)t.cases,
                  (long long)t.unsupported, (long long)t.compared, (long long)t.mismatches, (long long)t.nan_expected,
                  t.device_s, (long long)t.largest, t.largest_case.c_str());
      all.cases += t.cases, all.unsupported += t.unsupported, all.compared += t.compared, all.mismatches += t.mismatches;
    }
    std::printf("%-24s %7lld %7lld %14lld %11lld %9s %10s  (wall %.1f s)\n", "TOTAL", (long long)all.cases,
                (long long)all.unsupported, (long long)all.compared, (long long)all.mismatches, "", "", seconds);
  }

 private:
  int64_t sum(int64_t Tally::*field) const {
    int64_t n = 0;
    for (const auto& [k, t] : rows_) n += t.*field;
    return n;
  }
  std::vector<std::pair<std::string, Tally>> rows_;
  int printed_ = 0;
};

// Random cases of the tier (the device covers the exact profile and quant variant only: the
// draw is constrained to the one, and a drawn variant is replaced by the other), then the suite.
std::vector<SweepCase> sweep_cases(const Options& o) {
  GenOptions g = tier_options(tier_from_string(o.tier));
  g.profiles = {Profile::exact};
  if (o.logits_only) g.ops = {CaseOp::paged_logits, CaseOp::ragged_logits};
  std::vector<SweepCase> out;
  for (int i = 0; i < o.cases; ++i) {
    CaseDescriptor d = random_case(o.seed, uint64_t(i), g);
    d.quant = QuantVariant::exact;
    out.push_back({"random " + std::to_string(i), d, false});
  }
  for (const NamedCase& c : deployed_suite(o.deployed_L, o.wide_logits))
    if (!o.logits_only || c.desc.op == CaseOp::paged_logits || c.desc.op == CaseOp::ragged_logits)
      out.push_back({c.name, c.desc, true});
  return out;
}

// Random cases run every path that covers them; deployed ones the path a launch takes.
std::vector<device::LogitsPath> paths_for(const CaseDescriptor& d, bool deployed) {
  std::vector<device::LogitsPath> p;
  if (d.op != CaseOp::paged_logits && d.op != CaseOp::ragged_logits) return {device::LogitsPath::automatic};
  if (device::fast_path_fits(d.heads, d.head_dim)) p.push_back(device::LogitsPath::fast);
  if (!deployed || p.empty()) p.push_back(device::LogitsPath::generic);
  return p;
}

std::string key_of(const SweepCase& c, device::LogitsPath path) {
  std::string k = (c.deployed ? "deployed " : "") + std::string(to_string(c.desc.op));
  if (c.desc.op == CaseOp::paged_logits || c.desc.op == CaseOp::ragged_logits) k += std::string(" ") + device::to_string(path);
  return k;
}

// --dry-run: the cases and their limits (check_case), no device: for a machine without a GPU.
int dry_run(const std::vector<SweepCase>& cases) {
  int bad = 0;
  for (const SweepCase& c : cases) {
    std::string verdict = "ok";
    try {
      check_case(c.desc);
    } catch (const std::exception& e) {
      verdict = e.what();
      ++bad;
    }
    std::printf("%-24s %-14s %s\n  %s\n", c.name.c_str(), to_string(c.desc.op), verdict.c_str(), to_string(c.desc).substr(0, 300).c_str());
  }
  std::printf("dry run: %zu cases listed, %d outside the case limits; nothing ran on a device\n", cases.size(), bad);
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Bit-exact sweep of the device kernels against the host reference, on case descriptors"};
  app.add_option("--cases", o.cases, "random cases")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o.seed, "seed of the random cases")->capture_default_str();
  app.add_option("--tier", o.tier, "small | deployed: the scale of the random cases")->capture_default_str()
      ->check(CLI::IsMember({"small", "deployed"}));
  app.add_option("--deployed-L", o.deployed_L, "longest context of the deployed suite (0: no suite)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_flag("!--no-wide-logits", o.wide_logits, "leave out the suite's 2.2 GB logits case (aiter#4244's shape)");
  app.add_flag("--logits-only", o.logits_only, "paged and ragged logits only");
  app.add_flag("--dry-run", o.dry_run, "list and check the cases, run nothing (no GPU needed)");
  CLI11_PARSE(app, argc, argv);

  const std::vector<SweepCase> cases = sweep_cases(o);
  if (o.dry_run) return dry_run(cases);
  const device::DeviceStatus st = device::device_status();
  if (!st.available) {
    std::printf("device_sweep: %s\n", st.reason.c_str());
    return 3;
  }
  std::printf("device: %s; fast path compiled: %d; %zu cases (tier %s, seed %llu, deployed L %d)\n", st.name.c_str(),
              int(device::fast_path_compiled()), cases.size(), o.tier.c_str(), (unsigned long long)o.seed, o.deployed_L);
  Table table;
  std::fflush(stdout);  // the table and the verdicts are printf, the progress lines std::cout
  Progress progress(std::cout, {.label = "device_sweep", .total = int64_t(cases.size()), .interval_s = 10.0});
  for (size_t i = 0; i < cases.size(); ++i) {
    const SweepCase& c = cases[i];
    try {
      const CaseTensors t = materialize(c.desc, true);
      for (device::LogitsPath path : paths_for(c.desc, c.deployed)) table.record(key_of(c, path), c, device::run_case(t, path));
    } catch (const std::exception& e) {  // the host side failed on a drawn case: a harness bug
      device::CaseRun r;
      r.mismatches = 1;
      r.detail = std::string("harness error: ") + e.what();
      table.record("harness_error", c, r);
    }
    if (progress.due()) std::fflush(stdout);
    progress.update(int64_t(i + 1),
                    "mismatches " + std::to_string(table.mismatches()) + " (deployed cases are slower)");
  }
  progress.finish("mismatches " + std::to_string(table.mismatches()));
  table.print(progress.elapsed());
  if (table.mismatches() > 0) {
    std::printf("RESULT: MISMATCHES FOUND\n");
    return 1;
  }
  if (table.compared() == 0) {  // every case unsupported (or none asked for): no verdict
    std::printf("RESULT: NOTHING COMPARED (every case was unsupported by the device ops)\n");
    return 1;
  }
  std::printf("RESULT: bit-exact on every case\n");
  return 0;
}
