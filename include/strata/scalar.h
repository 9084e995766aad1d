// Scalar: a number passed to an op (fill value, alpha), with PyTorch's three
// kinds: boolean, integral (int64) and floating (double).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <type_traits>

#include "strata/dtype.h"
#include "strata/export.h"

namespace strata {

class STRATA_API Scalar {
 public:
  enum class Kind : int8_t { Bool, Int, Float };

  Scalar() : kind_(Kind::Int), i_(0) {}
  Scalar(bool v) : kind_(Kind::Bool), i_(v ? 1 : 0) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : kind_(Kind::Int), i_(static_cast<int64_t>(v)) {}
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Scalar(T v) : kind_(Kind::Float), d_(static_cast<double>(v)) {}
  Scalar(Half v) : kind_(Kind::Float), d_(static_cast<float>(v)) {}
  Scalar(BFloat16 v) : kind_(Kind::Float), d_(static_cast<float>(v)) {}

  Kind kind() const noexcept { return kind_; }
  bool is_boolean() const noexcept { return kind_ == Kind::Bool; }
  bool is_integral() const noexcept { return kind_ == Kind::Int; }
  bool is_floating_point() const noexcept { return kind_ == Kind::Float; }

  /// The dtype a scalar of this kind takes in type promotion: Bool, Int64, or
  /// the default floating type Float32 (as a Python float in PyTorch).
  DType dtype() const noexcept {
    return kind_ == Kind::Bool ? kBool : kind_ == Kind::Int ? kInt64 : kFloat32;
  }

  /// The value converted with C++ semantics (float→int truncates).
  template <typename T> T to() const {
    if constexpr (std::is_same_v<T, bool>) {
      return kind_ == Kind::Float ? d_ != 0.0 : i_ != 0;
    } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      return T(static_cast<float>(to_double()));
    } else {
      return kind_ == Kind::Float ? static_cast<T>(d_) : static_cast<T>(i_);
    }
  }
  double to_double() const noexcept { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  int64_t to_int64() const noexcept { return kind_ == Kind::Float ? static_cast<int64_t>(d_) : i_; }

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

STRATA_API std::ostream& operator<<(std::ostream& os, const Scalar& s);

}  // namespace strata
