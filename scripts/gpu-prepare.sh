#!/bin/sh
# For a GPU node that has the NVIDIA driver (libnvidia-opencl.so.1) but
# neither perfex's build dependencies nor network access (a compute node,
# a minimal image): downloads, on a Debian 12 amd64 machine with network, the
# .debs of the OpenCL loader and headers, CLBlast and CFITSIO into gpu-deps/
# (ignored by git). Copy the repository with gpu-deps/ to the node and run
# scripts/gpu-run.sh there.
set -eu
cd "$(dirname "$0")/.."
mkdir -p gpu-deps
cd gpu-deps
apt-get download ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers \
    opencl-headers libclblast1 libclblast-dev libcfitsio10 libcfitsio-dev 2>/dev/null
ls -1 *.deb
