// The stored corpus (golden/data/*.h5) must be exactly what the current reference produces:
// every case is regenerated in memory from its descriptor and compared dataset by dataset,
// bit for bit. A change of the reference's bits fails here until the corpus is regenerated on
// purpose (golden/SCHEMA.md, "Regenerating the corpus").
#include <gtest/gtest.h>

#include <filesystem>

#include "mqa/golden_cases.hpp"

using namespace mqa::golden;

namespace {

std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(MQA_GOLDEN_DATA_DIR))
    if (e.path().extension() == ".h5") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(GoldenCorpus, HoldsTheThreeSuitesWithinBudget) {
  uintmax_t total = 0;
  std::vector<std::string> names;
  for (const auto& f : corpus_files()) {
    total += std::filesystem::file_size(f);
    names.push_back(std::filesystem::path(f).stem().string());
  }
  for (const auto& s : suite_names()) EXPECT_NE(std::find(names.begin(), names.end(), s), names.end()) << s;
  EXPECT_LE(total, uintmax_t(20) << 20) << "the corpus must stay under ~20 MB";
}

TEST(GoldenCorpus, SuitesMatchTheBuiltInLists) {
  for (const auto& s : suite_names()) {
    const File f = read_file(std::string(MQA_GOLDEN_DATA_DIR) + "/" + s + ".h5");
    const auto lines = builtin_suite(s);
    ASSERT_EQ(f.cases.size(), lines.size()) << s << ": regenerate the corpus after editing the suite";
    for (size_t i = 0; i < lines.size(); ++i)
      EXPECT_EQ(f.cases[i].name, case_name(s, i));
  }
}

TEST(GoldenCorpus, RegeneratesBitIdentical) {
  int cases = 0, datasets = 0;
  for (const auto& path : corpus_files()) {
    const File f = read_file(path);  // also verifies every checksum
    for (const Case& stored : f.cases) {
      const Case fresh = generate_case(stored.name, stored.info.descriptor);
      ++cases;
      EXPECT_EQ(fresh.info.descriptor, stored.info.descriptor) << path << " " << stored.name;
      EXPECT_EQ(fresh.info.page_stride, stored.info.page_stride) << stored.name;
      EXPECT_EQ(fresh.info.logits_row_stride, stored.info.logits_row_stride) << stored.name;
      EXPECT_EQ(fresh.data.size(), stored.data.size()) << path << " " << stored.name;
      for (const auto& [name, a] : stored.data) {
        auto it = fresh.data.find(name);
        ASSERT_NE(it, fresh.data.end()) << stored.name << "/" << name << " no longer generated";
        const Array& b = it->second;
        ++datasets;
        EXPECT_EQ(b.dtype, a.dtype) << stored.name << "/" << name;
        EXPECT_EQ(b.shape, a.shape) << stored.name << "/" << name;
        EXPECT_EQ(b.compare, a.compare) << stored.name << "/" << name;
        EXPECT_TRUE(b.bytes == a.bytes) << path << ": " << stored.name << "/" << name
                                        << " differs from the current reference: if intended, regenerate the corpus"
                                           " (golden/SCHEMA.md) and review the listed changes";
      }
    }
  }
  EXPECT_GT(cases, 30);
  std::printf("regenerated %d cases, %d datasets, all bit-identical\n", cases, datasets);
}

}  // namespace
