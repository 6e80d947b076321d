// Goldens with teeth (issue 11, item 5): the stored corpus must tell plausible wrong kernels
// from the contract. First, an implementation independent of the reference (teeth/) reproduces
// every judged dataset of every stored case bit for bit; then each perturbation of the contract
// (teeth/teeth_kernels.cpp) is run on the stored inputs and counted, per suite, in the cases
// where it changes at least one stored value. Every perturbation must be caught by some case of
// `smoke` and of `edge`, except those no <= 20 MB corpus can hold (said why, and checked to be
// caught nowhere, so the note cannot go stale). The table is printed (golden/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "mqa/golden.hpp"
#include "teeth/teeth.hpp"

using namespace mqa;
using namespace mqa::golden;

namespace {

const std::vector<std::string> kSuites = {"smoke", "edge", "deployed"};
const std::vector<std::string> kMustCatch = {"smoke", "edge"};

// Not yet caught by smoke and edge: their cases need descriptor keys the case language does not
// have yet (NaN fp8 codes, non-finite weights and scales, fp32 k sources with amax one ulp off
// FMAX*2^e, rows whose every weight is negative for a -0 logit; issue 11 item 1). A ratchet: the
// test fails when one of these is caught (remove it here) or when any other one is not.
const std::set<std::string> kNotYetCaught = {
    "profile: exact instead of deepgemm_sm90",  // deepgemm cases are exact_dot/friendly: needs sums that round
    "relu: fmaxf (NaN -> 0) in the exact profile",
    "NaN fp8 code decoded as 0",
    "inactive heads skipped (if a > 0: acc += a*w)",
    "non-finite weights replaced (nan_to_num)",
    "non-finite k scales replaced (nan_to_num)",
    "-0 logit written as +0",
    "ue8m0 by exp2f(ceilf(log2f(sc))) (the case's variant)",
    "ue8m0 rounded on the bits (the case's variant)",
    "top-k: a tie across the k-th place dropped",
    "top-k: NaN ranked below -inf",
    "32-bit cache byte offsets (read and write)",  // smoke_010/011 (3.5 GB pool) do not change: to be found out
};

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
    std::printf("%s\n", ps[i].unstorable.empty() ? "" : ("  [not storable: " + ps[i].unstorable + "]").c_str());
  }
  std::printf("(%.1f s)\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  for (size_t i = 0; i < ps.size(); ++i) {
    if (!ps[i].unstorable.empty()) {
      for (const std::string& s : kSuites)
        EXPECT_EQ(rows[i].caught[s], 0) << ps[i].name << " is caught in '" << s << "' after all: drop its note";
      continue;
    }
    const bool pending = kNotYetCaught.count(ps[i].name) > 0;
    bool everywhere = true;
    for (const std::string& s : kMustCatch) {
      everywhere = everywhere && rows[i].caught[s] > 0;
      if (!pending) {
        EXPECT_GT(rows[i].caught[s], 0) << "no case of '" << s << "' is changed by: " << ps[i].name;
      }
    }
    if (pending) {
      EXPECT_FALSE(everywhere) << ps[i].name << " is caught by smoke and edge now: drop it from kNotYetCaught";
    }
  }
  for (const std::string& name : kNotYetCaught)
    EXPECT_TRUE(std::any_of(ps.begin(), ps.end(), [&](const teeth::Perturbation& p) { return p.name == name; })) << name;
}

}  // namespace
