# In-guest tests of the singleton_pcache module (label kmod): one ctest per Debian kernel line,
# each booting that line's kernel with the kit (tests/vm) and running tests/kmod/guest-tests.sh.
# The test program is static C: kit guests are busybox with no libraries.
find_library(SG_XXHASH_STATIC NAMES libxxhash.a)
if(NOT SG_XXHASH_STATIC)
  message(WARNING "libxxhash.a not found (libxxhash-dev): the kmod tests will fail")
  set(SG_XXHASH_STATIC xxhash)
endif()
# One file per mode (pcache_test/MODE.c), what the modes share (common.c), the dispatch (main.c).
set(sg_pt ${CMAKE_CURRENT_LIST_DIR}/pcache_test)
add_executable(sg_pcache_test ${sg_pt}/main.c ${sg_pt}/common.c
  ${sg_pt}/device.c ${sg_pt}/compare.c ${sg_pt}/evict.c ${sg_pt}/blockdev.c ${sg_pt}/halffolio.c
  ${sg_pt}/retired.c ${sg_pt}/badinput.c ${sg_pt}/abi.c ${sg_pt}/fuzz.c ${sg_pt}/dirtysafety.c
  ${sg_pt}/stress.c ${sg_pt}/process.c ${sg_pt}/procrace.c)
target_link_options(sg_pcache_test PRIVATE -static)
target_link_libraries(sg_pcache_test PRIVATE ${SG_XXHASH_STATIC} Threads::Threads)

# The scrubber's two PageCacheView backends compared inside the guest (bundled with its libraries).
add_executable(sg_backend_agree ${CMAKE_CURRENT_LIST_DIR}/backend_agree.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot_agree.cpp)
target_link_libraries(sg_backend_agree PRIVATE singleton_pagecache)
# Both always go into the payload: the guest script fails the steps whose binary is missing.
set(sg_kmod_agree_args --agree-bin $<TARGET_FILE:sg_backend_agree>
                       --singleton-bin $<TARGET_FILE:singleton>)
foreach(line 6.1 6.12)
  add_test(NAME kmod_guest_${line}
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run-guest-tests --kernel ${line}
                   --build ${CMAKE_BINARY_DIR} --test-bin $<TARGET_FILE:sg_pcache_test>
                   --sg-guest $<TARGET_FILE:sg-guest> ${sg_kmod_agree_args})
  set_tests_properties(kmod_guest_${line} PROPERTIES LABELS kmod TIMEOUT 900)
endforeach()

# The DKMS package's sources (cmake --install --component dkms) build the module for each
# installed kernel line (private DKMS tree), all with the one version of kmod/VERSION.
add_test(NAME kmod_dkms_build COMMAND ${CMAKE_CURRENT_LIST_DIR}/dkms-check ${CMAKE_BINARY_DIR})
set_tests_properties(kmod_dkms_build PROPERTIES LABELS kmod TIMEOUT 300)
