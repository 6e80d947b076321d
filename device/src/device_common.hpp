// Runtime plumbing shared by the device sources: error checks that throw DeviceError with the
// call and the runtime's message, and an owning device buffer. Device sources only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "mqa/device_ops.hpp"
#include "mqa/hip_runtime_compat.hpp"

namespace mqa::device::detail {

[[noreturn]] void throw_runtime(hipError_t e, const char* what);
inline void check(hipError_t e, const char* what) {
  if (e != hipSuccess) throw_runtime(e, what);
}
// After a launch: the launch itself, then (synchronously) the kernel's execution.
void check_launch(const char* kernel);

// Refuses (DeviceError) when no GPU is usable, with device_status()'s reason.
void require_device();

// Owning device allocation of n elements of T (n may be 0).
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n) {
    if (n > 0) check(hipMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)), "hipMalloc");
  }
  DeviceBuffer(const T* host, size_t n) : DeviceBuffer(n) { upload(host, n); }
  ~DeviceBuffer() {
    if (p_ != nullptr) (void)hipFree(p_);
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void upload(const T* host, size_t n) {
    if (n > 0) check(hipMemcpy(p_, host, n * sizeof(T), hipMemcpyHostToDevice), "hipMemcpy(host to device)");
  }
  void download(T* host, size_t n) const {
    if (n > 0) check(hipMemcpy(host, p_, n * sizeof(T), hipMemcpyDeviceToHost), "hipMemcpy(device to host)");
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace mqa::device::detail
