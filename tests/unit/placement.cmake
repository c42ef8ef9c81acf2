# scrubber/placement/: the placement map and the record decoding (no BPF, no root: label unit,
# also run inside the 6.1/6.12 guests), and the real BPF tracer on this host's kernel (root,
# BTF: label host-only too, so tests/unit/run-in-guest leaves it out).
add_executable(placement_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/placement/placement_map_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/placement/placement_record_test.cpp
)
target_link_libraries(placement_unit_tests PRIVATE singleton_placement GTest::gtest_main)
gtest_discover_tests(placement_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)

add_executable(placement_bpf_tests ${CMAKE_CURRENT_LIST_DIR}/placement/placement_tracer_test.cpp)
target_link_libraries(placement_bpf_tests PRIVATE singleton_placement GTest::gtest_main)
# One ctest entry for the binary: gtest_discover_tests would flatten the label list (the
# tests would be labelled "unit" only, and run in the guests).
add_test(NAME placement_bpf_tests COMMAND placement_bpf_tests)
set_tests_properties(placement_bpf_tests PROPERTIES
  LABELS "unit;host-only" TIMEOUT 120 RUN_SERIAL TRUE)
