// CUDA device runtime over cudart's C API. In a build without CUDA every query
// answers "no device" and every request for a stream throws DeviceError.
#include <memory>
#include <mutex>
#include <unordered_map>

#include "src/core/check.h"
#include "src/runtime/cuda_check.h"
#include "src/runtime/stream_util.h"
#include "strata/cuda.h"

namespace strata {

namespace detail {

#if STRATA_WITH_CUDA
void throw_cuda_error(int code, const char* call, const char* file, int line) {
  const auto status = static_cast<cudaError_t>(code);
  const std::string message = fmt::format("CUDA error: {} ({} {}) from {}", cudaGetErrorString(status),
                                          cudaGetErrorName(status), code, call);
  if (status == cudaErrorMemoryAllocation) throw OutOfMemoryError(message, file, line);
  throw DeviceError(message, file, line);
}
#endif

StreamHandle current_stream_handle(const Device& device) {
  return device.is_cuda() ? cuda::current_stream(device.index()).handle() : nullptr;
}

}  // namespace detail

namespace cuda {

namespace {

int probe_device_count() {
#if STRATA_WITH_CUDA
  int count = 0;
  // "insufficient driver" and "no device" both mean: run on the CPU.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

int cached_device_count() {
  static const int count = probe_device_count();
  return count;
}

void require_cuda(int device) {
#if !STRATA_WITH_CUDA
  STRATA_FAIL(DeviceError, "CUDA is not available: strata was built without CUDA support (device cuda:{})",
              device);
#else
  const int count = cached_device_count();
  STRATA_CHECK(count > 0, DeviceError,
               "CUDA is not available: no CUDA device or no sufficient driver on this machine (device cuda:{})",
               device);
  STRATA_CHECK(device >= 0 && device < count, DeviceError,
               "CUDA device index {} is out of range: this machine has {} CUDA device(s)", device, count);
#endif
}

int resolve(int device) { return device < 0 ? current_device() : device; }

#if STRATA_WITH_CUDA
using DeviceScope = detail::CudaDeviceScope;
#endif

// The calling thread's current stream per device; absent means the default stream.

std::unordered_map<int, Stream>& current_streams() {
  thread_local std::unordered_map<int, Stream> streams;
  return streams;
}

}  // namespace

bool is_available() { return cached_device_count() > 0; }

int device_count() { return cached_device_count(); }

int current_device() {
#if STRATA_WITH_CUDA
  if (!is_available()) return 0;
  int device = 0;
  STRATA_CUDA_CHECK(cudaGetDevice(&device));
  return device;
#else
  return 0;
#endif
}

void set_device(int index) {
  require_cuda(index);
#if STRATA_WITH_CUDA
  STRATA_CUDA_CHECK(cudaSetDevice(index));
#endif
}

struct Stream::Owner {
  void* handle = nullptr;
  int device = 0;
  ~Owner() {
#if STRATA_WITH_CUDA
    if (handle != nullptr) (void)cudaStreamDestroy(static_cast<cudaStream_t>(handle));
#endif
  }
};

Stream::Stream(std::shared_ptr<Owner> owner, void* handle, int device)
    : owner_(std::move(owner)), handle_(handle), device_(device) {}

void* Stream::handle() const noexcept { return handle_; }

Stream Stream::create(int device) {
  device = resolve(device);
  require_cuda(device);
#if STRATA_WITH_CUDA
  DeviceScope scope(device);
  cudaStream_t stream = nullptr;
  STRATA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  auto owner = std::make_shared<Owner>();
  owner->handle = stream;
  owner->device = device;
  return Stream(std::move(owner), stream, device);
#else
  return Stream(nullptr, nullptr, device);
#endif
}

Stream Stream::default_stream(int device) { return Stream(nullptr, nullptr, resolve(device)); }

void Stream::synchronize() const {
  require_cuda(device_);
#if STRATA_WITH_CUDA
  DeviceScope scope(device_);
  STRATA_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(handle_)));
#endif
}

bool Stream::query() const {
  require_cuda(device_);
#if STRATA_WITH_CUDA
  DeviceScope scope(device_);
  const cudaError_t status = cudaStreamQuery(static_cast<cudaStream_t>(handle_));
  if (detail::cuda_not_ready(status)) return false;
  STRATA_CUDA_CHECK(status);
#endif
  return true;
}

Stream current_stream(int device) {
  device = resolve(device);
  auto& streams = current_streams();
  auto it = streams.find(device);
  return it != streams.end() ? it->second : Stream::default_stream(device);
}

void set_current_stream(const Stream& stream) {
  auto& streams = current_streams();
  streams.insert_or_assign(stream.device_index(), stream);
}

StreamGuard::StreamGuard(const Stream& stream)
    : previous_(current_stream(stream.device_index())), previous_device_(current_device()) {
  if (stream.handle() != nullptr || is_available()) set_device(stream.device_index());
  set_current_stream(stream);
}

StreamGuard::~StreamGuard() {
  set_current_stream(previous_);
#if STRATA_WITH_CUDA
  if (is_available()) (void)cudaSetDevice(previous_device_);
#endif
}

Event::Event(bool enable_timing) : enable_timing_(enable_timing) {}

Event::~Event() {
#if STRATA_WITH_CUDA
  if (event_ != nullptr) (void)cudaEventDestroy(static_cast<cudaEvent_t>(event_));
#endif
}

Event::Event(Event&& other) noexcept
    : event_(other.event_), device_(other.device_), enable_timing_(other.enable_timing_) {
  other.event_ = nullptr;
}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
#if STRATA_WITH_CUDA
    if (event_ != nullptr) (void)cudaEventDestroy(static_cast<cudaEvent_t>(event_));
#endif
    event_ = other.event_;
    device_ = other.device_;
    enable_timing_ = other.enable_timing_;
    other.event_ = nullptr;
  }
  return *this;
}

