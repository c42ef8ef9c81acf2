# `singleton trace` against a real guest (guest kit): where QEMU put each image block it read.
add_executable(placement_integration_tests
  ${CMAKE_CURRENT_LIST_DIR}/placement/pressure_watch_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/placement/trace_guest_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/placement/watch_tracker_test.cpp
)
target_compile_definitions(placement_integration_tests PRIVATE
  SINGLETON_BIN="$<TARGET_FILE:singleton>")
add_dependencies(placement_integration_tests singleton)
target_link_libraries(placement_integration_tests PRIVATE singleton_guestkit Boost::json GTest::gtest_main)
gtest_discover_tests(placement_integration_tests DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS integration TIMEOUT 600)
