// Devices: where a tensor's memory lives and where its ops run.
#pragma once

#include <iosfwd>
#include <string>

#include "strata/export.h"

namespace strata {

enum class DeviceType : int8_t { CPU, CUDA };

/// A device: the CPU, or a CUDA device by index. Parsed from "cpu", "cuda",
/// "cuda:1" (a bare "cuda" means index 0). Throws ValueError on a malformed
/// string. Constructing a CUDA device does not require a GPU; using one does.
class STRATA_API Device {
 public:
  Device(DeviceType type, int index = 0);
  Device(const std::string& spec);
  Device(const char* spec) : Device(std::string(spec)) {}

  DeviceType type() const noexcept { return type_; }
  /// 0 for the CPU.
  int index() const noexcept { return index_; }
  bool is_cpu() const noexcept { return type_ == DeviceType::CPU; }
  bool is_cuda() const noexcept { return type_ == DeviceType::CUDA; }
  /// "cpu" or "cuda:N".
  std::string str() const;

  friend bool operator==(const Device& a, const Device& b) noexcept {
    return a.type_ == b.type_ && a.index_ == b.index_;
  }
  friend bool operator!=(const Device& a, const Device& b) noexcept { return !(a == b); }

 private:
  DeviceType type_;
  int index_;
};

STRATA_API std::ostream& operator<<(std::ostream& os, const Device& device);

inline const Device kCPU{DeviceType::CPU};

/// The device factories use when TensorOptions names none: the value of the
/// environment variable STRATA_DEVICE when set (read once; a CUDA device there
/// on a machine without one throws DeviceError at first use), else cuda:0 when a
/// CUDA device is usable, else the CPU.
STRATA_API Device default_device();
/// Overrides default_device() for this process (tests, demos).
STRATA_API void set_default_device(Device device);

/// Throws DeviceError unless the device can run ops here (a CUDA device needs a
/// CUDA build, a driver and that index).
STRATA_API void check_device_usable(const Device& device);

}  // namespace strata
