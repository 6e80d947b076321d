// The `golden` subcommands through the same argv entry the executable uses: exit codes
// (0 pass, 1 mismatch, 2 bad input), messages naming file/case/dataset, --json, --force.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "golden_cli_run.hpp"
#include "golden_test_util.hpp"
#include "mqa/golden_cli.hpp"

using namespace mqa::golden;
using namespace mqa::golden::testing;

namespace {

bool has(const std::string& s, const std::string& frag) { return s.find(frag) != std::string::npos; }

// A candidate holding every checkable dataset of every case, copied from the golden file.
File candidate_of(const File& g) {
  File c;
  c.kind = FileKind::candidate;
  for (const Case& gc : g.cases) {
    Case cc;
    cc.name = gc.name;
    for (const auto& [n, a] : gc.data)
      if (!a.compare.empty()) {
        Array o = a;
        o.role = Role::output;
        cc.data[n] = o;
      }
    c.cases.push_back(cc);
  }
  return c;
}

void flip_bit(Array& a, size_t byte, uint8_t mask) { a.bytes[byte] ^= mask; }

// Index of the first defined, finite logit of a case (row-major float index).
size_t first_defined_logit(const Case& c) {
  const auto reg = c.at("logits_regions").view<int64_t>();
  const auto lg = c.at("logits").view<float>();
  for (int64_t r = 0; r < c.info.rows; ++r)
    for (int64_t col = reg[size_t(3 * r)]; col < reg[size_t(3 * r + 1)]; ++col) {
      const size_t i = size_t(r * c.info.logits_row_stride + col);
      if (std::isfinite(lg[i]) && lg[i] != 0.0f) return i;
    }
  return size_t(-1);
}

class GoldenCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = temp_dir("cli");
    smoke = (dir / "smoke.h5").string();
    const CliRun r = golden({"generate", "--suite", "smoke", "-o", smoke, "--no-progress"});
    ASSERT_EQ(r.rc, 0) << r.err;
    ASSERT_TRUE(has(r.out, "wrote"));
    gold = read_file(smoke);
    std::ofstream((dir / "text.h5").string()) << "hello";
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  std::string path(const std::string& n) const { return (dir / n).string(); }
  std::string write_candidate(const std::string& n, const File& f) const {
    write_file(path(n), f);
    return path(n);
  }
  static inline std::filesystem::path dir;
  static inline std::string smoke;
  static inline File gold;
};

TEST_F(GoldenCli, HelpOnEverySubcommand) {
  for (const char* sub : {"generate", "verify", "diff", "inspect"}) {
    const CliRun r = golden({sub, "--help"});
    EXPECT_EQ(r.rc, 0) << sub;
    EXPECT_TRUE(has(r.out, "Usage")) << sub << r.out;
  }
}

TEST_F(GoldenCli, UsageErrorIsExit2) {
  EXPECT_EQ(golden({"verify", smoke}).rc, 2);
  EXPECT_EQ(golden({"generate", "--suite", "nosuch", "-o", path("x.h5")}).rc, 2);
  EXPECT_FALSE(std::filesystem::exists(path("x.h5")));
}

TEST_F(GoldenCli, GenerateRefusesOverwriteWithoutForce) {
  const CliRun r = golden({"generate", "--suite", "smoke", "-o", smoke, "--no-progress"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "--force")) << r.err;
  const CliRun f = golden({"generate", "--suite", "smoke", "-o", smoke, "--no-progress", "--force"});
  EXPECT_EQ(f.rc, 0) << f.err;
  EXPECT_TRUE(has(f.out, "0 dataset(s)/case(s) changed")) << f.out;
  EXPECT_TRUE(has(f.out, "kept " + smoke)) << f.out;  // same bits: the file is not churned
}

