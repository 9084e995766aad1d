// Tensor::copy_: broadcast src into self, converting dtypes, on one device or
// between the host and CUDA devices.
#include "kernels/cpu/copy.h"
#include "src/core/check.h"
#include "src/core/shape_util.h"
#include "src/ops/elementwise_iter.h"
#include "src/ops/overlap.h"
#include "src/runtime/stream_util.h"
#include "strata/factories.h"
#include "strata/cuda.h"
#include "strata/tensor.h"

#if STRATA_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/copy.h"
#include "src/runtime/cuda_check.h"
#endif

namespace strata {

namespace {

// self and src on the same device: one elementwise pass.
void copy_same_device(const Tensor& self, const Tensor& src) {
  kernels::UninitializedDesc<kernels::ElementwiseDesc> storage;
  kernels::ElementwiseDesc& desc = storage.get();
  const ops::StridedOperand input = ops::operand_of(src);
  ops::build_elementwise_desc(desc, ops::operand_of(self), {&input, 1}, "copy_");
  if (desc.numel == 0) return;
  const Device device = self.device();
  if (device.is_cpu()) {
    kernels::cpu::copy(desc);
    return;
  }
#if STRATA_WITH_CUDA
  kernels::cuda::copy(desc, device.index(), detail::current_stream_handle(device));
#endif
}

#if STRATA_WITH_CUDA
// Uninitialized dense memory on `device` for src's bytes.
Tensor staging_for(const Tensor& src, const Device& device) {
  return empty(src.sizes(), TensorOptions().dtype(src.dtype()).device(device));
}

// Bytes from one dense buffer to another of the same size. As with PyTorch's
// blocking copy_, the host waits for the transfer: the buffers (possibly
// page-locked staging memory) may be reused as soon as this returns.
void transfer_dense(const Tensor& dst, const Tensor& src) {
  const size_t nbytes = src.nbytes();
  if (nbytes == 0) return;
  if (dst.is_cuda() && src.is_cuda()) {
    // Different devices: finish src's producers, then copy on dst's stream.
    cuda::current_stream(src.device().index()).synchronize();
    const cuda::Stream stream = cuda::current_stream(dst.device().index());
    detail::CudaDeviceScope scope(dst.device().index());
    STRATA_CUDA_CHECK(cudaMemcpyPeerAsync(dst.data_ptr(), dst.device().index(), src.data_ptr(),
                                          src.device().index(), nbytes, static_cast<cudaStream_t>(stream.handle())));
    stream.synchronize();
    return;
  }
  const Device cuda_device = dst.is_cuda() ? dst.device() : src.device();
  const cuda::Stream stream = cuda::current_stream(cuda_device.index());
  detail::CudaDeviceScope scope(cuda_device.index());
  const cudaMemcpyKind kind = dst.is_cuda() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
  STRATA_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), nbytes, kind,
                                    static_cast<cudaStream_t>(stream.handle())));
  stream.synchronize();
}
#endif

// self and src on different devices: src moves as dense bytes in its own dtype,
// then broadcasting and conversion happen on self's device.
void copy_across_devices(const Tensor& self, const Tensor& src) {
#if STRATA_WITH_CUDA
  check_device_usable(self.device());
  check_device_usable(src.device());
  // Shapes are checked before any transfer.
  const Shape shape = ops::broadcast_shape({self.sizes(), src.sizes()});
  STRATA_CHECK(shape == self.sizes(), ShapeError, "output with shape {} doesn't match the broadcast shape {}",
               detail::shape_str(self.sizes()), detail::shape_str(shape));
  if (self.numel() == 0) return;
  const Tensor dense_src = src.contiguous();
  const bool direct = self.is_contiguous() && self.dtype() == src.dtype() && self.sizes() == src.sizes();
  if (direct) {
    transfer_dense(self, dense_src);
    return;
  }
  const Tensor staged = staging_for(dense_src, self.device());
  transfer_dense(staged, dense_src);
  copy_same_device(self, staged);
#else
  STRATA_FAIL(DeviceError, "copy_: cannot copy from {} to {}: this build has no CUDA support", src.device().str(),
              self.device().str());
#endif
}

}  // namespace

const Tensor& Tensor::copy_(const Tensor& src) const {
  STRATA_CHECK(defined() && src.defined(), ValueError, "copy_: the tensors must be defined");
  if (is_same(src)) return *this;
  ops::assert_no_internal_overlap(*this);
  if (device() == src.device()) {
    ops::assert_no_partial_overlap(*this, src);
    copy_same_device(*this, src);
  } else {
    copy_across_devices(*this, src);
  }
  return *this;
}

}  // namespace strata
