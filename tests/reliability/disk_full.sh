# SPDX-License-Identifier: BSD-3-Clause
# Outputs on a full file system (issue 11, item 1): a tmpfs a few pages
# smaller than the frame (the last buffered write fails: CFITSIO 4.2 says
# nothing), smaller still (a write or the checksums fail), an earlier frame
# of the same name on a file system with no room for the new one, the model
# image (-m) and perfex simulate. Each must exit 1 with one line naming the
# output and saying "No space left on device", and leave nothing new on the
# file system and any earlier file byte for byte as it was. Needs root (mount);
# skips with a message otherwise.
set -u
fail=0
if [ "$(id -u)" -ne 0 ]; then echo "skip: mounting a tmpfs needs root"; exit 77; fi
M=$TMP/mnt
mkdir "$M"
trap 'umount "$M" 2> /dev/null' EXIT
mount_fs() { # mount_fs SIZE: a fresh tmpfs of SIZE on $M
    umount "$M" 2> /dev/null
    if ! mount -t tmpfs -o "size=$1" tmpfs "$M" 2> "$TMP/merr"; then
        echo "skip: cannot mount a tmpfs here: $(cat "$TMP/merr")"
        exit 77
    fi
}
mount_fs 64k
W="-w 6000,6100,0.8"
# the full-size 10-fiber PSF and image of the synth fixture (tests/util/fixture_synth.sh):
# the model image and simulate's output below are 68 and 200 MB
F=$FIXTURES/synth10
X="-i $F/img.fits -p $F/psf.fits $W --bundlesize 5 --nsubbundles 1 --quiet"
"$PERFEX" extract $X -o "$TMP/ref.fits" || { echo "FAIL: reference frame"; exit 1; }
S=$(wc -c < "$TMP/ref.fits")
PAGES=$(( (S + 4095) / 4096 ))
echo "frame of $S bytes ($PAGES pages)"

# expect_full NAME OUTPUT CMD...: exit 1, one line naming OUTPUT and the
# cause, nothing on $M but what $M/keep.* held before (checked by the caller).
expect_full() {
    name=$1 out=$2
    shift 2
    "$@" > /dev/null 2> "$TMP/err"
    rc=$?
    echo "$name: exit $rc: $(cat "$TMP/err")"
    [ $rc -eq 1 ] || { echo "FAIL: $name: exit $rc, expected 1"; fail=1; }
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || { echo "FAIL: $name: not one line"; fail=1; }
    grep -qF -- "$out" "$TMP/err" || { echo "FAIL: $name: does not name $out"; fail=1; }
    grep -q "No space left on device" "$TMP/err" || { echo "FAIL: $name: does not say why"; fail=1; }
    left=$(ls -A "$M" | grep -vx 'keep.fits')
    [ -z "$left" ] || { echo "FAIL: $name: left $left"; fail=1; }
}

# 1. room for the whole frame: written, the same bytes as on a roomy disk
mount_fs $((PAGES * 4))k
"$PERFEX" extract $X -o "$M/frame.fits" 2> "$TMP/err" || { echo "FAIL: exact fit: $(cat "$TMP/err")"; fail=1; }
cmp -s "$M/frame.fits" "$TMP/ref.fits" || { echo "FAIL: exact fit: frame differs"; fail=1; }
# 2. a page or more short: the last flush, a middle write, the checksums
for short in 1 2 4 8 $((PAGES / 2)); do
    mount_fs $(( (PAGES - short) * 4 ))k
    expect_full "frame-short-$short-pages" "$M/frame.fits" "$PERFEX" extract $X -o "$M/frame.fits"
done
# 3. an earlier frame of that name stays as it was
mount_fs $(( PAGES * 4 * 3 / 2 ))k
cp "$TMP/ref.fits" "$M/keep.fits"
"$PERFEX" extract $X -o "$M/keep.fits" > /dev/null 2> "$TMP/err"
rc=$?
echo "earlier-frame: exit $rc: $(cat "$TMP/err")"
[ $rc -eq 1 ] && grep -q "No space left on device" "$TMP/err" || { echo "FAIL: earlier-frame: exit $rc"; fail=1; }
cmp -s "$M/keep.fits" "$TMP/ref.fits" || { echo "FAIL: the earlier frame changed"; fail=1; }
left=$(ls -A "$M" | grep -vx 'keep.fits')
[ -z "$left" ] || { echo "FAIL: earlier-frame: left $left"; fail=1; }
rm -f "$M"/keep.*
# 4. the model image (-m, 4114 x 4128 float32) on a small file system
mount_fs 1m
expect_full "model" "$M/model.fits" "$PERFEX" extract $X -o "$TMP/frame-m.fits" -m "$M/model.fits"
# 5. perfex simulate (a 200 MB image) on a 64 MB file system
mount_fs 64m
expect_full "simulate" "$M/img.fits" "$PERFEX" simulate -p "$F/psf.fits" -o "$M/img.fits" $W --quiet
[ $fail -eq 0 ] && echo ok
exit $fail
