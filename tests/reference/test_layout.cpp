// The addressing library: bijection, inverse, naive formula, the worked example, 64-bit offsets.
#include <gtest/gtest.h>

#include <vector>

#include "mqa/layout.hpp"
#include "mqa/layout_print.hpp"

using namespace mqa;

namespace {

// The preshuffle formula as layouts.md writes it, kept apart from the library on purpose.
int64_t naive_preshuffle(int64_t t, int64_t d, int64_t D) {
  return (t / 16) * 16 * D + (d / 16) * 256 + (t % 16) * 16 + (d % 16);
}

}  // namespace

TEST(Layout, WorkedExampleOfTheSpec) {
  const PageLayout shuf{PageLayoutKind::preshuffle16, 16, 32, 32};
  const PageLayout std_{PageLayoutKind::standard, 16, 32, 32};
  EXPECT_EQ(shuf.value_offset(1, 0), 16);
  EXPECT_EQ(shuf.value_offset(0, 16), 256);
  EXPECT_EQ(shuf.value_offset(15, 31), 511);
  EXPECT_EQ(std_.value_offset(1, 0), 32);
  EXPECT_EQ(std_.value_offset(0, 16), 16);
  EXPECT_EQ(std_.value_offset(15, 31), 511);
  EXPECT_EQ((PageLayout{PageLayoutKind::standard, 64, 128, 128}.natural_page_bytes()), 8448);
}

TEST(Layout, BijectionInverseAndNaiveFormulaOverWholePages) {
  for (int32_t B = 16; B <= 512; B += 16)
    for (int32_t D : {32, 64, 128})
      for (PageLayoutKind kind : {PageLayoutKind::standard, PageLayoutKind::preshuffle16}) {
        const PageLayout p{kind, B, D, D};
        std::vector<uint8_t> hit(size_t(p.natural_page_bytes()), 0);
        for (int32_t t = 0; t < B; ++t) {
          for (int32_t d = 0; d < D; ++d) {
            const int64_t off = p.value_offset(t, d);
            const int64_t want = kind == PageLayoutKind::standard ? int64_t(t) * D + d : naive_preshuffle(t, d, D);
            ASSERT_EQ(off, want) << "B=" << B << " D=" << D << " t=" << t << " d=" << d;
            ASSERT_LT(off, p.value_bytes());
            ASSERT_EQ(hit[size_t(off)]++, 0) << "two values share byte " << off;
            const PageCoord c = p.locate(off);
            ASSERT_EQ(c.kind, PageCoord::value);
            ASSERT_EQ(c.slot, t);
            ASSERT_EQ(c.index, d);
          }
          const int64_t s = p.scale_offset(t, 0);
          for (int k = 0; k < 4; ++k) {
            ASSERT_EQ(hit[size_t(s + k)]++, 0);
            const PageCoord c = p.locate(s + k);
            ASSERT_EQ(c.kind, PageCoord::scale);
            ASSERT_EQ(c.slot, t);
            ASSERT_EQ(c.byte, k);
          }
        }
        for (uint8_t h : hit) ASSERT_EQ(h, 1);  // onto: every byte of the page is used once
      }
}

TEST(Layout, PreshuffleIsTheStandardLayoutOfTransposedTiles) {
  // Inside one group of 16 slots, tile j holds bytes [16j, 16j+16) of the 16 tokens, row-major.
  const PageLayout p{PageLayoutKind::preshuffle16, 64, 128, 128};
  for (int32_t t = 0; t < 64; ++t)
    for (int32_t d = 0; d < 128; ++d) {
      const int64_t group = t / 16, tile = d / 16;
      EXPECT_EQ(p.value_offset(t, d), group * 2048 + tile * 256 + (t % 16) * 16 + d % 16);
    }
}

TEST(Layout, QuantBlocksGiveSeveralScalesPerToken) {
  const PageLayout p{PageLayoutKind::standard, 16, 128, 32};
  EXPECT_EQ(p.scales_per_token(), 4);
  EXPECT_EQ(p.scale_offset(0, 0), 16 * 128);
  EXPECT_EQ(p.scale_offset(1, 2), 16 * 128 + 4 * (4 + 2));
  const PageCoord c = p.locate(p.scale_offset(3, 1) + 2);
  EXPECT_EQ(c.kind, PageCoord::scale);
  EXPECT_EQ(c.slot, 3);
  EXPECT_EQ(c.index, 1);
  EXPECT_EQ(c.byte, 2);
}