TEST_F(GoldenCli, GenerateForceListsChangedDatasets) {
  File changed = gold;
  flip_bit(changed.cases[1].data["logits"], 0, 1);
  const std::string p = path("changed.h5");
  write_file(p, changed);
  const CliRun r = golden({"generate", "--suite", "smoke", "-o", p, "--no-progress", "--force"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, gold.cases[1].name + "/logits: changed")) << r.out;
  EXPECT_TRUE(has(r.out, "1 dataset(s)/case(s) changed")) << r.out;
  EXPECT_EQ(read_file(p).cases[1].at("logits").bytes, gold.cases[1].at("logits").bytes);
}

TEST_F(GoldenCli, GenerateFromCaseList) {
  std::ofstream(path("list.txt")) << "# two cases\n" << gold.cases[0].info.descriptor << "\n\n"
                                  << gold.cases[4].info.descriptor << "\n";
  const CliRun r = golden({"generate", "--cases", path("list.txt"), "-o", path("list.h5"), "--no-progress"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const File f = read_file(path("list.h5"));
  ASSERT_EQ(f.cases.size(), 2u);
  EXPECT_EQ(f.cases[1].name, "case_001");
  EXPECT_EQ(f.cases[1].at("logits").bytes, gold.cases[4].at("logits").bytes);
  std::ofstream(path("bad.txt")) << "op=paged_logits B=0\n";
  const CliRun b = golden({"generate", "--cases", path("bad.txt"), "-o", path("bad.h5"), "--no-progress"});
  EXPECT_EQ(b.rc, 2);
  EXPECT_TRUE(has(b.err, "bad.txt") && has(b.err, "line 1")) << b.err;
}

TEST_F(GoldenCli, VerifyPassesOnTheGoldenOutputs) {
  const std::string c = write_candidate("same.h5", candidate_of(gold));
  const CliRun r = golden({"verify", smoke, c});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "verify: PASS")) << r.out;
  const CliRun j = golden({"verify", smoke, c, "--json"});
  EXPECT_EQ(j.rc, 0);
  const auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["verdict"], "pass");
  EXPECT_GT(doc["outputs"].size(), 9u);
}

TEST_F(GoldenCli, VerifyFindsOneUlpInLogits) {
  File c = candidate_of(gold);
  const Case& g = gold.cases[1];
  const size_t i = first_defined_logit(g);
  ASSERT_NE(i, size_t(-1));
  flip_bit(c.cases[1].data["logits"], 4 * i, 1);
  const CliRun r = golden({"verify", smoke, write_candidate("ulp.h5", c)});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, g.name + "/logits")) << r.out;
  EXPECT_TRUE(has(r.out, "verify: FAIL")) << r.out;
  const CliRun j = golden({"verify", smoke, path("ulp.h5"), "--json"});
  EXPECT_EQ(j.rc, 1);
  EXPECT_EQ(nlohmann::json::parse(j.out)["verdict"], "mismatch");
}

// --mode tolerance: the bound (D + H + 1) * 2^-24 * sum|terms| admits a one-ulp change of a
// logit and rejects a 1% error; the note says the golden's mode was overridden.
TEST_F(GoldenCli, ToleranceModeOverride) {
  File c = candidate_of(gold);
  const size_t i = first_defined_logit(gold.cases[1]);
  flip_bit(c.cases[1].data["logits"], 4 * i, 1);
  const std::string ulp = write_candidate("tol_ulp.h5", c);
  EXPECT_EQ(golden({"verify", smoke, ulp}).rc, 1);
  const CliRun t = golden({"verify", smoke, ulp, "--mode", "tolerance"});
  EXPECT_EQ(t.rc, 0) << t.out << t.err;
  EXPECT_TRUE(has(t.out, "--mode")) << t.out;
  float* lg = reinterpret_cast<float*>(c.cases[1].data["logits"].bytes.data());
  lg[i] *= 1.01f;
  EXPECT_EQ(golden({"verify", smoke, write_candidate("tol_big.h5", c), "--mode", "tolerance"}).rc, 1);
}

