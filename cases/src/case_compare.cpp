// Judging a kernel's logits against a materialised case: the one place that turns a case into
// the comparator's inputs (expected buffer, regions, coordinates, tolerance bounds), shared by
// the campaign (fuzz_run.cpp) and the Python package (python/src/module.cpp).
#include "mqa/case.hpp"

namespace mqa {

std::vector<double> CaseTensors::logits_bounds(const ToleranceSpec& spec) const {
  std::vector<double> b = desc.op == CaseOp::paged_logits ? paged_logits_bounds(paged_problem(), regions, spec, logits)
                                                          : ragged_logits_bounds(ragged_problem(), regions, spec, logits);
  b.resize(size_t(rows * logits_row_stride), 0.0);
  return b;
}

LogitsCoordinates CaseTensors::logits_coordinates() const {
  if (desc.op != CaseOp::paged_logits) return ragged_coordinates(ragged_problem());
  PagedLogitsProblem phys = paged_problem();  // the kernel's (physical) pool and table
  phys.cache = pool;
  phys.table.data = block_table.data();
  return paged_coordinates(phys);
}

CompareReport CaseTensors::compare_logits(std::span<const float> actual, CompareMode mode, int32_t max_listed) const {
  return compare_logits_with(logits, actual, mode, max_listed);
}

CompareReport CaseTensors::compare_logits_with(std::span<const float> given, std::span<const float> actual,
                                               CompareMode mode, int32_t max_listed) const {
  std::vector<float> expected(given.begin(), given.end());
  expected.resize(actual.size(), f32_from_bits(kLogitSentinelBits));
  mode.clean = desc.clean_logits;
  CompareOptions opt;
  opt.name = std::string(to_string(desc.op)) + " logits";
  opt.max_listed = max_listed;
  std::vector<double> bound;
  if (mode.kind == CompareKind::tolerance) {
    bound = logits_bounds(mode.tolerance());
    bound.resize(actual.size(), 0.0);
    opt.bound = bound;
  }
  return mqa::compare_logits(expected, actual, regions, mode, logits_coordinates(), opt);
}

}  // namespace mqa
