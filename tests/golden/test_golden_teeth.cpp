// Goldens with teeth (issue 11, item 5): the stored corpus must tell plausible wrong kernels
// from the contract. First, an implementation independent of the reference (teeth/) reproduces
// every judged dataset of every stored case bit for bit; then each perturbation of the contract
// (teeth/teeth_kernels.cpp) is run on the stored inputs and counted, per suite, in the cases
// where it changes at least one stored value. Every perturbation must be caught by some case of
// `smoke` and of `edge`; the 32-bit output offset through a case of 2^32 bytes of logits stored by
// regions (golden/SCHEMA.md), which the recomputation evaluates by its stores alone. The table is
// printed (golden/README.md, "Teeth").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "mqa/golden.hpp"
#include "teeth/teeth.hpp"

using namespace mqa;
using namespace mqa::golden;

namespace {

const std::vector<std::string> kSuites = {"smoke", "edge", "deployed"};
const std::vector<std::string> kMustCatch = {"smoke", "edge"};

const File& corpus(const std::string& suite) {
  static std::map<std::string, File> files;
  auto it = files.find(suite);
  if (it == files.end()) it = files.emplace(suite, read_file(std::string(MQA_GOLDEN_DATA_DIR) + "/" + suite + ".h5")).first;
  return it->second;
}

TEST(GoldenTeeth, AnIndependentImplementationReproducesEveryJudgedDataset) {
  int cases = 0, datasets = 0;
  for (const std::string& s : kSuites)
    for (const Case& c : corpus(s).cases) {
      const auto got = teeth::Recomputer(c).run(teeth::Kernel{});
      for (const auto& [name, a] : c.data)
        if (!a.compare.empty()) {
          EXPECT_TRUE(got.count(name)) << c.name << "/" << name << " is judged but not recomputed";
        }
      for (const std::string& name : teeth::changed_datasets(c, got))
        ADD_FAILURE() << c.name << "/" << name << ": the independent implementation disagrees with the stored bytes ("
                      << c.info.descriptor << ")";
      ++cases;
      datasets += int(got.size());
    }
  EXPECT_GT(cases, 40);
  std::printf("%d stored cases, %d judged datasets, every one reproduced bit for bit\n", cases, datasets);
}

struct Row {
  std::map<std::string, int> caught;             // suite -> cases whose stored values change
  std::map<std::string, std::string> first;      // suite -> the first such case
};

TEST(GoldenTeeth, EveryPerturbationIsCaughtBySmokeAndByEdge) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<teeth::Perturbation> ps = teeth::perturbations();
  std::vector<Row> rows(ps.size());
  for (const std::string& s : kSuites)
    for (const Case& c : corpus(s).cases) {
      teeth::Recomputer r(c);
      for (size_t i = 0; i < ps.size(); ++i)
        if (!teeth::changed_datasets(c, r.run(ps[i].kernel)).empty() && rows[i].caught[s]++ == 0) rows[i].first[s] = c.name;
    }

  std::printf("\n%-58s %-42s", "perturbation (cases changed / cases in the suite)", "bug class");
  for (const std::string& s : kSuites) std::printf(" %-20s", s.c_str());
  std::printf("\n");
  for (size_t i = 0; i < ps.size(); ++i) {
    std::printf("%-58s %-42s", ps[i].name.c_str(), ps[i].bug_class.c_str());
    for (const std::string& s : kSuites) {
      char cell[64];
      std::snprintf(cell, sizeof cell, "%d/%zu %s", rows[i].caught[s], corpus(s).cases.size(),
                    rows[i].first.count(s) ? ("(" + rows[i].first[s] + ")").c_str() : "");
      std::printf(" %-20s", cell);
    }
    std::printf("\n");
  }
  std::printf("(%.1f s)\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  for (size_t i = 0; i < ps.size(); ++i)
    for (const std::string& s : kMustCatch)
      EXPECT_GT(rows[i].caught[s], 0) << "no case of '" << s << "' is changed by: " << ps[i].name;
}

}  // namespace
