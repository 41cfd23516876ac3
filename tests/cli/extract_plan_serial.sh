# perfex extract --plan without mpirun: a serial loop over the plan. Two
# frames and a bad line (a missing input): the frame written by the plan
# equals, bit for bit (fits_data_cmp: every HDU's data), the one a plain
# perfex extract writes, the missing input is one FAILED
# line, and the exit status is 1. A plan line with too few fields is a
# usage error (exit 2) naming the line. Args: FITS_DATA_CMP.
set -eu
CMP=$1
PSF=$SHARED/psf-r0-00051060.fits
for f in "$SHARED/preproc-sim-r0-bundle0.fits.gz" "$PSF"; do
    [ -r "$f" ] || { echo "SKIP: $f not found"; exit 77; }
done
# the simulated r0 image as the shared fixture inflated it once
# (tests/util/fixture_shared.sh): these checks are not about reading gzip
IMG=$FIXTURES/preproc-sim-r0-bundle0.fits
[ -r "$IMG" ] || { echo "FAIL: $IMG missing (made by the case util_fixture_shared)"; exit 1; }
cat > "$TMP/plan" <<EOP
$IMG $PSF $TMP/a.fits -w 6000,6100,0.8 -n 5
$TMP/missing.fits $PSF $TMP/b.fits
EOP
rc=0
"$PERFEX" extract --plan "$TMP/plan" --quiet > "$TMP/log" 2>&1 || rc=$?
cat "$TMP/log"
[ $rc = 1 ] || { echo "FAIL: exit $rc, want 1"; exit 1; }
grep FAILED "$TMP/log" | grep -q "missing.fits" || { echo "FAIL: no report"; exit 1; }
grep -q "2 frames: 1 written, 1 failed" "$TMP/log" || { echo "FAIL: totals"; exit 1; }
"$PERFEX" extract -i "$IMG" -p "$PSF" -w 6000,6100,0.8 -n 5 -o "$TMP/ref.fits" --quiet
"$CMP" "$TMP/ref.fits" "$TMP/a.fits"
echo "$IMG $PSF" > "$TMP/short"
rc=0
"$PERFEX" extract --plan "$TMP/short" > "$TMP/log2" 2>&1 || rc=$?
cat "$TMP/log2"
[ $rc = 2 ] && grep -q "line 1" "$TMP/log2" || { echo "FAIL: short line not rejected"; exit 1; }
echo "ok"
