# The module's ABI from userspace and the kmod backend without the module (label unit). The
# module itself runs only in guests: tests/kmod/.
add_executable(kmod_unit_tests ${CMAKE_CURRENT_LIST_DIR}/kmod/kmod_abi_test.cpp)
target_link_libraries(kmod_unit_tests PRIVATE singleton_pagecache GTest::gtest_main)
gtest_discover_tests(kmod_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
