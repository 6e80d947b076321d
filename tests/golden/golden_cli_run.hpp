// The `golden` subcommands run through the executable's own argv entry (run_cli), with stdout
// and stderr captured: the CLI tests' one runner.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mqa/golden_cli.hpp"

namespace mqa::golden::testing {

struct CliRun {
  int rc;
  std::string out, err;
};

inline CliRun golden(std::vector<std::string> args) {
  args.insert(args.begin(), {"mqa-golden", "golden"});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int rc = run_cli(int(argv.size()), argv.data());
  CliRun r{rc, ::testing::internal::GetCapturedStdout(), ::testing::internal::GetCapturedStderr()};
  return r;
}

}  // namespace mqa::golden::testing
