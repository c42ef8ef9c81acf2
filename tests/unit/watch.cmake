# Unit tests of the watch layer: config file, CPU budget, memory pressure, Prometheus metrics
# (checked by promtool), the loopback /metrics server, the atomic textfile, what it tells
# systemd (sd_notify, on a socket the test binds).
add_executable(watch_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/watch/config_file_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/cpu_budget_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/guest_io_counter_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/memory_pressure_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/metrics_http_server_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/numeric_option_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/pass_log_line_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/pass_textfile_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/scrub_metrics_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/service_notifier_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/textfile_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch/watch_options_test.cpp
)
target_link_libraries(watch_unit_tests PRIVATE singleton_watch GTest::gtest_main)
gtest_discover_tests(watch_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
