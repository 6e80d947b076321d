// The one converter between problems and kut.h arguments (mqa/kut_problem.hpp). Each test
// states the mapping field by field, independently of the converter: an argument struct with a
// distinct value in every field becomes a problem whose fields are checked by name, and comes
// back bit-identical (the structs have no padding, so memcmp is field equality).
#include <gtest/gtest.h>

#include <cstring>
#include <tuple>
#include <type_traits>

#include "../rejected_field.hpp"
#include "mqa/kut_problem.hpp"

using namespace mqa;
using mqa::test::rejected_field;

namespace {

static_assert(std::has_unique_object_representations_v<mqa_cache_desc>);
static_assert(std::has_unique_object_representations_v<mqa_quant_cache_args>);
static_assert(std::has_unique_object_representations_v<mqa_gather_args>);
static_assert(std::has_unique_object_representations_v<mqa_paged_logits_args>);
static_assert(std::has_unique_object_representations_v<mqa_ragged_logits_args>);

// Distinct addresses for the pointer fields (never read: the converter passes pointers through).
alignas(16) unsigned char arena[1024];
template <class T>
T* at(int i) {
  return reinterpret_cast<T*>(arena + 16 * i);
}

// preshuffle16, B=16, D=64, Qb=32 (2 scales a token), a padded stride, e4m3fnuz.
constexpr mqa_cache_desc kDesc{.layout = MQA_LAYOUT_PRESHUFFLE16,
                               .page_size = 16,
                               .head_dim = 64,
                               .quant_block = 32,
                               .page_stride = 1160,
                               .num_pages = 7,
                               .encoding = MQA_FP8_E4M3FNUZ,
                               .reserved = 0};

void expect_cache(const PagedCacheLayout& l) {
  EXPECT_EQ(l.page.kind, PageLayoutKind::preshuffle16);
  EXPECT_EQ(std::tie(l.page.page_size, l.page.head_dim, l.page.quant_block), std::make_tuple(16, 64, 32));
  EXPECT_EQ(std::tie(l.page_stride, l.num_pages), std::make_tuple(int64_t(1160), int64_t(7)));
}

template <class Args>
void expect_same_bits(const Args& a, const Args& b) {
  EXPECT_EQ(0, std::memcmp(&a, &b, sizeof(Args))) << "the round trip changed a field";
}

mqa_paged_logits_args paged() {
  return mqa_paged_logits_args{.cache = kDesc,
                               .cache_bytes = at<uint8_t>(1),
                               .q = at<uint8_t>(2),
                               .batch = 3,
                               .next_n = 2,
                               .heads = 8,
                               .head_dim = 64,
                               .weights = at<float>(3),
                               .context_lens = at<int32_t>(4),
                               .lens_2d = 1,
                               .max_blocks = 5,
                               .block_table = at<int32_t>(5),
                               .table_row_stride = 9,
                               .max_context_len = 77,
                               .clean_logits = 1,
                               .logits = at<float>(6),
                               .logits_row_stride = 80,
                               .profile = MQA_PROFILE_DEEPGEMM_SM90,
                               .reserved = 0};
}

}  // namespace

TEST(KutProblem, QuantCacheArgsRoundTripFieldByField) {
  const mqa_quant_cache_args a{.cache = kDesc,
                               .cache_bytes = at<uint8_t>(1),
                               .k = at<float>(2),
                               .slots = at<int64_t>(3),
                               .num_tokens = 11,
                               .quant_variant = MQA_QUANT_AITER,
                               .ue8m0 = 1};
  const QuantCacheProblem p = kut::quant_cache_problem(a);
  expect_cache(p.cache.layout);
  EXPECT_EQ(p.cache.bytes, at<uint8_t>(1));
  EXPECT_EQ(p.cache.size, 7 * 1160) << "the view covers the whole pool";
  EXPECT_EQ(std::make_tuple(p.k.data(), p.k.size()), std::make_tuple(at<const float>(2), size_t(11 * 64)));
  EXPECT_EQ(std::make_tuple(p.slots.data(), p.slots.size()), std::make_tuple(at<const int64_t>(3), size_t(11)));
  EXPECT_EQ(std::tie(p.params.variant, p.params.encoding, p.params.ue8m0),
            std::make_tuple(QuantVariant::aiter, Fp8Encoding::e4m3fnuz, true));
  expect_same_bits(a, kut::quant_cache_args(p));
}