// The tolerance bound equals (D + H + 1) * 2^-24 * sum_h |w_h| sum_d |q_hd k_d| kscale, recomputed
// here from the decoded inputs: an error of 0.9x the bound passes, 1.1x fails.
TEST_F(GoldenCli, ToleranceBoundIsTheDerivedOne) {
  const Case& g = gold.cases[1];  // paged, 1-D lens, written lengths = lens
  ASSERT_EQ(g.info.op, "paged_logits");
  ASSERT_FALSE(g.info.lens_2d);
  const size_t i = first_defined_logit(g);
  const int64_t r = int64_t(i) / g.info.logits_row_stride, s = int64_t(i) % g.info.logits_row_stride;
  const int32_t b = int32_t(r / g.info.next_n), j = int32_t(r % g.info.next_n), H = g.info.heads, D = g.info.head_dim;
  const auto lens = g.at("context_lens").view<int32_t>();
  int64_t row = s;
  for (int32_t x = 0; x < b; ++x) row += lens[size_t(x)];
  const auto enc = mqa::fp8_encoding_from_string(g.info.encoding);
  const auto q = g.at("q").view<uint8_t>();
  const auto kv = g.at("gathered_values").view<uint8_t>();
  float kscale;
  std::memcpy(&kscale, g.at("gathered_scales").bytes.data() + row * 4, 4);
  double sum = 0;
  for (int32_t h = 0; h < H; ++h) {
    double dot = 0;
    for (int32_t d = 0; d < D; ++d)
      dot += std::fabs(double(mqa::fp8_decode(q[size_t(((b * g.info.next_n + j) * H + h) * D + d)], enc)) *
                       double(mqa::fp8_decode(kv[size_t(row * D + d)], enc)));
    sum += std::fabs(double(g.at("weights").view<float>()[size_t(r * H + h)])) * dot;
  }
  const double bound = double(D + H + 1) * std::ldexp(1.0, -24) * sum * double(kscale);
  const float expected = g.at("logits").view<float>()[i];
  for (const auto& [factor, rc] : {std::pair{0.9, 0}, std::pair{1.1, 1}}) {
    File c = candidate_of(gold);
    float* lg = reinterpret_cast<float*>(c.cases[1].data["logits"].bytes.data());
    lg[i] = float(double(expected) + factor * bound);
    const CliRun v = golden({"verify", smoke, write_candidate("bound.h5", c), "--mode", "tolerance"});
    EXPECT_EQ(v.rc, rc) << "factor " << factor << " bound " << bound << "\n" << v.out;
  }
}

TEST_F(GoldenCli, VerifyFindsWrongTopkAndCacheByte) {
  File c = candidate_of(gold);
  // smoke_001: swap a top-k index for a column outside the set.
  auto& tk = c.cases[1].data["topk"];
  int32_t* idx = reinterpret_cast<int32_t*>(tk.bytes.data());
  idx[0] = idx[0] == 0 ? 1 : 0;
  idx[1] = idx[0];  // duplicate: never a valid set
  EXPECT_EQ(golden({"verify", smoke, write_candidate("topk.h5", c)}).rc, 1);
  c = candidate_of(gold);
  flip_bit(c.cases[5].data["cache"], 3, 0x40);  // smoke_005 is quant_cache
  const CliRun r = golden({"verify", smoke, write_candidate("cache.h5", c)});
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_TRUE(has(r.out, "smoke_005/cache")) << r.out;
}

