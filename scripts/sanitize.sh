#!/bin/sh
# Build the whole project with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DPERFEX_SANITIZE=ON) in build-asan/ and run the test suite there.
#
#   scripts/sanitize.sh [ctest args...]
#
# Leaks inside PoCL, LLVM, the OpenCL loader and CFITSIO are suppressed by
# tests/util/lsan.supp (third-party frames only), which tests/CMakeLists.txt passes
# to every test through LSAN_OPTIONS when PERFEX_SANITIZE is ON. Any ASan,
# UBSan or LSan report fails the test that triggered it.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${PERFEX_ASAN_BUILD_DIR:-$SRC/build-asan}
cmake -S "$SRC" -B "$B" -DPERFEX_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$B" -j2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "$B" --output-on-failure -j2 "$@"
