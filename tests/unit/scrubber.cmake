add_executable(scrubber_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/mincore_page_cache_view_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/scrub_images_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/scrub_policy_test.cpp
)
target_link_libraries(scrubber_unit_tests PRIVATE singleton_scrubber GTest::gtest_main)
gtest_discover_tests(scrubber_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
