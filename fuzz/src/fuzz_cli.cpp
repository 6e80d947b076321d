// `mqa-harness fuzz`: the command line of the campaign.
#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>

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
    if (used != num.size() || v <= 0) throw std::invalid_argument(s);
    return v * mult;
  } catch (const std::exception&) {
    reject("time", "'" + s + "'", "expected e.g. 60s, 5m, 1h");
  }
}

struct CliState {
  CampaignOptions o;
  std::string time, shard = "0/1", ops = "all", profile = "all", layouts = "all", writes = "defined",
              isolate = "auto";
  bool no_shrink = false, no_high_ids = false;
};

void apply(CliState& s) {
  CampaignOptions& o = s.o;
  if (!s.time.empty()) o.seconds = parse_duration(s.time);
  const auto sh = split(s.shard, '/');
  if (sh.size() != 2) reject("shard", "'" + s.shard + "'", "expected i/N, e.g. 0/4");
  try {
    o.shard = std::stoi(sh[0]);
    o.shards = std::stoi(sh[1]);
  } catch (const std::exception&) {
    reject("shard", "'" + s.shard + "'", "expected i/N, e.g. 0/4");
  }
  if (s.ops != "all") {
    o.gen.ops.clear();
    for (const std::string& op : split(s.ops, ',')) o.gen.ops.push_back(case_op_from_string(op));
  }
  if (s.profile != "all") o.gen.profiles = {profile_from_string(s.profile)};
  if (s.layouts != "all") {
    o.gen.layouts.clear();
    for (const std::string& l : split(s.layouts, ',')) o.gen.layouts.push_back(page_layout_from_string(l));
  }
  if (s.writes == "defined") o.run.writes = WriteScope::defined;
  else if (s.writes == "columns") o.run.writes = WriteScope::columns;
  else reject("writes", "'" + s.writes + "'", "expected defined or columns");
  if (s.isolate == "auto") o.isolate = -1;
  else if (s.isolate == "on") o.isolate = 1;
  else if (s.isolate == "off") o.isolate = 0;
  else reject("isolate", "'" + s.isolate + "'", "expected auto, on or off");
  (void)CompareMode::parse(o.run.compare);  // reject a bad mode before the campaign starts
  o.shrink = !s.no_shrink;
  o.gen.high_page_ids = !s.no_high_ids;
  if (o.cases <= 0 && o.seconds <= 0 && o.replay.empty()) o.cases = 1000;
}

}  // namespace

void add_cli(CLI::App& app) {
  auto state = std::make_shared<CliState>();
  CLI::App* f = app.add_subcommand("fuzz", "Property-based fuzz campaign of a kernel under test against the reference");
  CampaignOptions& o = state->o;
  f->add_option("--kernel", o.kernel, "builtin-ref | builtin-hip | PATH.so (exports mqa_kut_get) | 'exec:CMD {in} {out}'")
      ->capture_default_str();
  f->add_option("--cases", o.cases, "number of cases over all shards (default 1000 unless --time)");
  f->add_option("--time", state->time, "time budget of this shard, e.g. 60s, 5m");
  f->add_option("--seed", o.seed, "campaign seed (case i is a pure function of seed and i)")->capture_default_str();
  f->add_option("--shard", state->shard, "i/N: run the cases with index % N == i")->capture_default_str();
  f->add_option("--ops", state->ops, "all, or a comma list of quant_cache,gather,paged_logits,ragged_logits")
      ->capture_default_str();
  f->add_option("--profile", state->profile, "all | exact | deepgemm_sm90")->capture_default_str();
  f->add_option("--layouts", state->layouts, "all, or a comma list of standard,preshuffle16")->capture_default_str();
  f->add_option("--replay", o.replay, "run only this case descriptor (as printed by a failure)");
  f->add_option("--compare", o.run.compare, "comparison of logits: bitwise | ulp:N (sentinel/clean are added)")
      ->capture_default_str();
  f->add_option("--writes", state->writes,
                "defined: the kernel may write only the defined region (the ABI); columns: any of [0, cols)")
      ->capture_default_str();
  f->add_option("--repeat", o.run.repeat, "runs per case, each must match bit for bit (determinism)")
      ->capture_default_str();
  f->add_option("--max-failures", o.max_failures, "stop after this many failing cases")->capture_default_str();
  f->add_flag("--no-shrink", state->no_shrink, "report failures as found, without shrinking");
  f->add_option("--shrink-time", o.shrink_seconds, "seconds spent shrinking one failure")->capture_default_str();
  f->add_option("--shrink-steps", o.shrink_steps, "candidates tried while shrinking one failure")->capture_default_str();
  f->add_option("--repro-dir", o.repro_dir, "where repro files go ('' for none)")->capture_default_str();
  f->add_option("--isolate", state->isolate, "auto | on | off: run each case in a child process (auto: not for built-ins)")
      ->capture_default_str();
  f->add_option("--case-timeout", o.case_timeout_s, "seconds before an isolated case counts as TIMEOUT")
      ->capture_default_str();
  f->add_option("--max-tokens", o.gen.max_tokens, "written tokens per case")->capture_default_str();
  f->add_option("--max-batch", o.gen.max_batch, "sequences per case")->capture_default_str();
  f->add_option("--max-heads", o.gen.max_heads, "heads per case")->capture_default_str();
  f->add_flag("--no-high-ids", state->no_high_ids, "never use pools past 65,536 pages / 2^32 bytes");
  f->add_option("--progress-interval", o.progress_seconds, "seconds between progress lines")->capture_default_str();
  f->add_flag("--quiet", o.quiet, "no progress lines and no summary table");
  f->callback([state] {
    int rc = 2;
    try {
      apply(*state);
      rc = run_campaign(state->o, std::cout).exit_code();
    } catch (const InvalidInput& e) {
      std::cerr << "mqa-harness fuzz: " << e.what() << "\n";
    } catch (const std::exception& e) {
      std::cerr << "mqa-harness fuzz: " << e.what() << "\n";
    }
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace mqa::fuzz
