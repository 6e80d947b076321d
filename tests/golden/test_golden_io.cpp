// The HDF5 layer: round trip, checksum, atomic write, and every bad input giving a GoldenError
// that names the file, the case and the dataset (never a crash, never an HDF5 stack dump).
#include <gtest/gtest.h>

#include <fstream>

#include "golden_test_util.hpp"

using namespace mqa::golden;
using namespace mqa::golden::testing;

namespace {

class GoldenIo : public ::testing::Test {
 protected:
  void SetUp() override { dir = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string path(const std::string& n) const { return (dir / n).string(); }
  std::string good_file() {
    const std::string p = path("good.h5");
    write_file(p, file_of({quant_case("a"), quant_case("big", 128, 32, 9)}));
    return p;
  }
  std::filesystem::path dir;
};

// Asserts read_file(p) throws a GoldenError whose message holds every fragment. The files here
// are edited through HDF5 (no file header any more): read unchecked, to reach the checks behind
// the gate (the gate itself: IntegrityGate* below).
void expect_error(const std::string& p, std::vector<std::string> fragments) {
  try {
    read_file(p, ReadOptions{true, true, true});
    FAIL() << "no error for " << p;
  } catch (const GoldenError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what() << " lacks " << f;
  }
}

TEST(Sha256, KnownAnswers) {
  auto h = [](const std::string& s) { return sha256_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); };
  EXPECT_EQ(h(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(h("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(h("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(h(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary (55, 56, 63, 64 bytes) must differ from each other.
  EXPECT_NE(h(std::string(55, 'x')), h(std::string(56, 'x')));
  EXPECT_EQ(h(std::string(64, 'x')), "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

TEST_F(GoldenIo, RoundTripIsBitIdentical) {
  const File w = file_of({quant_case("a"), quant_case("big", 128, 32, 9)});
  const std::string p = path("rt.h5");
  write_file(p, w);
  const File r = read_file(p);
  EXPECT_EQ(r.kind, FileKind::golden);
  EXPECT_EQ(r.schema_version, kSchemaVersion);
  EXPECT_EQ(r.generator_version, "test");
  ASSERT_EQ(r.cases.size(), 2u);
  for (const Case& c : w.cases) {
    const Case* rc = r.find(c.name);
    ASSERT_NE(rc, nullptr);
    EXPECT_EQ(rc->info.descriptor, c.info.descriptor);
    EXPECT_EQ(rc->info.page_stride, c.info.page_stride);
    EXPECT_EQ(rc->info.seed, c.info.seed);
    EXPECT_EQ(rc->info.cache_fill, 0xA5);
    ASSERT_EQ(rc->data.size(), c.data.size());
    for (const auto& [n, a] : c.data) {
      const Array& b = rc->at(n);
      EXPECT_EQ(b.dtype, a.dtype) << n;
      EXPECT_EQ(b.shape, a.shape) << n;
      EXPECT_EQ(b.bytes, a.bytes) << n;
      EXPECT_EQ(b.role, a.role) << n;
      EXPECT_EQ(b.encoding, a.encoding) << n;
      EXPECT_EQ(b.compare, a.compare) << n;
    }
  }
}

TEST_F(GoldenIo, LargeDatasetsAreChunkedAndCompressed) {
  const std::string p = good_file();
  H5::H5File h(p, H5F_ACC_RDONLY);
  H5::DataSet big = h.openDataSet("/cases/big/cache");
  EXPECT_EQ(big.getCreatePlist().getLayout(), H5D_CHUNKED);
  EXPECT_GT(big.getCreatePlist().getNfilters(), 0);
  EXPECT_EQ(h.openDataSet("/cases/a/page_ids").getCreatePlist().getLayout(), H5D_CONTIGUOUS);
}

TEST_F(GoldenIo, WriteIsAtomicAndLeavesNoTempFile) {
  const std::string p = good_file();
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  // A failed write (directory missing) throws and leaves the old file untouched.
  EXPECT_THROW(write_file(path("missing/x.h5"), file_of({quant_case("a")})), GoldenError);
  // An invalid case is rejected before anything is written: the existing file stays valid.
  Case bad = quant_case("a");
  bad.data.erase("page_ids");
  EXPECT_THROW(write_file(p, file_of({bad})), GoldenError);
  EXPECT_NO_THROW(read_file(p));
}

// A reader holding the old file (here: a second hard link) keeps a complete old file: the new
// content goes to a temporary file that is renamed over the path, never written in place.
TEST_F(GoldenIo, OverwriteReplacesTheFileInsteadOfRewritingIt) {
  const std::string p = good_file();
  std::filesystem::create_hard_link(p, path("held.h5"));
  write_file(p, file_of({quant_case("other", 2, 32, 3)}));
  const File now = read_file(p), held = read_file(path("held.h5"));
  ASSERT_EQ(now.cases.size(), 1u);
  EXPECT_EQ(now.cases[0].name, "other");
  ASSERT_EQ(held.cases.size(), 2u);
  EXPECT_EQ(held.cases[0].name, "a");
}

TEST_F(GoldenIo, MissingFile) { expect_error(path("nope.h5"), {"nope.h5", "does not exist"}); }

TEST_F(GoldenIo, NotHdf5) {
  std::ofstream(path("text.h5")) << "op=paged_logits B=64\n";
  expect_error(path("text.h5"), {"text.h5", "not an HDF5 file"});
}

// Any damage to a file this library wrote is caught by the file checksum before HDF5 parses
// a byte of it (HDF5 1.10 can crash on damaged metadata).
TEST_F(GoldenIo, CorruptFileIsCaughtBeforeHdf5ParsesIt) {
  const std::string p = good_file();
  const auto size = std::filesystem::file_size(p);
  for (uintmax_t at : {uintmax_t(600), uintmax_t(1000), size / 3, size / 2, size - 10}) {
    const std::string t = path("flip.h5");
    std::filesystem::copy_file(p, t, std::filesystem::copy_options::overwrite_existing);
    std::FILE* f = std::fopen(t.c_str(), "r+b");
    std::fseek(f, long(at), SEEK_SET);
    const int c = std::fgetc(f);
    std::fseek(f, long(at), SEEK_SET);
    std::fputc(c ^ 0x10, f);
    std::fclose(f);
    expect_error(t, {"flip.h5", "file checksum mismatch"});
  }
  std::filesystem::resize_file(p, size - 1);
  expect_error(p, {"good.h5", "truncated"});
}

// Property: any single bit flip or truncation of a file we wrote is either detected (GoldenError)
// or harmless (the data read back is bit-identical). A crash fails the whole test binary.
TEST_F(GoldenIo, DamageIsDetectedOrHarmless) {
  const std::string p = good_file();
  const File orig = read_file(p);
  std::ifstream in(p, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const mqa::CounterRng rng{2026};
  int detected = 0, harmless = 0;
  for (uint64_t i = 0; i < 300; ++i) {
    std::vector<char> b = bytes;
    if (i % 4 == 0) b.resize(rng.below(1, i, uint32_t(b.size())));
    else b[rng.below(2, i, uint32_t(i % 4 == 1 ? 1024 : b.size()))] ^= char(1 << rng.below(3, i, 8));
    const std::string t = path("damaged.h5");
    std::ofstream(t, std::ios::binary | std::ios::trunc).write(b.data(), std::streamsize(b.size()));
    try {
      const File f = read_file(t);
      ++harmless;
      ASSERT_EQ(f.cases.size(), orig.cases.size()) << "damage " << i << " went unnoticed";
      for (size_t c = 0; c < f.cases.size(); ++c)
        for (const auto& [n, a] : orig.cases[c].data) ASSERT_EQ(f.cases[c].at(n).bytes, a.bytes) << "damage " << i;
    } catch (const GoldenError&) {
      ++detected;
    }
  }
  EXPECT_GT(detected, 250);
  std::printf("300 damaged copies: %d detected, %d harmless (user-block padding)\n", detected, harmless);
}

TEST_F(GoldenIo, TruncatedFile) {
  const std::string p = good_file();
  const auto size = std::filesystem::file_size(p);
  for (double frac : {0.9, 0.5, 0.1}) {
    const std::string t = path("trunc.h5");
    std::filesystem::copy_file(p, t, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(t, uintmax_t(double(size) * frac));
    expect_error(t, {"trunc.h5", "truncated"});
    forget_file_checksum(t);  // a third-party file: HDF5 itself must fail cleanly
    expect_error(t, {"trunc.h5"});
  }
}

TEST_F(GoldenIo, WrongSchemaVersion) {
  File f = file_of({quant_case("a")});
  f.schema_version = 2;
  write_file(path("v2.h5"), f);
  expect_error(path("v2.h5"), {"v2.h5", "schema_version 2 is not supported"});
}

TEST_F(GoldenIo, MissingDataset) {
  const std::string p = good_file();
  { H5::H5File h(p, H5F_ACC_RDWR); h.unlink("/cases/a/slot_mapping"); }
  forget_file_checksum(p);
  expect_error(p, {"good.h5", "case 'a'", "dataset 'slot_mapping'", "missing"});
}

TEST_F(GoldenIo, WrongDtype) {
  const std::string p = good_file();
  {
    H5::H5File h(p, H5F_ACC_RDWR);
    h.unlink("/cases/a/page_ids");
    hsize_t n = 4;
    H5::DataSet d = h.createDataSet("/cases/a/page_ids", H5::PredType::IEEE_F64LE, H5::DataSpace(1, &n));
    const double v[4] = {0, 1, 2, 3};
    d.write(v, H5::PredType::NATIVE_DOUBLE);
  }
  forget_file_checksum(p);
  expect_error(p, {"case 'a'", "dataset 'page_ids'", "dtype float64, expected int64"});
}

TEST_F(GoldenIo, WrongShape) {
  const std::string p = good_file();
  {
    H5::H5File h(p, H5F_ACC_RDWR);
    h.unlink("/cases/a/page_ids");
    hsize_t n = 3;
    H5::DataSet d = h.createDataSet("/cases/a/page_ids", H5::PredType::STD_I64LE, H5::DataSpace(1, &n));
    const int64_t v[3] = {0, 1, 2};
    d.write(v, H5::PredType::NATIVE_INT64);
    H5::StrType st(H5::PredType::C_S1, H5T_VARIABLE);
    d.createAttribute("role", st, H5::DataSpace(H5S_SCALAR)).write(st, std::string("meta"));
    d.createAttribute("sha256", st, H5::DataSpace(H5S_SCALAR))
        .write(st, sha256_hex({reinterpret_cast<const uint8_t*>(v), sizeof v}));
  }
  forget_file_checksum(p);
  expect_error(p, {"case 'a'", "dataset 'page_ids'", "length differs"});
}

// Shapes are checked against the case attributes, not only against each other.
TEST_F(GoldenIo, ShapeInconsistentWithAttributes) {
  const std::string p = good_file();
  {  // claim a larger page stride than the stored cache rows have
    H5::H5File h(p, H5F_ACC_RDWR);
    H5::Attribute a = h.openGroup("/cases/a").openAttribute("page_stride");
    const int64_t v = 4096;
    a.write(H5::PredType::NATIVE_INT64, &v);
  }
  forget_file_checksum(p);
  expect_error(p, {"case 'a'", "dataset 'cache'", "shape [4, 576], expected [*, 4096]"});
  Case c = quant_case("a");
  c.info.head_dim = 16;  // still fits the page stride (16 * (16 + 4) <= 576): only the k_source shape is wrong
  c.info.quant_block = 16;
  try {
    validate_case(c, FileKind::golden, "x.h5");
    FAIL();
  } catch (const GoldenError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset 'k_source': shape [61, 32], expected [*, 16]"), std::string::npos)
        << e.what();
  }
}

TEST_F(GoldenIo, ChecksumMismatch) {
  const std::string p = good_file();
  {  // Flip one byte of the cache without updating its checksum.
    H5::H5File h(p, H5F_ACC_RDWR);
    H5::DataSet d = h.openDataSet("/cases/big/cache");
    H5::DataSpace fs = d.getSpace();
    hsize_t start[2] = {100, 7}, count[2] = {1, 1};
    fs.selectHyperslab(H5S_SELECT_SET, count, start);
    uint8_t v = 0x42;
    H5::DataSpace ms(1, count);
    d.write(&v, H5::PredType::NATIVE_UINT8, ms, fs);
  }
  forget_file_checksum(p);
  expect_error(p, {"case 'big'", "dataset 'cache'", "checksum mismatch"});
  // Without verification the same file reads (the flag exists for forensic use only).
  EXPECT_NO_THROW(read_file(p, ReadOptions{false, true}));
}

TEST_F(GoldenIo, NotAGoldenSchema) {
  { H5::H5File h(path("other.h5"), H5F_ACC_TRUNC); h.createGroup("cases"); }
  expect_error(path("other.h5"), {"other.h5", "attribute 'schema' missing"});
}

TEST_F(GoldenIo, ValidateRejectsBadCases) {
  Case c = quant_case("a");
  c.data["cache"].compare.clear();
  EXPECT_THROW(validate_case(c, FileKind::golden), GoldenError);
  c = quant_case("a");
  c.data["unknown"] = Array::of<int32_t>({1}, std::vector<int32_t>{1}, Role::input);
  EXPECT_THROW(validate_case(c, FileKind::golden), GoldenError);
  c = quant_case("a/b");
  EXPECT_THROW(validate_case(c, FileKind::golden), GoldenError);
  c = quant_case("a");
  c.data["cache"].encoding = "e4m3fnuz";
  EXPECT_THROW(validate_case(c, FileKind::golden), GoldenError);
}

}  // namespace
