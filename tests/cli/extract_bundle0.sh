# perfex extract end to end: bundle 0 of the simulated r0 image against
# specter's frame (parity statistics of ../shared/data/README.md) and against
# the simulation's truth (|mean chi| < 0.02, |std chi - 1| < 0.02), both with
# perfex compare's default tolerances. Skips without ../shared/data.
set -eu
IMG=$SHARED/preproc-sim-r0-bundle0.fits.gz
PSF=$SHARED/psf-r0-00051060.fits
REF=$SHARED/frame-specter-r0-bundle0.fits
for f in "$IMG" "$PSF" "$REF"; do
    [ -r "$f" ] || { echo "SKIP: $f not found"; exit 77; }
done
"$PERFEX" extract -i "$IMG" -p "$PSF" -w 5760,7620,0.8 -s 0 -n 25 -o "$TMP/frame.fits" --quiet
"$PERFEX" compare "$TMP/frame.fits" "$REF" --truth "$IMG"
echo "ok"