TEST_F(GoldenCli, VerifyBadInputsExit2) {
  const File full = candidate_of(gold);
  // candidate missing a case
  File missing = full;
  missing.cases.erase(missing.cases.begin() + 2);
  CliRun r = golden({"verify", smoke, write_candidate("missing.h5", missing)});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "missing.h5") && has(r.err, "case '" + gold.cases[2].name + "'") && has(r.err, "missing")) << r.err;
  // with --subset the same file is compared
  EXPECT_EQ(golden({"verify", smoke, path("missing.h5"), "--subset"}).rc, 0);
  // a case the golden does not have
  File extra = full;
  extra.cases[0].name = "nosuch";
  r = golden({"verify", smoke, write_candidate("extra.h5", extra), "--subset"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "case 'nosuch'")) << r.err;
  // wrong shape
  File shape = full;
  shape.cases[1].data["logits"].shape.back() -= 1;
  shape.cases[1].data["logits"].bytes.resize(shape.cases[1].data["logits"].bytes.size() - 4 * size_t(gold.cases[1].info.rows));
  r = golden({"verify", smoke, write_candidate("shape.h5", shape)});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "dataset 'logits'") && has(r.err, "shape")) << r.err;
  // not HDF5, missing file, truncated golden, golden where a candidate belongs
  EXPECT_EQ(golden({"verify", smoke, path("text.h5")}).rc, 2);
  EXPECT_EQ(golden({"verify", smoke, path("nofile.h5")}).rc, 2);
  std::filesystem::copy_file(smoke, path("trunc.h5"));
  std::filesystem::resize_file(path("trunc.h5"), std::filesystem::file_size(smoke) / 2);
  r = golden({"verify", path("trunc.h5"), path("same.h5")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "trunc.h5")) << r.err;
  EXPECT_EQ(golden({"verify", smoke, smoke}).rc, 2);
  // --json still reports the error as JSON
  r = golden({"verify", smoke, path("text.h5"), "--json"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(nlohmann::json::parse(r.out)["verdict"], "error");
  // a bad --mode string
  EXPECT_EQ(golden({"verify", smoke, write_candidate("same2.h5", full), "--mode", "ulp:x"}).rc, 2);
}

TEST_F(GoldenCli, VerifyCandidateWithWrongDtypeOrChecksum) {
  const std::string c = write_candidate("dtype.h5", candidate_of(gold));
  {
    H5::H5File h(c, H5F_ACC_RDWR);
    const std::string ds = "/cases/" + gold.cases[1].name + "/logits";
    h.unlink(ds);
    hsize_t dims[2] = {hsize_t(gold.cases[1].info.rows), hsize_t(gold.cases[1].info.logits_row_stride)};
    std::vector<double> v(dims[0] * dims[1], 0.0);
    h.createDataSet(ds, H5::PredType::IEEE_F64LE, H5::DataSpace(2, dims)).write(v.data(), H5::PredType::NATIVE_DOUBLE);
  }
  CliRun r = golden({"verify", smoke, c});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "file checksum mismatch")) << r.err;
  forget_file_checksum(c);
  r = golden({"verify", smoke, c});  // the gate: no header, no read
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "no file header")) << r.err;
  r = golden({"verify", smoke, c, "--unchecked"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "dataset 'logits'") && has(r.err, "float64")) << r.err;
  const std::string k = write_candidate("sum.h5", candidate_of(gold));
  {
    H5::H5File h(k, H5F_ACC_RDWR);
    H5::DataSet d = h.openDataSet("/cases/" + gold.cases[1].name + "/topk");
    std::vector<int32_t> v(size_t(d.getSpace().getSimpleExtentNpoints()));
    d.read(v.data(), H5::PredType::NATIVE_INT32);
    v[0] ^= 1;
    d.write(v.data(), H5::PredType::NATIVE_INT32);
  }
  forget_file_checksum(k);
  r = golden({"verify", smoke, k, "--unchecked"});  // dataset checksums still verified when unchecked
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "dataset 'topk'") && has(r.err, "checksum mismatch")) << r.err;
}

TEST_F(GoldenCli, DiffAndInspect) {
  EXPECT_EQ(golden({"diff", smoke, smoke}).rc, 0);
  File changed = gold;
  flip_bit(changed.cases[1].data["logits"], 4 * first_defined_logit(gold.cases[1]), 1);
  write_file(path("diff.h5"), changed);
  const CliRun d = golden({"diff", smoke, path("diff.h5")});
  EXPECT_EQ(d.rc, 1);
  EXPECT_TRUE(has(d.out, gold.cases[1].name + "/logits")) << d.out;
  EXPECT_EQ(golden({"diff", smoke, path("text.h5")}).rc, 2);
  const CliRun i = golden({"inspect", smoke, "--case", gold.cases[3].name, "--byte", "5"});
  EXPECT_EQ(i.rc, 0) << i.err;
  EXPECT_TRUE(has(i.out, "descriptor: ") && has(i.out, "preshuffle16 page") && has(i.out, "byte 5")) << i.out;
  EXPECT_EQ(golden({"inspect", path("nofile.h5")}).rc, 2);
  EXPECT_EQ(golden({"inspect", smoke, "--case", "nosuch"}).rc, 2);
}

}  // namespace

