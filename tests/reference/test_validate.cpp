// Every validation error names the field and the value.
#include <gtest/gtest.h>

#include <cmath>

#include "mqa/kcache.hpp"
#include "mqa/validate.hpp"

using namespace mqa;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(Validate, PageSizesTheLayoutCannotTake) {
  EXPECT_EQ(error_of([] { validate_page_layout({PageLayoutKind::preshuffle16, 40, 128, 128}); }),
            "invalid page_size = 40: the preshuffle16 layout needs a multiple of 16");
  EXPECT_EQ(error_of([] { validate_page_layout({PageLayoutKind::preshuffle16, 1, 128, 128}); }),
            "invalid page_size = 1: the preshuffle16 layout needs a multiple of 16");
  EXPECT_EQ(error_of([] { validate_page_layout({PageLayoutKind::standard, 0, 128, 128}); }),
            "invalid page_size = 0: must be >= 1");
  EXPECT_EQ(error_of([] { validate_page_layout({PageLayoutKind::standard, 1, 128, 128}); }), "<no error>");
}

TEST(Validate, HeadDimAndQuantBlock) {
  EXPECT_EQ(error_of([] { validate_page_layout({PageLayoutKind::preshuffle16, 64, 40, 40}); }),
            "invalid head_dim = 40: the preshuffle16 layout needs a multiple of 16");
  EXPECT_EQ(error_of([] { validate_page_layout({PageLayoutKind::standard, 64, 128, 48}); }),
            "invalid quant_block = 48: must divide head_dim = 128");
}

TEST(Validate, CacheStrideAndSize) {
  const PageLayout p{PageLayoutKind::standard, 64, 128, 128};
  EXPECT_EQ(error_of([&] { validate_cache({p, 8000, 4}); }),
            "invalid page_stride = 8000: smaller than one page (8448 bytes)");
  EXPECT_EQ(error_of([&] { validate_cache({p, 8450, 4}); }), "invalid page_stride = 8450: must be a multiple of 4");
  EXPECT_EQ(error_of([&] { validate_cache({p, 8448, 4}, 100); }),
            "invalid cache.bytes = 100: expected num_pages * page_stride = 33792");
}

TEST(Validate, SlotBeyondThePool) {
  KCache cache({{PageLayoutKind::standard, 16, 32, 32}, 576, 2}, 0);
  const std::vector<float> k(64, 1.0f);
  const std::vector<int64_t> slots = {3, 32};
  EXPECT_EQ(error_of([&] { quantize_and_cache(k, slots, {}, cache.ref()); }),
            "invalid slot_mapping[1] = 32: beyond the pool of 32 slots (2 pages of 16)");
}

TEST(Validate, NonFiniteKWouldGiveANaNScale) {
  KCache cache({{PageLayoutKind::standard, 16, 32, 32}, 576, 2}, 0);
  std::vector<float> k(32, 1.0f);
  k[7] = NAN;
  const std::vector<int64_t> slots = {3};
  EXPECT_EQ(error_of([&] { quantize_and_cache(k, slots, {}, cache.ref()); }),
            "invalid k[0][7] = nan: not finite: the scale would be NaN");
  const std::vector<int64_t> skip = {-1};  // a skipped token is never read
  EXPECT_EQ(error_of([&] { quantize_and_cache(k, skip, {}, cache.ref()); }), "<no error>");
}

TEST(Validate, AViewMustCoverItsPool) {
  KCache cache({{PageLayoutKind::standard, 16, 32, 32}, 576, 2}, 0);
  const std::vector<float> k(32, 1.0f);
  const std::vector<int64_t> slots = {3};
  KCacheRef short_ref = cache.ref();
  short_ref.size -= 4;
  EXPECT_EQ(error_of([&] { quantize_and_cache(k, slots, {}, short_ref); }),
            "invalid cache.bytes = 1148: expected num_pages * page_stride = 1152");
  const int32_t table[] = {0};
  const std::vector<int32_t> lens = {1};
  EXPECT_EQ(error_of([&] { gather_k_cache(short_ref, {table, 1, 1, 1}, lens); }),
            "invalid cache.bytes = 1148: expected num_pages * page_stride = 1152");
  EXPECT_EQ(error_of([&] { gather_k_cache(cache.view(), {table, 1, 1, 1}, lens); }), "<no error>");
}

TEST(Validate, BlockTableEntriesAndLengths) {
  const int32_t table[] = {0, 1, -1, 4, 2, 0};  // [2, 3]
  const BlockTableView t{table, 2, 3, 3};
  std::vector<int32_t> lens = {32, 20};
  EXPECT_EQ(error_of([&] { validate_table_for_lengths(t, lens, 16, 4); }),
            "invalid block_table[1][0] = 4: needed by context_lens[1] = 20 but >= num_pages = 4");
  lens = {33, 0};
  EXPECT_EQ(error_of([&] { validate_table_for_lengths(t, lens, 16, 8); }),
            "invalid block_table[0][2] = -1: needed by context_lens[0] = 33 but unset (negative)");
  lens = {-1, 0};
  EXPECT_EQ(error_of([&] { validate_table_for_lengths(t, lens, 16, 8); }),
            "invalid context_lens[0] = -1: negative length");
  lens = {0, 49};
  EXPECT_EQ(error_of([&] { validate_table_for_lengths(t, lens, 16, 8); }),
            "invalid context_lens[1] = 49: beyond the block table's capacity of 48 tokens (3 blocks of 16)");
  lens = {32, 0};  // the -1 at [0][2] is past ceil(32/16): never read
  EXPECT_EQ(error_of([&] { validate_table_for_lengths(t, lens, 16, 8); }), "<no error>");
}

TEST(Validate, GatherValidatesBeforeReading) {
  KCache cache({{PageLayoutKind::preshuffle16, 16, 32, 32}, 576, 2}, 0);
  const int32_t table[] = {1, 5};
  const std::vector<int32_t> lens = {17};
  EXPECT_EQ(error_of([&] { gather_k_cache(cache.view(), {table, 1, 2, 2}, lens); }),
            "invalid block_table[0][1] = 5: needed by lens[0] = 17 but >= num_pages = 2");
}

TEST(Validate, NamesOfEnumerations) {
  EXPECT_EQ(error_of([] { page_layout_from_string("shuffled"); }),
            "invalid layout = 'shuffled': expected 'standard' or 'preshuffle16'");
  EXPECT_EQ(error_of([] { fp8_encoding_from_string("e5m2"); }), "invalid encoding = 'e5m2': expected e4m3fn or e4m3fnuz");
  EXPECT_EQ(error_of([] { quant_variant_from_string("torch"); }),
            "invalid quant_variant = 'torch': expected exact, vllm, aiter or sglang");
}
