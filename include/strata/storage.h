// Storage: a reference-counted buffer owned by the device's caching allocator.
#pragma once

#include <cstddef>
#include <memory>

#include "strata/device.h"
#include "strata/export.h"

namespace strata {

class CachingAllocator;

/// A buffer {pointer, bytes, device} returned to its allocator when the last
/// tensor using it goes away. Copies share the buffer. Views and in-place ops
/// never replace or reallocate it.
class STRATA_API Storage {
 public:
  Storage() = default;
  /// `nbytes` from `device`'s caching allocator, usable on the current stream.
  /// Throws OutOfMemoryError or DeviceError.
  static Storage allocate(size_t nbytes, const Device& device);

  bool defined() const noexcept { return impl_ != nullptr; }
  /// Start of the buffer (nullptr for 0 bytes).
  void* data() const noexcept;
  size_t nbytes() const noexcept;
  Device device() const;
  /// Number of handles (tensors, views, copies) sharing the buffer.
  long use_count() const noexcept { return impl_.use_count(); }
  /// The allocator that frees the buffer.
  CachingAllocator* allocator() const noexcept;

  /// True when both handles refer to the same buffer.
  friend bool operator==(const Storage& a, const Storage& b) noexcept { return a.impl_ == b.impl_; }
  friend bool operator!=(const Storage& a, const Storage& b) noexcept { return a.impl_ != b.impl_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace strata
