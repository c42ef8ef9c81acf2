# Unit tests of snapshot/: parsers, index, and snapshots/discovery of real child processes.
add_executable(snapshot_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/vm_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/smaps_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/pagemap_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/page_index_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/guest_snapshot_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/domain_xml_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/qemu_cmdline_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot/discovery_test.cpp
)
target_link_libraries(snapshot_unit_tests PRIVATE singleton_cli GTest::gtest_main)
gtest_discover_tests(snapshot_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
