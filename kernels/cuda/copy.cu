// CUDA copy with conversion. Templated on the destination type only; the source
// dtype is a runtime switch inside load_as, which keeps nvcc's work to ten
// instantiations per kernel.
#include <cuda_runtime_api.h>

#include "kernels/common/convert.h"
#include "kernels/common/dispatch.h"
#include "kernels/common/offset_calc.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/loops.cuh"

namespace strata::kernels::cuda {

namespace {

template <typename Dst>
__global__ void copy_contiguous_kernel(Dst* dst, const char* src, DType src_dtype, int64_t src_item, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    dst[i] = load_as<Dst>(src + i * src_item, src_dtype);
  }
}

template <typename Dst>
__global__ void copy_strided_kernel(ElementwiseDesc desc) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const DType src_dtype = desc.operands[1].dtype;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < desc.numel; i += step) {
    int64_t offsets[2];
    element_offsets(desc, i, offsets);
    *reinterpret_cast<Dst*>(desc.operands[0].data + offsets[0]) =
        load_as<Dst>(desc.operands[1].data + offsets[1], src_dtype);
  }
}

}  // namespace

void copy(const ElementwiseDesc& desc, int device, void* stream) {
  if (desc.numel == 0) return;
  DeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  const Operand& dst = desc.operands[0];
  const Operand& src = desc.operands[1];
  if (desc.is_contiguous() && dst.dtype == src.dtype) {
    STRATA_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, desc.numel * ElementwiseDesc::dtype_size(dst.dtype),
                                      cudaMemcpyDeviceToDevice, cuda_stream));
    return;
  }
  dispatch_dtype(dst.dtype, [&](auto tag) {
    using Dst = typename decltype(tag)::type;
    if (desc.is_contiguous()) {
      copy_contiguous_kernel<Dst><<<grid_blocks(desc.numel), kBlockThreads, 0, cuda_stream>>>(
          reinterpret_cast<Dst*>(dst.data), src.data, src.dtype,
          static_cast<int64_t>(ElementwiseDesc::dtype_size(src.dtype)), desc.numel);
    } else {
      copy_strided_kernel<Dst><<<grid_blocks(desc.numel), kBlockThreads, 0, cuda_stream>>>(desc);
    }
    STRATA_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace strata::kernels::cuda
