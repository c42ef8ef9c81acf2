# `singleton watch` and what it is made of: the watch loop and its triggers (watch/), the config
# file (config/), Prometheus metrics (metrics/). Included at the end of scrubber/CMakeLists.txt.
add_library(singleton_watch STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../config/config_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../metrics/metrics_http_server.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../metrics/pass_textfile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../metrics/scrub_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../metrics/textfile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cpu_budget.cpp
  ${CMAKE_CURRENT_LIST_DIR}/guest_io_counter.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memory_pressure.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pass_log_line.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch_command.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch_loop.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch_signals.cpp
)
target_link_libraries(singleton_watch PUBLIC singleton_scrubber Boost::program_options)
target_link_libraries(singleton PRIVATE singleton_watch)
