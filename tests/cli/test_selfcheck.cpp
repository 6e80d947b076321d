// The self-check (the main job's first step) passes on the reference and reports its table.
#include <gtest/gtest.h>

#include <sstream>

#include "selfcheck.hpp"

TEST(Selfcheck, QuickEdgeSuitePassesAndPrintsTheSummary) {
  std::ostringstream out;
  EXPECT_EQ(mqa::run_selfcheck(out, {.quick = true}), 0) << out.str();
  const std::string s = out.str();
  EXPECT_NE(s.find("layout bijection+inverse"), std::string::npos);
  EXPECT_NE(s.find("paged logits fast==naive"), std::string::npos);
  EXPECT_NE(s.find("SELFCHECK PASSED"), std::string::npos);
}
