# SPDX-License-Identifier: BSD-3-Clause
# Files that are not regular files (issue 11 items 6 and 9) and a HOME whose
# cache cannot be written. Inputs: a FIFO as image or PSF is refused at once
# (it would block the reader for ever), a directory or device node too.
# Outputs: a FIFO, a device node (made here, never /dev/null itself), a
# symbolic link to either, a dangling link and a directory are refused and
# stay what they were; a symbolic link to a regular file is written through
# (the link stays, its file becomes the frame). With HOME unwritable and no
# POCL_CACHE_DIR, PoCL's platform is still found (its cache moves to TMPDIR).
set -u
fail=0
W="-w 6000,6100,0.8"
# a 10-fiber PSF and image on a CCD of 230 columns (tests/util/fixture_synth.sh)
cp "$FIXTURES/synth10-narrow/psf.fits" "$FIXTURES/synth10-narrow/img.fits" "$TMP/" ||
    { echo "FAIL: the synth fixture"; exit 1; }
X="--bundlesize 5 --nsubbundles 1 --quiet $W"
"$PERFEX" extract -i "$TMP/img.fits" -p "$TMP/psf.fits" $X -o "$TMP/ref.fits" ||
    { echo "FAIL: reference frame"; exit 1; }
mkdir "$TMP/out"
O=$TMP/out
mkfifo "$TMP/fifo"

# refuse NAME PATTERN ARGS...: perfex ARGS exits 1 within 60 s with one line
# matching PATTERN.
refuse() {
    name=$1 pat=$2
    shift 2
    timeout 60 "$PERFEX" "$@" > /dev/null 2> "$TMP/err"
    rc=$?
    echo "$name: exit $rc: $(cat "$TMP/err")"
    [ $rc -eq 1 ] || { echo "FAIL: $name: exit $rc, expected 1 (124: it blocked)"; fail=1; }
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || { echo "FAIL: $name: not one line"; fail=1; }
    grep -qE -- "$pat" "$TMP/err" || { echo "FAIL: $name: does not say $pat"; fail=1; }
}
refuse fifo-image "fifo: is a FIFO" extract -i "$TMP/fifo" -p "$TMP/psf.fits" $X -o "$O/f.fits"
refuse fifo-psf "fifo: is a FIFO" extract -i "$TMP/img.fits" -p "$TMP/fifo" $X -o "$O/f.fits"
refuse dir-image "out: is a directory" extract -i "$O" -p "$TMP/psf.fits" $X -o "$O/f.fits"
refuse device-psf "zero: is a character device" extract -i "$TMP/img.fits" -p /dev/zero $X \
    -o "$O/f.fits"
[ -z "$(ls -A "$O")" ] || { echo "FAIL: inputs: left $(ls "$O")"; fail=1; }

# outputs
E="extract -i $TMP/img.fits -p $TMP/psf.fits $X"
refuse out-fifo "fifo: is a FIFO; perfex writes only regular files" $E -o "$TMP/fifo"
[ -p "$TMP/fifo" ] || { echo "FAIL: the FIFO was replaced"; fail=1; }
ln -s "$TMP/fifo" "$O/lfifo"
refuse out-link-fifo "lfifo: is a symbolic link to a FIFO" $E -o "$O/lfifo"
[ -L "$O/lfifo" ] && [ -p "$TMP/fifo" ] || { echo "FAIL: the link or FIFO changed"; fail=1; }
if mknod "$TMP/null" c 1 3 2> /dev/null; then
    refuse out-device "null: is a character device" $E -o "$TMP/null"
    [ -c "$TMP/null" ] || { echo "FAIL: the device node was replaced"; fail=1; }
    ln -s "$TMP/null" "$O/lnull"
    refuse out-link-device "lnull: is a symbolic link to a character device" $E -o "$O/lnull"
    [ -L "$O/lnull" ] && [ -c "$TMP/null" ] || { echo "FAIL: the link or node changed"; fail=1; }
    refuse model-device "null: is a character device" $E -o "$O/f.fits" -m "$TMP/null"
    [ -c "$TMP/null" ] || { echo "FAIL: the device node was replaced by -m"; fail=1; }
    rm -f "$O/f.fits"
else
    echo "mknod not allowed here: the device-node cases are skipped"
fi
ln -s "$TMP/none.fits" "$O/dangling"
refuse out-dangling "dangling: is a symbolic link to a missing file" $E -o "$O/dangling"
mkdir "$O/adir"
refuse out-dir "adir: is a directory" $E -o "$O/adir"
refuse simulate-fifo "fifo: is a FIFO" simulate -p "$TMP/psf.fits" -o "$TMP/fifo" $W --quiet
refuse synth-fifo "fifo: is a FIFO" psf synth --fibers 2 -o "$TMP/fifo"
[ -p "$TMP/fifo" ] || { echo "FAIL: the FIFO was replaced"; fail=1; }
# a link to a regular file: written through
cp "$TMP/psf.fits" "$O/old.fits"
ln -s old.fits "$O/link.fits"
"$PERFEX" $E -o "$O/link.fits" 2> "$TMP/err" || { echo "FAIL: through a link: $(cat "$TMP/err")"; fail=1; }
[ -L "$O/link.fits" ] || { echo "FAIL: the link was replaced"; fail=1; }
cmp -s "$O/old.fits" "$TMP/ref.fits" || { echo "FAIL: the link's file is not the frame"; fail=1; }
left=$(ls -A "$O" | grep '\.tmp\.')
[ -z "$left" ] || { echo "FAIL: left $left"; fail=1; }

# HOME without a writable cache: the PoCL platform is still found
n0=$("$PERFEX" devices 2> /dev/null | grep -c '^[ *] *[0-9]')
if [ "$n0" -gt 0 ] && "$PERFEX" devices 2> /dev/null | grep -q "Portable Computing Language"; then
    mkdir "$TMP/tmpdir"
    n1=$(env -u POCL_CACHE_DIR -u XDG_CACHE_HOME HOME=/proc TMPDIR="$TMP/tmpdir" \
        "$PERFEX" devices 2> "$TMP/err" | grep -c '^[ *] *[0-9]')
    echo "devices with HOME=/proc: $n1 (normally $n0) $(cat "$TMP/err")"
    [ "$n1" -eq "$n0" ] || { echo "FAIL: HOME=/proc loses devices"; fail=1; }
    ls "$TMP/tmpdir" | grep -q '^perfex-pocl-cache' ||
        { echo "FAIL: no PoCL cache folder under TMPDIR"; fail=1; }
else
    echo "no PoCL platform here: the HOME case is skipped"
fi
[ $fail -eq 0 ] && echo ok
exit $fail