void Event::record() { record(current_stream()); }

void Event::record(const Stream& stream) {
  require_cuda(stream.device_index());
#if STRATA_WITH_CUDA
  DeviceScope scope(stream.device_index());
  if (event_ == nullptr) {
    cudaEvent_t event = nullptr;
    STRATA_CUDA_CHECK(
        cudaEventCreateWithFlags(&event, enable_timing_ ? cudaEventDefault : cudaEventDisableTiming));
    event_ = event;
    device_ = stream.device_index();
  }
  STRATA_CHECK(device_ == stream.device_index(), DeviceError,
               "Event was recorded on cuda:{} and cannot be recorded on a stream of cuda:{}", device_,
               stream.device_index());
  STRATA_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event_), static_cast<cudaStream_t>(stream.handle())));
#endif
}

bool Event::query() const {
  if (event_ == nullptr) return true;
#if STRATA_WITH_CUDA
  const cudaError_t status = cudaEventQuery(static_cast<cudaEvent_t>(event_));
  if (detail::cuda_not_ready(status)) return false;
  STRATA_CUDA_CHECK(status);
#endif
  return true;
}

void Event::synchronize() const {
  if (event_ == nullptr) return;
#if STRATA_WITH_CUDA
  STRATA_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event_)));
#endif
}

void Event::block(const Stream& stream) const {
  if (event_ == nullptr) return;
#if STRATA_WITH_CUDA
  DeviceScope scope(stream.device_index());
  STRATA_CUDA_CHECK(
      cudaStreamWaitEvent(static_cast<cudaStream_t>(stream.handle()), static_cast<cudaEvent_t>(event_), 0));
#endif
}

float Event::elapsed_ms(const Event& end) const {
  STRATA_CHECK(event_ != nullptr && end.event_ != nullptr, DeviceError,
               "elapsed_ms: both events must have been recorded");
  STRATA_CHECK(enable_timing_ && end.enable_timing_, DeviceError,
               "elapsed_ms: both events must be created with enable_timing=true");
  float ms = 0.0f;
#if STRATA_WITH_CUDA
  STRATA_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(event_), static_cast<cudaEvent_t>(end.event_)));
#endif
  return ms;
}

void synchronize(int device) {
  if (!is_available()) return;
#if STRATA_WITH_CUDA
  DeviceScope scope(resolve(device));
  STRATA_CUDA_CHECK(cudaDeviceSynchronize());
#endif
}

}  // namespace cuda
}  // namespace strata
