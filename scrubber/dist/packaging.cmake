# Install rules and the Debian packages (CPack), included at the end of the top-level
# CMakeLists.txt:
#   singleton               /usr/sbin/singleton, singleton(8), systemd units, /etc/singleton.conf
#   singleton-pcache-dkms   the kernel module's sources under /usr/src for DKMS
# Build them with `cpack -G DEB` in the build directory (tests/integration/watch/package-test).
set(singleton_dist_dir ${CMAKE_SOURCE_DIR}/scrubber/dist)

# `cpack` and `make install` need only the tool, not every test and benchmark.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/dist/singleton.8.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/dist
  COMMAND gzip -9nc ${singleton_dist_dir}/singleton.8 > ${CMAKE_BINARY_DIR}/dist/singleton.8.gz
  DEPENDS ${singleton_dist_dir}/singleton.8
  COMMENT "singleton(8)")
add_custom_target(singleton_man ALL DEPENDS ${CMAKE_BINARY_DIR}/dist/singleton.8.gz)

install(TARGETS singleton RUNTIME DESTINATION sbin COMPONENT tool)
install(FILES ${CMAKE_BINARY_DIR}/dist/singleton.8.gz DESTINATION share/man/man8 COMPONENT tool)
install(FILES ${singleton_dist_dir}/singleton-watch.service ${singleton_dist_dir}/singleton-scrub.service
              ${singleton_dist_dir}/singleton-scrub.timer
        DESTINATION lib/systemd/system COMPONENT tool)
install(FILES ${singleton_dist_dir}/singleton.conf DESTINATION /etc COMPONENT tool)
install(FILES ${singleton_dist_dir}/singleton.conf DESTINATION share/doc/singleton/examples
        COMPONENT tool)

# The module's sources where DKMS expects them: /usr/src/<PACKAGE_NAME>-<version>, with the
# release version (kmod/VERSION, i.e. PROJECT_VERSION) written into their dkms.conf.
file(STRINGS ${CMAKE_SOURCE_DIR}/kmod/dkms.conf.in singleton_dkms_name REGEX "^PACKAGE_NAME=")
string(REGEX REPLACE "^PACKAGE_NAME=\"?([^\"]*)\"?$" "\\1" singleton_dkms_name "${singleton_dkms_name}")
set(singleton_dkms_version ${PROJECT_VERSION})
configure_file(${CMAKE_SOURCE_DIR}/kmod/dkms.conf.in ${CMAKE_BINARY_DIR}/dist/dkms/dkms.conf @ONLY)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/kmod/
        DESTINATION src/${singleton_dkms_name}-${singleton_dkms_version} COMPONENT dkms
        FILES_MATCHING PATTERN "*.c" PATTERN "*.h" PATTERN "Kbuild" PATTERN "Makefile"
                       PATTERN "VERSION")
install(FILES ${CMAKE_BINARY_DIR}/dist/dkms/dkms.conf
        DESTINATION src/${singleton_dkms_name}-${singleton_dkms_version} COMPONENT dkms)
configure_file(${singleton_dist_dir}/dkms-postinst.in ${CMAKE_BINARY_DIR}/dist/dkms/postinst @ONLY)
configure_file(${singleton_dist_dir}/dkms-prerm.in ${CMAKE_BINARY_DIR}/dist/dkms/prerm @ONLY)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME singleton)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "singleton maintainers <maintainers@users.noreply.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL tool dkms)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)

set(CPACK_DEBIAN_TOOL_PACKAGE_NAME singleton)
set(CPACK_DEBIAN_TOOL_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_TOOL_PACKAGE_RECOMMENDS "qemu-utils")
set(CPACK_DEBIAN_TOOL_PACKAGE_SUGGESTS "singleton-pcache-dkms, prometheus-node-exporter")
string(CONCAT CPACK_DEBIAN_TOOL_DESCRIPTION
    "evicts host page-cache copies of VM disk blocks the guests already hold\n"
    "On a KVM host, singleton finds host page-cache pages of VM disk images whose content a\n"
    "guest already holds in its RAM and evicts those host copies: an exclusive host/guest\n"
    "cache. One-shot passes (cron, systemd timer) or a watch service; Prometheus metrics.")
set(CPACK_DEBIAN_TOOL_PACKAGE_CONTROL_EXTRA
    ${singleton_dist_dir}/conffiles ${singleton_dist_dir}/postinst ${singleton_dist_dir}/postrm)
set(CPACK_DEBIAN_TOOL_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DKMS_PACKAGE_NAME singleton-pcache-dkms)
set(CPACK_DEBIAN_DKMS_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DKMS_PACKAGE_DEPENDS "dkms")
string(CONCAT CPACK_DEBIAN_DKMS_DESCRIPTION
    "singleton_pcache kernel module (DKMS sources)\n"
    "Lists a file's cached pages with folio flags and in-kernel XXH64, and evicts ranges, for\n"
    "singleton's kmod backend. Built by DKMS for each installed kernel.")
set(CPACK_DEBIAN_DKMS_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/dist/dkms/postinst ${CMAKE_BINARY_DIR}/dist/dkms/prerm)
set(CPACK_DEBIAN_DKMS_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
