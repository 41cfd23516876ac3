#!/bin/sh
# Prepares what the device machine (an NVIDIA GPU host that has the NVIDIA
# driver and libnvidia-opencl.so.1 but no OpenCL loader, CLBlast or CFITSIO)
# needs to build and run perfex: downloads the Debian 12 amd64 .debs of the
# loader, headers, CLBlast and CFITSIO into gpu-deps/ (ignored by git), to be
# carried to that machine and unpacked there by scripts/gpu-run.sh.
set -eu
cd "$(dirname "$0")/.."
mkdir -p gpu-deps
cd gpu-deps
apt-get download ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers \
    opencl-headers libclblast1 libclblast-dev libcfitsio10 libcfitsio-dev 2>/dev/null
ls -1 *.deb
