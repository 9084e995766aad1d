# Finds ATen (libtorch's tensor library; Debian's libtorch-dev on the CPU, or the
# libtorch inside a PyTorch install via -DCMAKE_PREFIX_PATH=$(python -c 'import
# torch.utils; print(torch.utils.cmake_prefix_path)')) for side-by-side benchmarks
# and differential tests. Defines the INTERFACE target strata_aten and
# STRATA_ATEN_FOUND.
set(STRATA_ATEN_FOUND OFF)
find_path(STRATA_ATEN_INCLUDE_DIR ATen/ATen.h)
find_library(STRATA_TORCH_CPU_LIBRARY torch_cpu)
find_library(STRATA_C10_LIBRARY c10)
if(STRATA_ATEN_INCLUDE_DIR AND STRATA_TORCH_CPU_LIBRARY AND STRATA_C10_LIBRARY)
  add_library(strata_aten INTERFACE)
  target_include_directories(strata_aten SYSTEM INTERFACE ${STRATA_ATEN_INCLUDE_DIR})
  target_link_libraries(strata_aten INTERFACE ${STRATA_TORCH_CPU_LIBRARY} ${STRATA_C10_LIBRARY})
  target_compile_definitions(strata_aten INTERFACE STRATA_HAVE_ATEN=1)
  set(STRATA_ATEN_FOUND ON)
  message(STATUS "strata: ATen found (${STRATA_TORCH_CPU_LIBRARY}): differential tests and comparisons on")
  # A PyTorch built with CUDA (its wheel's libtorch): link its CUDA libraries too,
  # so that the GPU benchmarks compare with PyTorch's CUDA ops. They must stay
  # loaded even though nothing names them (at::hasCUDA() asks their registration).
  get_filename_component(_strata_torch_lib_dir "${STRATA_TORCH_CPU_LIBRARY}" DIRECTORY)
  find_library(STRATA_TORCH_CUDA_LIBRARY torch_cuda HINTS "${_strata_torch_lib_dir}" NO_DEFAULT_PATH)
  find_library(STRATA_C10_CUDA_LIBRARY c10_cuda HINTS "${_strata_torch_lib_dir}" NO_DEFAULT_PATH)
  if(STRATA_CUDA_ENABLED AND STRATA_TORCH_CUDA_LIBRARY AND STRATA_C10_CUDA_LIBRARY)
    target_link_libraries(strata_aten INTERFACE "-Wl,--no-as-needed" ${STRATA_TORCH_CUDA_LIBRARY}
                          ${STRATA_C10_CUDA_LIBRARY} "-Wl,--as-needed")
    target_compile_definitions(strata_aten INTERFACE STRATA_BENCH_TORCH_CUDA=1)
    message(STATUS "strata: PyTorch's CUDA libraries found: GPU benchmarks compare with PyTorch")
  endif()
else()
  message(STATUS "strata: ATen not found: differential tests and ATen comparisons off")
endif()
