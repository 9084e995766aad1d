// Tensor::fill_ and zero_: every element of self set to one value.
#include <cstring>

#include "kernels/cpu/fill.h"
#include "src/core/check.h"
#include "src/core/scalar_convert.h"
#include "src/ops/elementwise_iter.h"
#include "src/runtime/parallel.h"
#include "src/runtime/stream_util.h"
#include "strata/cuda.h"
#include "strata/tensor.h"

#if STRATA_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/fill.h"
#include "kernels/cuda/loops.cuh"
#include "src/runtime/cuda_check.h"
#endif

namespace strata {

namespace {

// Writes the element at `value` (already in self's dtype) everywhere in self.
// Overlapping self (an expanded tensor) is fine: fill is idempotent.
void fill_with_element(const Tensor& self, const void* value) {
  const ops::StridedOperand out = ops::operand_of(self);
  kernels::UninitializedDesc<kernels::ElementwiseDesc> storage;
  kernels::ElementwiseDesc& desc = storage.get();
  ops::build_elementwise_desc(desc, out, {}, "fill_");
  if (desc.numel == 0) return;
  const Device device = self.device();
  if (device.is_cpu()) {
    kernels::cpu::fill(desc, value);
    return;
  }
#if STRATA_WITH_CUDA
  kernels::cuda::fill(desc, value, device.index(), detail::current_stream_handle(device));
#endif
}

}  // namespace

const Tensor& Tensor::fill_(const Scalar& value) const {
  detail::check_scalar_fits(value, dtype());
  alignas(8) unsigned char element[8] = {};
  detail::store_scalar(value, dtype(), element);
  if (is_cpu() && numel() == 1) {  // one element: no iteration to set up
    std::memcpy(data_ptr(), element, element_size());
    return *this;
  }
  fill_with_element(*this, element);
  return *this;
}

const Tensor& Tensor::zero_() const {
  // All-zero bits are zero in every dtype; a dense tensor is memset (in
  // parallel chunks on the CPU when large).
  if (is_contiguous() && numel() > 0) {
    if (is_cpu()) {
      char* data = static_cast<char*>(data_ptr());
      const int64_t item = static_cast<int64_t>(element_size());
      const auto zero_range = [&](int64_t begin, int64_t end) {
        std::memset(data + begin * item, 0, static_cast<size_t>((end - begin) * item));
      };
      if (numel() < kGrainSize) {
        zero_range(0, numel());
      } else {
        parallel_for(0, numel(), kGrainSize, zero_range);
      }
      return *this;
    }
#if STRATA_WITH_CUDA
    const Device d = device();
    const cuda::Stream stream = cuda::current_stream(d.index());
    kernels::cuda::DeviceScope scope(d.index());
    STRATA_CUDA_CHECK(cudaMemsetAsync(data_ptr(), 0, nbytes(), static_cast<cudaStream_t>(stream.handle())));
    return *this;
#endif
  }
  const unsigned char zero[8] = {};
  fill_with_element(*this, zero);
  return *this;
}

}  // namespace strata
