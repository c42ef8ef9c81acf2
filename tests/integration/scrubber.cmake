# Scrub passes against real guests (guest kit) and the `singleton` CLI's errors.
add_executable(scrubber_integration_tests
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/scrub_guest_test.cpp
)
target_compile_definitions(scrubber_integration_tests PRIVATE
  SINGLETON_BIN="$<TARGET_FILE:singleton>")
add_dependencies(scrubber_integration_tests singleton)
target_link_libraries(scrubber_integration_tests PRIVATE
  singleton_pass singleton_guestkit Boost::json GTest::gtest_main)
gtest_discover_tests(scrubber_integration_tests DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS integration TIMEOUT 600)
