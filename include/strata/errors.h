// The error hierarchy. Every failure strata reports is an exception derived from
// strata::Error; messages name the op and the values involved, followed by the
// source location that raised it.
#pragma once

#include <stdexcept>
#include <string>

#include "strata/export.h"

namespace strata {

/// Base of all strata errors (a std::runtime_error). what() is the message
/// followed by " [file:line]"; message() is the message alone.
class STRATA_API Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file = nullptr, int line = 0);
  ~Error() override;
  /// The message without the source location.
  const std::string& message() const noexcept { return message_; }
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  std::string message_;
  const char* file_;
  int line_;
};

#define STRATA_DECLARE_ERROR(Name)                                   \
  class STRATA_API Name : public Error {                             \
   public:                                                           \
    using Error::Error;                                              \
    ~Name() override;                                                \
  }

/// Shapes that cannot broadcast, views out of range, bad sizes.
STRATA_DECLARE_ERROR(ShapeError);
/// Unsupported or mismatched dtypes, casts that PyTorch refuses.
STRATA_DECLARE_ERROR(DTypeError);
/// An index out of range (names the index, the dimension and its size).
STRATA_DECLARE_ERROR(IndexError);
/// The written tensor overlaps itself or an input.
STRATA_DECLARE_ERROR(OverlapError);
/// Tensors on different devices, a CUDA request in a build or on a machine
/// without CUDA, CUDA runtime failures.
STRATA_DECLARE_ERROR(DeviceError);
/// An allocation failed after the caching allocator freed what it could.
STRATA_DECLARE_ERROR(OutOfMemoryError);
/// A valid request that strata does not implement.
STRATA_DECLARE_ERROR(NotSupportedError);
/// A malformed argument: a bad string (device, reduce name, allocator config).
STRATA_DECLARE_ERROR(ValueError);

#undef STRATA_DECLARE_ERROR

}  // namespace strata
