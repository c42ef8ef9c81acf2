# bench/sim/: the cache simulator (issue 14) on top of scrubber/advise's model. sg-sim drives it
# (sweeps, the pressure-order comparison, calibration against the fio experiment); sim_bench
# measures simulated accesses per second and bytes per tracked block. The workloads are a
# library of their own because tests/unit/advise/ checks the model's invariants with them.
add_library(singleton_sim STATIC
  ${CMAKE_CURRENT_LIST_DIR}/calibration.cpp
  ${CMAKE_CURRENT_LIST_DIR}/phases.cpp
  ${CMAKE_CURRENT_LIST_DIR}/results.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scenario.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload.cpp
)
target_link_libraries(singleton_sim PUBLIC singleton_advise singleton_pressure)
target_compile_options(singleton_sim PRIVATE -O2)

add_executable(sg-sim ${CMAKE_CURRENT_LIST_DIR}/sim_main.cpp)
target_link_libraries(sg-sim PRIVATE singleton_sim Boost::program_options)

add_executable(sim_bench ${CMAKE_CURRENT_LIST_DIR}/sim_bench.cpp)
target_link_libraries(sim_bench PRIVATE singleton_sim benchmark::benchmark)
target_compile_options(sim_bench PRIVATE -O2)
