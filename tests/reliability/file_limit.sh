# SPDX-License-Identifier: BSD-3-Clause
# Outputs past a file-size limit (ulimit -f, issue 11 item 1): the frame, an
# earlier frame of the same name, the model image and perfex simulate. perfex
# ignores SIGXFSZ, so the write fails with EFBIG: exit 1, one line naming the
# output and saying "File too large", no new file, the earlier one as it was.
set -u
fail=0
W="-w 6000,6100,0.8"
# the full-size 10-fiber PSF and image of the synth fixture (tests/util/fixture_synth.sh):
# the model image and simulate's output below are 68 and 200 MB
F=$FIXTURES/synth10
X="-i $F/img.fits -p $F/psf.fits $W --bundlesize 5 --nsubbundles 1 --quiet"
"$PERFEX" extract $X -o "$TMP/ref.fits" || { echo "FAIL: reference frame"; exit 1; }
S=$(wc -c < "$TMP/ref.fits")
mkdir "$TMP/out"
O=$TMP/out
# ulimit -f counts 512-byte blocks in dash, 1024-byte ones in bash: measure.
(trap '' XFSZ; ulimit -f 2 && head -c 1500 /dev/zero > "$TMP/unit") 2> /dev/null
[ "$(wc -c < "$TMP/unit")" -eq 1500 ] && U=1024 || U=512
echo "ulimit -f unit: $U bytes; frame of $S bytes"

# limited NAME BLOCKS OUTPUT CMD...: CMD under ulimit -f BLOCKS (of U bytes).
limited() {
    name=$1 blocks=$2 out=$3
    shift 3
    (ulimit -f "$blocks" && exec "$@") > /dev/null 2> "$TMP/err"
    rc=$?
    echo "$name: ulimit -f $blocks: exit $rc: $(cat "$TMP/err")"
    [ $rc -eq 1 ] || { echo "FAIL: $name: exit $rc, expected 1"; fail=1; }
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || { echo "FAIL: $name: not one line"; fail=1; }
    grep -qF -- "$out" "$TMP/err" || { echo "FAIL: $name: does not name $out"; fail=1; }
    grep -q "File too large" "$TMP/err" || { echo "FAIL: $name: does not say why"; fail=1; }
    left=$(ls -A "$O" | grep -vx 'keep.fits')
    [ -z "$left" ] || { echo "FAIL: $name: left $left"; fail=1; }
}
# a limit just under the frame (the last buffered write fails), and far under
limited frame-last-block $((S / U - 1)) "$O/f.fits" "$PERFEX" extract $X -o "$O/f.fits"
limited frame-half $((S / U / 2)) "$O/f.fits" "$PERFEX" extract $X -o "$O/f.fits"
# the limit is enough for the frame: written, the same bytes
(ulimit -f $((S / U + 1)) && exec "$PERFEX" extract $X -o "$O/exact.fits") 2> "$TMP/err" ||
    { echo "FAIL: under a limit it fits: $(cat "$TMP/err")"; fail=1; }
cmp -s "$O/exact.fits" "$TMP/ref.fits" || { echo "FAIL: frame under a limit differs"; fail=1; }
rm -f "$O/exact.fits"
# an earlier frame of that name is kept as it was
cp "$TMP/ref.fits" "$O/keep.fits"
limited earlier-frame $((S / U - 1)) "$O/keep.fits" "$PERFEX" extract $X -o "$O/keep.fits"
cmp -s "$O/keep.fits" "$TMP/ref.fits" || { echo "FAIL: the earlier frame changed"; fail=1; }
rm -f "$O/keep.fits"
# the model image and simulate (both far larger than the limit)
limited model $((1000000 / U)) "$O/model.fits" "$PERFEX" extract $X -o "$TMP/frame-m.fits" -m "$O/model.fits"
limited simulate $((100000000 / U)) "$O/img.fits" "$PERFEX" simulate -p "$F/psf.fits" -o "$O/img.fits" $W --quiet
[ $fail -eq 0 ] && echo ok
exit $fail
