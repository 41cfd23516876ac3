#!/bin/sh
# Runs one script test case: run_cli.sh PERFEX SCRIPT [ARGS...]. SCRIPT (a
# path) gets $PERFEX, $SHARED (../shared/data), $SRC, a fresh $TMP and
# $FIXTURES, the folder of the inputs that the fixture cases
# (tests/util/fixture_*.sh, CTest FIXTURES_SETUP) make once for every case
# that needs them ($PERFEX_TEST_FIXTURES, set by tests/CMakeLists.txt).
# It exits 77 to skip (e.g. when ../shared/data is absent).
set -e
PERFEX=$1; shift
script=$1; shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${PERFEX_SHARED_DATA:-$SRC/../shared/data}
FIXTURES=${PERFEX_TEST_FIXTURES:-$(dirname "$PERFEX")/tests/fixtures}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PERFEX SHARED SRC TMP FIXTURES
sh "$script" "$@"
