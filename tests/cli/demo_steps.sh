#!/bin/sh
# The steps of scripts/demo.sh (the README's main job) at 10 fibers: a
# synthetic r-camera PSF, an image simulated on desi_proc's r grid with
# cosmic rays, extracted on the same grid, and chi against the truth within
# the demo's tolerance. Extracted on the default grid instead (the PSF's
# whole range, whose wavelengths miss the simulation's), compare says that
# the check needs the simulation's grid.
set -u
fail=0
G=5760,7620,0.8
"$PERFEX" psf synth -o "$TMP/psf.fits" --camera r --seed 1 > /dev/null || { echo "FAILED: psf synth"; exit 1; }
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/pre.fits" -n 10 -w $G --cosmics 4 --seed 2 --quiet ||
    { echo "FAILED: simulate"; exit 1; }
"$PERFEX" extract -i "$TMP/pre.fits" -p "$TMP/psf.fits" -o "$TMP/frame.fits" -n 10 -w $G --quiet ||
    { echo "FAILED: extract"; exit 1; }
out=$("$PERFEX" compare "$TMP/frame.fits" --truth "$TMP/pre.fits")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAILED: chi against the truth on the simulation's grid (exit $rc)"; fail=1; }
echo "$out" | grep -q '^note:' && { echo "FAILED: a note on the simulation's own grid"; fail=1; }

"$PERFEX" extract -i "$TMP/pre.fits" -p "$TMP/psf.fits" -o "$TMP/wide.fits" -n 10 --quiet ||
    { echo "FAILED: extract on the default grid"; exit 1; }
out=$("$PERFEX" compare "$TMP/wide.fits" --truth "$TMP/pre.fits")
echo "$out"
echo "$out" | grep -q "^note: [0-9]* of the frame's wavelengths are not on the simulation's grid" ||
    { echo "FAILED: no note on a grid that misses the simulation's"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
