// Loading a kernel under test by spec string, and calling it.
#include <dlfcn.h>

#include <functional>
#include <stdexcept>
#include <utility>

#include "mqa/kut_registry.hpp"

namespace mqa {

const char* to_string(mqa_status s) {
  switch (s) {
    case MQA_OK: return "ok";
    case MQA_UNSUPPORTED: return "unsupported";
    case MQA_INVALID: return "invalid";
    case MQA_ERROR: return "error";
  }
  return "unknown status";
}

namespace {

constexpr size_t kMessageLen = 4096;

template <class Fn>
KutResult call(const char* name, Fn fn, const char* op, const std::function<mqa_status(char*, size_t)>& invoke) {
  if (fn == nullptr) return KutResult{MQA_UNSUPPORTED, std::string(name ? name : "?") + " has no " + op};
  std::string msg(kMessageLen, '\0');
  const mqa_status s = invoke(msg.data(), msg.size());
  msg.resize(msg.find('\0') == std::string::npos ? msg.size() : msg.find('\0'));
  if (s != MQA_OK && s != MQA_UNSUPPORTED && s != MQA_INVALID && s != MQA_ERROR)
    return KutResult{MQA_ERROR, std::string(op) + " returned the unknown status " + std::to_string(int(s)) + ": " + msg};
  return KutResult{s, msg};
}

KutResult wrong_route(const std::string& name, const char* op, bool device_kernel) {
  return KutResult{MQA_ERROR, name + (device_kernel ? " speaks ABI version 2 (device pointers): call " + std::string(op) +
                                                          "_on_device, not the host-pointer " + op
                                                    : " speaks ABI version 1 (host pointers): " + std::string(op) +
                                                          "_on_device needs a version-2 kernel")};
}

}  // namespace

KernelUnderTest KernelUnderTest::load(const std::string& spec) {
  if (spec == "builtin-ref") return KernelUnderTest(spec, builtin_reference_kut(), nullptr, nullptr);
  if (spec == "builtin-hip") return KernelUnderTest(spec, builtin_hip_kut(), nullptr, nullptr);
  if (spec == "builtin-hip-v2") return KernelUnderTest(spec, nullptr, builtin_hip_v2_kut(), nullptr);
  void* h = dlopen(spec.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* err = dlerror();
    throw std::runtime_error("kernel under test '" + spec + "': not builtin-ref, builtin-hip or builtin-hip-v2, and dlopen failed: " +
                             (err ? err : "unknown error"));
  }
  const auto get = reinterpret_cast<mqa_kut_get_fn>(dlsym(h, MQA_KUT_ENTRY_POINT));
  if (get == nullptr) {
    dlclose(h);
    throw std::runtime_error("kernel under test '" + spec + "': the library exports no " MQA_KUT_ENTRY_POINT);
  }
  const mqa_kut* k = get();
  if (k == nullptr) {
    dlclose(h);
    throw std::runtime_error("kernel under test '" + spec + "': " MQA_KUT_ENTRY_POINT " returned NULL");
  }
  // Both structs begin with abi_version: read it, then use the struct it names.
  const uint32_t v = k->abi_version;
  if (v == MQA_KUT_ABI_VERSION) return KernelUnderTest(spec, k, nullptr, h);
  if (v == MQA_KUT_V2_ABI_VERSION) return KernelUnderTest(spec, nullptr, reinterpret_cast<const mqa_kut_v2*>(k), h);
  dlclose(h);
  throw std::runtime_error("kernel under test '" + spec + "': ABI version " + std::to_string(v) +
                           ", this harness speaks versions " + std::to_string(MQA_KUT_ABI_VERSION) + " (host pointers) and " +
                           std::to_string(MQA_KUT_V2_ABI_VERSION) + " (device pointers)");
}

KernelUnderTest::KernelUnderTest(KernelUnderTest&& o) noexcept
    : spec_(std::move(o.spec_)),
      kut_(std::exchange(o.kut_, nullptr)),
      v2_(std::exchange(o.v2_, nullptr)),
      dl_(std::exchange(o.dl_, nullptr)) {}

KernelUnderTest& KernelUnderTest::operator=(KernelUnderTest&& o) noexcept {
  std::swap(spec_, o.spec_);
  std::swap(kut_, o.kut_);
  std::swap(v2_, o.v2_);
  std::swap(dl_, o.dl_);
  return *this;
}

KernelUnderTest::~KernelUnderTest() {
  if (dl_ != nullptr) dlclose(dl_);
}

std::string KernelUnderTest::name() const {
  const char* n = v2_ != nullptr ? v2_->name : kut_->name;
  return n ? n : spec_;
}

KutResult KernelUnderTest::supports(const mqa_case_shape& s) const {
  if (v2_ != nullptr)
    return call(v2_->name, v2_->supports, "supports", [&](char* m, size_t n) { return v2_->supports(v2_->self, &s, m, n); });
  return call(kut_->name, kut_->supports, "supports", [&](char* m, size_t n) { return kut_->supports(kut_->self, &s, m, n); });
}

// Version 1 ops: host pointers.
#define MQA_KUT_HOST_OP(OP, ARGS)                                                                            \
  KutResult KernelUnderTest::OP(const ARGS& a) const {                                                       \
    if (v2_ != nullptr) return wrong_route(name(), #OP, true);                                                \
    return call(kut_->name, kut_->OP, #OP, [&](char* m, size_t n) { return kut_->OP(kut_->self, &a, m, n); }); \
  }
MQA_KUT_HOST_OP(quant_cache, mqa_quant_cache_args)
MQA_KUT_HOST_OP(gather, mqa_gather_args)
MQA_KUT_HOST_OP(paged_logits, mqa_paged_logits_args)
MQA_KUT_HOST_OP(ragged_logits, mqa_ragged_logits_args)
#undef MQA_KUT_HOST_OP

// Version 2 ops: device pointers and a stream.
#define MQA_KUT_DEVICE_OP(OP, ARGS)                                                                       \
  KutResult KernelUnderTest::OP##_on_device(void* stream, const ARGS& a) const {                           \
    if (v2_ == nullptr) return wrong_route(name(), #OP, false);                                            \
    return call(v2_->name, v2_->OP, #OP, [&](char* m, size_t n) { return v2_->OP(v2_->self, stream, &a, m, n); }); \
  }
MQA_KUT_DEVICE_OP(quant_cache, mqa_quant_cache_args)
MQA_KUT_DEVICE_OP(gather, mqa_gather_args)
MQA_KUT_DEVICE_OP(paged_logits, mqa_paged_logits_args)
MQA_KUT_DEVICE_OP(ragged_logits, mqa_ragged_logits_args)
#undef MQA_KUT_DEVICE_OP

}  // namespace mqa
