// The CUDA device runtime: availability, streams, events, synchronization.
// Every function here is safe to call in a build without CUDA or on a machine
// without a GPU or driver: is_available() is false and device_count() is 0; only
// asking for an actual stream or event on a missing device throws DeviceError.
#pragma once

#include <memory>

#include "strata/device.h"
#include "strata/export.h"

namespace strata::cuda {

/// True when this build has CUDA and at least one device with a working driver.
/// "Driver insufficient" and "no device" both mean false, never an exception.
STRATA_API bool is_available();
/// Number of usable CUDA devices (0 without CUDA).
STRATA_API int device_count();
/// The calling thread's current CUDA device index (0 without CUDA).
STRATA_API int current_device();
/// Sets the calling thread's current CUDA device. Throws DeviceError.
STRATA_API void set_device(int index);

/// A CUDA stream handle. Copies share the stream; a stream made by create() is
/// destroyed when its last copy goes away. The default stream (handle nullptr)
/// is the legacy default stream of its device.
class STRATA_API Stream {
 public:
  /// A new non-blocking stream on `device` (-1: the current device). Throws
  /// DeviceError when CUDA is not available.
  static Stream create(int device = -1);
  /// The default stream of `device` (-1: the current device).
  static Stream default_stream(int device = -1);

  /// The cudaStream_t, as void* so that this header needs no CUDA headers.
  void* handle() const noexcept;
  int device_index() const noexcept { return device_; }
  Device device() const { return Device(DeviceType::CUDA, device_); }
  /// Blocks the host until all work queued on the stream has finished.
  void synchronize() const;
  /// True when all work queued on the stream has finished (never blocks).
  bool query() const;

  friend bool operator==(const Stream& a, const Stream& b) noexcept {
    return a.handle() == b.handle() && a.device_ == b.device_;
  }
  friend bool operator!=(const Stream& a, const Stream& b) noexcept { return !(a == b); }

 private:
  struct Owner;
  Stream(std::shared_ptr<Owner> owner, void* handle, int device);
  std::shared_ptr<Owner> owner_;
  void* handle_ = nullptr;
  int device_ = 0;
};

/// The calling thread's current stream on `device` (-1: current device); the
/// default stream unless a StreamGuard or set_current_stream changed it. CUDA
/// ops are queued on it.
STRATA_API Stream current_stream(int device = -1);
/// Makes `stream` the calling thread's current stream on its device.
STRATA_API void set_current_stream(const Stream& stream);

/// Sets the current stream (and device) for a scope and restores both after.
class STRATA_API StreamGuard {
 public:
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream previous_;
  int previous_device_;
};

/// A CUDA event. Created lazily by the first record(), so constructing one is
/// free and safe without a GPU. Movable, not copyable.
class STRATA_API Event {
 public:
  /// `enable_timing` allows elapsed_ms(); otherwise the event is cheaper.
  explicit Event(bool enable_timing = false);
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// Records the event on `stream` (default: the current stream).
  void record();
  void record(const Stream& stream);
  /// True when the recorded work has completed, or when never recorded.
  bool query() const;
  /// Blocks the host until the recorded work has completed.
  void synchronize() const;
  /// Makes `stream` wait for this event without blocking the host.
  void block(const Stream& stream) const;
  /// Milliseconds between this event and `end`; both must be recorded and timed.
  float elapsed_ms(const Event& end) const;
  void* handle() const noexcept { return event_; }

 private:
  void* event_ = nullptr;
  int device_ = 0;
  bool enable_timing_ = false;
};

/// Blocks until all work on `device` (-1: current device) has finished. A no-op
/// when CUDA is not available.
STRATA_API void synchronize(int device = -1);

}  // namespace strata::cuda
