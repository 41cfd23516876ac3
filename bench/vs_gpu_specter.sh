#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perfex against gpu_specter's extract_frame in CPU mode (as
# desi_extract_spectra's default path calls it without a GPU) on bundle 0,
# the peer on OpenBLAS as DESI runs it; gpu_specter's CPU kernels need numba:
#   GPU_SPECTER_DIR=/path/to/gpu_specter/py bench/vs_gpu_specter.sh [BUILD_DIR] [perfex device flags...]
# e.g. git clone https://github.com/desihub/gpu_specter /tmp/gpu_specter;
#      GPU_SPECTER_DIR=/tmp/gpu_specter/py
# Settings (BENCH_REPEAT, PEER_BLAS=reference for Debian's reference BLAS,
# OPENBLAS_DEB, PERFEX_BENCH_DIR, PERFEX_DATA, BENCH_KEEP, GPU_SPECTER_TOL),
# what is timed and how outputs are checked: see bench/vs_peers.sh (or run
# it with --help). Prints a table of CPU and wall times and ratios, then one
# SUMMARY line; exits non-zero if a run fails or the outputs disagree.
case ${1:-} in -h | --help) exec "$(dirname "$0")/vs_peers.sh" --help ;; esac
exec "$(dirname "$0")/vs_peers.sh" gpu_specter "$@"
