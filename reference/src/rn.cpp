// The host's rn_fma (rn.hpp): std::fma, out of line so that nothing around it is fused.
#include "mqa/rn.hpp"

#include <cmath>

namespace mqa {
float rn_fma(float a, float b, float c) { return std::fma(a, b, c); }
}  // namespace mqa
