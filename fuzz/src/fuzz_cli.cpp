// `mqa-harness fuzz`: the command line of the campaign.
#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "mqa/case_tiers.hpp"
#include "mqa/fuzz.hpp"
#include "mqa/validate.hpp"

namespace mqa::fuzz {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

// "60", "60s", "2m", "1h" -> seconds.
double parse_duration(const std::string& s) {
  if (s.empty()) reject("time", std::string("''"), "expected e.g. 60s, 5m, 1h");
  double mult = 1;
  std::string num = s;
  switch (s.back()) {
    case 's': num.pop_back(); break;
    case 'm': mult = 60; num.pop_back(); break;
    case 'h': mult = 3600; num.pop_back(); break;
    default: break;
  }
  try {
    size_t used = 0;
    const double v = std::stod(num, &used);
    if (used != num.size() || !(v > 0) || !std::isfinite(v * mult)) throw std::invalid_argument(s);  // nan, inf
    return v * mult;
  } catch (const std::exception&) {
    reject("time", "'" + s + "'", "expected e.g. 60s, 5m, 1h");
  }
}

// "64,16" -> {64, 16}; "all" / "any" -> {} (no constraint). A bad item names the option.
template <class F>
auto parse_list(const char* option, const std::string& text, F&& one, const char* expected) {
  std::vector<decltype(one(std::string()))> out;
  if (text == "all" || text == "any") return out;
  for (const std::string& item : split(text, ',')) {
    try {
      out.push_back(one(item));
    } catch (const std::exception&) {
      reject(option, "'" + item + "'", expected);
    }
  }
  if (out.empty()) reject(option, "'" + text + "'", expected);
  return out;
}

int32_t parse_int(const std::string& s) {
  size_t used = 0;
  const int v = std::stoi(s, &used);
  if (used != s.size()) throw std::invalid_argument(s);
  return v;
}

void write_text_file(const char* option, const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::ofstream f(path);
  if (f) write(f);
  if (!f) throw std::runtime_error(std::string("cannot write ") + option + " file '" + path + "'");
}

void write_reports(const CampaignResult& r, const std::string& json_path, const std::string& junit_path) {
  if (!json_path.empty()) write_text_file("--json", json_path, [&](std::ostream& f) { f << to_json_text(r); });
  if (!junit_path.empty()) write_text_file("--junit", junit_path, [&](std::ostream& f) { write_junit(r, f); });
}

struct CliState {
  CampaignOptions o;
  std::string time, shard = "0/1", ops = "all", profile = "all", layouts = "all", page_sizes = "any",
              heads = "any", head_dims = "any", next_n = "any", encodings = "any", lens_2d = "any",
              writes = "defined", isolate = "auto", json, junit;
  std::string tier = "small";
  bool no_shrink = false, no_high_ids = false, no_special_values = false, list = false;
  std::vector<std::pair<CLI::Option*, std::function<void(GenOptions&, const GenOptions&)>>> sizes;  // tier overrides
  CLI::Option* shrink_steps = nullptr;
  CLI::Option* shrink_time = nullptr;
  CLI::Option* cases = nullptr;
  CLI::Option* replay = nullptr;
};

struct MergeState {
  std::vector<std::string> files;
  std::string json, junit;
  int64_t min_run = -1;
};

void apply(CliState& s) {
  CampaignOptions& o = s.o;
  if (!s.time.empty()) o.seconds = parse_duration(s.time);
  const auto sh = split(s.shard, '/');
  if (sh.size() != 2) reject("shard", "'" + s.shard + "'", "expected i/N, e.g. 0/4");
  try {  // whole strings: "2x" is not 2
    o.shard = parse_int(sh[0]);
    o.shards = parse_int(sh[1]);
  } catch (const std::exception&) {
    reject("shard", "'" + s.shard + "'", "expected i/N, e.g. 0/4");
  }
  if (o.shards < 1 || o.shard < 0 || o.shard >= o.shards)
    reject("shard", "'" + s.shard + "'", "expected 0 <= i < N, e.g. 0/4");
  if (s.cases->count() && o.cases < 1) reject("cases", o.cases, "must be >= 1 (or leave it out: 1000, or --time)");
  if (s.replay->count() && o.replay.empty()) reject("replay", std::string("''"), "an empty descriptor");
  if (o.max_failures < 1) reject("max-failures", o.max_failures, "must be >= 1");
  GenOptions& g = o.gen;
  const GenOptions tier = tier_options(tier_from_string(s.tier));
  const GenOptions given = g;  // the size options as parsed; those not given come from the tier
  g = tier;
  for (const auto& [option, take] : s.sizes)
    if (option->count() > 0) take(g, given);
  g.ops = parse_list("--ops", s.ops, case_op_from_string, "expected all or a comma list of quant_cache,gather,paged_logits,ragged_logits");
  g.profiles = parse_list("--profile", s.profile, profile_from_string, "expected all or a comma list of exact,deepgemm_sm90");
  g.layouts = parse_list("--layouts", s.layouts, page_layout_from_string, "expected all or a comma list of standard,preshuffle16");
  g.page_sizes = parse_list("--page-sizes", s.page_sizes, parse_int, "expected any or a comma list of page sizes, e.g. 64,16");
  g.heads = parse_list("--heads", s.heads, parse_int, "expected any or a comma list of head counts, e.g. 32,64");
  g.head_dims = parse_list("--head-dims", s.head_dims, parse_int, "expected any or a comma list of head dims, e.g. 128");
  g.next_n = parse_list("--next-n", s.next_n, parse_int, "expected any or a comma list, e.g. 1,2");
  g.encodings = parse_list("--encodings", s.encodings, fp8_encoding_from_string, "expected any or a comma list of e4m3fn,e4m3fnuz");
  if (s.lens_2d == "any") g.lens = LensShape::any;
  else if (s.lens_2d == "on") g.lens = LensShape::two_d;
  else if (s.lens_2d == "off") g.lens = LensShape::one_d;
  else reject("--lens-2d", "'" + s.lens_2d + "'", "expected on, off or any");
  g.high_page_ids = !s.no_high_ids;
  g.special_values = !s.no_special_values;
  if (s.writes == "defined") o.run.writes = WriteScope::defined;
  else if (s.writes == "columns") o.run.writes = WriteScope::columns;
  else reject("writes", "'" + s.writes + "'", "expected defined or columns");
  if (s.isolate == "auto") o.isolate = -1;
  else if (s.isolate == "on") o.isolate = 1;
  else if (s.isolate == "off") o.isolate = 0;
  else reject("isolate", "'" + s.isolate + "'", "expected auto, on or off");
  (void)CompareMode::parse(o.run.compare);  // reject a bad mode before the campaign starts
  o.shrink = !s.no_shrink;
  o.shrink_replay = s.shrink_steps->count() + s.shrink_time->count() > 0;  // continuing a stopped shrink
  check_gen_options(g);  // constraints that contradict each other are bad input, before any kernel loads
  if (o.cases <= 0 && o.seconds <= 0 && o.replay.empty()) o.cases = 1000;
}

// Runs body; InvalidInput and other errors print and give exit 2; a non-zero code is thrown
// the way main() expects.
void run_command(const std::function<int()>& body) {
  int rc = 2;
  try {
    rc = body();
  } catch (const std::exception& e) {
    std::cerr << "mqa-harness fuzz: " << e.what() << "\n";
  }
  if (rc != 0) throw CLI::RuntimeError(rc);
}

void add_merge_cli(CLI::App* f) {
  auto m = std::make_shared<MergeState>();
  CLI::App* c = f->add_subcommand("merge", "Combine the --json results of the shards of one campaign (--shard i/N) into one");
  c->add_option("files", m->files, "the --json files of the shards")->required();
  c->add_option("--json", m->json, "write the merged result as JSON");
  c->add_option("--junit", m->junit, "write the merged result as JUnit XML");
  c->add_option("--min-run", m->min_run, "fewer cases ran over all shards: exit 1 (default: the largest of the shards')");
  c->callback([m] {
    run_command([&] {
      std::vector<CampaignResult> shards;
      for (const std::string& path : m->files) {
        check_input_file("merge", path);  // a FIFO or a device is named, never read
        std::ifstream in(path);
        if (!in) reject("merge", "'" + path + "'", "cannot read the file");
        std::stringstream text;
        text << in.rdbuf();
        shards.push_back(from_json_text(text.str(), path));
      }
      const CampaignResult r = merge_results(shards, m->files, m->min_run);
      print_summary(std::cout, r);
      write_reports(r, m->json, m->junit);
      if (!r.shortfall.empty()) std::cerr << "mqa-harness fuzz merge: " << r.shortfall << "\n";
      return r.exit_code();
    });
  });
}

}  // namespace

