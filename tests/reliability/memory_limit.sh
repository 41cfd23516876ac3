# SPDX-License-Identifier: BSD-3-Clause
# Out of memory says so (issue 11 item 9): perfex extract on a full-size
# image, plain and gzipped, under virtual-memory limits (ulimit -v) from
# 150 MB to 850 MB, so that the limit strikes in turn while CFITSIO unpacks
# the gzip file, while the pixels are allocated, while the OpenCL runtime
# starts (PoCL 3.1 aborted, crashed or loaded no platform there: "install an
# ICD") and while extracting. Every run must exit 0, or 1 with one line that
# says "out of memory"; never a signal, never another cause. Skips where a
# limit cannot be set (sanitizer builds reserve terabytes of address space).
set -u
fail=0
if ! (ulimit -v 1000000 && "$PERFEX" --version > /dev/null 2>&1); then
    echo "skip: perfex does not start under ulimit -v 1000000 (a sanitizer build?)"
    exit 77
fi
W="-w 6000,6100,0.8"
# the full-size 10-fiber image of the synth fixture (tests/util/fixture_synth.sh)
F=$FIXTURES/synth10
gzip -1 -c "$F/img.fits" > "$TMP/img.fits.gz"
nok=0 noom=0
for img in "$F/img.fits" "$TMP/img.fits.gz"; do
    for mb in 150 250 350 450 550 600 700 850 1000 1400; do
        (ulimit -v $((mb * 1024)) && exec "$PERFEX" extract -i "$img" -p "$F/psf.fits" $W \
            --bundlesize 5 --nsubbundles 1 --quiet -o "$TMP/f.fits") > /dev/null 2> "$TMP/err"
        rc=$?
        echo "$(basename "$img"), ulimit -v ${mb} MB: exit $rc: $(head -c 300 "$TMP/err")"
        if [ $rc -eq 0 ]; then
            nok=$((nok + 1))
        elif [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -qi "out of memory" "$TMP/err"; then
            noom=$((noom + 1))
        else
            echo "FAIL: $(basename "$img") at ${mb} MB: exit $rc"
            fail=1
        fi
        rm -f "$TMP/f.fits"
    done
done
echo "$nok runs extracted, $noom said out of memory"
[ $noom -gt 0 ] || { echo "FAIL: no limit was low enough to test"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
