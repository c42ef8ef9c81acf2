# singleton watch against real guests (guest kit), its config errors and metrics through the CLI,
# what it tells systemd (sd_notify, to a socket the test binds; no guest), and the Debian
# package installed with dpkg.
add_executable(watch_integration_tests
  ${CMAKE_CURRENT_LIST_DIR}/watch/watch_guest_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/watch_cli_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/watch_notify_test.cpp
)
target_compile_definitions(watch_integration_tests PRIVATE
  SINGLETON_BIN="$<TARGET_FILE:singleton>")
add_dependencies(watch_integration_tests singleton)
target_link_libraries(watch_integration_tests PRIVATE
  singleton_watch singleton_guestkit Boost::json GTest::gtest_main)
gtest_discover_tests(watch_integration_tests DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS integration TIMEOUT 300)

# Builds the .deb (CPack), installs it with dpkg -i, runs the installed singleton, removes it.
add_test(NAME watch_debian_package
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/watch/package-test ${CMAKE_BINARY_DIR})
set_tests_properties(watch_debian_package PROPERTIES LABELS integration TIMEOUT 600
  RUN_SERIAL TRUE)
