# perfex extract on bad input: usage errors exit 2; input errors exit 1 with
# one line "perfex: ..." and leave no output file.
set -u
# the simulated r0 image as the shared fixture inflated it
# (tests/util/fixture_shared.sh), where ../shared/data has it
IMG=$FIXTURES/preproc-sim-r0-bundle0.fits
"$PERFEX" extract -i a -p b > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: missing -o exited $rc, want 2"; exit 1; }
"$PERFEX" extract -i a -p b -o c --nsubbundles 30 > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: nsubbundles > bundlesize exited $rc, want 2"; exit 1; }
"$PERFEX" extract -i a -p b -o c -w 7000,6000,0.8 > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: reversed grid exited $rc, want 2"; exit 1; }
"$PERFEX" extract -i "$TMP/none.fits" -p "$TMP/none2.fits" -o "$TMP/out.fits" \
    > /dev/null 2> "$TMP/err"; rc=$?
cat "$TMP/err"
[ $rc -eq 1 ] || { echo "FAIL: missing files exited $rc, want 1"; exit 1; }
grep -q "^perfex: " "$TMP/err" || { echo "FAIL: no perfex: message"; exit 1; }
[ ! -e "$TMP/out.fits" ] || { echo "FAIL: output left behind"; exit 1; }
if [ -r "$IMG" ]; then
    # fibers beyond the PSF
    "$PERFEX" extract -i "$IMG" -p "$SHARED/psf-r0-00051060.fits" -s 495 -n 10 \
        -o "$TMP/out.fits" > /dev/null 2> "$TMP/err"; rc=$?
    cat "$TMP/err"
    [ $rc -eq 1 ] || { echo "FAIL: fibers beyond the PSF exited $rc, want 1"; exit 1; }
fi
echo "ok"
