// libFuzzer target: the case descriptor parser and the case library behind it.
//
// For every input line: parse_case() either throws InvalidInput or returns a descriptor that
//   1. prints and parses back to itself (to_string / parse_case round trip), and
//   2. materialises without crashing, hanging or allocating more than the documented limits:
//      materialize() throws InvalidInput (naming a field) or returns a case whose big tensors
//      fit in MQA_CASE_BYTES_LIMIT (set small here) and whose pool fits in kDensePoolLimit.
// Anything else (a crash, a sanitizer report, another exception type, a broken round trip, a
// case larger than its limit) is a finding. The expected logits (the reference itself) are
// computed only for cases whose reference work is small; the reference's cost grows with the
// shape by design, and a valid but large case is not a hang of the parser.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "mqa/case.hpp"
#include "mqa/validate.hpp"

namespace {

constexpr const char* kBytesLimit = "4194304";   // MQA_CASE_BYTES_LIMIT inside the target: 4 MiB
constexpr double kBytesLimitValue = 4194304.0;
constexpr double kReferenceWork = double(1 << 24);  // rows x columns x H x D of one reference call

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "descriptor_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

template <class V>
double bytes_of(const V& v) {
  return double(v.size()) * double(sizeof(typename V::value_type));
}

// The big tensors of a materialised case, as check_case_size estimates them (expected only).
double case_bytes(const mqa::CaseTensors& t) {
  return bytes_of(t.k_bits16) + bytes_of(t.k) + bytes_of(t.slots) + bytes_of(t.slots_compact) + bytes_of(t.q) +
         bytes_of(t.weights) + bytes_of(t.ks) + bytes_of(t.ke) + bytes_of(t.gathered.values) +
         bytes_of(t.gathered.scales) + bytes_of(t.kscale) + bytes_of(t.logits) + bytes_of(t.topk) +
         bytes_of(t.block_table) + bytes_of(t.block_table_compact) + bytes_of(t.lens) + bytes_of(t.written);
}

double reference_work(const mqa::CaseDescriptor& d) {
  double longest = 0, total = 0;
  for (int32_t l : d.lens) {
    longest = std::max(longest, double(l));
    total += l;
  }
  const double rows = d.op == mqa::CaseOp::ragged_logits ? double(d.M) : double(d.batch()) * d.next_n;
  const double cols = std::max(double(d.max_context_len), d.op == mqa::CaseOp::ragged_logits ? total : longest);
  return rows * std::max(cols, 1.0) * double(d.heads) * double(d.head_dim);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("MQA_CASE_BYTES_LIMIT", kBytesLimit, 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return -1;  // a descriptor is one line; keep the corpus to what matters
  const std::string line(reinterpret_cast<const char*>(data), size);
  mqa::CaseDescriptor d;
  try {
    d = mqa::parse_case(line);
  } catch (const mqa::InvalidInput&) {
    return 0;
  }
  const std::string text = mqa::to_string(d);
  try {
    if (!(mqa::parse_case(text) == d)) finding("round trip changed the descriptor", line + "  ->  " + text);
  } catch (const mqa::InvalidInput& e) {
    finding("its own printed form does not parse", text + ": " + e.what());
  }
  try {
    const bool expected = (d.op != mqa::CaseOp::paged_logits && d.op != mqa::CaseOp::ragged_logits) ||
                          reference_work(d) <= kReferenceWork;
    const mqa::CaseTensors t = mqa::materialize(d, expected);
    // logits x3 and top-k x2 are estimated for the kernel's copies too: one copy must fit
    if (case_bytes(t) > kBytesLimitValue)
      finding("case larger than MQA_CASE_BYTES_LIMIT", std::to_string(case_bytes(t)) + " bytes: " + text);
    if (double(t.cache.bytes.size()) > double(mqa::kDensePoolLimit))
      finding("compact pool larger than kDensePoolLimit", std::to_string(t.cache.bytes.size()) + " bytes: " + text);
    if (!(mqa::parse_case(mqa::to_string(t.desc)) == t.desc))
      finding("the normalised descriptor does not round-trip", mqa::to_string(t.desc));
  } catch (const mqa::InvalidInput&) {
    // refused naming a field: the contract
  } catch (const std::exception& e) {
    finding("materialize threw something other than InvalidInput", std::string(e.what()) + ": " + text);
  }
  return 0;
}
