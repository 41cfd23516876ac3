# SPDX-License-Identifier: BSD-3-Clause
# A kernel fault during `perfex extract` (PERFEX_FAULT=kernel:N: the Nth wait
# for the device fails with CL_OUT_OF_RESOURCES, as NVIDIA's driver reports a
# kernel that faulted) is named as such and not retried as a memory
# shortage: exit 1, one line "perfex: ... a kernel failed on the device ...
# --device-type cpu", no output file, even with batches that a memory
# shortage would halve and retry (tests/cli/badinput_faults.sh shows that
# CL_OUT_OF_RESOURCES at a launch is retried and recovers). On a 10-fiber
# synthetic PSF cut to a 230 x 1400 CCD, in batches of 4 patches.
set -u
fail=0
X="-w 6000,6100,0.8 --bundlesize 5 --nsubbundles 2 --quiet --batch 4"
# the PSF and image of the synth fixture's cut CCD (tests/util/fixture_synth.sh)
cp "$FIXTURES/synth10-cut/psf.fits" "$FIXTURES/synth10-cut/img.fits" "$TMP/" ||
    { echo "FAIL: the synth fixture"; exit 1; }
mkdir "$TMP/out"
O=$TMP/out/frame.fits
unset PERFEX_FAULT
"$PERFEX" extract -i "$TMP/img.fits" -p "$TMP/psf.fits" $X -o "$O" 2> "$TMP/err" ||
    { echo "FAIL: control run: $(cat "$TMP/err")"; exit 1; }
rm -f "$O"
# Every wait of the run in turn, until one past the last (which succeeds).
k=1
while [ $k -le 200 ]; do
    PERFEX_FAULT=kernel:$k "$PERFEX" extract -i "$TMP/img.fits" -p "$TMP/psf.fits" $X -o "$O" \
        2> "$TMP/err"
    rc=$?
    [ $rc -eq 0 ] && break
    [ $k -le 3 ] || [ $((k % 10)) -eq 0 ] && echo "kernel:$k: exit $rc: $(head -c 240 "$TMP/err")"
    [ $rc -eq 1 ] || { echo "FAIL: kernel:$k: exit $rc, want 1"; fail=1; }
    grep -q "^perfex: .*a kernel failed on the device.*--device-type cpu" "$TMP/err" ||
        { echo "FAIL: kernel:$k: message: $(cat "$TMP/err")"; fail=1; }
    grep -qi "out of memory\|ran out of" "$TMP/err" &&
        { echo "FAIL: kernel:$k: called a memory shortage"; fail=1; }
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || { echo "FAIL: kernel:$k: more than one line"; fail=1; }
    [ -z "$(ls -A "$TMP/out")" ] || { echo "FAIL: kernel:$k: left $(ls "$TMP/out")"; fail=1; }
    rm -rf "$TMP/out"/*
    k=$((k + 1))
done
echo "the run waits for the device $((k - 1)) times; each of those faults ended it cleanly"
[ $k -gt 3 ] || { echo "FAIL: fewer than 3 waits reached"; fail=1; }
[ $k -le 200 ] || { echo "FAIL: still failing at kernel:200"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
