// Device parsing, the process default device and the usability check.
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <ostream>

#include "src/core/check.h"
#include "strata/cuda.h"
#include "strata/device.h"

namespace strata {

namespace {

Device parse_device(const std::string& spec) {
  std::string type = spec;
  std::optional<std::string> index_text;
  if (const auto colon = spec.find(':'); colon != std::string::npos) {
    type = spec.substr(0, colon);
    index_text = spec.substr(colon + 1);
  }
  DeviceType device_type;
  if (type == "cpu") {
    device_type = DeviceType::CPU;
  } else if (type == "cuda") {
    device_type = DeviceType::CUDA;
  } else {
    STRATA_FAIL(ValueError, "Expected one of cpu, cuda device type at start of device string: {}", spec);
  }
  if (!index_text) return Device(device_type, 0);
  const std::string& digits = *index_text;
  bool valid = !digits.empty() && digits.size() <= 9 && (digits.size() == 1 || digits[0] != '0');
  for (const char c : digits) valid = valid && std::isdigit(static_cast<unsigned char>(c));
  STRATA_CHECK(valid, ValueError, "Invalid device string: '{}'", spec);
  return Device(device_type, std::stoi(digits));
}

struct DefaultDeviceState {
  std::mutex mutex;
  std::optional<Device> device;
};

DefaultDeviceState& default_device_state() {
  static DefaultDeviceState state;
  return state;
}

}  // namespace

Device::Device(DeviceType type, int index) : type_(type), index_(index) {
  STRATA_CHECK(index >= 0, ValueError, "Device index must not be negative, got {}", index);
  STRATA_CHECK(type != DeviceType::CPU || index == 0, ValueError,
               "CPU device index must be zero, got {}", index);
}

Device::Device(const std::string& spec) : Device(parse_device(spec)) {}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index_); }

std::ostream& operator<<(std::ostream& os, const Device& device) { return os << device.str(); }

Device default_device() {
  DefaultDeviceState& state = default_device_state();
  std::lock_guard lock(state.mutex);
  if (!state.device) {
    if (const char* env = std::getenv("STRATA_DEVICE"); env != nullptr && *env != '\0') {
      state.device = Device(std::string(env));
    } else {
      state.device = cuda::is_available() ? Device(DeviceType::CUDA, 0) : kCPU;
    }
  }
  return *state.device;
}

void set_default_device(Device device) {
  DefaultDeviceState& state = default_device_state();
  std::lock_guard lock(state.mutex);
  state.device = device;
}

void check_device_usable(const Device& device) {
  if (device.is_cpu()) return;
#if !STRATA_WITH_CUDA
  STRATA_FAIL(DeviceError, "CUDA is not available: this build has no CUDA support (asked for {})",
              device.str());
#else
  STRATA_CHECK(cuda::is_available(), DeviceError,
               "CUDA is not available: no CUDA device or driver (asked for {})", device.str());
  const int count = cuda::device_count();
  STRATA_CHECK(device.index() < count, DeviceError,
               "Invalid device {}: only {} CUDA device(s) are available", device.str(), count);
#endif
}

}  // namespace strata
