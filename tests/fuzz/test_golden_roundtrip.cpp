// Golden files over random descriptors: write -> read is bit-identical (every dataset, every
// attribute), and the stored descriptor regenerates the very same case.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "mqa/case_gen.hpp"
#include "mqa/golden.hpp"
#include "mqa/golden_cases.hpp"

using namespace mqa;

namespace {

bool same_array(const golden::Array& a, const golden::Array& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes && a.role == b.role &&
         a.encoding == b.encoding && a.compare == b.compare;
}

bool same_info(const golden::CaseInfo& a, const golden::CaseInfo& b) {
  return a.op == b.op && a.descriptor == b.descriptor && a.profile == b.profile && a.layout == b.layout &&
         a.page_size == b.page_size && a.page_stride == b.page_stride && a.num_pages == b.num_pages &&
         a.head_dim == b.head_dim && a.heads == b.heads && a.next_n == b.next_n && a.quant_block == b.quant_block &&
         a.batch == b.batch && a.rows == b.rows && a.quant_variant == b.quant_variant && a.ue8m0 == b.ue8m0 &&
         a.encoding == b.encoding && a.rng == b.rng && a.seed == b.seed && a.lens_2d == b.lens_2d &&
         a.clean_logits == b.clean_logits && a.logits_cols == b.logits_cols &&
         a.logits_row_stride == b.logits_row_stride && a.topk == b.topk && a.cache_fill == b.cache_fill &&
         a.cache_from_source == b.cache_from_source && a.logits_sentinel == b.logits_sentinel;
}

}  // namespace

RC_GTEST_PROP(GoldenProperty, WriteThenReadIsBitIdenticalAndTheDescriptorRegeneratesTheCase, ()) {
  GenOptions o;
  o.max_tokens = 400;
  o.max_batch = 4;
  o.max_heads = 16;
  o.max_rows = 8;
  const CaseDescriptor d = *gen_case(o);
  golden::File f;
  f.generator_version = "test";
  f.cases.push_back(golden::case_from_tensors("c0", materialize(d)));
  const std::string path = "/tmp/mqa_fuzz_golden_rt_" + std::to_string(getpid()) + ".h5";
  golden::write_file(path, f);
  const golden::File back = golden::read_file(path);
  std::remove(path.c_str());
  RC_ASSERT(back.cases.size() == 1u);
  const golden::Case& a = f.cases[0];
  const golden::Case& b = back.cases[0];
  RC_ASSERT(b.name == a.name);
  RC_ASSERT(same_info(a.info, b.info));
  RC_ASSERT(a.data.size() == b.data.size());
  for (const auto& [name, arr] : a.data) {
    const auto it = b.data.find(name);
    RC_ASSERT(it != b.data.end());
    RC_ASSERT(same_array(arr, it->second));
  }
  const golden::Case regen = golden::generate_case("c0", b.info.descriptor);
  for (const auto& [name, arr] : b.data) RC_ASSERT(same_array(arr, regen.data.at(name)));
}
