# perfex extract end to end: bundle 0 of the simulated r0 image against
# specter's frame (parity statistics of ../shared/data/README.md) and against
# the simulation's truth (|mean chi| < 0.02, |std chi - 1| < 0.02), both with
# perfex compare's default tolerances. Then a round trip through the real
# specex PSF, whose CAMERA card reads '''r0      ''': perfex simulate takes
# it as r0, and the extraction of that image meets its truth. Skips without
# ../shared/data.
set -eu
IMG=$SHARED/preproc-sim-r0-bundle0.fits.gz
PSF=$SHARED/psf-r0-00051060.fits
REF=$SHARED/frame-specter-r0-bundle0.fits
for f in "$IMG" "$PSF" "$REF"; do
    [ -r "$f" ] || { echo "SKIP: $f not found"; exit 77; }
done
"$PERFEX" extract -i "$IMG" -p "$PSF" -w 5760,7620,0.8 -s 0 -n 25 -o "$TMP/frame.fits" --quiet
"$PERFEX" compare "$TMP/frame.fits" "$REF" --truth "$IMG"
W=6000,6400,0.8
"$PERFEX" simulate -p "$PSF" -o "$TMP/sim.fits" -n 25 -w $W --seed 2 --quiet
head -c 2880 "$TMP/sim.fits" | grep -q "CAMERA  = 'r0      '" || { echo "FAILED: CAMERA of the simulation"; exit 1; }
"$PERFEX" extract -i "$TMP/sim.fits" -p "$PSF" -w $W -n 25 -o "$TMP/simframe.fits" --quiet
"$PERFEX" compare "$TMP/simframe.fits" --truth "$TMP/sim.fits"
echo "ok"
