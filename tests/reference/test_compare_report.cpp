// Report renderings: the JSON carries every field a tool needs (and survives dump/parse), the
// text has the lines a kernel engineer reads first; compare_bytes locates bytes in a cache.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mqa/kcache.hpp"
#include "mqa/layout_print.hpp"
#include "mqa/validate.hpp"
#include "test_compare_util.hpp"

using namespace mqa;
using namespace mqa::test_compare;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// 3 rows x 4 cols: a 1-ulp change, a NaN where a number belongs, a sign-of-zero change.
CompareReport failing_report() {
  std::vector<float> e{1, 2, 3, 4, 5, 6, 7, 8, 0.0f, 10, 11, 12}, a = e;
  a[1] = std::nextafter(2.0f, 3.0f);
  a[6] = NAN;
  a[8] = -0.0f;
  CompareOptions op;
  op.name = "paged_logits";
  op.max_listed = 2;
  return compare_logits(e, a, all_valid(3, 4), CompareMode::parse("bitwise"), {}, op);
}

}  // namespace

TEST(CompareReportJson, RoundTripKeepsTheFields) {
  const CompareReport r = failing_report();
  const nlohmann::json j = nlohmann::json::parse(r.to_json().dump());
  EXPECT_EQ(j, r.to_json());
  EXPECT_EQ(j["name"], "paged_logits");
  EXPECT_EQ(j["mode"], "bitwise");
  EXPECT_EQ(j["pass"], false);
  EXPECT_EQ(j["compared"], 12);
  EXPECT_EQ(j["mismatched"], 3);
  EXPECT_EQ(j["by_check"]["value"], 1);
  EXPECT_EQ(j["by_check"]["nan"], 1);
  EXPECT_EQ(j["by_check"]["zero_sign"], 1);
  EXPECT_EQ(j["by_column"]["valid"]["checked"], 12);
  ASSERT_EQ(j["first"].size(), 2u);  // max_listed
  EXPECT_EQ(j["first"][0]["row"], 0);
  EXPECT_EQ(j["first"][0]["col"], 1);
  EXPECT_EQ(j["first"][0]["expected_bits"], "0x40000000");
  EXPECT_EQ(j["first"][0]["actual_bits"], "0x40000001");
  EXPECT_EQ(j["first"][0]["ulp"], 1);
  EXPECT_EQ(j["first"][1]["actual"], "nan");  // non-finite values as strings: valid JSON
  EXPECT_EQ(j["worst"]["ulp"]["col"], 1);
  EXPECT_EQ(j["actual_special"]["nan"], 1);
  EXPECT_EQ(j["rows_failing"], 3);
  EXPECT_EQ(j["rows"].size(), 3u);
  for (const char* key : {"ulp_histogram", "expected_special", "pages", "pages_failing", "calc_diff", "shape",
                          "percent_mismatched"})
    EXPECT_TRUE(j.contains(key)) << key;
}

TEST(CompareReportText, LeadsWithVerdictCountsAndFailures) {
  const std::string t = failing_report().to_text();
  EXPECT_EQ(t.rfind("FAIL  paged_logits  mode=bitwise  3 x 4 (row stride 4)\n", 0), 0u) << t;
  EXPECT_TRUE(contains(t, "failed 3 of 12 checked (25%): value 1 nan 1 zero_sign 1 clean 0 sentinel 0")) << t;
  EXPECT_TRUE(contains(t, "worst abs 2.38e-07, rel 1.19e-07, ulp 1 at row 0 col 1: expected 2 (0x40000000) actual 2.00000024 (0x40000001)")) << t;
  EXPECT_TRUE(contains(t, "ulp histogram:  0: 10  1: 1")) << t;
  EXPECT_TRUE(contains(t, "specials  expected: NaN 0 +Inf 0 -Inf 0  |  actual: NaN 1 +Inf 0 -Inf 0")) << t;
  EXPECT_TRUE(contains(t, "first 2 failures (of 3):")) << t;
  EXPECT_TRUE(contains(t, "by column (failed/checked): valid 3/12 (25%)")) << t;
  EXPECT_TRUE(contains(t, "rows with most failures (rows failing: 3):")) << t;
  LogitsCoordinates ragged;
  ragged.kind = LogitsCoordinates::Kind::ragged;
  const std::string rt = compare_logits(std::vector<float>{1.0f}, std::vector<float>{2.0f}, all_valid(1, 1),
                                        CompareMode{}, ragged).to_text();
  EXPECT_TRUE(contains(rt, "ragged (row = query row i, col = k row j), 1 x 1")) << rt;
  const std::string ok = compare_lists({1.0f}, {1.0f}, "bitwise").to_text();
  EXPECT_EQ(ok.rfind("PASS  logits  mode=bitwise", 0), 0u) << ok;
}

