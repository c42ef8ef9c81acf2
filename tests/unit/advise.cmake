# scrubber/advise/ and bench/sim/ (issue 14): the cache model's invariants (demote = an LRU of
# guest + host for one VM, eager:1 never holds a duplicate, nothing beats demote for one VM
# outside loops), each policy's mechanics, the trace reader's refusals, the guest size inference,
# and `singleton advise` run on small trace files. Pure computation: fast anywhere, in guests too.
add_executable(advise_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/advise/cache_model_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/advise/trace_reader_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/advise/phases_test.cpp
)
target_link_libraries(advise_unit_tests PRIVATE singleton_sim singleton_advise GTest::gtest_main)
gtest_discover_tests(advise_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)

add_executable(advise_cli_tests ${CMAKE_CURRENT_LIST_DIR}/advise/advise_cli_test.cpp)
target_compile_definitions(advise_cli_tests PRIVATE SINGLETON_BIN="$<TARGET_FILE:singleton>")
add_dependencies(advise_cli_tests singleton)
target_link_libraries(advise_cli_tests PRIVATE singleton_guestkit Boost::json GTest::gtest_main)
gtest_discover_tests(advise_cli_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
