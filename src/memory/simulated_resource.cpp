// SimulatedResource: capacity accounting, fault injection and test-controlled
// streams and events over real host memory.
#include "strata/simulated_resource.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "src/core/check.h"

namespace strata {

namespace {

constexpr size_t kSimulatedAlignment = 512;

}  // namespace

SimulatedResource::SimulatedResource(size_t capacity, Device device)
    : device_(device), capacity_(capacity) {
  streams_.emplace(nullptr, StreamState{});
}

SimulatedResource::~SimulatedResource() {
  // Whatever the allocator did not give back is freed here so that leak checkers
  // report the allocator's leak through the counters, not this resource.
  for (auto& [ptr, bytes] : live_) std::free(ptr);
}

size_t SimulatedResource::capacity() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return capacity_;
}

void SimulatedResource::set_capacity(size_t capacity) {
  std::lock_guard<std::mutex> lock(mutex_);
  capacity_ = capacity;
}

void SimulatedResource::fail_nth_allocation(int64_t n) {
  STRATA_CHECK(n >= 1, ValueError, "fail_nth_allocation: n must be at least 1, got {}", n);
  std::lock_guard<std::mutex> lock(mutex_);
  fail_countdown_ = n;
}

void SimulatedResource::fail_allocations_above(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_above_ = bytes;
}

void SimulatedResource::clear_faults() {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_above_ = SIZE_MAX;
  fail_countdown_ = 0;
}

StreamHandle SimulatedResource::create_stream() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto* stream = reinterpret_cast<StreamHandle>(next_stream_id_++);
  streams_.emplace(stream, StreamState{});
  return stream;
}

void SimulatedResource::launch(StreamHandle stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++streams_[stream].queued;
}

void SimulatedResource::complete(StreamHandle stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  StreamState& state = streams_[stream];
  state.completed = state.queued;
}

void SimulatedResource::complete_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [stream, state] : streams_) state.completed = state.queued;
}

bool SimulatedResource::idle(StreamHandle stream) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = streams_.find(stream);
  return it == streams_.end() || it->second.completed == it->second.queued;
}

SimulatedResource::Counters SimulatedResource::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

EventHandle SimulatedResource::create_event() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.events_created;
  return new Event{};
}

void SimulatedResource::destroy_event(EventHandle event) noexcept {
  if (event == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.events_destroyed;
  delete static_cast<Event*>(event);
}

void SimulatedResource::record_event(EventHandle event, StreamHandle stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.event_records;
  auto* sim_event = static_cast<Event*>(event);
  sim_event->stream = stream;
  sim_event->ticket = streams_[stream].queued;
}

bool SimulatedResource::event_completed(EventHandle event) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.event_queries;
  auto* sim_event = static_cast<Event*>(event);
  return streams_[sim_event->stream].completed >= sim_event->ticket;
}

void SimulatedResource::synchronize_event(EventHandle event) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.event_synchronizes;
  auto* sim_event = static_cast<Event*>(event);
  StreamState& state = streams_[sim_event->stream];
  state.completed = std::max(state.completed, sim_event->ticket);
}

void* SimulatedResource::do_allocate(size_t bytes, StreamHandle) {
  size_t rounded = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counters_.allocate_calls;
    bool injected = fail_countdown_ > 0 && --fail_countdown_ == 0;
    bool too_large = bytes > fail_above_ || bytes > capacity_ - std::min(capacity_, counters_.bytes_in_use);
    if (injected || too_large) {
      ++counters_.failed_allocations;
      return nullptr;
    }
    rounded = std::max<size_t>(kSimulatedAlignment,
                               (bytes + kSimulatedAlignment - 1) / kSimulatedAlignment * kSimulatedAlignment);
    // Reserve the bytes before leaving the lock so that concurrent calls cannot
    // overshoot the capacity.
    counters_.bytes_in_use += bytes;
  }
  void* ptr = std::aligned_alloc(kSimulatedAlignment, rounded);
  std::lock_guard<std::mutex> lock(mutex_);
  if (ptr == nullptr) {
    counters_.bytes_in_use -= bytes;
    ++counters_.failed_allocations;
    return nullptr;
  }
  std::memset(ptr, kFreshByte, bytes);
  live_.emplace(ptr, bytes);
  ++counters_.live_allocations;
  counters_.peak_bytes_in_use = std::max(counters_.peak_bytes_in_use, counters_.bytes_in_use);
  return ptr;
}

void SimulatedResource::do_deallocate(void* ptr, size_t bytes, StreamHandle) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.deallocate_calls;
  auto it = live_.find(ptr);
  if (it == live_.end() || it->second != bytes) {
    ++counters_.bad_deallocations;
    return;
  }
  std::memset(ptr, kPoisonByte, bytes);
  std::free(ptr);
  counters_.bytes_in_use -= bytes;
  --counters_.live_allocations;
  live_.erase(it);
}

}  // namespace strata
