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
else()
  message(STATUS "strata: ATen not found: differential tests and ATen comparisons off")
endif()
