// Hostile files (issue 13): declared sizes are checked before HDF5 allocates a read buffer, and
// the readers run contained in a child process, so that a crash, a loop or an allocation storm
// inside HDF5 is one exit-2 message naming the file. The faults are planted with the test hook
// MQA_TEST_READER_FAULT (contain.hpp), so that the tests do not depend on a real HDF5 crash.
// Links, external storage and virtual datasets: golden/python/test_mqa_golden.py (files by h5py).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "golden_cli_run.hpp"
#include "golden_test_util.hpp"
#include "h5guard.hpp"
#include "mqa/golden_cli.hpp"

using namespace mqa::golden;
using namespace mqa::golden::testing;

namespace {

bool has(const std::string& s, const std::string& frag) { return s.find(frag) != std::string::npos; }



void write_attr(H5::H5Object& o, const char* name, const std::string& v) {
  H5::StrType st(H5::PredType::C_S1, H5T_VARIABLE);
  o.createAttribute(name, st, H5::DataSpace(H5S_SCALAR)).write(st, v);
}

// Replaces /cases/<c>/<name> by a dataset that declares `dims` and stores nothing: a few hundred
// bytes of metadata that ask the reader for gigabytes. The header is stamped again over the edit
// (the checksum is no secret), so only the checks behind the gate can refuse the file.
void plant_declared(const std::string& p, const std::string& c, const std::string& name, std::vector<hsize_t> dims,
                    const H5::PredType& type, bool deflate) {
  {
    H5::H5File h(p, H5F_ACC_RDWR);
    const std::string at = "/cases/" + c + "/" + name;
    h.unlink(at);
    H5::DSetCreatPropList props;
    if (deflate) {
      std::vector<hsize_t> chunk(dims.size(), 1);
      chunk.back() = std::min<hsize_t>(dims.back(), 1024);
      props.setChunk(int(chunk.size()), chunk.data());
      props.setDeflate(4);
    }
    H5::DataSet d = h.createDataSet(at, type, H5::DataSpace(int(dims.size()), dims.data()), props);
    write_attr(d, "role", "meta");
    write_attr(d, "sha256", std::string(64, '0'));
  }
  restamp_file_checksum(p);
}

void set_int_attr(const std::string& p, const std::string& group, const char* name, int64_t v) {
  {
    H5::H5File h(p, H5F_ACC_RDWR);
    h.openGroup(group).openAttribute(name).write(H5::PredType::NATIVE_INT64, &v);
  }
  restamp_file_checksum(p);
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    good = path("good.h5");
    write_file(good, file_of({quant_case("a"), quant_case("big", 128, 32, 9)}));
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string path(const std::string& n) const { return (dir / n).string(); }

  // Reads p (the library entry, checked), expects a GoldenError holding every fragment, and
  // returns how long the refusal took.
  double refused_in(const std::string& p, const std::vector<std::string>& fragments) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      read_file(p);
      ADD_FAILURE() << "no error for " << p;
    } catch (const GoldenError& e) {
      for (const auto& f : fragments) EXPECT_TRUE(has(e.what(), f)) << e.what() << "\n  lacks: " << f;
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // A candidate for case "a" of the good file holding the golden's cache (a pass).
  std::string candidate(const std::string& n) {
    File c = file_of({}, FileKind::candidate);
    Case cc;
    cc.name = "a";
    cc.data["cache"] = quant_case("a").data.at("cache");
    c.cases.push_back(cc);
    write_file(path(n), c);
    return path(n);
  }

  std::filesystem::path dir;
  std::string good;
};

TEST(CheckedArithmetic, MultiplicationRefusesOverflowAndNegatives) {
  EXPECT_EQ(checked_mul(int64_t(1) << 31, int64_t(1) << 31), int64_t(1) << 62);
  EXPECT_EQ(checked_mul(0, INT64_MAX), 0);
  EXPECT_EQ(checked_mul(INT64_MAX, 2), std::nullopt);
  EXPECT_EQ(checked_mul(int64_t(1) << 32, int64_t(1) << 31), std::nullopt);
  EXPECT_EQ(checked_mul(-1, 4), std::nullopt);
  EXPECT_EQ(checked_product({1 << 20, 1 << 20, 1 << 20}), int64_t(1) << 60);
  EXPECT_EQ(checked_product({int64_t(1) << 32, int64_t(1) << 32}), std::nullopt);
  EXPECT_EQ(checked_product({}), 1);
}

// The "4 GiB dataset in 241 KB" took 56 s and 4.1 GB to refuse: now it is refused from
// its dataspace, before a buffer exists.
TEST_F(Hostile, DatasetLargerThanItsCaseIsRefusedBeforeAllocation) {
  plant_declared(good, "a", "page_ids", {hsize_t(1) << 29}, H5::PredType::STD_I64LE, false);  // 4 GiB
  EXPECT_GT(std::filesystem::file_size(good), 0u);
  EXPECT_LT(std::filesystem::file_size(good), 200000u);
  const double s = refused_in(good, {"good.h5", "case 'a'", "dataset 'page_ids'", "declares shape [536870912]",
                                     "more than its case attributes (shape [<=4], 4 elements)"});
  EXPECT_LT(s, 1.0);
}

// Attributes edited to match the forged dataspace do not make the bytes exist: a dataset may
// declare no more than its stored bytes hold (deflated: 1032 times as much).
TEST_F(Hostile, ForgedAttributesDoNotBuyStorage) {
  set_int_attr(good, "/cases/a", "num_pages", int64_t(1) << 29);
  plant_declared(good, "a", "page_ids", {hsize_t(1) << 29}, H5::PredType::STD_I64LE, false);
  EXPECT_LT(
      refused_in(good, {"dataset 'page_ids'", "declares shape [536870912] (4294967296 bytes) but stores 0 bytes"}),
      1.0);
  plant_declared(good, "a", "page_ids", {hsize_t(1) << 29}, H5::PredType::STD_I64LE, true);
  EXPECT_LT(refused_in(good, {"dataset 'page_ids'", "but stores 0 bytes deflated (at most 1032x that)"}), 1.0);
}

TEST_F(Hostile, DeclaredSizeThatOverflowsIsRefused) {
  plant_declared(good, "big", "k_source", {hsize_t(1) << 32, hsize_t(1) << 32}, H5::PredType::STD_U16LE, true);
  refused_in(good, {"case 'big'", "dataset 'k_source'",
                    "declares shape [4294967296, 4294967296]: its byte count overflows int64"});
}

// A case as a whole is bounded by the budget the fuzzer's descriptors have (MQA_CASE_BYTES_LIMIT).
TEST_F(Hostile, CaseBudgetIsMqaCaseBytesLimit) {
  {
    Env limit("MQA_CASE_BYTES_LIMIT", "10000");
    refused_in(good, {"case 'big'", "more than MQA_CASE_BYTES_LIMIT = 10000 bytes a case may hold"});
  }
  {
    Env limit("MQA_CASE_BYTES_LIMIT", "lots");
    refused_in(good, {"MQA_CASE_BYTES_LIMIT = 'lots': must be a positive number of bytes"});
  }
  EXPECT_NO_THROW(read_file(good));
}

// A candidate carries no case attributes: its datasets are bounded by the golden it answers.
TEST_F(Hostile, CandidateMayNotDeclareMoreThanTheGolden) {
  const std::string cand = candidate("cand.h5");
  EXPECT_EQ(golden({"verify", good, cand, "--subset"}).rc, 0);
  File c = read_file(cand);
  Array& cache = c.cases[0].data["cache"];
  cache.shape[0] *= 2;
  cache.bytes.resize(cache.bytes.size() * 2);
  write_file(cand, c);
  const CliRun r = golden({"verify", good, cand, "--subset"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err,
                  "cand.h5: case 'a': dataset 'cache': declares shape [8, 576] (4608 elements), more than the "
                  "golden dataset it answers (shape [4, 576], 2304 elements)"))
      << r.err;
}

// ---- containment ----

TEST_F(Hostile, CrashInsideTheReaderIsExit2NamingTheFile) {
  const std::string cand = candidate("cand.h5");
  for (auto [fault, sig] : {std::pair{"segv", "signal 11"}, std::pair{"abort", "signal 6"}}) {
    Env hook("MQA_TEST_READER_FAULT", std::string(fault) + ":cand.h5");
    const CliRun r = golden({"verify", good, cand, "--subset"});
    EXPECT_EQ(r.rc, 2) << fault;
    EXPECT_TRUE(has(r.err, "golden verify: reading " + cand + " crashed inside the HDF5 library (" + sig))
        << fault << ": " << r.err;
    EXPECT_TRUE(has(r.err, "the file is malformed")) << r.err;
  }
  Env hook("MQA_TEST_READER_FAULT", "segv");  // any file: the golden is read first
  const CliRun r = golden({"verify", good, cand, "--subset", "--json"});
  EXPECT_EQ(r.rc, 2);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "error");
  EXPECT_TRUE(has(j["error"].get<std::string>(), "reading " + good + " crashed")) << r.out;
}

