// CUDA fill: writes bits, so one instantiation per element size.
#include <cuda_runtime_api.h>

#include <cstring>

#include "kernels/common/offset_calc.h"
#include "kernels/cuda/fill.h"
#include "kernels/cuda/loops.cuh"

namespace strata::kernels::cuda {

namespace {

template <typename Bits>
__global__ void fill_contiguous_kernel(Bits* out, Bits value, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) out[i] = value;
}

template <typename Bits>
__global__ void fill_strided_kernel(ElementwiseDesc desc, Bits value) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < desc.numel; i += step) {
    int64_t offsets[1];
    element_offsets(desc, i, offsets);
    *reinterpret_cast<Bits*>(desc.operands[0].data + offsets[0]) = value;
  }
}

template <typename Bits>
void launch_fill(const ElementwiseDesc& desc, const void* value, cudaStream_t stream) {
  Bits bits;
  std::memcpy(&bits, value, sizeof(Bits));
  if (desc.is_contiguous()) {
    fill_contiguous_kernel<Bits><<<grid_blocks(desc.numel), kBlockThreads, 0, stream>>>(
        reinterpret_cast<Bits*>(desc.operands[0].data), bits, desc.numel);
  } else {
    fill_strided_kernel<Bits><<<grid_blocks(desc.numel), kBlockThreads, 0, stream>>>(desc, bits);
  }
  STRATA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void fill(const ElementwiseDesc& desc, const void* value, int device, void* stream) {
  if (desc.numel == 0) return;
  DeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  switch (ElementwiseDesc::dtype_size(desc.operands[0].dtype)) {
    case 1: return launch_fill<uint8_t>(desc, value, cuda_stream);
    case 2: return launch_fill<uint16_t>(desc, value, cuda_stream);
    case 4: return launch_fill<uint32_t>(desc, value, cuda_stream);
    default: return launch_fill<uint64_t>(desc, value, cuda_stream);
  }
}

}  // namespace strata::kernels::cuda
