// Internal: the schema v1 dataset table shared by the reader, the writer and the CLI.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "mqa/golden.hpp"

namespace mqa::golden {

struct DatasetSpec {
  std::string name;
  DType dtype;
  Role role;
  std::string encoding;  // "fp8" (the case's encoding), "bf16", or "" (none)
  std::string compare;   // default comparison mode of an output
  bool required_in_golden;
  std::function<std::vector<int64_t>(const CaseInfo&)> shape;  // -1 = any extent
};

const std::vector<DatasetSpec>& dataset_specs();
const DatasetSpec* find_spec(const std::string& name);  // nullptr when not in the schema
std::string shape_string(const std::vector<int64_t>& s);

}  // namespace mqa::golden
