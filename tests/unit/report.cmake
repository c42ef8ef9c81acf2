# Unit tests of scrubber/report/: the appliance output parsers, the disk layout, the attribution
# of cached pages, the qcow2 reverse map (on images qemu-img makes), the memory figures, the
# report's JSON and Prometheus output (promtool), and a chain cut above a missing backing file.
add_executable(report_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/report/appliance_output_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/layout_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/qcow2_map_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/report_engine_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/report_output_test.cpp
)
target_link_libraries(report_unit_tests PRIVATE singleton_report GTest::gtest_main)
gtest_discover_tests(report_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
