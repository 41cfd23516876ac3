# `perfex psf spots` and `perfex psf spot` on the shared PSFs: the table
# written for the reference table's FIBER and WAVELENGTH columns must match
# specter's (spots_test cmp: SPOT within 1e-10, X and Y within 1e-9, the
# integer columns exact); `psf spot` prints the reference row's corner and
# size; usage and input errors exit 2 and 1 and leave no output file.
# $1: the spots_test program.
set -e
fail() { echo "FAIL: $*"; exit 1; }
CMP=$1
rc=0; "$PERFEX" psf spots > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "exit $rc without arguments, expected 2"
rc=0; "$PERFEX" psf spot x.fits --fiber 1 > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "exit $rc without --wavelength, expected 2"

[ -r "$SHARED/psf-r0-00051060.fits" ] && [ -r "$SHARED/spots-psf-r0-00051060.fits" ] &&
    [ -r "$SHARED/psf-gausshermite-v2.fits" ] && [ -r "$SHARED/spots-psf-gausshermite-v2.fits" ] ||
    { echo "SKIP: $SHARED/psf-*.fits or spots-psf-*.fits absent"; exit 77; }
for psf in psf-r0-00051060 psf-gausshermite-v2; do
    "$PERFEX" psf spots "$SHARED/$psf.fits" --at "$SHARED/spots-$psf.fits" -o "$TMP/$psf.fits"
    "$CMP" cmp "$TMP/$psf.fits" "$SHARED/spots-$psf.fits" || fail "$psf spots differ from specter's"
done
ls "$TMP" | grep -q tmp && fail "temporary file left behind"

# A missing --at table: exit 1, one-line error, no output.
rc=0; "$PERFEX" psf spots "$SHARED/psf-r0-00051060.fits" --at "$TMP/none.fits" -o "$TMP/o.fits" \
    2> "$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "exit $rc for a missing table, expected 1"
grep -q "^perfex: .*none.fits" "$TMP/err" || fail "error does not name the table"
[ ! -e "$TMP/o.fits" ] || fail "output written on failure"

# Row 1 of the v2 reference is cut at the bottom CCD edge.
for row in 1 4; do
    set -- $("$CMP" row "$SHARED/spots-psf-gausshermite-v2.fits" $row)
    "$PERFEX" psf spot "$SHARED/psf-gausshermite-v2.fits" --fiber "$1" --wavelength "$2" > "$TMP/spot"
    cat "$TMP/spot"
    grep -q "^xmin $3  ymin $4  nx $5  ny $6\$" "$TMP/spot" || fail "row $row: corner/size not $3 $4 $5 $6"
    [ "$(grep -c '^ *[0-9-][0-9]* [ 0-9.e+-]*$' "$TMP/spot")" -ge "$6" ] || fail "row $row: no table"
done
echo ok
