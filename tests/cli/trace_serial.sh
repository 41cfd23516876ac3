# perfex extract --trace on one process: the timeline opens as trace-event
# JSON (parsed by tests/util/trace_check.py with python3's json module; the
# case skips without it) with the host lane, the lanes of each device queue,
# stages and OpenCL events carrying their batch and patch range, device
# times inside their batch, every event inside the measured wall time, and
# the frame as an event; with two PoCL devices (POCL_DEVICES="pthread
# pthread", --devices all) two queues' lanes. A trace path that cannot be
# written is one line and a non-zero exit before any work (no frame). Runs on
# the synth fixture's 10-fiber PSF on a CCD of 230 columns
# (tests/util/fixture_synth.sh) and an image of it simulated here.
set -u
PY=/usr/bin/python3
CHECK="$SRC/tests/util/trace_check.py"
"$PY" -c 'import json' 2>/dev/null || { echo "SKIP: no $PY with json to read the trace"; exit 77; }
now_us() { echo $(($(date +%s%N) / 1000)); }
W="-w 6000,6300,0.8"
cp "$FIXTURES/synth10-narrow/psf.fits" "$TMP/" || { echo "FAIL: the synth fixture"; exit 1; }
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/img.fits" $W --quiet || { echo "FAIL: simulate"; exit 1; }
A="-i $TMP/img.fits -p $TMP/psf.fits $W --bundlesize 5 --nsubbundles 5 --batch 4 --quiet"
fail=0
t0=$(now_us)
"$PERFEX" extract $A -o "$TMP/f.fits" --device-type cpu --trace "$TMP/t.json" ||
    { echo "FAIL: extract --trace"; exit 1; }
t1=$(now_us)
"$PY" "$CHECK" "$TMP/t.json" --ranks 1 --queues 1 --wall-us $((t1 - t0)) --frames 1 || fail=1
ls "$TMP" | grep -q '\.tmp\.' && { echo "FAIL: a temporary file was left"; fail=1; }

n=$(POCL_DEVICES="pthread pthread" "$PERFEX" devices --device-type cpu 2>/dev/null | grep -c "yes" || true)
if [ "$n" -ge 2 ]; then
    t0=$(now_us)
    POCL_DEVICES="pthread pthread" "$PERFEX" extract $A -o "$TMP/f2.fits" --devices all \
        --device-type cpu --trace "$TMP/t2.json" || { echo "FAIL: --devices all --trace"; exit 1; }
    t1=$(now_us)
    "$PY" "$CHECK" "$TMP/t2.json" --ranks 1 --queues 2 --wall-us $((t1 - t0)) --frames 1 || fail=1
else
    echo "note: PoCL does not show two CPU devices; the two-queue trace is not checked"
fi

"$PERFEX" extract $A -o "$TMP/bad.fits" --trace "$TMP/nodir/t.json" 2> "$TMP/err"
rc=$?
echo "--trace into a missing directory: exit $rc: $(cat "$TMP/err")"
[ $rc -ne 0 ] || { echo "FAIL: accepted"; fail=1; }
[ "$(wc -l < "$TMP/err")" -eq 1 ] || { echo "FAIL: not one line"; fail=1; }
grep -q "nodir/t.json" "$TMP/err" || { echo "FAIL: the message does not name the file"; fail=1; }
[ ! -e "$TMP/bad.fits" ] || { echo "FAIL: a frame was written"; fail=1; }
[ $fail -eq 0 ] && echo "ok"
exit $fail