// DeepGEMM returns logits [rows, max_context_len]; verify accepts them unpadded against a golden
// whose rows are padded (smoke_003: out_pad=5), judges every defined column and says so.
TEST_F(GoldenCli, VerifyTakesUnpaddedLogits) {
  const Case& g = gold.cases[3];
  ASSERT_GT(g.info.logits_row_stride, g.info.logits_cols);
  auto unpadded = [&](File c) {
    Array& a = c.cases[3].data["logits"];
    const int64_t rows = a.shape[0], stride = a.shape[1], cols = g.info.logits_cols;
    std::vector<uint8_t> bytes;
    for (int64_t r = 0; r < rows; ++r)
      bytes.insert(bytes.end(), a.bytes.begin() + r * stride * 4, a.bytes.begin() + (r * stride + cols) * 4);
    a.bytes = bytes;
    a.shape = {rows, cols};
    return c;
  };
  const CliRun ok = golden({"verify", smoke, write_candidate("unpadded.h5", unpadded(candidate_of(gold)))});
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
  EXPECT_TRUE(has(ok.out, "unpadded")) << ok.out;
  File bad = candidate_of(gold);
  const size_t i = first_defined_logit(g);
  flip_bit(bad.cases[3].data["logits"], 4 * i, 1);
  const CliRun no = golden({"verify", smoke, write_candidate("unpadded_bad.h5", unpadded(bad))});
  EXPECT_EQ(no.rc, 1) << no.out << no.err;
  File wrong = unpadded(candidate_of(gold));
  wrong.cases[3].data["logits"].shape[1] -= 1;  // neither the golden's shape nor max_context_len
  wrong.cases[3].data["logits"].bytes.resize(size_t(wrong.cases[3].data["logits"].shape[0] * wrong.cases[3].data["logits"].shape[1] * 4));
  const CliRun sh = golden({"verify", smoke, write_candidate("unpadded_wrong.h5", wrong)});
  EXPECT_EQ(sh.rc, 2) << sh.out << sh.err;
  EXPECT_TRUE(has(sh.out + sh.err, "max_context_len")) << sh.out << sh.err;
}

