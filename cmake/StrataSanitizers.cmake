# STRATA_SANITIZE applies to everything built in this tree (library, tests).
if(STRATA_SANITIZE)
  string(REPLACE ";" "," _strata_san "${STRATA_SANITIZE}")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${_strata_san}>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=all>)
  add_link_options(-fsanitize=${_strata_san})
endif()
