#!/bin/sh
# Runs one script test case: run_cli.sh PERFEX SCRIPT [ARGS...]. SCRIPT (a
# path) gets $PERFEX, $SHARED (../shared/data), $SRC and a fresh $TMP.
# It exits 77 to skip (e.g. when ../shared/data is absent).
set -e
PERFEX=$1; shift
script=$1; shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${PERFEX_SHARED_DATA:-$SRC/../shared/data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PERFEX SHARED SRC TMP
sh "$script" "$@"
