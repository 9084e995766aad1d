// Memory: the MemoryResource interface (an upstream that hands out raw memory),
// its host, CUDA and simulated implementations, and the CachingAllocator that
// every Storage is allocated from, one per device, the CPU included.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "strata/device.h"
#include "strata/export.h"

namespace strata {

/// An opaque stream: a cudaStream_t for CUDA resources, an id for simulated ones,
/// nullptr for the default stream (and the CPU's single implicit stream).
using StreamHandle = void*;
/// An opaque event created by a MemoryResource.
using EventHandle = void*;

/// Raw memory from a device, in the style of RMM: a tiny public face over private
/// virtual hooks. do_allocate returns nullptr when the device is out of memory
/// (so that the pool can free its cache and retry) and throws for other failures.
class STRATA_API MemoryResource {
 public:
  virtual ~MemoryResource();

  /// At least 256-byte aligned memory valid on `stream`, or nullptr when out of
  /// memory.
  void* allocate(size_t bytes, StreamHandle stream = nullptr) { return do_allocate(bytes, stream); }
  /// Returns memory from allocate(); `bytes` must be the size asked for.
  void deallocate(void* ptr, size_t bytes, StreamHandle stream = nullptr) noexcept {
    do_deallocate(ptr, bytes, stream);
  }

  /// The device this resource serves.
  virtual Device device() const = 0;
  /// Total bytes of the device when known, else 0.
  virtual size_t capacity() const noexcept { return 0; }

  /// Stream-ordering primitives the pool needs for cross-stream reuse. The
  /// defaults describe a synchronous device (the CPU): events complete at once.
  virtual EventHandle create_event() { return nullptr; }
  virtual void destroy_event(EventHandle) noexcept {}
  virtual void record_event(EventHandle, StreamHandle) {}
  /// True when the work before the recorded event has finished. Never blocks.
  virtual bool event_completed(EventHandle) { return true; }
  /// Blocks until the event has completed.
  virtual void synchronize_event(EventHandle) {}

 private:
  virtual void* do_allocate(size_t bytes, StreamHandle stream) = 0;
  virtual void do_deallocate(void* ptr, size_t bytes, StreamHandle stream) noexcept = 0;
};

/// Host memory (aligned; page-locked when `pinned` and CUDA is available).
STRATA_API std::shared_ptr<MemoryResource> make_host_resource(bool pinned = false);
/// cudaMalloc/cudaFree on one device. Throws DeviceError without CUDA.
STRATA_API std::shared_ptr<MemoryResource> make_cuda_resource(int device_index);

class CachingAllocator;

namespace memory {

/// The process-wide caching allocator of `device`, created on first use over the
/// device's upstream resource with the configuration from STRATA_ALLOC_CONF.
/// Throws DeviceError for a device that cannot be used.
STRATA_API CachingAllocator& allocator(const Device& device);

}  // namespace memory

}  // namespace strata

#include "strata/caching_allocator.h"
