#!/bin/sh
# valgrind memcheck on small runs of the perfex command (build/perfex):
#   `perfex psf spots` on a synthetic 2-fiber PSF at 4 (fiber, wavelength)
#   rows (tests/test_faults writes the table).
# Memory errors (invalid reads/writes, uses of uninitialised values) and
# definite leaks fail the run (exit 1); PoCL's own leaks in its kernel
# compiler are suppressed by tests/valgrind.supp (third-party frames only).
# The kernel binary cache is warmed by a first run outside valgrind so that
# the checked run spends its time in perfex, not in LLVM.
#
#   scripts/valgrind.sh [BUILD_DIR]     (default build; takes ~2-3 minutes)
#
# TODO(extract): add `perfex extract` on a small case once it lands; see
# docs/reliability.md for the command shape.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}
command -v valgrind > /dev/null || { echo "valgrind.sh: install the Debian package valgrind"; exit 2; }
cmake --build "$B" -j2 --target perfex test_faults > /dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export PERFEX_CACHE_DIR=$T/kcache
"$B/perfex" psf synth --fibers 2 -o "$T/psf.fits" > /dev/null
"$B/tests/test_faults" table "$T/at.fits"
"$B/perfex" psf spots "$T/psf.fits" --at "$T/at.fits" -o "$T/warm.fits"
VG="valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --num-callers=40 --suppressions=$SRC/tests/valgrind.supp"
rc=0
echo "== valgrind perfex psf spots"
$VG "$B/perfex" psf spots "$T/psf.fits" --at "$T/at.fits" -o "$T/out.fits" > "$T/vg.log" 2>&1 ||
    rc=1
grep -E 'ERROR SUMMARY|definitely lost|Invalid|uninitialised' "$T/vg.log" || true
cmp -s "$T/warm.fits" "$T/out.fits" || { echo "valgrind run wrote different bytes"; rc=1; }
[ $rc -eq 0 ] && echo "valgrind: clean" || { cat "$T/vg.log"; echo "valgrind: FAILED"; }
exit $rc
