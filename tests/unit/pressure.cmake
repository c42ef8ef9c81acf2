# scrubber/pressure/: the pressure signals from MemAvailable, PSI and cgroup v1/v2 files given
# as data (no root), the decision and its amount, the options; and the choice of which kept
# duplicates go first (scrubber/pass/eviction_candidates).
add_executable(pressure_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/pressure/eviction_candidates_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pressure/pressure_gauge_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pressure/pressure_sources_test.cpp
)
target_link_libraries(pressure_unit_tests PRIVATE singleton_pass singleton_pressure GTest::gtest_main)
gtest_discover_tests(pressure_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
