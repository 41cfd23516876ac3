# SPDX-License-Identifier: BSD-3-Clause
# What `cmake --install` puts under the prefix: the perfex command,
# libperfex.so (with its SONAME) and libperfex.a, the public headers with the
# generated version.h, perfex.pc for pkg-config, the CMake package
# (find_package(perfex) gives perfex::perfex and perfex::perfex_static), the
# Python module, the LICENSE.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS perfex_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS perfex perfex_static EXPORT perfexTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/perfex DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_BINARY_DIR}/include/perfex/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/perfex)
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/perfex)

# pkg-config: a program links libperfex.so alone; --static adds what
# libperfex.a needs. The prefix is found from the .pc file's own place
# (${pcfiledir}), so `cmake --install --prefix DIR` and DESTDIR give a
# perfex.pc that names DIR.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH PX_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  set(PX_PC_PREFIX "\${pcfiledir}/${PX_PC_UP}")
endif()
set(PX_PC_REQUIRES_PRIVATE "OpenCL cfitsio erfa clblast libdeflate zlib")
set(PX_PC_LIBS_PRIVATE "-lm")
if(PERFEX_MPI)
  set(PX_PC_REQUIRES_PRIVATE "${PX_PC_REQUIRES_PRIVATE} ompi-c")
endif()
configure_file(cmake/perfex.pc.in ${CMAKE_BINARY_DIR}/perfex.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/perfex.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(PX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/perfex)
install(EXPORT perfexTargets NAMESPACE perfex:: DESTINATION ${PX_CMAKE_DIR})
configure_package_config_file(cmake/perfexConfig.cmake.in ${CMAKE_BINARY_DIR}/perfexConfig.cmake
                              INSTALL_DESTINATION ${PX_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/perfexConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/perfexConfig.cmake ${CMAKE_BINARY_DIR}/perfexConfigVersion.cmake
        DESTINATION ${PX_CMAKE_DIR})

# The Python module (build-tree copy and installed package): cmake/Python.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/Python.cmake)
