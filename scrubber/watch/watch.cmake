# `singleton watch` and what it is made of: the watch loop and its triggers (watch/), the config
# file (config/), Prometheus metrics (metrics/). Included at the end of scrubber/CMakeLists.txt.
# cpp-httplib (Debian's libcpp-httplib-dev): a compiled library there, not header-only; its .pc
# carries the feature defines the header must be compiled with to match the library.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(singleton_watch STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../config/config_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../config/numeric_option.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../metrics/bounded_http_server.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../metrics/deadline_stream.cpp
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
target_link_libraries(singleton_watch PUBLIC singleton_scrubber Boost::program_options
                      PRIVATE PkgConfig::HTTPLIB Threads::Threads)
target_link_libraries(singleton PRIVATE singleton_watch)
