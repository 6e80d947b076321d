// Runtime plumbing shared by the device sources: error checks that throw DeviceError with the
// call and the runtime's message, and a typed owning device buffer. Device sources only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "mqa/device_ops.hpp"
#include "mqa/device_oracle.hpp"
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

// Owning device allocation of n elements of T (n may be 0): typed copies over the one owning
// allocation, DeviceBytes (mqa/device_oracle.hpp), which ABI version 2 hands out.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : bytes_(n * sizeof(T)) {}
  DeviceBuffer(const T* host, size_t n) : DeviceBuffer(n) { upload(host, n); }

  void upload(const T* host, size_t n) {
    if (n > 0) check(hipMemcpy(get(), host, n * sizeof(T), hipMemcpyHostToDevice), "hipMemcpy(host to device)");
  }
  void download(T* host, size_t n) const {
    if (n > 0) check(hipMemcpy(host, get(), n * sizeof(T), hipMemcpyDeviceToHost), "hipMemcpy(device to host)");
  }
  T* get() const { return bytes_.as<T>(); }
  size_t size() const { return bytes_.size() / sizeof(T); }

 private:
  DeviceBytes bytes_;
};

}  // namespace mqa::device::detail
