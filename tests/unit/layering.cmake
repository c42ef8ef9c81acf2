# The layering of docs/architecture.md, checked on the sources: every folder includes only its
# own and lower layers, only scrubber/pagecache/ includes the uapi header, product code never
# includes tests/. The second test proves the check refuses a tree that breaks it (a fixture
# with an upward include and a misplaced uapi include). Scripts: label host-only too.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME layering_of_the_sources
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/layering/check-layering ${CMAKE_SOURCE_DIR})
add_test(NAME layering_check_refuses_an_upward_include
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/layering/check-layering
          ${CMAKE_CURRENT_LIST_DIR}/layering/upward-include)
set_tests_properties(layering_check_refuses_an_upward_include PROPERTIES
  PASS_REGULAR_EXPRESSION "bad.hpp: includes scrubber/pass/pass_report.hpp, a higher layer.*bad.cpp: includes kmod/include/uapi/singleton_pcache.h \\(only scrubber/pagecache/ may\\)|bad.cpp: includes kmod.*bad.hpp: includes scrubber")
set_tests_properties(layering_of_the_sources layering_check_refuses_an_upward_include
  PROPERTIES LABELS "unit;host-only" TIMEOUT 60)