// A candidate by regions (its runs, and logits_outside: [X, 2] int64 of (flat index, bits) of
// every float written elsewhere) has each entry of logits_outside checked before the comparator
// reads it; a valid entry is judged: the implied value passes, any other bits fail.
TEST_F(GoldenCli, VerifyChecksLogitsOutsideOfACandidateByRegions) {
  size_t k = 0;
  while (k < gold.cases.size() && !gold.cases[k].info.regions_storage()) ++k;
  ASSERT_LT(k, gold.cases.size()) << "smoke holds no case by regions";
  const Case& g = gold.cases[k];
  const auto reg = g.at("logits_regions").view<int64_t>();
  const int64_t stride = g.info.logits_row_stride, n = g.info.rows * stride;
  int64_t row = 0;  // a row whose run is not empty and ends before the row's last float
  while (row < g.info.rows && (reg[size_t(3 * row)] >= reg[size_t(3 * row + 2)] || reg[size_t(3 * row + 2)] >= stride))
    ++row;
  ASSERT_LT(row, g.info.rows);
  const int64_t inside = row * stride + reg[size_t(3 * row)], after = row * stride + reg[size_t(3 * row + 2)];
  const int64_t implied = g.info.clean_logits ? 0xFF800000u : int64_t(g.info.logits_sentinel);
  auto verify = [&](const std::string& n_, const Array& outside, std::vector<std::string> extra = {}) {
    File c = candidate_of(gold);
    c.cases = {c.cases[k]};
    c.cases[0].data["logits_outside"] = outside;
    std::vector<std::string> args{"verify", smoke, write_candidate(n_ + ".h5", c), "--subset"};
    args.insert(args.end(), extra.begin(), extra.end());
    return golden(args);
  };
  auto pairs = [](std::vector<int64_t> v) { return Array::of<int64_t>({int64_t(v.size() / 2), 2}, v, Role::output); };
  const std::string at = "case '" + g.name + "': dataset 'logits_outside': ";
  struct Bad {
    const char* name;
    Array a;
    std::string says;
  };
  const std::vector<int64_t> three{after, implied, 0};
  const std::vector<Bad> bad{
      {"shape", Array::of<int64_t>({1, 3}, three, Role::output), "expected int64 [*, 2] (flat index, bits)"},
      {"negative", pairs({-1, 0}),
       "logits_outside[0][0] = -1: must be a float of the [rows, logits_row_stride] buffer"},
      {"past_end", pairs({n, 0}), "logits_outside[0][0] = " + std::to_string(n) + ": must be a float of the"},
      {"repeated", pairs({after, implied, after, implied}),
       "logits_outside[1][0] = " + std::to_string(after) + ": indices must be strictly increasing"},
      {"inside", pairs({inside, 0}), "is inside the row's run (logits holds it)"},
      {"bits", pairs({after, int64_t(1) << 32}), "logits_outside[0][1] = 4294967296: must be a float's bits"},
  };
  for (const Bad& b : bad) {
    const CliRun r = verify(std::string("outside_") + b.name, b.a);
    EXPECT_EQ(r.rc, 2) << b.name << r.out << r.err;
    EXPECT_TRUE(has(r.err, at) && has(r.err, b.says)) << b.name << ": " << r.err;
  }
  // judged: under a mode with the sentinel, a padding float (column >= logits_cols) must keep it,
  // while an undefined one (past the run, before logits_cols) may hold anything
  ASSERT_LT(g.info.logits_cols, stride);
  const int64_t pad = row * stride + g.info.logits_cols;
  char sentinel_mode[64];
  std::snprintf(sentinel_mode, sizeof sentinel_mode, "bitwise,sentinel:0x%08X", uint32_t(g.info.logits_sentinel));
  const CliRun same =
      verify("outside_kept", pairs({after, 0x3F800000, pad, g.info.logits_sentinel}), {"--mode", sentinel_mode});
  EXPECT_EQ(same.rc, 0) << same.out << same.err;
  const CliRun stray = verify("outside_stray", pairs({pad, 0x3F800000}), {"--mode", sentinel_mode});
  EXPECT_EQ(stray.rc, 1) << stray.out << stray.err;
  EXPECT_TRUE(has(stray.out, g.name) && has(stray.out, "FAIL")) << stray.out;
  File dense = candidate_of(gold);  // logits_outside only goes with logits by regions
  dense.cases = {dense.cases[k]};
  dense.cases[0].data["logits_outside"] = pairs({after, implied});
  Array& dl = dense.cases[0].data["logits"];
  dl.shape = {g.info.rows, g.info.logits_cols};
  dl.bytes.assign(size_t(g.info.rows * g.info.logits_cols * 4), 0);
  const CliRun d = golden({"verify", smoke, write_candidate("outside_dense.h5", dense), "--subset"});
  EXPECT_EQ(d.rc, 2) << d.out << d.err;
  EXPECT_TRUE(has(d.err, "only beside logits by regions")) << d.err;
}

