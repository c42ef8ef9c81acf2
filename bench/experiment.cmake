# bench/fio-experiment's package (bench/experiment/) and bench/watch-latency, without VMs or root
# (label unit): every module byte-compiles, and the unit tests of bench/experiment/tests/ pass
# (cgroup v1/v2 against fake /sys/fs/cgroup trees, cachestat and its fallback, the report
# rebuilt by --report-only from the stored results folder testdata/results-fixture/).
# Label host-only as well: these are scripts, not binaries of BUILD/bin, so tests/unit/
# run-in-guest leaves them out. Bytecode goes to the build tree (PYTHONPYCACHEPREFIX), never
# into the sources; temporary files under $TMPDIR (tempfile), removed by the tests.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(sg_experiment_env PYTHONPYCACHEPREFIX=${CMAKE_BINARY_DIR}/pycache)
add_test(NAME bench_experiment_compile
  COMMAND ${CMAKE_COMMAND} -E env ${sg_experiment_env} sh -c
          "\"$0\" -m compileall -q -f experiment && \"$0\" -m py_compile fio-experiment watch-latency"
          ${Python3_EXECUTABLE}
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME bench_experiment_unit
  COMMAND ${CMAKE_COMMAND} -E env ${sg_experiment_env}
          ${Python3_EXECUTABLE} -m unittest discover -s experiment/tests -v
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(bench_experiment_compile bench_experiment_unit
  PROPERTIES LABELS "unit;host-only" TIMEOUT 120)
