# Trust boundaries of discovery: which processes are VMs, which files are their disks, the bounds
# on what one VM may ask for. Unit parts, and the `singleton` CLI against fake QEMU processes
# run as root and as nobody (needs root; no VM).
add_executable(trust_unit_tests ${CMAKE_CURRENT_LIST_DIR}/trust/trust_unit_test.cpp)
target_link_libraries(trust_unit_tests PRIVATE singleton_pass GTest::gtest_main)
gtest_discover_tests(trust_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)

add_executable(trust_cli_tests ${CMAKE_CURRENT_LIST_DIR}/trust/trust_cli_test.cpp)
target_compile_definitions(trust_cli_tests PRIVATE SINGLETON_BIN="$<TARGET_FILE:singleton>")
add_dependencies(trust_cli_tests singleton)
target_link_libraries(trust_cli_tests PRIVATE singleton_guestkit Boost::json GTest::gtest_main)
gtest_discover_tests(trust_cli_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
