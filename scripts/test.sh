#!/bin/sh
# The README's test command: installs what is missing, builds, runs every test
# with ctest on the default device (PoCL on a machine without a GPU). Tests
# that need ../shared/data skip with a message where it is absent.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --tests
BUILD=${PERFEX_BUILD_DIR:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "$@"
