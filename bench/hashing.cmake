# Page hashing and hash-set micro-benchmarks (Google Benchmark): the per-page costs every
# layer pays, independent of snapshot/scrubber/kmod code. Run: build/bin/hashing_bench.
add_executable(hashing_bench ${CMAKE_CURRENT_LIST_DIR}/hashing_bench.cpp)
target_link_libraries(hashing_bench PRIVATE PkgConfig::XXHASH benchmark::benchmark_main Boost::headers)
