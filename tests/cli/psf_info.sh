# `perfex psf info`: a file that is no PSF is a one-line error naming it
# (exit 1), a usage error exits 2, and on the shared PSFs the summary shows
# the values of ../shared/data/README.md and specter's wavelength ranges
# (tests/psf/traces_specter_ref.h, generated with specter by tests/psf/traces_specter_ref.py).
set -e
fail() { echo "FAIL: $*"; exit 1; }
echo "SIMPLE but not really FITS" > "$TMP/bad.fits"
rc=0; "$PERFEX" psf info "$TMP/bad.fits" > "$TMP/out" 2> "$TMP/err" || rc=$?
cat "$TMP/err"
[ "$rc" = 1 ] || fail "exit $rc for a bad PSF, expected 1"
[ "$(wc -l < "$TMP/err")" = 1 ] || fail "error is not one line"
grep -q "^perfex: $TMP/bad.fits: " "$TMP/err" || fail "error does not name the file"
[ ! -s "$TMP/out" ] || fail "output printed for a bad PSF"
rc=0; "$PERFEX" psf info > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "exit $rc without a PSF, expected 2"
rc=0; "$PERFEX" psf nosuch > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "exit $rc for an unknown sub-command, expected 2"

[ -r "$SHARED/psf-r0-00051060.fits" ] && [ -r "$SHARED/psf-gausshermite-v2.fits" ] ||
    { echo "SKIP: $SHARED/psf-*.fits absent"; exit 77; }
ref="$SRC/tests/psf/traces_specter_ref.h"
# specter's wmin, wmin_all, wmax, wmax_all as the 3-decimal text perfex prints.
limits() {
    sed -n "s/.*ref_$1_limits\[4\] = {\(.*\)};/\1/p" "$ref" | tr -d ',' |
        awk '{ printf "%.3f .. %.3f A on every fiber, %.3f .. %.3f A on some fiber", $2, $4, $1, $3 }'
}
"$PERFEX" psf info "$SHARED/psf-r0-00051060.fits" --fiber 499 > "$TMP/r0"
cat "$TMP/r0"
for want in "PSFVER 3" "fibers         500 " "4114 x 4128 pixels" "degree 6 in x, 6 in y" \
    "LEGDEG) on 5543.00 .. 7827.00 A" "(HSIZEX 8, HSIZEY 5)" "PSFERR         0.01" \
    "tails          no" "$(limits r0)" "fiber 499"; do
    grep -qF "$want" "$TMP/r0" || fail "r0 summary lacks '$want'"
done
"$PERFEX" psf info "$SHARED/psf-gausshermite-v2.fits" > "$TMP/v2"
cat "$TMP/v2"
for want in "PSFVER 2" "fibers         25 " "4114 x 4128 pixels" "degree 8 in x, 8 in y" \
    "Legendre degree 7 (LEGDEG)" "(HSIZEX 14, HSIZEY 8)" "tails          yes" "$(limits v2)"; do
    grep -qF "$want" "$TMP/v2" || fail "v2 summary lacks '$want'"
done
rc=0; "$PERFEX" psf info "$SHARED/psf-gausshermite-v2.fits" --fiber 25 > /dev/null 2> "$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "fiber 25 outside" "$TMP/err" || fail "fiber 25 of 25 accepted"
echo ok
