// Hostile descriptors (issue "Hostile files and inputs", item 6): each is refused before anything
// is allocated, with the field named; none crashes, hangs or exhausts memory (a hang would run
// into CTest's timeout: no clock is read here).
#include <gtest/gtest.h>

#include <regex>

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
