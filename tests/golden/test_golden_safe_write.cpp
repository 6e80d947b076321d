// Safe writes (issue 13): a full disk or any failing step keeps the old file byte-identical and
// leaves no temporary file; temporary files of dead writers are removed at the next write. The
// failures come from the write hooks of safe_write.hpp and, once, from the kernel itself
// (RLIMIT_FSIZE: a real EFBIG from write(2), no root needed).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include "golden_test_util.hpp"

using namespace mqa::golden;
using namespace mqa::golden::testing;

namespace {

namespace fs = std::filesystem;


std::string bytes_of(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> names_in(const fs::path& d) {
  std::vector<std::string> n;
  for (const auto& e : fs::directory_iterator(d)) n.push_back(e.path().filename().string());
  std::sort(n.begin(), n.end());
  return n;
}

class SafeWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    target = (dir / "golden.h5").string();
    write_file(target, file_of({quant_case("old")}));
    old_bytes = bytes_of(target);
  }
  void TearDown() override { fs::remove_all(dir); }

  // The write of `next` over the target fails with a message holding `fragment`; the old file
  // is untouched and nothing else is left in the directory.
  void expect_failed_write(const std::string& fragment) {
    try {
      write_file(target, next);
      ADD_FAILURE() << "the write succeeded";
    } catch (const GoldenError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("the old file (if any) is kept"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(bytes_of(target) == old_bytes) << "the old file changed";
    EXPECT_EQ(names_in(dir), std::vector<std::string>{"golden.h5"});
  }

  fs::path dir;
  std::string target, old_bytes;
  const File next = file_of({quant_case("new", 64, 32, 5)});
};

TEST_F(SafeWrite, OnlyTheTargetIsCreated) {
  write_file(target, next);
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"golden.h5"});  // no in-memory file's name on disk
  EXPECT_EQ(read_file(target).cases[0].name, "new");
}

// A full disk at every interesting byte: in the header, at its end, in the HDF5 image, one byte
// short. The byte count that is exactly the file's size succeeds.
TEST_F(SafeWrite, FullDiskKeepsTheOldFileAndRemovesTheTemporary) {
  const std::string probe = (dir / "probe.h5").string();
  write_file(probe, next);
  const int64_t size = int64_t(fs::file_size(probe));
  fs::remove(probe);
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(511), int64_t(512), int64_t(513), size / 2, size - 1}) {
    SCOPED_TRACE("fail after " + std::to_string(n) + " of " + std::to_string(size) + " bytes");
    Env hook("MQA_TEST_WRITE_FAIL_AFTER", std::to_string(n));
    expect_failed_write("No space left on device (test hook MQA_TEST_WRITE_FAIL_AFTER)");
  }
  Env hook("MQA_TEST_WRITE_FAIL_AFTER", std::to_string(size));
  write_file(target, next);
  EXPECT_EQ(read_file(target).cases[0].name, "new");
}

TEST_F(SafeWrite, EveryStepIsChecked) {
  for (const char* step : {"hdf5", "fsync", "close", "rename"}) {
    SCOPED_TRACE(step);
    Env hook("MQA_TEST_WRITE_FAIL_AT", step);
    expect_failed_write(std::string("MQA_TEST_WRITE_FAIL_AT=") + step);
  }
  // Past the rename the old file is gone: a directory that cannot be synced is still an error,
  // and the file in place is the new, complete one.
  Env hook("MQA_TEST_WRITE_FAIL_AT", "dirsync");
  EXPECT_THROW(write_file(target, next), GoldenError);
  EXPECT_EQ(read_file(target).cases[0].name, "new");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"golden.h5"});
}

// The kernel's own refusal (RLIMIT_FSIZE: write(2) fails with EFBIG), in a child process.
TEST_F(SafeWrite, RealWriteErrorKeepsTheOldFile) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);  // a failing write(2), not a killed process
    const rlimit small{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &small);
    try {
      write_file(target, next);
    } catch (const GoldenError& e) {
      _exit(std::string(e.what()).find("File too large") != std::string::npos ? 0 : 3);
    }
    _exit(4);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: another message, 4: no error";
  EXPECT_TRUE(bytes_of(target) == old_bytes);
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"golden.h5"});
}

// A writer killed mid-write leaves "<path>.tmp.<pid>"; the next write of the path removes it
// when that pid is dead, and leaves anything else alone.
TEST_F(SafeWrite, StaleTemporaryFilesOfDeadWritersAreRemoved) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // its pid is now dead
  const std::string dead = std::to_string(child);
  for (const std::string& n : std::vector<std::string>{"golden.h5.tmp." + dead, "golden.h5.tmp.1",
                                                       "golden.h5.tmp.x" + dead, "other.h5.tmp." + dead})
    std::ofstream((dir / n).string()) << "partial";
  write_file(target, next);
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"golden.h5", "golden.h5.tmp.1", "golden.h5.tmp.x" + dead,
                                                     "other.h5.tmp." + dead}));
}

}  // namespace
