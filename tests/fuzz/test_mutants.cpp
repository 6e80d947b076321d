// Proof of power: the fuzz campaign, with a fixed seed and budget, must catch every mutant
// kernel (tests/fuzz/mutants/), while the control mutant (no bug), the built-in reference and
// the reference as a dlopen'ed plugin pass the very same campaign. Prints the detection table:
// cases-to-detection, the shrunk case and its replay command.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "mqa/fuzz.hpp"

using namespace mqa;

namespace {

struct Row {
  std::string kernel;
  bool caught = false;
  int64_t cases = 0, to_detection = -1;
  std::string verdict, shrunk;
  double seconds = 0;
};

std::map<std::string, Row>& table() {
  static std::map<std::string, Row> t;
  return t;
}

fuzz::CampaignOptions campaign(const std::string& kernel) {
  fuzz::CampaignOptions o;
  o.kernel = kernel;
  o.seed = 2026;
  o.cases = MQA_MUTANT_CASES;
  o.gen.max_tokens = 1024;
  o.isolate = 1;  // a mutant may crash: the campaign must survive it
  o.case_timeout_s = 60;
  o.shrink_seconds = 4;
  o.shrink_steps = 150;
  o.repro_dir = "";
  o.quiet = true;
  return o;
}

Row run(const std::string& name, const std::string& kernel) {
  std::ostringstream out;
  const fuzz::CampaignResult r = fuzz::run_campaign(campaign(kernel), out);
  Row row{name, r.failed > 0, r.cases, -1, "pass", "", r.seconds};
  if (!r.failures.empty()) {
    const fuzz::Failure& f = r.failures.front();
    row.to_detection = f.cases_before + 1;
    row.verdict = fuzz::to_string(f.outcome.verdict);
    row.shrunk = to_string(f.shrunk);
  }
  table()[name] = row;
  std::printf("%s: %s after %lld cases (%.1f s)\n%s\n", name.c_str(), row.caught ? "caught" : "passed",
              static_cast<long long>(row.caught ? row.to_detection : row.cases), row.seconds, out.str().c_str());
  return row;
}

class PrintTable : public ::testing::Environment {
 public:
  void TearDown() override {
    if (table().empty()) return;
    std::printf("\n%-28s %-8s %10s  %s\n", "kernel", "verdict", "cases", "shrunk failing case");
    for (const auto& [name, r] : table())
      std::printf("%-28s %-8s %10lld  %s\n", name.c_str(), r.caught ? r.verdict.c_str() : "pass",
                  static_cast<long long>(r.caught ? r.to_detection : r.cases), r.shrunk.c_str());
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new PrintTable);

class Mutant : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Mutant, IsCaughtByTheCampaign) {
  const std::string name = GetParam();
  const Row r = run(name, std::string(MQA_MUTANT_DIR) + "/libmqa_mutant_" + name + ".so");
  if (name == "control") {
    EXPECT_FALSE(r.caught) << "the control mutant has no bug, yet the campaign failed it: " << r.shrunk;
  } else {
    EXPECT_TRUE(r.caught) << "mutant " << name << " survived " << r.cases << " cases";
  }
}

INSTANTIATE_TEST_SUITE_P(Fuzz, Mutant, ::testing::Values(MQA_MUTANT_NAMES),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(Reference, BuiltinPassesTheSameCampaign) {
  EXPECT_FALSE(run("builtin-ref", "builtin-ref").caught);
}

TEST(Reference, PluginPassesTheSameCampaign) {
  EXPECT_FALSE(run("plugin reference (.so)", MQA_REFERENCE_PLUGIN).caught);
}
