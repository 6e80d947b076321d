// Internal: the range checks of what a golden or input case SAYS (issue 13: `heads=-1` in a
// golden passed; top-k indices of 0x7FFFFFF0 crashed the comparator). Two steps:
//  - check_case_attributes, before a dataset is opened: every attribute that sizes or indexes
//    something (page_size, head_dim, quant_block, page_stride, num_pages, heads, next_n, batch,
//    rows, logits_cols, logits_row_stride, topk, cache_fill) is within what a case can be, and
//    the products the reader forms from them do not overflow (checked_mul of h5guard.hpp), so the
//    shapes bound_from_attributes derives are real;
//  - check_case_values, once the datasets have their schema shapes: the integers that index other
//    data (page_ids, context_lens, the block-table entries the lengths need, slot_mapping, ks/ke,
//    logits_regions, topk) point where they may.
// golden/python/mqa_golden_checks.py makes the same checks with the same messages (the two
// readers accept and refuse the same files: tests/golden/test_hostile_corpus.py).
#pragma once
#include <string>

#include "mqa/golden.hpp"

namespace mqa::golden {

// The case limits of cases/src/case_materialize.cpp that a golden's shapes follow from.
inline constexpr int64_t kMaxCaseRows = int64_t(1) << 20;     // logits rows
inline constexpr int64_t kMaxPageStride = int64_t(1) << 32;   // bytes between pages
inline constexpr int64_t kMaxPoolBytes = int64_t(1) << 46;    // num_pages * page_stride
inline constexpr int64_t kMaxPages = (int64_t(1) << 31) - 1;  // block-table entries are int32

// Throws GoldenError(file, case, "", "attribute NAME = VALUE: why"). Golden and input cases only
// (a candidate has no attributes).
void check_case_attributes(const CaseInfo& info, const std::string& file, const std::string& case_name);

// Throws GoldenError(file, case, dataset, "NAME[i][j] = VALUE: why"). Needs validate_case's
// shapes (it is called at validate_case's end).
void check_case_values(const Case& c, const std::string& file);

}  // namespace mqa::golden