TEST(Layout, PagedViewUses64BitOffsetsPastFourGiB) {
  const PagedCacheLayout cache{{PageLayoutKind::preshuffle16, 64, 128, 128}, 8448, 600000};
  const int32_t table[] = {3, 70000, 599999};
  const PagedView v{cache, BlockTableView{table, 1, 3, 3}};
  const int64_t off = v.value_byte(0, 64 + 17, 33);  // page 70000, slot 17, byte 33
  EXPECT_EQ(off, int64_t(70000) * 8448 + naive_preshuffle(17, 33, 128));
  EXPECT_GT(off, int64_t(1) << 32 >> 3);
  const int64_t far = v.scale_byte(0, 128 + 63, 0);
  EXPECT_EQ(far, int64_t(599999) * 8448 + 64 * 128 + 4 * 63);
  EXPECT_GT(far, int64_t(1) << 32);
  const CacheCoord c = cache.locate(far);
  EXPECT_EQ(c.page, 599999);
  EXPECT_EQ(c.in_page.kind, PageCoord::scale);
  EXPECT_EQ(c.in_page.slot, 63);
  const CacheCoord pad = PagedCacheLayout{cache.page, 8464, 2}.locate(8464 + 8450);
  EXPECT_EQ(pad.page, 1);
  EXPECT_EQ(pad.in_page.kind, PageCoord::padding);
  EXPECT_EQ(pad.in_page.index, 2);
}

TEST(Layout, SlotMappingAddressing) {
  const PagedCacheLayout cache{{PageLayoutKind::standard, 64, 128, 128}, 8448, 100000};
  const int64_t slot = int64_t(70001) * 64 + 5;
  EXPECT_EQ(cache.slot_page(slot), 70001);
  EXPECT_EQ(cache.slot_in_page(slot), 5);
}

TEST(LayoutPrint, DrawsTheWorkedExample) {
  const std::string map = render_page_map({PageLayoutKind::preshuffle16, 16, 32, 32});
  // Row t=1 starts at byte 16; column d=16 of row 0 is 256.
  EXPECT_NE(map.find("preshuffle16 page: B=16 D=32"), std::string::npos);
  EXPECT_NE(map.find("\n     1  16  17"), std::string::npos) << map;
  EXPECT_NE(map.find(" 510 511\n"), std::string::npos) << map;
  const PagedCacheLayout c{{PageLayoutKind::preshuffle16, 16, 32, 32}, 576, 4};
  EXPECT_EQ(describe_byte(c, 576 + 256), "byte 832 = page 1 + 256: value of slot 0, d=16");
}

// The properties the fast paths rely on (layout.hpp P1-P3) hold for every layout the project
// knows, over the page shapes the harness draws (preshuffle16 needs B % 16 == 0).
TEST(Layout, FastPathPropertiesHoldForEveryLayoutAndShape) {
  int checked = 0;
  for (PageLayoutKind k : kPageLayouts)
    for (int32_t B : {1, 16, 32, 48, 64, 128, 256})
      for (int32_t D : {16, 32, 64, 128, 256}) {
        if (k == PageLayoutKind::preshuffle16 && B % kShuffleTile != 0) continue;
        for (int32_t Qb : {D, D / 2, 16}) {
          const PageLayout l{k, B, D, Qb};
          EXPECT_TRUE(layout_properties_hold(l)) << int(k) << " B=" << B << " D=" << D << " Qb=" << Qb;
          ++checked;
        }
      }
  EXPECT_GT(checked, 100);
}

TEST(Layout, PagesForALength) {
  const PageLayout l{PageLayoutKind::standard, 64, 128, 128};
  EXPECT_EQ(l.pages_for(0), 0);
  EXPECT_EQ(l.pages_for(1), 1);
  EXPECT_EQ(l.pages_for(64), 1);
  EXPECT_EQ(l.pages_for(65), 2);
  EXPECT_EQ(l.pages_for(int64_t(1) << 40), int64_t(1) << 34);  // 64-bit
}
