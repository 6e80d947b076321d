// What the device kernels cover (platform-free: compiled with or without a device compiler).
#include <string>

#include "mqa/device_oracle.hpp"

namespace mqa::device {

const char* to_string(LogitsPath p) {
  switch (p) {
    case LogitsPath::automatic: return "automatic";
    case LogitsPath::generic: return "generic";
    case LogitsPath::fast: return "fast";
  }
  return "?";
}

std::string unsupported_quant(QuantVariant v) {
  if (v != QuantVariant::exact)
    return std::string("quant variant '") + mqa::to_string(v) + "': the device implements only 'exact'";
  return {};
}

std::string unsupported_logits(Profile profile, int32_t heads, int32_t head_dim) {
  if (profile != Profile::exact)
    return std::string("profile '") + mqa::to_string(profile) + "': the device implements only 'exact'";
  if (heads < 1 || heads > 128 || (heads & (heads - 1)) != 0)
    return "heads = " + std::to_string(heads) + ": the device kernels take a power of two <= 128";
  if (head_dim < 1 || head_dim > 128)
    return "head_dim = " + std::to_string(head_dim) + ": the device kernels take 1 .. 128";
  return {};
}

std::string device_compare_refusal(const CompareMode& mode) {
  if (mode.kind == CompareKind::tolerance)
    return "compare mode '" + mode.to_string() + "': tolerance bounds are computed per element on the host";
  if (mode.max_calc_diff)
    return "compare mode '" + mode.to_string() + "': calc_diff needs the host comparator's double sums";
  return {};
}

}  // namespace mqa::device
