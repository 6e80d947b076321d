#include "mqa/rn.hpp"

#include <cmath>

namespace mqa {
float rn_fma(float a, float b, float c) { return std::fma(a, b, c); }
}  // namespace mqa
