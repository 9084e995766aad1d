# src/core: Tensor, Storage, views, factories, printing, dtypes, errors; the
# elementwise iteration front-end and the copy/fill kernels it drives.
list(APPEND STRATA_SOURCES
  src/core/errors.cpp
  src/core/dtype.cpp
  src/core/device.cpp
  src/core/scalar.cpp
  src/core/storage.cpp
  src/core/tensor.cpp
  src/core/views.cpp
  src/core/factories.cpp
  src/core/printing.cpp
  src/core/shape_util.cpp
  src/ops/elementwise_iter.cpp
  src/ops/copy.cpp
  src/ops/fill.cpp
  kernels/cpu/copy.cpp
  kernels/cpu/fill.cpp)
list(APPEND STRATA_CUDA_SOURCES
  kernels/cuda/copy.cu
  kernels/cuda/fill.cu)
