// Hostile descriptors (issue "Hostile files and inputs", item 6): each is refused before anything
// is allocated, with the field named; none crashes, hangs or exhausts memory. The tests of the
// algorithms that were quadratic read a clock with a generous bound (60 s; the old ones ran for
// hours), so that a return of the quadratic loop fails here rather than in CTest's timeout.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>

#include "../../cases/src/case_values.hpp"  // the RNG stream of padding slots (kStreamPadSlots)
#include "mqa/case.hpp"
#include "mqa/validate.hpp"

using namespace mqa;

namespace {

const std::string kBase =
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 next_n=1 lens=1d:[17,5] pages=auto stride=natural "
    "max_blocks=auto table=perm tpad=0 pad_slots=0 max_ctx=auto out_pad=0 enc=e4m3fn quant=exact ue8m0=0 "
    "profile=exact clean=0 dist=randn M=0 ranges=causal topk=8 seed=0x1";

std::string with(const std::string& key, const std::string& value) {
  return std::regex_replace(kBase, std::regex(" " + key + "=[^ ]*"), " " + key + "=" + value);
}

}  // namespace

TEST(CaseLimits, HostileDescriptorsAreRefusedNamingTheField) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"lens", "1d:[]", "lens"},                        // no sequence (segfaulted)
      {"stride", "4611686018427387904", "stride"},      // 2^62 (overflowed to a 0-byte pool)
      {"pages", "1000000000000", "pages"},              // past int32 page ids (blamed a table entry)
      {"pages", "9223372036854775807", "pages"},
      {"lens", "1d:[2147483647]", "lens"},              // 2^31 tokens (hung)
      {"topk", "2147483647", "topk"},                   // 16 GiB of top-k (bad_alloc)
      {"max_ctx", "2147483647", "max_ctx"},             // 2^31 columns
      {"out_pad", "2147483647", "out_pad"},
      {"pad_slots", "100000000", "pad_slots"},          // O(n^2) padding insertion (hung)
  };
  for (const auto& [key, value, field] : cases) {
    try {
      (void)materialize(parse_case(with(key, value)));
      ADD_FAILURE() << key << "=" << value << " accepted";
    } catch (const InvalidInput& e) {
      EXPECT_EQ(e.field(), field) << key << "=" << value << ": " << e.what();
    }
  }
  // A huge table width with padding: refused (named), not an int32 overflow or bad_alloc.
  try {
    (void)materialize(parse_case(std::regex_replace(with("max_blocks", "2147483647"), std::regex(" tpad=0"), " tpad=1")));
    ADD_FAILURE() << "max_blocks=2^31-1 accepted";
  } catch (const InvalidInput& e) {
    EXPECT_EQ(e.field(), "max_blocks") << e.what();
  }
  EXPECT_NO_THROW((void)materialize(parse_case(kBase)));  // the base case itself is fine
}

// More classes of the same issue: rows (ragged M, next_n), q and weights (H), and the written
// tokens of 2-D lens (a sequence writes its longest row, not the mean of its rows).
TEST(CaseLimits, RowsHeadsAndTwoDimensionalLensAreBounded) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      // 10M query rows (the O(M^2) causal split hung; now a limit of 2^20 rows)
      {"op=ragged_logits B=16 D=32 Qb=32 H=8 lens=1d:[17,5] M=10000000 topk=8", "M", "logits rows"},
      {"op=paged_logits B=16 D=32 Qb=32 H=8 next_n=2000000 lens=1d:[1] topk=8", "next_n", "logits rows"},
      // q [rows, H, D] and weights [rows, H] were not counted: 2^31 heads tried 256 GiB
      {"op=paged_logits B=16 D=128 Qb=128 H=2147483647 lens=1d:[1] topk=8", "H", "MQA_CASE_BYTES_LIMIT"},
      // 2^26 + 1 tokens in one 2-D row: the mean (2^25) passed the token limit
      {"op=paged_logits B=16 D=32 Qb=32 H=8 next_n=2 lens=2d:[67108865,0] topk=8", "lens", "may write at most"},
  };
  for (const auto& [line, field, why] : cases) {
    try {
      (void)materialize(parse_case(line), false);
      ADD_FAILURE() << line << " accepted";
    } catch (const InvalidInput& e) {
      EXPECT_EQ(e.field(), field) << line << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << line << ": " << e.what();
    }
  }
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// Padding slots: placed in O((T + P) log) (a Fenwick tree), exactly where the definition puts
// them: pad i is inserted at below(T + i + 1) of the mapping as it stands (golden files depend on it).
TEST(CaseLimits, PaddingSlotsLandWhereSequentialInsertionPutsThem) {
  const std::vector<std::tuple<std::string, int32_t, uint64_t>> cases = {
      {"[20]", 3, 0x106}, {"[0]", 5, 1}, {"[1]", 1, 2}, {"[40,7]", 4, 0x20d}, {"[70,1]", 5, 0x212},
      {"[300,0,129]", 700, 9}, {"[2000]", 2000, 0xfeed}, {"[5]", 64, 77},
  };
  for (const auto& [lens, pads, seed] : cases) {
    const std::string line = "op=gather layout=standard B=16 D=32 Qb=32 lens=1d:" + lens +
                             " pad_slots=" + std::to_string(pads) + " dist=friendly seed=" + std::to_string(seed);
    const CaseTensors t = materialize(parse_case(line));
    int64_t real = 0;
    for (int64_t s : t.slots) real += s >= 0;
    std::vector<char> naive(size_t(real), 0);  // the definition: one vector insert per pad
    const CounterRng rng{seed};
    for (int32_t i = 0; i < pads; ++i) {
      const size_t at = size_t(rng.below(casegen::kStreamPadSlots, uint64_t(i), uint32_t(naive.size() + 1)));
      naive.insert(naive.begin() + std::ptrdiff_t(at), 1);
    }
    ASSERT_EQ(t.slots.size(), naive.size()) << line;
    for (size_t k = 0; k < naive.size(); ++k) ASSERT_EQ(t.slots[k] < 0, naive[k] == 1) << line << " at " << k;
  }
  // 2^20 pads among 2^20 tokens: one vector insert per pad moved ~10^13 bytes (hours)
  const auto t0 = std::chrono::steady_clock::now();
  const CaseTensors big = materialize(
      parse_case("op=gather layout=standard B=16 D=16 Qb=16 lens=1d:[1048576] pad_slots=1048576 dist=friendly"), false);
  EXPECT_EQ(big.num_tokens(), 2 * 1048576);
  EXPECT_LT(seconds_since(t0), 60.0) << "padding placement is not linear-logarithmic";
}

