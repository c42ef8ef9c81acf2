# singleton report against real guests (guest kit) and real libguestfs (its appliance under
# TCG where KVM does not work): raw ext4, qcow2 overlay, XFS in a GPT partition, ext4 on LVM, two guests
# sharing content, a disk libguestfs cannot read, an overlay whose backing file was deleted while
# the VM runs, an encrypted qcow2 disk.
add_executable(report_integration_tests ${CMAKE_CURRENT_LIST_DIR}/report/report_guest_test.cpp)
target_compile_definitions(report_integration_tests PRIVATE
  SINGLETON_BIN="$<TARGET_FILE:singleton>")
add_dependencies(report_integration_tests singleton)
target_link_libraries(report_integration_tests PRIVATE singleton_guestkit Boost::json GTest::gtest_main)
gtest_discover_tests(report_integration_tests DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS integration TIMEOUT 300)
