add_executable(snapshot_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/vm_test.cpp
)
target_link_libraries(snapshot_unit_tests PRIVATE singleton_snapshot GTest::gtest_main)
gtest_discover_tests(snapshot_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
