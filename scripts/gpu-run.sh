#!/bin/sh
# Runs on a GPU node, in the repository root, with gpu-deps/ made by
# scripts/gpu-prepare.sh: unpacks the .debs into gpu-deps/root, points
# the compiler, linker and OpenCL loader at them (an .icd file naming the
# NVIDIA driver's libnvidia-opencl.so.1), builds perfex without MPI into
# build-gpu, then runs the command given as arguments with that environment,
# e.g.  sh scripts/gpu-run.sh build-gpu/perfex devices
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD/gpu-deps/root
if [ ! -d "$ROOT" ]; then
    mkdir -p "$ROOT"
    for d in gpu-deps/*.deb; do dpkg -x "$d" "$ROOT"; done
fi
LIB=$ROOT/usr/lib/x86_64-linux-gnu
# The unpacked packages have versioned .so files; the -dev symlinks point to them.
mkdir -p "$ROOT/etc/OpenCL/vendors"
echo libnvidia-opencl.so.1 > "$ROOT/etc/OpenCL/vendors/nvidia.icd"
export OCL_ICD_VENDORS=$ROOT/etc/OpenCL/vendors
export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$LIB/pkgconfig:$ROOT/usr/share/pkgconfig
export CPATH=$ROOT/usr/include${CPATH:+:$CPATH}
export LIBRARY_PATH=$LIB${LIBRARY_PATH:+:$LIBRARY_PATH}
# pkg-config files carry prefix=/usr: redirect them into the unpacked tree.
export PKG_CONFIG_SYSROOT_DIR=$ROOT
if [ ! -x build-gpu/perfex ]; then
    cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DPERFEX_MPI=OFF -DPERFEX_TESTS=OFF \
        -DCMAKE_PREFIX_PATH="$ROOT/usr" -DCMAKE_FIND_ROOT_PATH="$ROOT" >/dev/null
    cmake --build build-gpu -j "$(nproc)"
fi
"$@"