TEST(KutProblem, GatherArgsRoundTripFieldByField) {
  const mqa_gather_args a{.cache = kDesc,
                          .cache_bytes = at<uint8_t>(1),
                          .block_table = at<int32_t>(2),
                          .batch = 3,
                          .max_blocks = 4,
                          .table_row_stride = 6,
                          .lens = at<int32_t>(3),
                          .values_out = at<uint8_t>(4),
                          .scales_out = at<uint8_t>(5)};
  const GatherProblem p = kut::gather_problem(a);
  expect_cache(p.cache.layout);
  EXPECT_EQ(std::make_tuple(p.cache.bytes, p.cache.size), std::make_tuple(at<const uint8_t>(1), int64_t(7 * 1160)));
  EXPECT_EQ(p.encoding, Fp8Encoding::e4m3fnuz);
  EXPECT_EQ(std::tie(p.table.data, p.table.batch, p.table.max_blocks, p.table.row_stride),
            std::make_tuple(at<const int32_t>(2), 3, 4, int64_t(6)));
  EXPECT_EQ(std::make_tuple(p.lens.data(), p.lens.size()), std::make_tuple(at<const int32_t>(3), size_t(3)));
  expect_same_bits(a, kut::gather_args(p, at<uint8_t>(4), at<uint8_t>(5)));
}

TEST(KutProblem, PagedLogitsArgsRoundTripFieldByField) {
  const mqa_paged_logits_args a = paged();
  const PagedLogitsProblem p = kut::paged_problem(a);
  expect_cache(p.cache);
  EXPECT_EQ(std::tie(p.cache_bytes, p.q, p.weights, p.context_lens),
            std::make_tuple(at<const uint8_t>(1), at<const uint8_t>(2), at<const float>(3), at<const int32_t>(4)));
  EXPECT_EQ(std::tie(p.encoding, p.profile), std::make_tuple(Fp8Encoding::e4m3fnuz, Profile::deepgemm_sm90));
  EXPECT_EQ(std::tie(p.batch, p.next_n, p.heads, p.max_context_len), std::make_tuple(3, 2, 8, 77));
  EXPECT_EQ(std::tie(p.lens_2d, p.clean_logits), std::make_tuple(true, true));
  EXPECT_EQ(std::tie(p.table.data, p.table.batch, p.table.max_blocks, p.table.row_stride),
            std::make_tuple(at<const int32_t>(5), 3, 5, int64_t(9)));
  expect_same_bits(a, kut::paged_args(p, at<float>(6), 80));
}

TEST(KutProblem, RaggedLogitsArgsRoundTripFieldByField) {
  const mqa_ragged_logits_args a{.q = at<uint8_t>(1),
                                 .M = 5,
                                 .heads = 16,
                                 .head_dim = 32,
                                 .encoding = MQA_FP8_E4M3FNUZ,
                                 .k = at<uint8_t>(2),
                                 .kscale = at<float>(3),
                                 .N = 41,
                                 .clean_logits = 1,
                                 .weights = at<float>(4),
                                 .ks = at<int32_t>(5),
                                 .ke = at<int32_t>(6),
                                 .logits = at<float>(7),
                                 .logits_row_stride = 44,
                                 .profile = MQA_PROFILE_DEEPGEMM_SM90,
                                 .reserved = 0};
  const RaggedLogitsProblem p = kut::ragged_problem(a);
  EXPECT_EQ(std::tie(p.encoding, p.profile, p.clean_logits),
            std::make_tuple(Fp8Encoding::e4m3fnuz, Profile::deepgemm_sm90, true));
  EXPECT_EQ(std::tie(p.q, p.k, p.kscale, p.weights),
            std::make_tuple(at<const uint8_t>(1), at<const uint8_t>(2), at<const float>(3), at<const float>(4)));
  EXPECT_EQ(std::tie(p.ks, p.ke), std::make_tuple(at<const int32_t>(5), at<const int32_t>(6)));
  EXPECT_EQ(std::tie(p.M, p.heads, p.head_dim, p.N), std::make_tuple(5, 16, 32, 41));
  expect_same_bits(a, kut::ragged_args(p, at<float>(7), 44));
}

TEST(KutProblem, BadArgumentsNameTheirField) {
  const auto paged_blames = [](auto&& spoil) {
    mqa_paged_logits_args a = paged();
    spoil(a);
    return rejected_field([&] { kut::paged_problem(a); });
  };
  EXPECT_EQ(paged_blames([](auto& a) { a.head_dim = 32; }), "head_dim");
  EXPECT_EQ(paged_blames([](auto& a) { a.profile = 7; }), "profile");
  EXPECT_EQ(paged_blames([](auto& a) { a.cache.layout = 2; }), "layout");
  EXPECT_EQ(paged_blames([](auto& a) { a.cache.encoding = 5; }), "encoding");
  EXPECT_EQ(paged_blames([](auto& a) { a.cache.page_stride = 1150; }), "page_stride");  // smaller than a page
  mqa_quant_cache_args q{};
  q.cache = kDesc;
  q.num_tokens = -1;
  EXPECT_EQ(rejected_field([&] { kut::quant_cache_problem(q); }), "num_tokens");
  q.num_tokens = 0;
  q.quant_variant = 4;
  EXPECT_EQ(rejected_field([&] { kut::quant_cache_problem(q); }), "quant_variant");
  mqa_gather_args g{};
  g.cache = kDesc;
  g.batch = -1;
  EXPECT_EQ(rejected_field([&] { kut::gather_problem(g); }), "batch");
}
