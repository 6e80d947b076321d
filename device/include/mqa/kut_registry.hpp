// C++ side of the kernel-under-test ABI (kut.h): load an implementation by spec string and call
// it with status + message results.
//
//   "builtin-ref"  the host reference (kcache.hpp, logits.hpp) behind the ABI
//   "builtin-hip"  this project's HIP kernels (host pointers in; MQA_UNSUPPORTED "no GPU: ..."
//                  when there is no GPU)
//   "builtin-hip-v2" the same kernels behind ABI version 2 (device pointers and a stream)
//   anything else  a path to a shared library exporting mqa_kut_get (dlopen; abi_version 1 or
//                  2, anything else refused naming it)
// A version-2 kernel's ops are the *_on_device calls; the host-pointer calls answer MQA_ERROR
// for it (and the *_on_device calls for a version-1 kernel), never a silent wrong route.
#pragma once
#include <cstdint>
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
  uint32_t abi_version() const { return v2_ != nullptr ? MQA_KUT_V2_ABI_VERSION : MQA_KUT_ABI_VERSION; }
  bool takes_device_pointers() const { return v2_ != nullptr; }

  // A NULL op pointer answers MQA_UNSUPPORTED ("<name> has no <op>").
  KutResult supports(const mqa_case_shape& shape) const;
  // Version 1: host pointers.
  KutResult quant_cache(const mqa_quant_cache_args& a) const;
  KutResult gather(const mqa_gather_args& a) const;
  KutResult paged_logits(const mqa_paged_logits_args& a) const;
  KutResult ragged_logits(const mqa_ragged_logits_args& a) const;
  // Version 2: device pointers, enqueued on `stream` (a hipStream_t / cudaStream_t).
  KutResult quant_cache_on_device(void* stream, const mqa_quant_cache_args& a) const;
  KutResult gather_on_device(void* stream, const mqa_gather_args& a) const;
  KutResult paged_logits_on_device(void* stream, const mqa_paged_logits_args& a) const;
  KutResult ragged_logits_on_device(void* stream, const mqa_ragged_logits_args& a) const;

 private:
  KernelUnderTest(std::string spec, const mqa_kut* kut, const mqa_kut_v2* v2, void* handle)
      : spec_(std::move(spec)), kut_(kut), v2_(v2), dl_(handle) {}
  std::string spec_;
  const mqa_kut* kut_ = nullptr;     // version 1 (null for a version-2 kernel)
  const mqa_kut_v2* v2_ = nullptr;   // version 2 (null for a version-1 kernel)
  void* dl_ = nullptr;  // dlopen handle, or null for built-ins
};

// The built-in implementations; the objects live as long as the program.
const mqa_kut* builtin_reference_kut();
const mqa_kut* builtin_hip_kut();
const mqa_kut_v2* builtin_hip_v2_kut();

}  // namespace mqa