TEST(CompareBytes, LocatesMismatchesInAPreshuffledCache) {
  const PagedCacheLayout layout{{PageLayoutKind::preshuffle16, 16, 32, 32}, 16 * 32 + 16 * 4 + 16, 3};
  KCache a(layout, 0xA5);
  KCache e = a;
  a.set_value_code(2, 5, 17, 0x11);  // value byte through the layout
  a.set_scale(1, 3, 0, 2.0f);       // 0x40000000: all 4 scale bytes differ from 0xA5
  a.bytes[size_t(layout.page_stride - 1)] = 0;  // page 0 padding
  const ByteCompareReport r = compare_bytes(e.bytes, a.bytes, layout);
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.value_mismatches, 1);
  EXPECT_EQ(r.padding_mismatches, 1);
  EXPECT_EQ(r.scale_mismatches, 4);
  EXPECT_EQ(r.mismatched, r.value_mismatches + r.scale_mismatches + r.padding_mismatches);
  ASSERT_EQ(r.first.size(), 6u);
  EXPECT_EQ(r.first[0].offset, layout.page_stride - 1);
  EXPECT_EQ(r.first[1].offset, layout.scale_byte(1, 3, 0));
  EXPECT_EQ(r.first.back().offset, layout.value_byte(2, 5, 17));
  ASSERT_TRUE(r.first.back().where);
  EXPECT_EQ(r.first.back().where->page, 2);
  EXPECT_EQ(r.first.back().where->in_page.slot, 5);
  EXPECT_EQ(r.first.back().where->in_page.index, 17);
  EXPECT_EQ(r.first.back().describe, describe_byte(layout, layout.value_byte(2, 5, 17)));
  ASSERT_EQ(r.pages.size(), 3u);
  EXPECT_EQ(r.pages[0].page, 1);  // the scale bytes: most mismatches
  const std::string t = r.to_text();
  EXPECT_TRUE(contains(t, "FAIL  bytes  preshuffle16 cache: 3 pages of B=16 D=32 Qb=32")) << t;
  EXPECT_TRUE(contains(t, "expected 0xA5 actual 0x11  " + describe_byte(layout, layout.value_byte(2, 5, 17)))) << t;
  const nlohmann::json j = nlohmann::json::parse(r.to_json().dump());
  EXPECT_EQ(j["value_mismatches"], 1);
  EXPECT_EQ(j["first"][0]["kind"], "padding");
  EXPECT_TRUE(compare_bytes(e.bytes, e.bytes, layout).pass);
}

TEST(CompareBytes, RowMajorBuffersAndBadSizes) {
  std::vector<uint8_t> e(64, 7), a = e;
  a[37] = 8;
  ByteCompareOptions op;
  op.row_bytes = 16;
  op.name = "gathered values";
  const ByteCompareReport r = compare_bytes(e, a, std::nullopt, op);
  ASSERT_EQ(r.mismatched, 1);
  EXPECT_EQ(r.first[0].row, 2);
  EXPECT_EQ(r.first[0].col, 5);
  EXPECT_EQ(r.first[0].describe, "row 2 byte 5");
  EXPECT_THROW(compare_bytes(e, std::span(a).first(63)), InvalidInput);
  const PagedCacheLayout layout{{PageLayoutKind::standard, 1, 32, 32}, 36, 2};
  EXPECT_THROW(compare_bytes(e, a, layout), InvalidInput);  // 64 bytes != 2 pages of 36
}
