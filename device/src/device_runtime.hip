// Device discovery and runtime error handling.
#include <string>

#include "device_common.hpp"

namespace mqa::device {

namespace {
std::string describe(hipError_t e) { return std::string(hipGetErrorName(e)) + " (" + hipGetErrorString(e) + ")"; }
}  // namespace

DeviceStatus device_status() {
  DeviceStatus s;
  int n = 0;
  const hipError_t e = hipGetDeviceCount(&n);
  if (e != hipSuccess) {
    (void)hipGetLastError();  // clear it: later calls must not inherit it
    s.reason = "no GPU: hipGetDeviceCount returned " + describe(e);
    return s;
  }
  if (n == 0) {
    s.reason = "no GPU: hipGetDeviceCount returned 0 devices";
    return s;
  }
  hipDeviceProp_t prop{};
  const hipError_t pe = hipGetDeviceProperties(&prop, 0);
  if (pe != hipSuccess) {
    (void)hipGetLastError();
    s.reason = "no usable GPU: hipGetDeviceProperties returned " + describe(pe);
    return s;
  }
  s.available = true;
  s.name = prop.name;
  return s;
}

namespace detail {

void throw_runtime(hipError_t e, const char* what) { throw DeviceError(std::string(what) + " failed: " + describe(e)); }

void check_launch(const char* kernel) {
  const hipError_t launch = hipGetLastError();
  if (launch != hipSuccess) throw DeviceError(std::string("launch of ") + kernel + " failed: " + describe(launch));
  const hipError_t run = hipDeviceSynchronize();
  if (run != hipSuccess) throw DeviceError(std::string(kernel) + " failed while running: " + describe(run));
}

void require_device() {
  static const DeviceStatus s = device_status();
  if (!s.available) throw DeviceError(s.reason);
}

}  // namespace detail
}  // namespace mqa::device
