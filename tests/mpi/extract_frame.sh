# One frame over MPI ranks equals one process, bit for bit (the data units
# of every HDU, by fits_data_cmp; headers may differ), and perfex compare
# passes; the model image (-m) too. 2 ranks, then 3 (uneven patch split).
# A missing PSF under 2 ranks, and a device failure on rank 1 only: exit
# non-zero, the message once (naming rank 1 in the second case), no output.
# Args: MPIRUN FITS_DATA_CMP.
set -eu
MPIRUN=$1
CMP=$2
PSF=$SHARED/psf-r0-00051060.fits
for f in "$SHARED/preproc-sim-r0-bundle0.fits.gz" "$PSF"; do
    [ -r "$f" ] || { echo "SKIP: $f not found"; exit 77; }
done
# the simulated r0 image as the shared fixture inflated it once
# (tests/util/fixture_shared.sh): these checks are not about reading gzip
IMG=$FIXTURES/preproc-sim-r0-bundle0.fits
[ -r "$IMG" ] || { echo "FAIL: $IMG missing (made by the case util_fixture_shared)"; exit 1; }
ARGS="-i $IMG -p $PSF -w 6000,6100,0.8 -s 3 -n 10 --nsubbundles 5 --quiet"
"$PERFEX" extract $ARGS -o "$TMP/one.fits" -m "$TMP/one-model.fits"
for n in 2 3; do
    "$MPIRUN" -n $n --oversubscribe "$PERFEX" extract $ARGS -o "$TMP/n$n.fits" \
        -m "$TMP/n$n-model.fits"
    "$CMP" "$TMP/one.fits" "$TMP/n$n.fits"
    "$CMP" "$TMP/one-model.fits" "$TMP/n$n-model.fits"
    "$PERFEX" compare "$TMP/n$n.fits" "$TMP/one.fits" > "$TMP/cmp.txt" ||
        { cat "$TMP/cmp.txt"; echo "FAIL: perfex compare on $n ranks"; exit 1; }
    grep -q "NONFINITE=0 " "$TMP/cmp.txt" || { echo "FAIL: non-finite values"; exit 1; }
done
# the frame is not empty: the comparison compared something
grep "bins compared" "$TMP/cmp.txt"
if grep -q "bins compared 0 of" "$TMP/cmp.txt"; then echo "FAIL: nothing compared"; exit 1; fi

if "$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract -i "$IMG" -p "$TMP/missing.fits" \
    -w 6000,6100,0.8 -n 5 -o "$TMP/bad.fits" --quiet > "$TMP/err.txt" 2>&1; then
    echo "FAIL: a missing PSF on 2 ranks exited 0"; exit 1
fi
cat "$TMP/err.txt"
[ "$(grep -c "^perfex: .*missing.fits" "$TMP/err.txt")" = 1 ] ||
    { echo "FAIL: the error should be reported exactly once"; exit 1; }
[ ! -e "$TMP/bad.fits" ] || { echo "FAIL: output written on failure"; exit 1; }

# a failure on rank 1 only (its device request matches nothing): rank 0
# reports it once, naming the rank; every rank exits non-zero; no output
A="extract -i $IMG -p $PSF -w 6000,6100,0.8 -n 5 -o $TMP/bad1.fits --quiet"
if "$MPIRUN" --oversubscribe -n 1 "$PERFEX" $A : -n 1 -x PERFEX_DEVICE=99 "$PERFEX" $A \
    > "$TMP/err1.txt" 2>&1; then
    echo "FAIL: a failure on rank 1 exited 0"; exit 1
fi
cat "$TMP/err1.txt"
[ "$(grep -c "^perfex: .*99.*(rank 1)$" "$TMP/err1.txt")" = 1 ] ||
    { echo "FAIL: rank 1's error should be reported exactly once, naming the rank"; exit 1; }
[ ! -e "$TMP/bad1.fits" ] || { echo "FAIL: output written on failure"; exit 1; }
echo "ok"
