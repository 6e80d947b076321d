// Private to the fuzz library.
#pragma once
#include <memory>
#include <string>

#include "mqa/fuzz.hpp"

namespace mqa::fuzz {

// "exec:CMD {in} {out}": the case goes to CMD as a golden-schema HDF5 file {in}; CMD writes a
// candidate file {out}; `golden verify` judges it. Throws when the golden library is absent.
std::unique_ptr<Kernel> make_exec_kernel(const std::string& spec);

// Writes the golden-schema file of one case (repro files). Returns false (and says why in
// `why`) when the golden library is not built in.
bool write_case_file(const std::string& path, const CaseTensors& t, std::string* why);

}  // namespace mqa::fuzz
