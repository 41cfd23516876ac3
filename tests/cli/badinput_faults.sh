# Device faults during `perfex extract` (issue 7), injected with PERFEX_FAULT
# (host/clwrap.c) on a 10-fiber synthetic PSF cut to a 230 x 1400 CCD, in
# batches of 4 patches (12 patches: 3 batches).
# - An allocation or launch failure inside a batch halves the batch and
#   retries: the run succeeds and its frame equals the fault-free run bit for
#   bit. That the fault was really reached is shown by the same fault with
#   --batch 1, where halving is impossible: it must fail.
# - Failures that retrying cannot cure (allocations outside the batches, a
#   batch of 1, a lost device) end with exit 1, one line "perfex: ..." naming
#   the OpenCL error and `--device-type cpu`, and no output file.
# - A kernel that does not compile (PERFEX_KERNEL_DIR with a broken
#   extract.cl) ends with exit 1, the compiler log, the `--device-type cpu`
#   hint unless the device is a CPU, and no output file.
# $1: the badinput_tool program.
set -u
T=$1
fail=0
X="-w 6000,6100,0.8 --bundlesize 5 --nsubbundles 2 --quiet"
# the PSF and image of the synth fixture's cut CCD (tests/util/fixture_synth.sh)
cp "$FIXTURES/synth10-cut/psf.fits" "$FIXTURES/synth10-cut/img.fits" "$TMP/" ||
    { echo "FAIL: the synth fixture"; exit 1; }
mkdir "$TMP/out"
O=$TMP/out/frame.fits
ex() { "$PERFEX" extract -i "$TMP/img.fits" -p "$TMP/psf.fits" $X "$@" 2> "$TMP/err"; }
unset PERFEX_FAULT
ex -o "$TMP/ref.fits" --batch 4 || { echo "FAIL: control run: $(cat "$TMP/err")"; exit 1; }

# gone NAME PATTERN: the last run failed cleanly
gone() {
    rc=$1 name=$2 pat=$3
    echo "$name: exit $rc: $(head -c 300 "$TMP/err")"
    [ "$rc" -eq 1 ] || { echo "FAIL: $name: exit $rc, want 1"; fail=1; }
    grep -q "^perfex: .*$pat" "$TMP/err" || { echo "FAIL: $name: message lacks $pat"; fail=1; }
    [ -z "$(ls -A "$TMP/out")" ] || { echo "FAIL: $name: left $(ls "$TMP/out")"; fail=1; }
    rm -rf "$TMP/out"/*
}
# recovered NAME: the last run succeeded and wrote the control's frame
recovered() {
    if [ "$1" -ne 0 ]; then
        echo "FAIL: $2: exit $1: $(cat "$TMP/err")"
        fail=1
    elif ! "$T" same "$O" "$TMP/ref.fits" > "$TMP/same"; then
        cat "$TMP/same"
        echo "FAIL: $2: frame differs from the fault-free run"
        fail=1
    else
        echo "$2: recovered, frame identical to the fault-free run"
    fi
    rm -rf "$TMP/out"/*
}

# Allocation faults: the first K whose fault the batched run survives is the
# first allocation of the first batch; every earlier one is fatal.
first=0
for k in $(seq 1 40); do
    PERFEX_FAULT=alloc:$k ex -o "$O" --batch 4
    rc=$?
    if [ $rc -eq 0 ]; then
        first=$k
        break
    fi
    [ -z "$(ls -A "$TMP/out")" ] || { echo "FAIL: alloc:$k: output left"; fail=1; }
    if [ $k -eq 1 ] || [ $k -eq 5 ]; then
        gone $rc "alloc:$k before the batches" "CL_MEM_OBJECT_ALLOCATION_FAILURE.*--device-type cpu"
    fi
done
rm -rf "$TMP/out"/*
echo "first allocation inside a batch: alloc:$first"
[ "$first" -gt 1 ] || { echo "FAIL: no allocation outside the batches failed"; fail=1; }
PERFEX_FAULT=alloc:$first ex -o "$O" --batch 4
recovered $? "alloc:$first with --batch 4"
PERFEX_FAULT=alloc:$first ex -o "$O" --batch 1
gone $? "alloc:$first with --batch 1" "CL_MEM_OBJECT_ALLOCATION_FAILURE.*--device-type cpu"
PERFEX_FAULT=alloc:$((first + 3)) ex -o "$O" --batch 4
recovered $? "alloc:$((first + 3)) with --batch 4"
# with the model image too
PERFEX_FAULT=alloc:$first ex -o "$O" -m "$TMP/out/model.fits" --batch 4
rc=$?
[ -s "$TMP/out/model.fits" ] || { echo "FAIL: no model image after a retry"; fail=1; }
recovered $rc "alloc:$first with --batch 4 and --model"

# Launch faults (CL_OUT_OF_RESOURCES): every extraction launch is in a batch.
for k in 1 3 5 6 8; do
    PERFEX_FAULT=launch:$k ex -o "$O" --batch 4
    recovered $? "launch:$k with --batch 4"
    PERFEX_FAULT=launch:$k ex -o "$O" --batch 1
    gone $? "launch:$k with --batch 1" "CL_OUT_OF_RESOURCES.*--device-type cpu"
done

# A lost device is never retried.
for k in 1 3 $((first + 2)) $((first + 40)); do
    PERFEX_FAULT=lost:$k ex -o "$O" --batch 4
    gone $? "lost:$k" "CL_DEVICE_NOT_AVAILABLE.*--device-type cpu"
done
# A malformed PERFEX_FAULT is an error, not a silent pass.
PERFEX_FAULT=alloc ex -o "$O"
gone $? "PERFEX_FAULT=alloc" "PERFEX_FAULT"

# A kernel that does not compile.
cp -r "$SRC/kernels" "$TMP/kernels"
printf '\nthis is not OpenCL C;\n' >> "$TMP/kernels/extract.cl"
PERFEX_KERNEL_DIR=$TMP/kernels ex -o "$O"
rc=$?
cat "$TMP/err"
[ $rc -eq 1 ] || { echo "FAIL: broken kernel: exit $rc, want 1"; fail=1; }
grep -q "^perfex: kernel program .*failed to build" "$TMP/err" ||
    { echo "FAIL: broken kernel: no build failure message"; fail=1; }
grep -q "compiler log" "$TMP/err" && grep -qi "error.*extract.cl\|extract.cl.*error" "$TMP/err" ||
    { echo "FAIL: broken kernel: no compiler log"; fail=1; }
if "$PERFEX" devices 2> /dev/null | grep '^\*' | grep -q ' CPU '; then
    ! grep -q -- "--device-type cpu" "$TMP/err" ||
        { echo "FAIL: broken kernel on a CPU: pointless --device-type cpu hint"; fail=1; }
else
    grep -q -- "--device-type cpu" "$TMP/err" ||
        { echo "FAIL: broken kernel: no --device-type cpu hint"; fail=1; }
fi
[ -z "$(ls -A "$TMP/out")" ] || { echo "FAIL: broken kernel: left $(ls "$TMP/out")"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
