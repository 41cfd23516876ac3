# A plan of 6 frames on 2 ranks is killed as soon as its first output
# appears; the rerun (--resume, the default) must leave every finished
# frame alone (same inode and modification time) and make the others. Then
# --overwrite redoes them all (new inodes). Args: MPIRUN.
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
: > "$TMP/plan"
for i in 0 1 2 3 4 5; do
    echo "$IMG $PSF $TMP/f$i.fits -w 6000,6100,0.8 -s $((i * 5)) -n 5" >> "$TMP/plan"
done
"$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan" --quiet > "$TMP/log1" 2>&1 &
pid=$!
i=0
while [ -z "$(ls "$TMP"/f?.fits 2>/dev/null)" ] && [ $i -lt 600 ]; do
    sleep 0.1; i=$((i + 1))
done
kill -TERM $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
done1=$(cd "$TMP" && ls f?.fits 2>/dev/null || true)
n1=$(echo $done1 | wc -w)
echo "after the kill: $n1 frames done: $done1"
[ "$n1" -ge 1 ] || { cat "$TMP/log1"; echo "FAIL: no frame finished before the kill"; exit 1; }
[ "$n1" -lt 6 ] || echo "note: every frame finished before the kill"
for f in $done1; do stat -c "$f %i %Y %y" "$TMP/$f"; done > "$TMP/before"
sleep 1
"$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan" --resume > "$TMP/log2" 2>&1 ||
    { cat "$TMP/log2"; echo "FAIL: the rerun failed"; exit 1; }
cat "$TMP/log2"
for f in $done1; do stat -c "$f %i %Y %y" "$TMP/$f"; done > "$TMP/after"
diff "$TMP/before" "$TMP/after" || { echo "FAIL: a finished frame was redone"; exit 1; }
for i in 0 1 2 3 4 5; do
    [ -s "$TMP/f$i.fits" ] || { echo "FAIL: f$i.fits not made by the rerun"; exit 1; }
done
grep -q "6 frames: $((6 - n1)) written, 0 failed, $n1 skipped" "$TMP/log2" ||
    { echo "FAIL: rerun totals"; exit 1; }
"$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan" --overwrite --quiet \
    > "$TMP/log3" 2>&1 || { cat "$TMP/log3"; echo "FAIL: --overwrite run"; exit 1; }
grep -q "6 frames: 6 written, 0 failed, 0 skipped" "$TMP/log3" || { echo "FAIL: overwrite"; exit 1; }
echo "ok"