void add_cli(CLI::App& app) {
  auto state = std::make_shared<CliState>();
  CLI::App* f = app.add_subcommand("fuzz", "Property-based fuzz campaign of a kernel under test against the reference");
  CampaignOptions& o = state->o;
  f->add_option("--kernel", o.kernel, "builtin-ref | builtin-hip | PATH.so (exports mqa_kut_get) | 'exec:CMD {in} {out}' | 'exec-worker:CMD' "
                "(fuzz/README.md 'The exec protocol')")
      ->capture_default_str();
  state->cases = f->add_option("--cases", o.cases, "number of cases over all shards (default 1000 unless --time)");
  f->add_option("--time", state->time, "time budget of this shard, e.g. 60s, 5m");
  f->add_option("--seed", o.seed, "campaign seed (case i is a pure function of seed and i)")->capture_default_str();
  f->add_option("--shard", state->shard, "i/N: run the cases with index % N == i")->capture_default_str();
  // what is drawn (mqa/case_random.hpp GenOptions; a list draws only its values)
  f->add_option("--ops", state->ops,
                "all, or a comma list of quant_cache,gather,paged_logits,ragged_logits (all: every op the other "
                "constraints leave)")
      ->capture_default_str();
  f->add_option("--profile", state->profile,
                "all | exact | deepgemm_sm90 (or a comma list); without exact only the logits ops and H % 8 == 0 are drawn")
      ->capture_default_str();
  f->add_option("--layouts", state->layouts, "all, or a comma list of standard,preshuffle16")->capture_default_str();
  f->add_option("--page-sizes", state->page_sizes, "any, or a comma list of page sizes B, e.g. 64,16")->capture_default_str();
  f->add_option("--heads", state->heads, "any, or a comma list of head counts H (powers of two), e.g. 32,64")
      ->capture_default_str();
  f->add_option("--head-dims", state->head_dims, "any, or a comma list of head dims D (multiples of 32), e.g. 128")
      ->capture_default_str();
  f->add_option("--next-n", state->next_n, "any, or a comma list of next_n (paged_logits; other ops have 1), e.g. 1,2")
      ->capture_default_str();
  f->add_option("--encodings", state->encodings, "any, or a comma list of e4m3fn,e4m3fnuz")->capture_default_str();
  f->add_option("--lens-2d", state->lens_2d, "on | off | any: 2-D context lens (paged_logits; on draws only paged_logits)")
      ->capture_default_str();
  f->add_option("--tier", state->tier,
                "small | deployed: the scale of the draw (cases/include/mqa/case_tiers.hpp); small is sized for CPU "
                "kernels, deployed for GPU kernels (batch <= 256, L <= 160K, logits past 2^31 bytes, pools past "
                "2^32 bytes for every op); the size options below override the tier's")
      ->capture_default_str();
  // each size option: bound to the parsed GenOptions, applied over the tier's only when given
  auto size = [&]<class T>(const char* names, T GenOptions::*field, const char* help) {
    CLI::Option* opt = f->add_option(names, o.gen.*field, help);
    state->sizes.emplace_back(opt, [field](GenOptions& g, const GenOptions& given) { g.*field = given.*field; });
  };
  size("--batch,--max-batch", &GenOptions::max_batch, "at most this many sequences per case (small: 17, deployed: 256)");
  size("--max-len", &GenOptions::max_len,
       "longest sequence (paged: a row's context), -1: only --max-tokens bounds it (small: -1, deployed: 163840)");
  size("--max-tokens", &GenOptions::max_tokens, "written tokens per case (small: 2048, deployed: 4194304)");
  size("--max-heads", &GenOptions::max_heads, "heads per case when --heads is not given (small: 64, deployed: 128)");
  size("--max-rows", &GenOptions::max_rows, "ragged query rows M (small: 64, deployed: 512)");
  size("--max-ragged-tokens", &GenOptions::max_ragged_tokens, "ragged k rows N (small: 512, deployed: 16384)");
  size("--wide-logits", &GenOptions::wide_logits_percent,
       "percent of paged cases with logits past 2^31 bytes, 513..600 rows of 2^20 columns (small: 0, deployed: 20)");
  f->add_flag("--no-high-ids", state->no_high_ids, "never use pools past 65,536 pages / 2^32 bytes");
  f->add_flag("--no-special-values", state->no_special_values,
              "only bf16 K sources with free amax, no NaN codes, odd weights or odd scales (the draws before these keys)");
  f->add_option("--redraws", o.redraws,
                "sub-draws per case while the kernel's supports() refuses it, after narrowing the draw to the shapes "
                "it supports (0: plain draws; refused cases count as unsupported)")
      ->capture_default_str();
  // what is judged and reported
  state->replay = f->add_option("--replay", o.replay, "run only this case descriptor (as printed by a failure)");
  f->add_option("--compare", o.run.compare,
                "comparison of logits: bitwise | ulp:N | tolerance:fp32 | tolerance:fp8_mma (tolerance = "
                "tolerance:fp32), then options ,zero_sign_equal ,bf16_out ,calc_diff:X; see docs/numerics.md "
                "'Tolerance models' (the sentinel, clean and write scope come from the case and --writes)")
      ->capture_default_str();
  f->add_option("--writes", state->writes,
                "defined: the kernel may write only the defined region (the ABI); columns: any of [0, cols)")
      ->capture_default_str();
  f->add_option("--repeat", o.run.repeat, "runs per case, each must match bit for bit (determinism)")
      ->capture_default_str();
  f->add_option("--min-run", o.min_run,
                "fewer cases than this ran (passed or failed; unsupported ones do not count): exit 1, never PASS")
      ->capture_default_str();
  f->add_option("--json", state->json, "write the result (summary, failures, coverage, every case) as JSON");
  f->add_option("--junit", state->junit, "write the result as JUnit XML (one testcase per case)");
  f->add_flag("--list-cases", state->list,
              "print the descriptors the campaign would run (one per line, after constraints; asks supports(), runs no "
              "kernel) and exit");
  f->add_option("--max-failures", o.max_failures, "stop after this many failing cases")->capture_default_str();
  f->add_flag("--no-shrink", state->no_shrink, "report failures as found, without shrinking");
  state->shrink_time = f->add_option("--shrink-time", o.shrink_seconds,
                                     "seconds spent shrinking one failure (with --replay: shrink the replayed case)")
                           ->capture_default_str();
  state->shrink_steps = f->add_option("--shrink-steps", o.shrink_steps,
                                      "candidates tried while shrinking one failure (with --replay: shrink the replayed case)")
                            ->capture_default_str();
  f->add_option("--repro-dir", o.repro_dir, "where repro files go ('' for none)")->capture_default_str();
  f->add_option("--isolate", state->isolate, "auto | on | off: isolate each case (a plugin in a forked child, an exec command in its own process "
                "group under --case-timeout); auto: all but the built-ins")
      ->capture_default_str();
  f->add_option("--case-timeout", o.case_timeout_s, "seconds before an isolated case counts as TIMEOUT (its child / process group is killed), also in --replay")
      ->capture_default_str();
  f->add_option("--progress-interval", o.progress_seconds, "seconds between progress lines")->capture_default_str();
  f->add_flag("--quiet", o.quiet, "no progress lines and no summary table");
  add_merge_cli(f);
  f->callback([state, f] {
    if (f->got_subcommand("merge")) return;  // `fuzz merge` ran its own command
    run_command([&] {
      apply(*state);
      if (state->list) return list_cases(state->o, std::cout, std::cerr);
      const CampaignResult r = run_campaign(state->o, std::cout);
      write_reports(r, state->json, state->junit);
      if (!r.shortfall.empty()) std::cerr << "mqa-harness fuzz: " << r.shortfall << "\n";
      return r.exit_code();
    });
  });
}

}  // namespace mqa::fuzz
