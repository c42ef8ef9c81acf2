# Snapshot throughput and index size (not a test: run by hand, see snapshot_bench.cpp).
add_executable(snapshot_bench ${CMAKE_CURRENT_LIST_DIR}/snapshot_bench.cpp)
target_link_libraries(snapshot_bench PRIVATE singleton_memory)
