// SimulatedResource: a device that exists only in software, for testing the
// caching allocator without a GPU. It has a capacity, counts every upstream
// call, can be told to fail allocations, and has streams and events whose
// completion the test controls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "strata/memory.h"

namespace strata {

/// A MemoryResource simulating a device with `capacity` bytes. Memory is real
/// host memory (so tests may write to it), at least 256-byte aligned, filled with
/// kFreshByte when handed out and with kPoisonByte when given back.
///
/// Streams are ids made by create_stream() (nullptr is the default stream).
/// launch(s) queues a unit of work on s; it runs until complete(s) or
/// complete_all(). An event recorded on s completes once the work queued on s
/// before the record has completed; synchronize_event() completes that work, as
/// a blocking wait on a real device would. Thread-safe.
class STRATA_API SimulatedResource final : public MemoryResource {
 public:
  static constexpr uint8_t kFreshByte = 0xCD;
  static constexpr uint8_t kPoisonByte = 0xDB;

  /// Calls made by the allocator, for tests to assert on.
  struct Counters {
    int64_t allocate_calls = 0;      ///< every allocate, failed or not
    int64_t failed_allocations = 0;  ///< allocate calls that returned nullptr
    int64_t deallocate_calls = 0;
    int64_t bad_deallocations = 0;   ///< unknown pointer or wrong size
    int64_t events_created = 0;
    int64_t events_destroyed = 0;
    int64_t event_records = 0;
    int64_t event_queries = 0;
    int64_t event_synchronizes = 0;
    size_t bytes_in_use = 0;
    size_t peak_bytes_in_use = 0;
    size_t live_allocations = 0;
  };

  explicit SimulatedResource(size_t capacity, Device device = kCPU);
  ~SimulatedResource() override;

  Device device() const override { return device_; }
  size_t capacity() const noexcept override;
  void set_capacity(size_t capacity);

  // ---- fault injection -----------------------------------------------------------
  /// The n-th allocate call from now (1: the next one) returns nullptr.
  void fail_nth_allocation(int64_t n);
  /// Every allocate of more than `bytes` returns nullptr (SIZE_MAX: never).
  void fail_allocations_above(size_t bytes);
  void clear_faults();

  // ---- simulated streams ---------------------------------------------------------
  StreamHandle create_stream();
  /// Queues one unit of work on `stream`: events recorded after it stay pending
  /// until complete(stream).
  void launch(StreamHandle stream);
  /// Finishes all work queued on `stream` so far.
  void complete(StreamHandle stream);
  void complete_all();
  /// True when no queued work on `stream` is pending.
  bool idle(StreamHandle stream) const;

  Counters counters() const;

  EventHandle create_event() override;
  void destroy_event(EventHandle event) noexcept override;
  void record_event(EventHandle event, StreamHandle stream) override;
  bool event_completed(EventHandle event) override;
  void synchronize_event(EventHandle event) override;

 private:
  struct StreamState {
    uint64_t queued = 0;
    uint64_t completed = 0;
  };
  struct Event {
    StreamHandle stream = nullptr;
    uint64_t ticket = 0;
  };

  void* do_allocate(size_t bytes, StreamHandle stream) override;
  void do_deallocate(void* ptr, size_t bytes, StreamHandle stream) noexcept override;

  mutable std::mutex mutex_;
  Device device_;
  size_t capacity_;
  size_t fail_above_ = SIZE_MAX;
  int64_t fail_countdown_ = 0;
  uintptr_t next_stream_id_ = 1;
  std::unordered_map<StreamHandle, StreamState> streams_;
  std::unordered_map<void*, size_t> live_;
  Counters counters_;
};

}  // namespace strata
