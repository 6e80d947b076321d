// Internal: the schema v1 dataset table shared by the reader, the writer and the CLI.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "mqa/golden.hpp"

namespace mqa::golden {

enum class Need : uint8_t { required, optional, absent };

struct DatasetSpec {
  std::string name;
  DType dtype;
  std::string encoding;  // "fp8" (the case's encoding), "k_source" (bf16 / fp16 bits, or fp32 data), or "" (none)
  std::function<Need(const CaseInfo&)> need;
  std::function<std::vector<int64_t>(const CaseInfo&)> shape;  // -1 = any extent
};

const std::vector<DatasetSpec>& dataset_specs();
const DatasetSpec* find_spec(const std::string& name);  // nullptr when not in the schema
std::string shape_string(const std::vector<int64_t>& s);
bool is_logits_op(const std::string& op);
// Role of a dataset in a case of this op: the op's results are outputs.
Role role_for(const std::string& dataset, const CaseInfo& info);

// File header (file_header.cpp): checked before HDF5 parses the file (written by safe_write).
void check_user_block(const std::string& path, bool unchecked = false);

}  // namespace mqa::golden
