list(APPEND STRATA_OPS_TESTS
  ${CMAKE_CURRENT_LIST_DIR}/scatter_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/index_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scatter_guard_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scatter_coverage_test.cpp)
list(APPEND STRATA_ATEN_TESTS
  ${CMAKE_CURRENT_LIST_DIR}/scatter_aten_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scatter_fuzz_aten_test.cpp)
