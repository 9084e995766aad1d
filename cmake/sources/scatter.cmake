# Scatter family and advanced indexing: front-ends (src/ops) and kernels.
list(APPEND STRATA_SOURCES
  src/ops/scatter.cpp
  src/ops/index.cpp
  kernels/cpu/scatter.cpp
  kernels/cpu/index.cpp)
list(APPEND STRATA_CUDA_SOURCES
  kernels/cuda/scatter.cu
  kernels/cuda/index.cu)
# scatter_combine's alpha * src + self rounds the product and the sum
# separately (as add_ does, elementwise.cmake); GCC would otherwise fuse them
# into an FMA in C++ where the target has one, and the bits would depend on
# the build's -march.
set_source_files_properties(kernels/cpu/scatter.cpp PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
