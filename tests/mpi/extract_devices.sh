# Device spread under MPI: with two devices of the chosen kind (PoCL made to
# show two, POCL_DEVICES="basic pthread"), the 2 ranks of one frame group
# open device 0 and device 1 (node-local rank modulo the device count), as
# the plan summary's device column shows, and the frame they extract
# together passes perfex compare against one process; with --device 1 both
# ranks use device 1. Skips where PoCL cannot show two devices. Args: MPIRUN.
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
export POCL_DEVICES="basic pthread"
n=$("$PERFEX" devices --device-type cpu 2>/dev/null | grep -c "yes" || true)
[ "$n" -ge 2 ] || { echo "SKIP: PoCL does not show two CPU devices"; exit 77; }
echo "$IMG $PSF $TMP/f.fits -w 6000,6100,0.8 -n 5" > "$TMP/plan"
"$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan" --ranks-per-frame 2 \
    --device-type cpu > "$TMP/log" 2>&1 || { cat "$TMP/log"; echo "FAIL: plan"; exit 1; }
cat "$TMP/log"
grep -Eq '^ +0 +0 +0 +1 ' "$TMP/log" || { echo "FAIL: rank 0 not on device 0"; exit 1; }
grep -Eq '^ +1 +0 +1 +1 ' "$TMP/log" || { echo "FAIL: rank 1 not on device 1"; exit 1; }
"$PERFEX" extract -i "$IMG" -p "$PSF" -w 6000,6100,0.8 -n 5 -o "$TMP/ref.fits" --quiet
"$PERFEX" compare "$TMP/f.fits" "$TMP/ref.fits" || { echo "FAIL: compare"; exit 1; }
"$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan" --ranks-per-frame 2 \
    --overwrite --device 1 > "$TMP/log2" 2>&1 || { cat "$TMP/log2"; echo "FAIL: plan"; exit 1; }
cat "$TMP/log2"
[ "$(grep -cE '^ +[01] +0 +1 +1 ' "$TMP/log2")" = 2 ] || { echo "FAIL: --device 1 ignored"; exit 1; }
echo "ok"