// A reader that blocks or spins is killed by the wall-clock alarm after MQA_READER_TIMEOUT
// seconds, not at the parent's backstop 5 s later (the CPU limit is set out of the way here).
TEST_F(Hostile, LoopInsideTheReaderEndsAtTheTimeout) {
  Env timeout("MQA_READER_TIMEOUT", "1");
  Env cpu("MQA_READER_CPU", "30");
  for (const char* fault : {"hang", "spin"}) {
    Env hook("MQA_TEST_READER_FAULT", fault);
    const auto t0 = std::chrono::steady_clock::now();
    const CliRun r = golden({"inspect", good});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.rc, 2) << fault;
    EXPECT_TRUE(has(r.err, "golden inspect: reading " + good + " took more than 1 s (MQA_READER_TIMEOUT)")) << r.err;
    EXPECT_LT(s, 4.0) << fault;
  }
}

// RLIMIT_CPU alone ends a spinning reader: under a wall-clock limit of 30 s, a CPU limit of 1 s
// stops it (SIGXCPU) long before, and the message says which limit it was. (One CPU second may
// take several seconds of wall clock on a loaded machine: the bound is the wall limit's, less a margin.)
TEST_F(Hostile, CpuLimitAloneEndsASpinningReader) {
  Env timeout("MQA_READER_TIMEOUT", "30");
  Env cpu("MQA_READER_CPU", "1");
  Env hook("MQA_TEST_READER_FAULT", "spin");
  const auto t0 = std::chrono::steady_clock::now();
  const CliRun r = golden({"inspect", good});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "golden inspect: reading " + good +
                             " used more than 1 s of CPU time (RLIMIT_CPU, MQA_READER_CPU); the file is malformed"))
      << r.err;
  EXPECT_LT(s, 25.0);
  Env bad("MQA_READER_CPU", "-1");
  EXPECT_TRUE(has(golden({"inspect", good}).err, "MQA_READER_CPU = '-1'"));
}

