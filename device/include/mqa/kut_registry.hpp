// C++ side of the kernel-under-test ABI (kut.h): load an implementation by spec string and call
// it with status + message results.
//
//   "builtin-ref"  the host reference (kcache.hpp, logits.hpp) behind the ABI
//   "builtin-hip"  this project's HIP kernels (host pointers in; MQA_UNSUPPORTED "no GPU: ..."
//                  when there is no GPU)
//   anything else  a path to a shared library exporting mqa_kut_get (dlopen; abi_version checked)
#pragma once
#include <string>

#include "mqa/kut.h"

namespace mqa {

struct KutResult {
  mqa_status status = MQA_OK;
  std::string message;
  bool ok() const { return status == MQA_OK; }
};

const char* to_string(mqa_status s);

class KernelUnderTest {
 public:
  // Throws std::runtime_error naming the spec and the cause (dlopen's error, a missing
  // mqa_kut_get, a NULL object, an ABI version mismatch).
  static KernelUnderTest load(const std::string& spec);

  KernelUnderTest(KernelUnderTest&& o) noexcept;
  KernelUnderTest& operator=(KernelUnderTest&& o) noexcept;
  KernelUnderTest(const KernelUnderTest&) = delete;
  KernelUnderTest& operator=(const KernelUnderTest&) = delete;
  ~KernelUnderTest();

  const std::string& spec() const { return spec_; }
  std::string name() const;
  const mqa_kut& abi() const { return *kut_; }

  // A NULL op pointer answers MQA_UNSUPPORTED ("<name> has no <op>").
  KutResult supports(const mqa_case_shape& shape) const;
  KutResult quant_cache(const mqa_quant_cache_args& a) const;
  KutResult gather(const mqa_gather_args& a) const;
  KutResult paged_logits(const mqa_paged_logits_args& a) const;
  KutResult ragged_logits(const mqa_ragged_logits_args& a) const;

 private:
  KernelUnderTest(std::string spec, const mqa_kut* kut, void* handle) : spec_(std::move(spec)), kut_(kut), dl_(handle) {}
  std::string spec_;
  const mqa_kut* kut_ = nullptr;
  void* dl_ = nullptr;  // dlopen handle, or null for built-ins
};

// The built-in implementations; the objects live as long as the program.
const mqa_kut* builtin_reference_kut();
const mqa_kut* builtin_hip_kut();

}  // namespace mqa
