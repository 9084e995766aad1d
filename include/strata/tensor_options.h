// TensorOptions: the dtype and device a factory creates a tensor with.
#pragma once

#include <optional>

#include "strata/device.h"
#include "strata/dtype.h"

namespace strata {

/// Builder for factory options, as in libtorch:
/// `TensorOptions().dtype(kFloat64).device("cuda")`. Converts implicitly from a
/// DType or a Device. Unset fields mean Float32 and default_device().
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType dtype) : dtype_(dtype) {}
  TensorOptions(Device device) : device_(device) {}
  TensorOptions(DeviceType type) : device_(Device(type)) {}
  TensorOptions(const char* device) : device_(Device(device)) {}

  TensorOptions dtype(DType d) const {
    TensorOptions o = *this;
    o.dtype_ = d;
    return o;
  }
  TensorOptions device(Device d) const {
    TensorOptions o = *this;
    o.device_ = d;
    return o;
  }

  bool has_dtype() const noexcept { return dtype_.has_value(); }
  bool has_device() const noexcept { return device_.has_value(); }
  DType dtype() const noexcept { return dtype_.value_or(kFloat32); }
  /// The device named, else default_device().
  Device device() const { return device_ ? *device_ : default_device(); }

 private:
  std::optional<DType> dtype_;
  std::optional<Device> device_;
};

inline TensorOptions dtype(DType d) { return TensorOptions().dtype(d); }
inline TensorOptions device(Device d) { return TensorOptions().device(d); }

}  // namespace strata
