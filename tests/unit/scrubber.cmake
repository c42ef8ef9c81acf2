add_executable(scrubber_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/eviction_audit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/folio_extents_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/mincore_page_cache_view_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/page_cache_view_factory_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/pass_lock_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/placed_pass_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/scrub_images_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/scrub_policy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/sigbus_guard_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scrubber/vm_selection_options_test.cpp
)
target_link_libraries(scrubber_unit_tests PRIVATE singleton_pass GTest::gtest_main)
gtest_discover_tests(scrubber_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)

# The CLI's answers to bad input (runs the built binary; no VMs).
add_executable(scrubber_cli_tests ${CMAKE_CURRENT_LIST_DIR}/scrubber/cli_errors_test.cpp)
target_compile_definitions(scrubber_cli_tests PRIVATE SINGLETON_BIN="$<TARGET_FILE:singleton>")
add_dependencies(scrubber_cli_tests singleton)
target_link_libraries(scrubber_cli_tests PRIVATE singleton_guestkit Boost::json GTest::gtest_main)
gtest_discover_tests(scrubber_cli_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
