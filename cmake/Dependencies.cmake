# Finds perfex's dependencies. Each is a Debian 12 package; a missing one stops
# configuration with the name of the package that provides it.
find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package pkg-config")
endif()

find_path(PX_CL_HEADER CL/cl.h)
if(NOT PX_CL_HEADER)
  message(FATAL_ERROR "OpenCL headers not found: install the Debian package opencl-headers")
endif()
pkg_check_modules(OpenCL IMPORTED_TARGET OpenCL)
if(NOT OpenCL_FOUND)
  message(FATAL_ERROR "OpenCL ICD loader not found: install the Debian package ocl-icd-opencl-dev")
endif()

pkg_check_modules(CFITSIO IMPORTED_TARGET cfitsio)
if(NOT CFITSIO_FOUND)
  message(FATAL_ERROR "CFITSIO not found: install the Debian package libcfitsio-dev")
endif()

# libdeflate inflates gzipped images (host/io/gzread.c), several times faster
# than zlib.
pkg_check_modules(LIBDEFLATE IMPORTED_TARGET libdeflate)
if(NOT LIBDEFLATE_FOUND)
  message(FATAL_ERROR "libdeflate not found: install the Debian package libdeflate-dev")
endif()

# ERFA (the IAU's SOFA routines, the library astropy uses) for the
# barycentric correction of host/desi/barycorr.c.
pkg_check_modules(ERFA IMPORTED_TARGET erfa)
if(NOT ERFA_FOUND)
  message(FATAL_ERROR "ERFA not found: install the Debian package liberfa-dev")
endif()

# Debian's libclblast-dev installs CLBlast's CMake package (target clblast),
# which perfexConfig.cmake finds again for users of libperfex.a.
find_package(CLBlast QUIET)
if(NOT CLBlast_FOUND)
  message(FATAL_ERROR "CLBlast not found: install the Debian package libclblast-dev")
endif()
set(PX_CLBLAST_TARGET clblast)

if(PERFEX_MPI)
  find_package(MPI COMPONENTS C)
  if(NOT MPI_C_FOUND)
    message(FATAL_ERROR "MPI not found: install the Debian packages libopenmpi-dev and openmpi-bin "
                        "(or configure with -DPERFEX_MPI=OFF)")
  endif()
endif()

# Test-only: LAPACKE is the reference for the device linear algebra.
find_path(PX_LAPACKE_INC lapacke.h)
find_library(PX_LAPACKE_LIB lapacke)
find_library(PX_LAPACK_LIB lapack)
if(PX_LAPACKE_INC AND PX_LAPACKE_LIB AND PX_LAPACK_LIB)
  set(PX_HAVE_LAPACKE ON)
else()
  set(PX_HAVE_LAPACKE OFF)
  message(STATUS "LAPACKE not found (Debian package liblapacke-dev): linear-algebra tests skipped")
endif()
