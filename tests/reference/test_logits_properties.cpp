// The determinism properties of numerics.md, on the reference itself: same bits run after run,
// under a layout conversion, under a permutation of physical pages, and independently of the
// other sequences of the batch.
#include <gtest/gtest.h>

#include "test_logits_util.hpp"

using namespace mqa;
using namespace mqa::test;

namespace {

PagedShape property_shape(PageLayoutKind kind) {
  PagedShape s;
  s.kind = kind;
  s.page_size = 32;
  s.batch = 4;
  s.next_n = 2;
  s.heads = 16;
  s.head_dim = 64;
  s.max_len = 150;
  s.lens_2d = true;
  return s;
}

std::vector<float> run(const PagedCase& c) {
  std::vector<float> out = c.sentinel_output();
  paged_mqa_logits(c.problem(), out.data(), c.row_stride);
  return out;
}

}  // namespace

TEST(LogitsProperties, SameBitsRunAfterRunWhateverTheThreadCount) {
  const PagedCase c = make_paged_case(property_shape(PageLayoutKind::standard), 71);
  const std::vector<float> first = run(c);
  for (int i = 0; i < 20; ++i) {
    set_logits_threads(1 + i % 4);
    ASSERT_EQ(first_bit_difference(first, run(c)), -1) << "run " << i;
  }
  set_logits_threads(0);
}

TEST(LogitsProperties, ConvertingTheLayoutChangesNoLogit) {
  for (PageLayoutKind from : {PageLayoutKind::standard, PageLayoutKind::preshuffle16}) {
    PagedCase c = make_paged_case(property_shape(from), 72);
    const std::vector<float> before = run(c);
    c.cache = convert_layout(c.cache, from == PageLayoutKind::standard ? PageLayoutKind::preshuffle16
                                                                       : PageLayoutKind::standard);
    ASSERT_EQ(first_bit_difference(before, run(c)), -1);
  }
}

TEST(LogitsProperties, PermutingPhysicalPagesChangesNoLogit) {
  PagedCase c = make_paged_case(property_shape(PageLayoutKind::preshuffle16), 73);
  const std::vector<float> before = run(c);
  const int64_t n = c.cache.layout.num_pages, stride = c.cache.layout.page_stride;
  // Page p moves to (p * 5 + 3) mod n (5 is coprime with n when n % 5 != 0; pad n if needed).
  ASSERT_NE(n % 5, 0) << "pick another multiplier for this page count";
  KCache moved(c.cache.layout, 0);
  for (int64_t p = 0; p < n; ++p)
    std::copy_n(c.cache.bytes.begin() + p * stride, stride, moved.bytes.begin() + ((p * 5 + 3) % n) * stride);
  for (int32_t& e : c.table)
    if (e >= 0 && e < n) e = int32_t((int64_t(e) * 5 + 3) % n);
  c.cache = std::move(moved);
  ASSERT_EQ(first_bit_difference(before, run(c)), -1);
}

TEST(LogitsProperties, ARowIgnoresOtherSequences) {
  PagedCase c = make_paged_case(property_shape(PageLayoutKind::standard), 74);
  ASSERT_GT(c.tokens_read(0), 0) << "sequence 0 must have logits to protect";
  const std::vector<float> before = run(c);
  // Sequence 0 keeps everything; sequences 1.. get other lengths, q values and weights.
  for (size_t i = 2; i < c.lens.size(); ++i) c.lens[i] = c.lens[i] / 2;
  const size_t row_q = size_t(c.shape.next_n) * c.shape.heads * c.shape.head_dim;
  for (size_t i = row_q; i < c.q.size(); ++i) c.q[i] = uint8_t(c.q[i] ^ 0x11) & 0x77;
  for (size_t i = size_t(c.shape.next_n) * c.shape.heads; i < c.w.size(); ++i) c.w[i] = -c.w[i];
  const std::vector<float> after = run(c);
  for (int64_t col = 0; col < int64_t(c.shape.next_n) * c.row_stride; ++col)
    ASSERT_EQ(f32_bits(before[size_t(col)]), f32_bits(after[size_t(col)])) << "column " << col;
}
