#!/bin/sh
# valgrind memcheck on small runs of the perfex command (build/perfex):
#   `perfex psf spots` on a synthetic 2-fiber PSF at 4 (fiber, wavelength)
#   rows (tests/core/core_faults writes the table);
#   with --extract also `perfex extract` of 4 fibers x 51 wavelengths from an
#   image `perfex simulate` makes with a synthetic 4-fiber PSF (the image is
#   the full 4114 x 4128 CCD, so this takes about 10-20 minutes).
# Memory errors (invalid reads/writes, uses of uninitialised values) and
# definite leaks fail the run (exit 1); PoCL's own leaks in its kernel
# compiler are suppressed by tests/util/valgrind.supp (third-party frames only).
# The kernel binary cache is warmed by a first run outside valgrind so that
# the checked run spends its time in perfex, not in LLVM.
#
#   scripts/valgrind.sh [--extract] [BUILD_DIR]   (default build; ~1 minute)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
EXTRACT=0
if [ "${1:-}" = --extract ]; then EXTRACT=1; shift; fi
B=${1:-$SRC/build}
command -v valgrind > /dev/null || { echo "valgrind.sh: install the Debian package valgrind"; exit 2; }
cmake --build "$B" -j2 --target perfex test_faults > /dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export PERFEX_CACHE_DIR=$T/kcache
"$B/perfex" psf synth --fibers 2 -o "$T/psf.fits" > /dev/null
"$B/tests/core/core_faults" table "$T/at.fits"
"$B/perfex" psf spots "$T/psf.fits" --at "$T/at.fits" -o "$T/warm.fits"
VG="valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --num-callers=40 --suppressions=$SRC/tests/util/valgrind.supp"
rc=0
echo "== valgrind perfex psf spots"
$VG "$B/perfex" psf spots "$T/psf.fits" --at "$T/at.fits" -o "$T/out.fits" > "$T/vg.log" 2>&1 ||
    rc=1
grep -E 'ERROR SUMMARY|definitely lost|Invalid|uninitialised' "$T/vg.log" || true
cmp -s "$T/warm.fits" "$T/out.fits" || { echo "valgrind run wrote different bytes"; rc=1; }
[ $rc -eq 0 ] || cat "$T/vg.log"
if [ $EXTRACT = 1 ]; then
    "$B/perfex" psf synth --fibers 4 -o "$T/psf4.fits" > /dev/null
    "$B/perfex" simulate -p "$T/psf4.fits" -o "$T/img.fits" -w 6000,6040,0.8 -n 4 --quiet
    set -- -i "$T/img.fits" -p "$T/psf4.fits" -w 6000,6040,0.8 -n 4 --nsubbundles 1 \
        --nwavestep 25 --quiet
    "$B/perfex" extract "$@" -o "$T/frame-warm.fits"
    echo "== valgrind perfex extract"
    $VG "$B/perfex" extract "$@" -o "$T/frame.fits" > "$T/vgx.log" 2>&1 || { rc=1; cat "$T/vgx.log"; }
    grep -E 'ERROR SUMMARY|definitely lost' "$T/vgx.log" || true
    "$B/perfex" compare "$T/frame-warm.fits" "$T/frame.fits" > /dev/null ||
        { echo "valgrind run gave a different frame"; rc=1; }
fi
[ $rc -eq 0 ] && echo "valgrind: clean" || echo "valgrind: FAILED"
exit $rc
