// Range checks of what a golden says (issue 13: `heads=-1` in a golden passed; top-k indices of
// 0x7FFFFFF0 or -2^30 crashed the comparator): every attribute that sizes or indexes something,
// and every integer that indexes other data, is checked before use; `verify` and `inspect` refuse
// such a file with exit 2 and a message naming the file, the case, the attribute or element and
// its value. Each file is a stored smoke golden edited with HDF5 and stamped again with a valid
// header (the checksum is no secret), its dataset checksums updated, so only the range checks can
// refuse it. The Python reader's side of the same files: tests/golden/test_hostile_corpus.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "golden_cli_run.hpp"
#include "golden_test_util.hpp"

using namespace mqa::golden;
using namespace mqa::golden::testing;

namespace {

bool has(const std::string& s, const std::string& frag) { return s.find(frag) != std::string::npos; }

class Ranges : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    smoke = (dir / "smoke.h5").string();
    std::filesystem::copy_file(std::string(MQA_GOLDEN_DATA_DIR) + "/smoke.h5", smoke);
    const File f = read_file(smoke);
    for (const Case& c : f.cases) {
      if (paged.empty() && c.info.op == "paged_logits" && !c.info.lens_2d && c.info.batch > 1) paged = c.name;
      if (ragged.empty() && c.info.op == "ragged_logits") ragged = c.name;
      if (gather.empty() && c.info.op == "gather") gather = c.name;
    }
    ASSERT_FALSE(paged.empty() || ragged.empty() || gather.empty());
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  void set_attr(const std::string& c, const char* name, int64_t v) {
    {
      H5::H5File h(smoke, H5F_ACC_RDWR);
      h.openGroup("/cases/" + c).openAttribute(name).write(H5::PredType::NATIVE_INT64, &v);
    }
    restamp_file_checksum(smoke);
  }

  // Rewrites /cases/<c>/<name> (elements of type T) through `edit`, with its sha256 updated.
  template <class T>
  void edit(const std::string& c, const std::string& name, const H5::PredType& type,
            const std::function<void(std::vector<T>&)>& change) {
    {
      H5::H5File h(smoke, H5F_ACC_RDWR);
      H5::DataSet d = h.openDataSet("/cases/" + c + "/" + name);
      std::vector<T> v(size_t(d.getSpace().getSimpleExtentNpoints()));
      d.read(v.data(), type);
      change(v);
      d.write(v.data(), type);
      const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T));
      H5::Attribute sum = d.openAttribute("sha256");
      sum.write(sum.getStrType(), sha256_hex(bytes));  // its own string type (UTF-8, variable length)
    }
    restamp_file_checksum(smoke);
  }

  // `inspect` and `verify` (the golden against itself: read first, refused first) exit 2 naming it.
  void refused(const std::string& fragment) {
    for (const char* cmd : {"inspect", "verify"}) {
      const CliRun r = std::string(cmd) == "inspect" ? golden({"inspect", smoke}) : golden({"verify", smoke, smoke});
      EXPECT_EQ(r.rc, 2) << cmd << ": " << r.out << r.err;
      EXPECT_TRUE(has(r.err, smoke + ": " + fragment)) << cmd << ": " << r.err << "\n  lacks: " << fragment;
    }
  }

  std::filesystem::path dir;
  std::string smoke, paged, ragged, gather;
};

TEST_F(Ranges, TheStoredGoldenPassesAsItIs) { EXPECT_EQ(golden({"inspect", smoke}).rc, 0); }

struct AttrCase {
  const char* op;  // "paged", "ragged" or "gather": which case is edited
  const char* name;
  int64_t value;
  const char* why;
};

