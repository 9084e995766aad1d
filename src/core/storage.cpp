// Storage: a buffer from a device's caching allocator, returned to it when the
// last handle goes away.
#include "strata/storage.h"

#include "src/core/recycling_allocator.h"
#include "src/runtime/stream_util.h"
#include "strata/memory.h"

namespace strata {

struct Storage::Impl {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device{DeviceType::CPU};
  CachingAllocator* allocator = nullptr;

  Impl(void* data, size_t nbytes, Device device, CachingAllocator* allocator)
      : data(data), nbytes(nbytes), device(device), allocator(allocator) {}
  ~Impl() {
    // deallocate is noexcept: a destructor never throws.
    if (allocator != nullptr && data != nullptr) allocator->deallocate(data);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

Storage Storage::allocate(size_t nbytes, const Device& device) {
  check_device_usable(device);
  CachingAllocator& allocator = memory::allocator(device);
  void* data = allocator.allocate(nbytes, detail::current_stream_handle(device));
  Storage storage;
  try {
    storage.impl_ = std::allocate_shared<Impl>(detail::RecyclingAllocator<Impl>(), data, nbytes, device, &allocator);
  } catch (...) {
    allocator.deallocate(data);
    throw;
  }
  return storage;
}

void* Storage::data() const noexcept { return impl_ ? impl_->data : nullptr; }
size_t Storage::nbytes() const noexcept { return impl_ ? impl_->nbytes : 0; }
Device Storage::device() const { return impl_ ? impl_->device : kCPU; }
CachingAllocator* Storage::allocator() const noexcept { return impl_ ? impl_->allocator : nullptr; }

}  // namespace strata
