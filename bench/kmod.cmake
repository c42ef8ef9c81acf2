# Module vs mincore backend: time to list and hash N cached pages inside a guest (run by
# bench/kmod-bench, not a test).
add_executable(kmod_bench ${CMAKE_CURRENT_LIST_DIR}/kmod_bench.cpp)
target_link_libraries(kmod_bench PRIVATE singleton_pagecache)