TEST_F(Ranges, AttributesThatSizeOrIndexAreRangeChecked) {
  const AttrCase cases[] = {
      {"paged", "heads", -1, "must be >= 1"},
      {"paged", "heads", 0, "must be >= 1"},
      {"gather", "heads", 8, "must be 0 (a gather case has none)"},
      {"paged", "head_dim", -32, "must be >= 1"},
      {"paged", "quant_block", 0, "must be >= 1 and divide head_dim"},
      {"paged", "quant_block", 48, "must be >= 1 and divide head_dim"},
      {"paged", "page_size", -1, "must be >= 1"},
      {"paged", "page_stride", 8, "smaller than one page, page_size * (head_dim + 4 * head_dim / quant_block) = "},
      {"paged", "page_stride", int64_t(1) << 62, "must be in [1, 2^32] bytes"},
      {"paged", "num_pages", -1, "must be in [0, 2^31 - 1]"},
      {"paged", "num_pages", int64_t(1) << 40, "must be in [0, 2^31 - 1]"},
      {"paged", "next_n", 0, "must be >= 1"},
      {"ragged", "next_n", 2, "must be 1 (only paged_logits has next_n > 1)"},
      {"paged", "batch", -1, "must be >= 1"},
      {"paged", "batch", 0, "must be >= 1"},
      {"paged", "rows", 100000, "expected batch * next_n"},
      {"ragged", "rows", -5, "must be in [0, 2^20]"},
      {"paged", "logits_cols", -1, "must be in [0, 2^31 - 1]"},
      {"paged", "logits_row_stride", 1, "must be in [logits_cols = "},
      {"paged", "topk", 0, "must be >= 1"},
      {"paged", "topk", -1, "must be >= 1"},
      {"gather", "topk", 4, "must be 0 (a gather case has none)"},
      {"paged", "cache_fill", 256, "must be a byte, in [0, 255]"},
      {"paged", "lens_2d", 7, "expected 0 or 1"},
      {"gather", "lens_2d", 1, "2-D lengths exist only for paged_logits"},
      {"paged", "logits_sentinel", -1, "must be a float's bits"},
      {"paged", "heads", int64_t(1) << 40, "out of int32 range"},
  };
  for (const AttrCase& a : cases) {
    SetUp();  // a fresh copy for each edit
    const std::string c = std::string(a.op) == "paged" ? paged : std::string(a.op) == "ragged" ? ragged : gather;
    set_attr(c, a.name, a.value);
    SCOPED_TRACE(std::string(a.name) + " = " + std::to_string(a.value));
    refused("case '" + c + "': attribute " + a.name + " = " + std::to_string(a.value) + ": " + a.why);
  }
}

TEST_F(Ranges, BlockTableEntriesTheLengthsNeedAreStoredPages) {
  edit<int32_t>(paged, "block_table", H5::PredType::NATIVE_INT32, [](std::vector<int32_t>& v) { v[0] = 0x7FFFFFF0; });
  refused("case '" + paged + "': dataset 'block_table': block_table[0][0] = 2147483632: needed by the ");
}

TEST_F(Ranges, ContextLengthsAreInRange) {
  for (int32_t L : {-1, int32_t(0x7FFFFFF0)}) {
    SetUp();
    edit<int32_t>(paged, "context_lens", H5::PredType::NATIVE_INT32, [&](std::vector<int32_t>& v) { v[1] = L; });
    refused("case '" + paged + "': dataset 'context_lens': context_lens[1] = " + std::to_string(L) +
            (L < 0 ? ": negative length" : ": past logits_cols = max_context_len"));
  }
}

// The comparator reads golden logits through the golden's top-k indices (issue 13: these crashed
// compare_topk or read out of bounds); the reader refuses them first, `inspect` too.
TEST_F(Ranges, TopkIndicesAreValidColumnsOrPadding) {
  for (int32_t t : {int32_t(0x7FFFFFF0), -1, -(int32_t(1) << 30)}) {
    SetUp();
    edit<int32_t>(paged, "topk", H5::PredType::NATIVE_INT32, [&](std::vector<int32_t>& v) { v[0] = t; });
    refused("case '" + paged + "': dataset 'topk': topk[0][0] = " + std::to_string(t) +
            ": must be a valid column of row 0, in [");
  }
}

TEST_F(Ranges, PageIdsSlotsRangesAndRegionsAreInRange) {
  edit<int64_t>(gather, "page_ids", H5::PredType::NATIVE_INT64, [](std::vector<int64_t>& v) { v[0] = -2; });
  refused("case '" + gather + "': dataset 'page_ids': page_ids[0] = -2: outside [0, num_pages = ");
  SetUp();
  edit<int64_t>(gather, "page_ids", H5::PredType::NATIVE_INT64, [](std::vector<int64_t>& v) { v[1] = v[0]; });
  refused("case '" + gather + "': dataset 'page_ids': page ");
  SetUp();
  edit<int64_t>(gather, "slot_mapping", H5::PredType::NATIVE_INT64,
                [](std::vector<int64_t>& v) { v[0] = int64_t(1) << 40; });
  refused("case '" + gather + "': dataset 'slot_mapping': slot_mapping[0] = 1099511627776: past the pool's");
  SetUp();
  edit<int32_t>(ragged, "ke", H5::PredType::NATIVE_INT32, [](std::vector<int32_t>& v) { v[0] = 1 << 30; });
  refused("case '" + ragged + "': dataset 'ke': ke[0] = 1073741824: beyond N = logits_cols = ");
  SetUp();
  edit<int32_t>(ragged, "ks", H5::PredType::NATIVE_INT32, [](std::vector<int32_t>& v) { v[0] = -7; });
  refused("case '" + ragged + "': dataset 'ks': ks[0] = -7: negative");
  SetUp();
  edit<int64_t>(paged, "logits_regions", H5::PredType::NATIVE_INT64, [](std::vector<int64_t>& v) { v[1] = -3; });
  refused("case '" + paged + "': dataset 'logits_regions': row 0 = (");
}

}  // namespace
