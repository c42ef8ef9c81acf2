# snapshot/ with real guests from the guest kit (tests/vm): run `make guest-kit` first.
add_executable(snapshot_integration_tests ${CMAKE_CURRENT_LIST_DIR}/snapshot_test.cpp)
target_link_libraries(snapshot_integration_tests
  PRIVATE singleton_cli singleton_guestkit GTest::gtest_main)
gtest_discover_tests(snapshot_integration_tests DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS integration TIMEOUT 300)
