// Internal: comparing one dataset of a golden case with the same dataset of another file,
// in the dataset's comparison mode (verify and diff share it).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "mqa/golden.hpp"

namespace mqa::golden {

struct OutputResult {
  std::string case_name, dataset, mode;
  bool pass = false;
  std::string text;      // the comparator's report (text)
  nlohmann::json json;   // the same as JSON
  std::string margin;    // logits: CompareReport::margin() (shown on PASS too)
};

// Compares `actual` with dataset `name` of golden case `g` in `mode` (empty: the golden's
// `compare` attribute). dtype/shape differences throw GoldenError naming `actual_file`.
// `outside`: a candidate's logits_outside beside logits by regions (SCHEMA.md), or nullptr.
OutputResult compare_dataset(const Case& g, const std::string& name, const Array& actual, std::string mode,
                             const std::string& actual_file, int max_listed, const Array* outside = nullptr);

// Byte-by-byte comparison of two arrays of equal dtype and shape (no regions, no layout).
OutputResult compare_raw(const std::string& case_name, const std::string& name, const Array& expected,
                         const Array& actual, int max_listed);

}  // namespace mqa::golden
