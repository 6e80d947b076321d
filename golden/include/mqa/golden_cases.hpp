// From case descriptors (cases/include/mqa/case.hpp) to golden cases: the adapter from the
// materialised tensors to schema v1 datasets, and the built-in suites of the corpus.
#pragma once
#include <string>
#include <vector>

#include "mqa/case.hpp"
#include "mqa/golden.hpp"
#include "mqa/tolerance.hpp"

namespace mqa::golden {

// Every input and every reference output of a materialised case (materialize(d, true)), with
// the schema's attributes, roles, encodings and comparison modes.
// `bounds`: tolerance models whose per-element bound is stored next to the logits, as
// `logits_bound_<model>` (float32 rounded up, mqa/tolerance.hpp; logits cases only).
Case case_from_tensors(const std::string& name, const CaseTensors& t, const std::vector<ToleranceModel>& bounds = {});

// Dense logits of at least this many bytes are stored by regions (SCHEMA.md, logits_storage).
inline constexpr int64_t kRegionsStorageBytes = int64_t(1) << 31;

// parse_case(descriptor) -> materialize -> case_from_tensors. Throws InvalidInput on a bad line.
// A logits case of kRegionsStorageBytes or more is stored by regions (logits_by_regions), and
// materialised without its row padding, so that its dense buffer is never built.
Case generate_case(const std::string& name, const std::string& descriptor, const std::vector<ToleranceModel>& bounds = {});

// Built-in suites: "smoke" (every op, tiny), "edge" (the edge matrix: lengths around page and
// 256-column boundaries, B 1..256, batch 17, next_n 2, page ids past 65,536 and pools past
// 2^32 bytes, padded strides/tables/rows, every quant variant), "deployed" (DeepSeek-V3.2
// shapes H=64, D=128, B=64, both layouts, decode/MTP/prefill, at reduced lengths).
std::vector<std::string> suite_names();
std::vector<std::string> builtin_suite(const std::string& name);  // throws InvalidInput

// A case list file: one descriptor per line; blank lines and lines starting with '#' skipped.
// Throws GoldenError naming the file (and the line) when unreadable or a line does not parse.
struct CaseLine {
  int line;  // 1-based line number in the file
  std::string descriptor;
};
std::vector<CaseLine> read_case_list(const std::string& path);

// Case names of a suite: "<suite>_000", "<suite>_001", ...
std::string case_name(const std::string& prefix, size_t index);

}  // namespace mqa::golden
