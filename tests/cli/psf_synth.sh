#!/bin/sh
# `perfex psf synth`: writes a file, the same bytes for the same options,
# different ones for another seed, and clear errors (exit status, message, no
# file left behind) for bad options and unwritable paths.
set -u
if ! "$PERFEX" psf synth --help 2>/dev/null | grep -q "usage: perfex psf synth"; then
    echo "SKIP: 'perfex psf synth' is not dispatched by this build's 'perfex psf'"
    exit 77
fi
fail=0
check() { if ! eval "$1"; then echo "FAILED: $2"; fail=1; fi; }

out=$("$PERFEX" psf synth -o "$TMP/a.fits" --camera b --fibers 25 --seed 3 --tails)
check "[ \$? -eq 0 ] && [ -s '$TMP/a.fits' ]" "synth wrote no file"
check "echo '$out' | grep -q 'camera b0, 25 fibers, 3600-5800 A, tails on'" "summary line: $out"
"$PERFEX" psf synth -o "$TMP/b.fits" -c b -n 25 -s 3 -t >/dev/null
check "cmp -s '$TMP/a.fits' '$TMP/b.fits'" "same options gave different bytes"
"$PERFEX" psf synth -o "$TMP/b.fits" -c b -n 25 -s 4 -t >/dev/null
check "! cmp -s '$TMP/a.fits' '$TMP/b.fits'" "another seed gave the same bytes"
head -c 2880 "$TMP/a.fits" | grep -q "PSFTYPE = 'GAUSS-HERMITE'"
check "[ \$? -eq 0 ]" "primary header lacks PSFTYPE"

err=$("$PERFEX" psf synth -o "$TMP/c.fits" --camera q 2>&1)
check "[ \$? -ne 0 ]" "--camera q accepted"
check "echo '$err' | grep -q 'camera'" "--camera q message: $err"
err=$("$PERFEX" psf synth -o "$TMP/c.fits" --fibers 501 2>&1)
check "[ \$? -ne 0 ]" "--fibers 501 accepted"
"$PERFEX" psf synth --camera r >/dev/null 2>&1
check "[ \$? -eq 2 ]" "missing -o not a usage error"
err=$("$PERFEX" psf synth -o "$TMP/nodir/c.fits" 2>&1)
check "[ \$? -ne 0 ]" "unwritable path accepted"
check "echo '$err' | grep -q '^perfex: .*nodir/c.fits'" "unwritable path message: $err"
check "[ ! -e '$TMP/c.fits' ] && [ -z \"\$(ls '$TMP' | grep tmp)\" ]" "files left behind: $(ls "$TMP")"
exit $fail
