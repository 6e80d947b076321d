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
KutResult call(const mqa_kut& k, Fn fn, const char* op, const std::function<mqa_status(char*, size_t)>& invoke) {
  if (fn == nullptr) return KutResult{MQA_UNSUPPORTED, std::string(k.name ? k.name : "?") + " has no " + op};
  std::string msg(kMessageLen, '\0');
  const mqa_status s = invoke(msg.data(), msg.size());
  msg.resize(msg.find('\0') == std::string::npos ? msg.size() : msg.find('\0'));
  if (s != MQA_OK && s != MQA_UNSUPPORTED && s != MQA_INVALID && s != MQA_ERROR)
    return KutResult{MQA_ERROR, std::string(op) + " returned the unknown status " + std::to_string(int(s)) + ": " + msg};
  return KutResult{s, msg};
}

}  // namespace

KernelUnderTest KernelUnderTest::load(const std::string& spec) {
  if (spec == "builtin-ref") return KernelUnderTest(spec, builtin_reference_kut(), nullptr);
  if (spec == "builtin-hip") return KernelUnderTest(spec, builtin_hip_kut(), nullptr);
  void* h = dlopen(spec.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* err = dlerror();
    throw std::runtime_error("kernel under test '" + spec + "': not builtin-ref or builtin-hip, and dlopen failed: " +
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
  if (k->abi_version != MQA_KUT_ABI_VERSION) {
    const uint32_t v = k->abi_version;
    dlclose(h);
    throw std::runtime_error("kernel under test '" + spec + "': ABI version " + std::to_string(v) +
                             ", this harness speaks version " + std::to_string(MQA_KUT_ABI_VERSION));
  }
  return KernelUnderTest(spec, k, h);
}

KernelUnderTest::KernelUnderTest(KernelUnderTest&& o) noexcept
    : spec_(std::move(o.spec_)), kut_(std::exchange(o.kut_, nullptr)), dl_(std::exchange(o.dl_, nullptr)) {}

KernelUnderTest& KernelUnderTest::operator=(KernelUnderTest&& o) noexcept {
  std::swap(spec_, o.spec_);
  std::swap(kut_, o.kut_);
  std::swap(dl_, o.dl_);
  return *this;
}

KernelUnderTest::~KernelUnderTest() {
  if (dl_ != nullptr) dlclose(dl_);
}

std::string KernelUnderTest::name() const { return kut_->name ? kut_->name : spec_; }

KutResult KernelUnderTest::supports(const mqa_case_shape& s) const {
  return call(*kut_, kut_->supports, "supports", [&](char* m, size_t n) { return kut_->supports(kut_->self, &s, m, n); });
}
KutResult KernelUnderTest::quant_cache(const mqa_quant_cache_args& a) const {
  return call(*kut_, kut_->quant_cache, "quant_cache",
              [&](char* m, size_t n) { return kut_->quant_cache(kut_->self, &a, m, n); });
}
KutResult KernelUnderTest::gather(const mqa_gather_args& a) const {
  return call(*kut_, kut_->gather, "gather", [&](char* m, size_t n) { return kut_->gather(kut_->self, &a, m, n); });
}
KutResult KernelUnderTest::paged_logits(const mqa_paged_logits_args& a) const {
  return call(*kut_, kut_->paged_logits, "paged_logits",
              [&](char* m, size_t n) { return kut_->paged_logits(kut_->self, &a, m, n); });
}
KutResult KernelUnderTest::ragged_logits(const mqa_ragged_logits_args& a) const {
  return call(*kut_, kut_->ragged_logits, "ragged_logits",
              [&](char* m, size_t n) { return kut_->ragged_logits(kut_->self, &a, m, n); });
}

}  // namespace mqa
