// The campaign's golden files: repro files (the whole case, golden schema v1). The exec:
// kernel's files are in exec_kernel.cpp.
#include "fuzz_internal.hpp"
#include "mqa/golden.hpp"
#include "mqa/golden_cases.hpp"

namespace mqa::fuzz {

bool write_case_file(const std::string& path, const CaseTensors& t, std::string* why) {
  try {
    golden::File f;
    f.generator_version = golden::generator_version();
    f.cases.push_back(golden::case_from_tensors("repro", t));
    golden::write_file(path, f);
    return true;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return false;
  }
}

}  // namespace mqa::fuzz
