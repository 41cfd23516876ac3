# A plan of 4 frames on 2 ranks (one rank per frame), the second frame's
# input not FITS: the 3 good frames are written, the bad one is one FAILED
# line naming its input, PSF and output with the reason, no output for it,
# the per-rank summary lists both ranks, and the exit status is non-zero.
# Args: MPIRUN.
set -eu
MPIRUN=$1
PSF=$SHARED/psf-r0-00051060.fits
for f in "$SHARED/preproc-sim-r0-bundle0.fits.gz" "$PSF"; do
    [ -r "$f" ] || { echo "SKIP: $f not found"; exit 77; }
done
# the simulated r0 image as the shared fixture inflated it once
# (tests/util/fixture_shared.sh): these checks are not about reading gzip
IMG=$FIXTURES/preproc-sim-r0-bundle0.fits
[ -r "$IMG" ] || { echo "FAIL: $IMG missing (made by the case util_fixture_shared)"; exit 1; }
echo "this is not FITS" > "$TMP/bad-input.fits"
cat > "$TMP/plan" <<EOP
# four frames, one bad
$IMG $PSF $TMP/f0.fits -w 6000,6100,0.8 -n 5
$TMP/bad-input.fits $PSF $TMP/f1.fits -w 6000,6100,0.8 -n 5   # not FITS
$IMG $PSF $TMP/f2.fits -w 6000,6100,0.8 -s 5 -n 5

$IMG $PSF $TMP/f3.fits -w 6100,6200,0.8 -n 5 --nsubbundles 1
EOP
if "$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan" --quiet \
    > "$TMP/log" 2>&1; then
    cat "$TMP/log"; echo "FAIL: exit status 0 with a failed frame"; exit 1
fi
cat "$TMP/log"
for f in f0 f2 f3; do
    [ -s "$TMP/$f.fits" ] || { echo "FAIL: $f.fits not written"; exit 1; }
    "$PERFEX" compare "$TMP/$f.fits" "$TMP/$f.fits" > /dev/null ||
        { echo "FAIL: $f.fits unreadable"; exit 1; }
done
[ ! -e "$TMP/f1.fits" ] || { echo "FAIL: output for the bad frame"; exit 1; }
[ "$(grep -c FAILED "$TMP/log")" = 1 ] || { echo "FAIL: want one FAILED line"; exit 1; }
grep FAILED "$TMP/log" | grep "bad-input.fits" | grep "psf-r0-00051060.fits" |
    grep "f1.fits" | grep -q "not a FITS file" || { echo "FAIL: report lacks files or reason"; exit 1; }
grep -q "4 frames: 3 written, 1 failed, 0 skipped" "$TMP/log" || { echo "FAIL: totals"; exit 1; }
# summary: a row per rank (rank, group, device, done, failed, skipped, busy, idle)
[ "$(grep -cE '^ +[01] +[01] +[-0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+$' "$TMP/log")" = 2 ] ||
    { echo "FAIL: summary rows"; exit 1; }
echo "ok"
