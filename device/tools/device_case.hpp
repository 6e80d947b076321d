// One materialised case descriptor (cases/include/mqa/case.hpp) through the device ops and the
// comparator: what device_sweep and the device tests run. The device gets the kernel-visible
// pool (the case's physical page ids; sparse past 64 MiB, so ids past 65,536 and offsets past
// 2^32 bytes are real), sentinel-filled outputs with guard zones after them, and each output is
// judged by compare.hpp (bitwise, writes only in the defined region) plus raw uint32 equality of
// the whole logits buffer against the reference's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mqa/case.hpp"
#include "mqa/device_ops.hpp"

namespace mqa::device {

struct CaseRun {
  std::string unsupported;   // non-empty: the device ops do not cover this case (why); nothing ran
  std::string error;         // the device op threw (its message); counts as a mismatch
  int64_t compared = 0;      // elements (logits) or bytes (cache, gathered) judged
  int64_t mismatches = 0;    // comparator mismatches + raw differences + 1 for an error
  int64_t nan_expected = 0;  // expected NaN logits among the compared ones
  double device_s = 0;       // wall time of the device call (copies included)
  std::string detail;        // the comparator's report when something mismatched
  bool pass() const { return unsupported.empty() && mismatches == 0; }
};

// Why the device ops refuse the case's shape ("" = they take it), before anything runs.
std::string unsupported_case(const CaseDescriptor& d, LogitsPath path);

// Runs t's op on the device (logits ops on `path`) and judges every output.
CaseRun run_case(const CaseTensors& t, LogitsPath path = LogitsPath::automatic);

// The device's logits of a logits case on the kernel-visible pool: [rows, logits_row_stride]
// floats that start as the sentinel (throws what the device op throws).
std::vector<float> device_logits(const CaseTensors& t, LogitsPath path = LogitsPath::automatic);

}  // namespace mqa::device
