#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perfex against specter's ex2d (as desi_extract_spectra --use-specter calls
# it) on bundle 0, the peer on OpenBLAS as DESI runs it:
#   SPECTER_DIR=/path/to/specter/py bench/vs_specter.sh [BUILD_DIR] [perfex device flags...]
# e.g. git clone https://github.com/desihub/specter /tmp/specter; SPECTER_DIR=/tmp/specter/py
# Settings (BENCH_REPEAT, PEER_BLAS=reference for Debian's reference BLAS,
# OPENBLAS_DEB, PERFEX_BENCH_DIR, PERFEX_DATA, BENCH_KEEP), what is timed and
# how outputs are checked: see bench/vs_peers.sh (or run it with --help).
# Prints a table of CPU and wall times and ratios, then one SUMMARY line;
# exits non-zero if a run fails or the outputs disagree.
case ${1:-} in -h | --help) exec "$(dirname "$0")/vs_peers.sh" --help ;; esac
exec "$(dirname "$0")/vs_peers.sh" specter "$@"
