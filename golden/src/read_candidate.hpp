// Internal: the reader entry that golden.hpp's read_file does not offer (h5io.cpp).
#pragma once
#include <string>

#include "mqa/golden.hpp"

namespace mqa::golden {

// Reads a candidate against the golden it answers: each dataset may declare at most the
// elements of the golden dataset of the same case and name, checked before HDF5 reads it.
File read_candidate(const std::string& path, const ReadOptions& opt, const File& golden);

}  // namespace mqa::golden
