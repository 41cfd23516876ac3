# perfex compare on bad input: exit 2 with one line "perfex: PATH: problem".
set -u
echo "not FITS" > "$TMP/text.fits"
expect_error() {
    want=$1; shift
    "$PERFEX" compare "$@" > "$TMP/out" 2> "$TMP/err"; rc=$?
    cat "$TMP/err"
    [ $rc -eq 2 ] || { echo "FAIL: $* exited $rc, want 2"; exit 1; }
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || { echo "FAIL: more than one line"; exit 1; }
    grep -q "^perfex: .*$want" "$TMP/err" || { echo "FAIL: message lacks '$want'"; exit 1; }
}
expect_error "$TMP/missing.fits: cannot open: No such file" "$TMP/missing.fits" "$TMP/text.fits"
expect_error "$TMP/text.fits: not a FITS file" "$TMP/text.fits" "$TMP/text.fits"
"$PERFEX" compare onlyone.fits > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: one argument exited $rc, want 2"; exit 1; }
"$PERFEX" compare a.fits b.fits --max-pull abc > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: bad --max-pull exited $rc, want 2"; exit 1; }
F=$SHARED/frame-specter-r0-bundle0.fits
if [ -r "$F" ]; then
    expect_error "$F: no PHOT HDU" "$F" "$F" --truth "$F"
fi
echo "ok"
