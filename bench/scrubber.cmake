# Micro-benchmarks of the scrubber: host page-cache scan throughput and pass planning.
add_executable(scrubber_bench ${CMAKE_CURRENT_LIST_DIR}/scrubber/page_cache_view_bench.cpp)
target_link_libraries(scrubber_bench PRIVATE singleton_pass benchmark::benchmark)
