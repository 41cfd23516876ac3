# SPDX-License-Identifier: BSD-3-Clause
# The Python module perfex (python/perfex, ctypes over libperfex.so): a copy
# in the build tree (build/python/perfex, what the tests import, with a
# _config.py naming the build tree's library) and the installed one under
# <prefix>/${PERFEX_PYTHON_DIR}/perfex, whose _config.py finds the library
# in <prefix>/${CMAKE_INSTALL_LIBDIR} relative to itself (so
# `cmake --install --prefix` and DESTDIR work).
include(GNUInstallDirs)
set(PERFEX_PYTHON_DIR "lib/python3/dist-packages" CACHE STRING
    "Where the Python module perfex is installed, relative to the prefix")

file(GLOB PX_PY_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/python/perfex/*.py)
set(PX_PY_BUILD_DIR ${CMAKE_BINARY_DIR}/python/perfex)

# the build tree's _config.py: the library by its file name in the build tree
set(PX_PY_BUILD_LIBRARY "@PX_PY_LIBRARY_FILE@")
set(PX_PY_LIBDIR "")
configure_file(${CMAKE_SOURCE_DIR}/python/perfex/_config.py.in
               ${CMAKE_BINARY_DIR}/python/_config_build.py.in @ONLY)
file(READ ${CMAKE_BINARY_DIR}/python/_config_build.py.in PX_PY_CONFIG_BUILD)
string(REPLACE "@PX_PY_LIBRARY_FILE@" "$<TARGET_SONAME_FILE:perfex>" PX_PY_CONFIG_BUILD
       "${PX_PY_CONFIG_BUILD}")
file(GENERATE OUTPUT ${PX_PY_BUILD_DIR}/_config.py CONTENT "${PX_PY_CONFIG_BUILD}")

# the installed _config.py
set(PX_PY_BUILD_LIBRARY "")
set(PX_PY_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
configure_file(${CMAKE_SOURCE_DIR}/python/perfex/_config.py.in
               ${CMAKE_BINARY_DIR}/python/_config_install.py @ONLY)

set(PX_PY_COPIES)
foreach(src ${PX_PY_SOURCES})
  get_filename_component(name ${src} NAME)
  add_custom_command(OUTPUT ${PX_PY_BUILD_DIR}/${name}
                     COMMAND ${CMAKE_COMMAND} -E copy ${src} ${PX_PY_BUILD_DIR}/${name}
                     DEPENDS ${src} COMMENT "perfex Python module: ${name}")
  list(APPEND PX_PY_COPIES ${PX_PY_BUILD_DIR}/${name})
endforeach()
add_custom_target(perfex_python ALL DEPENDS ${PX_PY_COPIES} perfex)

install(FILES ${PX_PY_SOURCES} DESTINATION ${PERFEX_PYTHON_DIR}/perfex)
install(FILES ${CMAKE_BINARY_DIR}/python/_config_install.py DESTINATION ${PERFEX_PYTHON_DIR}/perfex
        RENAME _config.py)
