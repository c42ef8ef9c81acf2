# Every unit-test binary (label unit) run inside guests booting Debian's 6.1 and 6.12 kernels
# (tests/unit/run-in-guest): the unit tests must hold on the kernels users run, not only here.
# Label "in-guest", not a name containing "unit": `ctest -L` takes a regular expression, and
# `make unit-test` (ctest -L unit) stays VM-free.
foreach(line 6.1 6.12)
  add_test(NAME unit_in_guest_${line}
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run-in-guest --kernel ${line}
                   --build ${CMAKE_BINARY_DIR} --sg-guest $<TARGET_FILE:sg-guest>)
  set_tests_properties(unit_in_guest_${line} PROPERTIES LABELS in-guest TIMEOUT 900)
endforeach()
