# perfex extract where specter itself fails: a grid that starts below the
# PSF's range for the CCD-edge fibers 0-4, and a masked-out region (the
# simulated image is ivar 0 away from its fibers: fibers 30-34 see only
# masked pixels). The frame must be written, with no NaN or Inf anywhere
# (perfex compare counts non-finite values and fails on any), and the fully
# masked fibers must carry ivar 0 everywhere (compare against itself then
# has no bin to compare: 0 bins compared).
set -eu
PSF=$SHARED/psf-r0-00051060.fits
for f in "$SHARED/preproc-sim-r0-bundle0.fits.gz" "$PSF"; do
    [ -r "$f" ] || { echo "SKIP: $f not found"; exit 77; }
done
# the simulated r0 image as the shared fixture inflated it once
# (tests/util/fixture_shared.sh): these checks are not about reading gzip
IMG=$FIXTURES/preproc-sim-r0-bundle0.fits
[ -r "$IMG" ] || { echo "FAIL: $IMG missing (made by the case util_fixture_shared)"; exit 1; }
"$PERFEX" extract -i "$IMG" -p "$PSF" -w 5500,5900,0.8 -n 5 --nsubbundles 2 \
    -o "$TMP/edge.fits" --quiet
"$PERFEX" compare "$TMP/edge.fits" "$TMP/edge.fits" > "$TMP/out"
cat "$TMP/out"
grep -q "NONFINITE=0 " "$TMP/out" || { echo "FAIL: non-finite values"; exit 1; }
"$PERFEX" extract -i "$IMG" -p "$PSF" -w 6000,6100,0.8 -s 30 -n 5 --nsubbundles 1 \
    -o "$TMP/masked.fits" --quiet
"$PERFEX" compare "$TMP/masked.fits" "$TMP/masked.fits" > "$TMP/out2" || true
cat "$TMP/out2"
grep -q "NONFINITE=0 " "$TMP/out2" || { echo "FAIL: non-finite values"; exit 1; }
grep -q "bins compared 0 of" "$TMP/out2" || { echo "FAIL: masked fibers have ivar > 0"; exit 1; }
echo "ok"
