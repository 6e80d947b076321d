// The field an InvalidInput names when `fn` rejects its input, or "(accepted)" when it does not:
// the one way the tests ask "which field did this call blame?".
#pragma once
#include <string>
#include <utility>

#include "mqa/validate.hpp"

namespace mqa::test {

template <class Fn>
std::string rejected_field(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const InvalidInput& e) {
    return e.field();
  }
  return "(accepted)";
}

}  // namespace mqa::test
