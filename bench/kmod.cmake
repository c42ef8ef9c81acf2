# Module vs mincore backend: time to list and hash N cached pages inside a guest (run by
# bench/kmod-bench, not a test).
add_executable(kmod_bench ${CMAKE_CURRENT_LIST_DIR}/kmod_bench.cpp)
target_link_libraries(kmod_bench PRIVATE singleton_pagecache)

# Guest RAM hashed in place by the module vs copied out, and a full dry-run pass, against XXH64
# of the same bytes inside a guest (run by bench/kmod-bench --process, not a test).
add_executable(snapshot_kmod_bench ${CMAKE_CURRENT_LIST_DIR}/snapshot_kmod_bench.cpp)
target_link_libraries(snapshot_kmod_bench PRIVATE singleton_pass)