TEST_F(Hostile, AllocationStormInsideTheReaderIsExit2) {
  Env memory("MQA_READER_MEMORY", "256M");
  Env hook("MQA_TEST_READER_FAULT", "alloc");
  const CliRun r = golden({"diff", good, good});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, good + ": out of memory while reading: a malformed file")) << r.err;
}

// The child's address space is limited (RLIMIT_AS): a real read that needs more than it may add
// fails cleanly. Not under AddressSanitizer, whose shadow memory needs the address space.
TEST_F(Hostile, ReaderMemoryLimitIsApplied) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "RLIMIT_AS is not applied under AddressSanitizer";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "RLIMIT_AS is not applied under AddressSanitizer";
#endif
#endif
  const std::string deployed = std::string(MQA_GOLDEN_DATA_DIR) + "/deployed.h5";
  ASSERT_EQ(golden({"inspect", deployed, "--no-map"}).rc, 0);
  Env memory("MQA_READER_MEMORY", "4M");
  const CliRun r = golden({"inspect", deployed, "--no-map"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "(the reader may add 4194304 bytes of memory, MQA_READER_MEMORY)")) << r.err;
}

// generate --force reads the file it replaces through the integrity gate: a damaged file never
// reaches HDF5, it is reported unreadable and replaced.
TEST_F(Hostile, GenerateReadsTheFileItReplacesThroughTheGate) {
  const std::string out = path("smoke.h5");
  ASSERT_EQ(golden({"generate", "--suite", "smoke", "-o", out, "--no-progress"}).rc, 0);
  {
    std::fstream f(out, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(std::filesystem::file_size(out) - 100));
    f.put('\x5a');
  }
  const CliRun r = golden({"generate", "--suite", "smoke", "-o", out, "--no-progress", "--force"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, "the existing file was unreadable (" + out + ": file checksum mismatch")) << r.out;
  EXPECT_NO_THROW(read_file(out));
}

