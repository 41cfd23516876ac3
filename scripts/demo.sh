#!/bin/sh
# The README's main command. Installs what is missing, builds, then on the
# default device (PoCL on a machine without a GPU): synthesises a DESI-like
# r-camera PSF, simulates a preprocessed CCD image of the first bundles of
# fibers through it (sky lines, continua, emission lines, Poisson and read
# noise, cosmic rays), extracts it with perfex and prints a summary: device,
# time, spectra x wavelengths, and chi of the extracted spectra against the
# simulation's truth.
#
# Sized for about two minutes on a 2-core CPU (10 bundles, 250 fibers, the
# r camera's grid as desi_proc extracts it, 5760-7620 A at 0.8). The image
# is simulated and extracted on one grid: the truth is known only at the
# simulation's wavelengths, and the sky lines are narrower than a bin.
# PERFEX_DEMO_FULL=1 (or --full) runs the full 500-fiber frame instead.
# Outputs go to out/demo (PERFEX_DEMO_DIR).
set -eu
cd "$(dirname "$0")/.."
NSPEC=${PERFEX_DEMO_NSPEC:-250}
GRID=5760,7620,0.8
[ "${1:-}" = "--full" ] && PERFEX_DEMO_FULL=1
[ "${PERFEX_DEMO_FULL:-0}" = "1" ] && NSPEC=500

sh scripts/setup.sh
BUILD=${PERFEX_BUILD_DIR:-build}
PERFEX="$BUILD/perfex"
OUT=${PERFEX_DEMO_DIR:-out/demo}
mkdir -p "$OUT"
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

echo "== devices (* = the one perfex uses)"
"$PERFEX" devices
echo
echo "== synthesising a DESI-like r-camera PSF: $OUT/psf.fits"
"$PERFEX" psf synth -o "$OUT/psf.fits" --camera r --seed 1
echo "== simulating fibers 0-$((NSPEC - 1)) on the r grid $GRID with 40 cosmic rays: $OUT/preproc.fits"
t0=$(now)
"$PERFEX" simulate -p "$OUT/psf.fits" -o "$OUT/preproc.fits" -n "$NSPEC" -w "$GRID" --cosmics 40 --seed 2 --quiet
t1=$(now)
echo "   simulated in $(ms "$t0" "$t1") ms"
echo "== extracting on the default device: $OUT/frame.fits"
t0=$(now)
"$PERFEX" extract -i "$OUT/preproc.fits" -p "$OUT/psf.fits" -o "$OUT/frame.fits" -n "$NSPEC" -w "$GRID"
t1=$(now)
echo
echo "== summary"
BINS=$("$PERFEX" compare "$OUT/frame.fits" "$OUT/frame.fits" | sed -n 's/.*bins compared [0-9]* of \([0-9]*\).*/\1/p')
rc=0
"$PERFEX" compare "$OUT/frame.fits" --truth "$OUT/preproc.fits" > "$OUT/truth.txt" || rc=$?
echo "device        $("$PERFEX" devices | sed -n 's/^\* *[0-9]* *//p' | cut -c1-60)"
echo "extraction    $(ms "$t0" "$t1") ms wall, including start-up and file I/O"
echo "spectra       $NSPEC spectra x $((BINS / NSPEC)) wavelengths"
echo "truth         chi $(head -1 "$OUT/truth.txt" | sed 's/^truth chi of [^:]*: //')"
tail -1 "$OUT/truth.txt"
echo "disk          $(du -sh "$OUT" | cut -f1) in $OUT (PSF, simulated image, frame; remove it when done)"
exit $rc
