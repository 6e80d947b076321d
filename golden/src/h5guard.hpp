// Internal: what the reader checks BEFORE HDF5 reads a byte of a dataset, because the files come
// from elsewhere (issue 13): nothing that reads outside the file (external storage, external or
// soft links, virtual datasets, filter plugins), and no declared size that the case attributes,
// the per-case budget or the file's own bytes cannot back (so no read buffer is ever sized by a
// forged dataspace). Every refusal is a GoldenError naming the file, case, dataset and value.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mqa/golden.hpp"

namespace mqa::golden {

// The one overflow-checked product of the reader's size arithmetic: a * b, or nullopt when
// either is negative or the product does not fit in int64.
std::optional<int64_t> checked_mul(int64_t a, int64_t b);
std::optional<int64_t> checked_product(const std::vector<int64_t>& dims);

// Where a check happens (for the messages).
struct GuardWhere {
  std::string file, case_name, dataset;
};

// Every link in `group` must be a hard link: an external or user-defined link reads another
// file, and a soft link is a path that may lead through one (schema v1 files hold hard links
// only). Not recursive: the reader opens nothing below the groups it checks.
void check_links(hid_t group, const std::string& group_path, const GuardWhere& w);

// The dataset's data lives in this file: not virtual, no external storage, and only the filters
// of the schema (deflate at most once, shuffle, fletcher32), so HDF5 loads no plugin.
// Returns whether the data is deflated (check_declared_size's expansion bound).
bool check_storage(hid_t dataset, const GuardWhere& w);

// The most elements a dataset may declare, and what that bound comes from.
struct ElementBound {
  int64_t elements = -1;  // -1: no bound from the case (the budget and the file size still apply)
  std::string from;       // e.g. "the case attributes (shape [2, 256])"
};
// From the case attributes of a golden or input file (the schema table's shapes; extents left
// open are bounded by num_pages or the case token limit where the schema ties them to one).
ElementBound bound_from_attributes(const std::string& dataset, const CaseInfo& info);
// From the golden case a candidate answers (a candidate holds at most the golden's elements).
ElementBound bound_from_golden(const Case* golden_case, const std::string& dataset);

// Checks the declared dataspace of `dataset` and returns its dims: rank at most 8, elements
// within `bound`, bytes within the per-case budget (MQA_CASE_BYTES_LIMIT, default 8 GiB, shared
// with the fuzzer's descriptors; `case_bytes` accumulates over the case), the stored bytes within
// the file, and the declared bytes within what the stored bytes can hold (deflate expands at
// most 1032 times; without it, stored bytes are the data).
std::vector<int64_t> check_declared_size(hid_t dataset, int64_t element_size, const ElementBound& bound, bool deflated,
                                         int64_t file_bytes, int64_t& case_bytes, const GuardWhere& w);

}  // namespace mqa::golden