// Ragged causal ranges: rows split over sequences in O(M) (the per-row scan of M rows was
// O(M^2): M = 10^6 hung), the same ranges as the scan gave.
TEST(CaseLimits, RaggedCausalRangesAreLinearAndUnchanged) {
  for (const auto& [lens, M] : std::vector<std::pair<std::vector<int32_t>, int32_t>>{
           {{20, 9}, 12}, {{17, 5, 9}, 7}, {{3}, 1}, {{0, 4, 0, 8}, 9}, {{1, 1, 1, 1, 1}, 2}, {{33}, 40}}) {
    std::string l;
    for (int32_t x : lens) {  // (not `l += sep + to_string(x)`: g++ 12 warns falsely, -Wrestrict)
      if (!l.empty()) l += ',';
      l += std::to_string(x);
    }
    const std::string line = "op=ragged_logits B=16 D=32 Qb=32 H=8 lens=1d:[" + l + "] M=" + std::to_string(M) + " topk=4";
    const CaseTensors t = materialize(parse_case(line), false);
    const int32_t batch = int32_t(lens.size());
    std::vector<int64_t> cu(size_t(batch) + 1, 0);
    for (int32_t b = 0; b < batch; ++b) cu[size_t(b) + 1] = cu[size_t(b)] + lens[size_t(b)];
    ASSERT_EQ(t.ks.size(), size_t(M)) << line;
    for (int32_t i = 0; i < M; ++i) {  // the scan it replaced
      const int32_t b = int32_t(int64_t(i) * batch / M);
      int32_t first = 0;
      while (int64_t(first) * batch / M < b) ++first;
      int32_t count = first;
      while (count < M && int64_t(count) * batch / M == b) ++count;
      count -= first;
      const int64_t s = cu[size_t(b)], e = std::max(s, cu[size_t(b) + 1] - (count - 1 - (i - first)));
      EXPECT_EQ(t.ks[size_t(i)], s) << line << " row " << i;
      EXPECT_EQ(t.ke[size_t(i)], e) << line << " row " << i;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const CaseTensors big =
      materialize(parse_case("op=ragged_logits B=16 D=32 Qb=32 H=1 lens=1d:[17,5,9] M=1000000 topk=1"), false);
  EXPECT_EQ(big.ks.size(), size_t(1000000));
  EXPECT_LT(seconds_since(t0), 60.0) << "the causal split is not linear in M";
}

// What a path is when it is not a file we can read (the golden reader, case lists and fuzz
// results were told "no such file" for all of these, or blocked reading a FIFO or /dev/zero).
TEST(CaseLimits, InputFilesThatAreNotRegularFilesAreNamed) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("mqa_input_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "sub");
  std::filesystem::create_symlink(dir / "loop", dir / "loop");
  std::filesystem::create_symlink(dir / "absent", dir / "dangling");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  { std::ofstream(dir / "small") << std::string(100, 'x'); }
  EXPECT_EQ(input_file_problem((dir / "sub").string()), "is a directory");
  EXPECT_EQ(input_file_problem((dir / "loop").string()), "is a symbolic link loop");
  EXPECT_EQ(input_file_problem((dir / "dangling").string()), "is a dangling symbolic link");
  EXPECT_EQ(input_file_problem((dir / "fifo").string()), "is a FIFO (named pipe), not a regular file");
  EXPECT_EQ(input_file_problem("/dev/zero"), "is a character device (like /dev/zero), not a regular file");
  EXPECT_EQ(input_file_problem((dir / "missing").string()), "does not exist");
  EXPECT_EQ(input_file_problem((dir / "small" / "x").string()), "does not exist (a component of the path is not a directory)");
  EXPECT_EQ(input_file_problem((dir / "small").string()), "");
  EXPECT_EQ(check_input_file("golden", (dir / "small").string()), 100);  // its real size
  try {
    (void)check_input_file("golden", (dir / "small").string(), 64);
    ADD_FAILURE() << "a 100-byte file passed a 64-byte limit";
  } catch (const InvalidInput& e) {
    EXPECT_EQ(e.field(), "golden");
    EXPECT_NE(std::string(e.what()).find("has 100 bytes"), std::string::npos) << e.what();
  }
  try {
    (void)check_input_file("cases", "/dev/zero");
    ADD_FAILURE() << "/dev/zero accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("character device"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}
