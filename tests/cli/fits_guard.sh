# FITS header pre-check (host/fitsguard.c) on `perfex psf info`: a synthetic
# PSF whose TTYPE2 card holds 70 unquoted bytes makes CFITSIO 4.2 overflow a
# 70-byte field (glibc aborts: "buffer overflow detected"); the guard must
# turn that into exit 1 and one line naming the file, HDU, card and keyword,
# for control bytes, for printable unquoted text and for the gzipped file;
# likewise a 40-digit integer value, which overflows CFITSIO's message buffer.
# The untouched PSF still reads.
set -u
fail=0
check() { if ! eval "$1"; then echo "FAILED: $2"; fail=1; fi; }
"$PERFEX" psf synth --fibers 2 -o "$TMP/psf.fits" > /dev/null || { echo "FAILED: psf synth"; exit 1; }
off=$(grep -boa "TTYPE2  = " "$TMP/psf.fits" | head -1 | cut -d: -f1)
[ -n "$off" ] || { echo "FAILED: no TTYPE2 card in the synthetic PSF"; exit 1; }
cp "$TMP/psf.fits" "$TMP/cr.fits"
printf '%070d' 0 | tr 0 '\r' | dd of="$TMP/cr.fits" bs=1 seek=$((off + 10)) conv=notrunc status=none
cp "$TMP/psf.fits" "$TMP/text.fits"
printf '%070d' 0 | tr 0 A | dd of="$TMP/text.fits" bs=1 seek=$((off + 10)) conv=notrunc status=none
gzip -c "$TMP/text.fits" > "$TMP/text.fits.gz"
# A 40-digit NPIX_X: CFITSIO's integer conversion overflows its message buffer.
off=$(grep -boa "NPIX_X  = " "$TMP/psf.fits" | head -1 | cut -d: -f1)
cp "$TMP/psf.fits" "$TMP/long.fits"
printf '%-70s' 1234567890123456789012345678901234567890 |
    dd of="$TMP/long.fits" bs=1 seek=$((off + 10)) conv=notrunc status=none

"$PERFEX" psf info "$TMP/psf.fits" > /dev/null
check "[ \$? -eq 0 ]" "the untouched PSF was rejected"
for case in "cr.fits holds byte 0x0d" "text.fits TTYPE2 is not a quoted string" \
    "text.fits.gz TTYPE2 is not a quoted string" "long.fits NPIX_X is a number too long"; do
    f=${case%% *}
    want=${case#* }
    "$PERFEX" psf info "$TMP/$f" > /dev/null 2> "$TMP/err"
    rc=$?
    echo "$f: exit $rc: $(cat "$TMP/err")"
    check "[ $rc -eq 1 ]" "$f: exit $rc, expected 1"
    check "[ \$(wc -l < '$TMP/err') -eq 1 ]" "$f: not one line on stderr"
    check "grep -q '^perfex: .*$f: damaged FITS header: HDU 3 card [0-9]*:* .*$want' '$TMP/err'" \
        "$f: message does not say '$want'"
done
[ $fail -eq 0 ] && echo ok
exit $fail
