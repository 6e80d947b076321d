// The progress reporter against a clock the test moves: what a line says (done, rate, ETA),
// when it prints (once an interval), and its closing line.
#include <gtest/gtest.h>

#include <sstream>

#include "mqa/progress.hpp"

namespace {

struct FakeClock {
  double now = 100.0;
  mqa::Progress::Clock fn() {
    return [this] { return now; };
  }
};

TEST(Progress, LineSaysDoneRateAndEta) {
  FakeClock c;
  std::ostringstream out;
  mqa::Progress p(out, {.label = "[t]", .total = 100}, c.fn());
  c.now += 10;  // 25 of 100 in 10 s: 2.5/s, 75 left: 30 s
  EXPECT_EQ(p.line(25, "3 failures", false), "[t] 25/100 cases  2.5 cases/s  elapsed 10.0s  ETA 30.0s  3 failures");
  EXPECT_EQ(p.line(25, "", true), "[t] 25/100 cases in 10.0s  2.5 cases/s");
}

TEST(Progress, EtaOfATimeBoundRunIsTheTimeLeft) {
  FakeClock c;
  std::ostringstream out;
  mqa::Progress p(out, {.label = "[t]", .time_budget_s = 300, .unit = "draws"}, c.fn());
  c.now += 120;
  EXPECT_EQ(p.line(600, "", false), "[t] 600 draws  5.0 draws/s  elapsed 2m00s  ETA 3m00s");
}

TEST(Progress, UnknownEtaAndSlowRatesAreWrittenSo) {
  FakeClock c;
  std::ostringstream out;
  mqa::Progress p(out, {.label = "", .total = 10}, c.fn());
  EXPECT_EQ(p.line(0, "", false), "0/10 cases  0.000 cases/s  elapsed 0.0s  ETA ?");
  c.now += 50;  // a deployed case: 0.02/s must not print as 0.0
  EXPECT_EQ(p.line(1, "", false), "1/10 cases  0.020 cases/s  elapsed 50.0s  ETA 7m30s");
}

TEST(Progress, PrintsOnceAnIntervalAndFinishesWithTheClosingLine) {
  FakeClock c;
  std::ostringstream out;
  mqa::Progress p(out, {.label = "g", .total = 4, .interval_s = 2}, c.fn());
  c.now += 1;
  p.update(1);  // not due: 1 s < 2 s
  EXPECT_EQ(out.str(), "");
  c.now += 1;
  EXPECT_TRUE(p.due());
  p.update(2);
  EXPECT_EQ(out.str(), "g 2/4 cases  1.0 cases/s  elapsed 2.0s  ETA 2.0s\n");
  c.now += 1;
  p.update(3);  // 1 s since the last line
  p.update(4);
  p.finish("ok");
  EXPECT_EQ(out.str(), "g 2/4 cases  1.0 cases/s  elapsed 2.0s  ETA 2.0s\ng 4/4 cases in 3.0s  1.3 cases/s  ok\n");
}

TEST(Progress, RewriteModeKeepsOneLineAndEndsIt) {
  FakeClock c;
  std::ostringstream out;
  mqa::Progress p(out, {.label = "", .total = 2, .interval_s = 0, .rewrite = true}, c.fn());
  c.now += 1;
  p.update(1);
  p.finish();
  EXPECT_EQ(out.str(), "\r1/2 cases  1.0 cases/s  elapsed 1.0s  ETA 1.0s\033[K\r1/2 cases in 1.0s  1.0 cases/s\033[K\n");
}

TEST(Progress, DisabledPrintsNothing) {
  FakeClock c;
  std::ostringstream out;
  mqa::Progress p(out, {.label = "", .total = 2, .interval_s = 0, .enabled = false}, c.fn());
  c.now += 5;
  p.update(2);
  p.finish();
  EXPECT_FALSE(p.due());
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(p.done(), 2);
}

TEST(Progress, SecondsText) {
  EXPECT_EQ(mqa::seconds_text(0.04), "0.0s");
  EXPECT_EQ(mqa::seconds_text(119.9), "119.9s");
  EXPECT_EQ(mqa::seconds_text(245), "4m05s");
}

}  // namespace