TEST_F(Hostile, ContainedResultsComeBackWhole) {
  // Output, exit code and verify's worst ratio cross the pipe (a tolerance mode on a bit-exact
  // candidate: ratio 0; -1 would mean "no tolerance comparison").
  const std::string smoke = path("smoke.h5");
  ASSERT_EQ(golden({"generate", "--suite", "smoke", "-o", smoke, "--no-progress"}).rc, 0);
  const File g = read_file(smoke);
  File c = file_of({}, FileKind::candidate);
  for (const Case& gc : g.cases)
    if (gc.data.count("logits")) {
      Case cc;
      cc.name = gc.name;
      cc.data["logits"] = gc.at("logits");
      cc.data["logits"].role = Role::output;
      c.cases.push_back(cc);
    }
  write_file(path("c.h5"), c);
  double ratio = -1;
  VerifyOptions o;
  o.golden = smoke;
  o.candidate = path("c.h5");
  o.subset = true;
  o.logits_mode = "tolerance";
  o.worst_ratio = &ratio;
  std::ostringstream out, err;
  EXPECT_EQ(verify(o, out, err), 0) << err.str();
  EXPECT_EQ(ratio, 0.0);
  EXPECT_TRUE(has(out.str(), "verify: PASS")) << out.str();
  c.cases[0].data["logits"].bytes[0] ^= 0x40;
  write_file(path("c.h5"), c);
  EXPECT_EQ(golden({"verify", smoke, path("c.h5"), "--subset"}).rc, 1);
}

// MQA_READER_CONTAIN=0 parses in-process (for a debugger); the fault hook is honoured only in a
// contained child, so here it does nothing.
TEST_F(Hostile, ContainmentCanBeSwitchedOffAndSaysHowInHelp) {
  const std::string cand = candidate("cand.h5");
  Env off("MQA_READER_CONTAIN", "0");
  Env hook("MQA_TEST_READER_FAULT", "segv");
  EXPECT_EQ(golden({"verify", good, cand, "--subset"}).rc, 0);
  for (const char* sub : {"verify", "diff", "inspect"})
    EXPECT_TRUE(has(golden({sub, "--help"}).out, "MQA_READER_CONTAIN=0")) << sub;
}

// Names and strings come from the files as bytes, not always UTF-8: `verify --json` stays valid
// JSON (invalid bytes replaced by U+FFFD) whatever the paths, case names or attribute strings hold.
TEST_F(Hostile, VerifyJsonStaysValidWithNonUtf8Bytes) {
  auto json_of = [](const CliRun& r, int rc) {
    EXPECT_EQ(r.rc, rc) << r.out << r.err;
    nlohmann::json j;
    EXPECT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;  // parse() rejects invalid UTF-8
    return j;
  };
  const std::string g = path("g\xff\xfe.h5"), c = path("c\xc3\x28.h5");
  std::filesystem::copy_file(good, g);
  std::filesystem::copy_file(candidate("cand.h5"), c);
  nlohmann::json j = json_of(golden({"verify", g, c, "--subset", "--json"}), 0);
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_TRUE(has(j["golden"].get<std::string>(), "g\xef\xbf\xbd")) << j.dump();  // U+FFFD in UTF-8
  {  // a candidate case named with bytes that are not UTF-8 (refused: not a case name)
    H5::H5File h(c, H5F_ACC_RDWR);
    h.move("/cases/a", "/cases/a\xff\x80");
  }
  restamp_file_checksum(c);
  j = json_of(golden({"verify", g, c, "--subset", "--json"}), 2);
  EXPECT_EQ(j["verdict"], "error");
  EXPECT_TRUE(has(j["error"].get<std::string>(), "invalid case name")) << j.dump();
  {  // a golden whose compare attribute holds invalid UTF-8 (refused: not a mode)
    H5::H5File h(g, H5F_ACC_RDWR);
    H5::DataSet d = h.openDataSet("/cases/a/cache");
    d.removeAttr("compare");
    write_attr(d, "compare", "bitwise\xc0\xff");
  }
  restamp_file_checksum(g);
  j = json_of(golden({"verify", g, candidate("cand2.h5"), "--subset", "--json"}), 2);
  EXPECT_EQ(j["verdict"], "error");
  EXPECT_TRUE(has(j["error"].get<std::string>(), "bitwise")) << j.dump();
}

TEST_F(Hostile, BadReaderLimitIsExit2) {
  Env timeout("MQA_READER_TIMEOUT", "soon");
  const CliRun r = golden({"inspect", good});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "MQA_READER_TIMEOUT = 'soon'")) << r.err;
}

}  // namespace
