# perfex bench --exposure 2 on frames of 5 fibers: the RESULT line is there
# and its numbers agree with each other (no assertion on speed): 2 frames
# done, none failed, nwave 2326 (5760..7620 at 0.8), frames per node-hour
# = 3600 done / wall_s (1e-3 relative, one node), CPU s per frame = cpu_s /
# done, the 500-fiber estimate = frames per node-hour x 5 / 500, the
# CPU-bound rate = 3600 cores done / cpu_s; the simulated folder is
# removed afterwards. With --trace the timeline (python3's json module,
# skipped without it) has the runner's two frames on the
# queue's lanes. Then perfex bench --trace on the synthetic case: the bench's
# runs on the host lane, stages and OpenCL events on the queue's.
set -u
PY=/usr/bin/python3
CHECK="$SRC/tests/util/trace_check.py"
now_us() { echo $(($(date +%s%N) / 1000)); }
have_py=1
"$PY" -c 'import json' 2>/dev/null || { echo "note: no $PY with json: the traces are not checked"; have_py=0; }
fail=0
export TMPDIR="$TMP"
t0=$(now_us)
"$PERFEX" bench --exposure 2 --fibers 5 --trace "$TMP/t.json" > "$TMP/out" 2> "$TMP/err" ||
    { cat "$TMP/out" "$TMP/err"; echo "FAIL: bench --exposure"; exit 1; }
t1=$(now_us)
cat "$TMP/out" "$TMP/err"
res=$(grep '^RESULT case=exposure' "$TMP/out") || { echo "FAIL: no RESULT line"; exit 1; }
val() { echo "$res" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
awk -v fr="$(val frames)" -v d="$(val done)" -v f="$(val failed)" -v nw="$(val nwave)" \
    -v w="$(val wall_s)" -v c="$(val cpu_s)" -v cpf="$(val cpu_s_per_frame)" \
    -v fph="$(val frames_per_node_hour)" -v est="$(val full_frames_per_node_hour_est)" \
    -v nodes="$(val nodes)" -v cb="$(val cpu_bound_frames_per_node_hour)" -v cores="$(val cores)" 'BEGIN {
    bad = 0
    if (fr != 2 || d != 2 || f != 0) { print "frames " fr " done " d " failed " f; bad = 1 }
    if (nw != 2326) { print "nwave " nw " != 2326"; bad = 1 }
    if (nodes != 1) { print "nodes " nodes " != 1"; bad = 1 }
    if (!(w > 0) || !(c > 0)) { print "wall " w " cpu " c; bad = 1 }
    # printed to 0.1 frame/h and 1 ms: a rounding step of slack besides 1e-3
    e = 3600 * d / w; if (fph < e * 0.999 - 0.06 || fph > e * 1.001 + 0.06) { print "frames/h " fph " != " e; bad = 1 }
    e = c / d; if (cpf < e * 0.999 - 0.001 || cpf > e * 1.001 + 0.001) { print "cpu/frame " cpf " != " e; bad = 1 }
    e = fph * 5 / 500; if (est < e * 0.999 - 0.06 || est > e * 1.001 + 0.06) { print "estimate " est " != " e; bad = 1 }
    e = 3600 * cores * d / c; if (cb < e * 0.999 - 0.06 || cb > e * 1.001 + 0.06) { print "cpu-bound " cb " != " e; bad = 1 }
    exit bad }' || fail=1
grep -q "each 5 fibers x 2326 wavelengths" "$TMP/out" || { echo "FAIL: the frame is not stated"; fail=1; }
ls -d "$TMP"/perfex-exposure-* 2>/dev/null && { echo "FAIL: the simulated folder was left"; fail=1; }
if [ $have_py = 1 ]; then
    "$PY" "$CHECK" "$TMP/t.json" --ranks 1 --queues 1 --wall-us $((t1 - t0)) --frames 2 || fail=1
    t0=$(now_us)
    "$PERFEX" bench --case synth --repeat 1 --trace "$TMP/b.json" > "$TMP/out" 2>&1 ||
        { cat "$TMP/out"; echo "FAIL: bench --trace"; exit 1; }
    t1=$(now_us)
    "$PY" "$CHECK" "$TMP/b.json" --ranks 1 --queues 1 --wall-us $((t1 - t0)) --bench || fail=1
fi
"$PERFEX" bench --fibers 5 2> "$TMP/err" && { echo "FAIL: --fibers without --exposure"; fail=1; }
[ $fail -eq 0 ] && echo "ok"
exit $fail
