list(APPEND STRATA_OPS_TESTS
  ${CMAKE_CURRENT_LIST_DIR}/overlap_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fill_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/add_test.cpp)
list(APPEND STRATA_ATEN_TESTS
  ${CMAKE_CURRENT_LIST_DIR}/add_aten_test.cpp)