// generate --bounds fp8_mma stores each logit's bound (float, rounded up) next to it; verify
// --mode tolerance:fp8_mma then uses the stored one: a candidate 0.9x the stored bound off passes,
// 1.1x fails, and so does the same candidate if the stored bound is halved (it is really used).
TEST_F(GoldenCli, StoredToleranceBoundsAreWrittenAndUsed) {
  const std::string with = path("bounds.h5");
  const CliRun r = golden({"generate", "--suite", "smoke", "-o", with, "--no-progress", "--force", "--bounds", "fp8_mma"});
  ASSERT_EQ(r.rc, 0) << r.err;
  File g = read_file(with);
  const Case& c = g.cases[1];
  ASSERT_TRUE(c.data.count("logits_bound_fp8_mma"));
  EXPECT_FALSE(c.data.count("logits_bound_fp32"));
  const size_t i = first_defined_logit(c);
  const float b = c.at("logits_bound_fp8_mma").view<float>()[i], e = c.at("logits").view<float>()[i];
  ASSERT_GT(b, 0.0f);
  for (const auto& [factor, rc] : {std::pair{0.9, 0}, std::pair{1.1, 1}}) {
    File cand = candidate_of(g);
    reinterpret_cast<float*>(cand.cases[1].data["logits"].bytes.data())[i] = float(double(e) + factor * double(b));
    const CliRun v = golden({"verify", with, write_candidate("bounds_cand.h5", cand), "--mode", "tolerance:fp8_mma"});
    EXPECT_EQ(v.rc, rc) << factor << "\n" << v.out << v.err;
  }
  File halved = g;
  for (float& x : std::span<float>(reinterpret_cast<float*>(halved.cases[1].data["logits_bound_fp8_mma"].bytes.data()),
                                   halved.cases[1].data["logits_bound_fp8_mma"].bytes.size() / 4))
    x *= 0.5f;
  write_file(path("halved.h5"), halved);
  File cand = candidate_of(g);
  reinterpret_cast<float*>(cand.cases[1].data["logits"].bytes.data())[i] = float(double(e) + 0.9 * double(b));
  EXPECT_EQ(golden({"verify", path("halved.h5"), write_candidate("bounds_cand2.h5", cand), "--mode", "tolerance:fp8_mma"}).rc, 1);
  EXPECT_EQ(golden({"generate", "--suite", "smoke", "-o", path("b2.h5"), "--bounds", "fp16", "--no-progress"}).rc, 2);
}

// The integrity gate cannot be stepped round: one flipped bit of the magic line (which used to send
// the file straight to HDF5, where its compare mode could be edited to pass anything), or an empty
// sha256 attribute (which used to turn that dataset's check off), and the file is refused; with
// --unchecked it is read and the checksums that are there are still verified.
TEST_F(GoldenCli, IntegrityGateRefusesFlippedMagicAndEmptyChecksums) {
  const std::string flipped = path("flipped.h5");
  std::filesystem::copy_file(smoke, flipped, std::filesystem::copy_options::overwrite_existing);
  {
    std::fstream f(flipped, std::ios::in | std::ios::out | std::ios::binary);
    char c;
    f.seekg(3);
    f.get(c);
    f.seekp(3);
    f.put(char(c ^ 0x01));
  }
  CliRun r = golden({"verify", flipped, write_candidate("gate_cand.h5", candidate_of(gold))});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "no file header")) << r.err;
  r = golden({"verify", flipped, path("gate_cand.h5"), "--unchecked"});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(golden({"inspect", flipped, "--no-map"}).rc, 2);
  EXPECT_EQ(golden({"diff", flipped, smoke}).rc, 2);

  const std::string empty = write_candidate("empty_sum.h5", candidate_of(gold));
  {
    H5::H5File h(empty, H5F_ACC_RDWR);
    H5::DataSet d = h.openDataSet("/cases/" + gold.cases[1].name + "/logits");
    d.removeAttr("sha256");
    H5::StrType t(H5::PredType::C_S1, 1);
    d.createAttribute("sha256", t, H5::DataSpace(H5S_SCALAR)).write(t, std::string(""));
  }
  restamp_file_checksum(empty);  // a valid header over the edited file
  r = golden({"verify", smoke, empty});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "sha256 missing or empty")) << r.err;
  EXPECT_EQ(golden({"verify", smoke, empty, "--unchecked"}).rc, 0);  // the user asked for it
}
