# Unit tests of snapshot/: parsers, index, and snapshots/discovery of real child processes.
add_executable(snapshot_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/vm_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/smaps_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pagemap_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/page_index_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/guest_snapshot_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/domain_xml_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/qemu_cmdline_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/discovery_test.cpp
)
target_link_libraries(snapshot_unit_tests PRIVATE singleton_snapshot GTest::gtest_main)
gtest_discover_tests(snapshot_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
