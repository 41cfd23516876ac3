#!/bin/sh
# Installs perfex's build and run dependencies (Debian 12 packages) when any is
# missing, then configures and builds perfex in ./build. Used by test.sh and
# demo.sh; safe to run again (it only installs what is absent and rebuilds
# incrementally). `setup.sh --tests` (test.sh) also installs what only the
# tests use. Set PERFEX_BUILD_DIR to build elsewhere, PERFEX_CMAKE_ARGS to
# pass options (e.g. -DPERFEX_MPI=OFF or -DPERFEX_SANITIZE=ON).
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake pkg-config pocl-opencl-icd ocl-icd-opencl-dev opencl-headers \
clinfo libclblast-dev libcfitsio-dev liberfa-dev libopenmpi-dev openmpi-bin zlib1g-dev libdeflate-dev"
if [ "${1:-}" = "--tests" ]; then
    # LAPACKE: the reference of the linear-algebra tests; python3-numpy and
    # python3-astropy: the Python module's tests and the trace checks; the
    # checks that stand in for a GPU (tests/gpu): the kernels compiled for
    # NVIDIA's sm_90 (clang-16, llvm-16, libclc-16; ptxas comes from the CUDA
    # toolkit where it is installed) and run under Oclgrind.
    PACKAGES="$PACKAGES liblapacke-dev python3-numpy python3-astropy clang-16 llvm-16 libclc-16 oclgrind"
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "perfex setup: installing Debian packages:$missing" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
fi

BUILD=${PERFEX_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${PERFEX_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
