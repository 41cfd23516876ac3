# perfex extract --plan --trace under mpirun -n 2: one timeline file written
# by rank 0 with both ranks' events, checked by tests/util/trace_check.py
# (python3's json module; skipped without it): a pid per rank, each with its
# host lane and its queue's lanes, stages and OpenCL events with batch and
# patch range, device times inside their batch, everything inside the
# measured wall time, one frame event per plan line with its output, idle
# time (waiting for the other rank at the end). Then one frame over both
# ranks (--ranks-per-frame 2): a frame event on each rank and each rank's
# wait for the other. Runs on the synth fixture's 10-fiber PSF on a CCD of
# 230 columns (tests/util/fixture_synth.sh) and an image of it simulated
# here. Args: MPIRUN.
set -u
MPIRUN=$1
PY=/usr/bin/python3
CHECK="$SRC/tests/util/trace_check.py"
"$PY" -c 'import json' 2>/dev/null || { echo "SKIP: no $PY with json to read the trace"; exit 77; }
now_us() { echo $(($(date +%s%N) / 1000)); }
cp "$FIXTURES/synth10-narrow/psf.fits" "$TMP/" || { echo "FAIL: the synth fixture"; exit 1; }
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/img.fits" -w 6000,6300,0.8 --quiet ||
    { echo "FAIL: simulate"; exit 1; }
F="--bundlesize 5 --nsubbundles 5 --batch 4"
cat > "$TMP/plan" <<EOP
$TMP/img.fits $TMP/psf.fits $TMP/f0.fits -w 6000,6300,0.8 -n 5 $F
$TMP/img.fits $TMP/psf.fits $TMP/f1.fits -w 6000,6300,0.8 -s 5 -n 5 $F
$TMP/img.fits $TMP/psf.fits $TMP/f2.fits -w 6000,6200,0.8 -n 10 $F
$TMP/img.fits $TMP/psf.fits $TMP/f3.fits -w 6100,6300,0.8 -n 10 $F
EOP
fail=0
t0=$(now_us)
"$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan" --device-type cpu \
    --trace "$TMP/t.json" > "$TMP/log" 2>&1 || { cat "$TMP/log"; echo "FAIL: plan"; exit 1; }
t1=$(now_us)
cat "$TMP/log"
"$PY" "$CHECK" "$TMP/t.json" --ranks 2 --queues 1 --wall-us $((t1 - t0)) --frames 4 --idle ||
    fail=1
head -1 "$TMP/plan" > "$TMP/plan1"
t0=$(now_us)
"$MPIRUN" -n 2 --oversubscribe "$PERFEX" extract --plan "$TMP/plan1" --ranks-per-frame 2 \
    --overwrite --device-type cpu --trace "$TMP/t1.json" > "$TMP/log" 2>&1 ||
    { cat "$TMP/log"; echo "FAIL: plan over 2 ranks"; exit 1; }
t1=$(now_us)
"$PY" "$CHECK" "$TMP/t1.json" --ranks 2 --queues 1 --wall-us $((t1 - t0)) --frames 2 \
    --group-wait --idle || fail=1
[ $fail -eq 0 ] && echo "ok"
exit $fail
