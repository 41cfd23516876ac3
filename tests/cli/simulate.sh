#!/bin/sh
# `perfex simulate` on a small synthetic PSF (6 fibers, at x 148..188, on a
# CCD cut to 230 columns by badinput_tool, argument 2, so that each image is
# 12 MB, not 200): the file reads back with perfex's readers (sim_readback,
# argument 1) at the PSF's CCD size, the same seed gives the same bytes and
# another seed other bytes, a spectra file is taken as given, and bad
# options, a missing PSF or an unwritable path fail with a message and leave
# no file behind.
set -u
READBACK=$1
T=$2
fail=0
check() { if ! eval "$1"; then echo "FAILED: $2"; fail=1; fi; }

"$PERFEX" psf synth -o "$TMP/psf.fits" --fibers 6 --seed 1 >/dev/null || { echo "FAILED: psf synth"; exit 1; }
"$T" key "$TMP/psf.fits" PSF NPIX_X 230 || { echo "FAILED: editing the PSF"; exit 1; }
out=$("$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/a.fits" -s 2 -n 3 -w 6000,6100,0.8 --cosmics 5 --seed 3)
check "[ \$? -eq 0 ] && [ -s '$TMP/a.fits' ]" "simulate wrote no file"
check "echo '$out' | grep -q 'fibers 2-4, 126 bins 6000.00-6100.00 A'" "summary line: $out"
"$READBACK" "$TMP/a.fits" 230 4128 2 3 126 6000 0.8 r0
check "[ \$? -eq 0 ]" "read back"
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/b.fits" -s 2 -n 3 -w 6000,6100,0.8 --cosmics 5 --seed 3 --quiet
check "cmp -s '$TMP/a.fits' '$TMP/b.fits'" "same seed gave different bytes"
q=$("$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/b.fits" -s 2 -n 3 -w 6000,6100,0.8 --cosmics 5 --seed 4 --quiet 2>&1)
check "[ -z '$q' ]" "--quiet printed: $q"
check "! cmp -s '$TMP/a.fits' '$TMP/b.fits'" "another seed gave the same bytes"

# A spectra file: its PHOT comes back unchanged, fibers from -s.
if /usr/bin/python3 -c 'import astropy' 2>/dev/null; then
    /usr/bin/python3 - "$TMP/spec.fits" <<'PY'
import sys, numpy as np
from astropy.io import fits
w = 6000.0 + 0.5 * np.arange(101)
p = np.outer(np.arange(1, 3), np.ones(101)) * 100.0
fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(w, name='WAVELENGTH'), fits.ImageHDU(p, name='FLUX')]).writeto(sys.argv[1])
PY
    "$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/c.fits" -s 1 --spectra "$TMP/spec.fits" --cosmics 1 --quiet
    check "[ \$? -eq 0 ]" "simulate --spectra failed"
    "$READBACK" "$TMP/c.fits" 230 4128 1 2 101 6000 0.5 r0 >/dev/null
    check "[ \$? -eq 0 ]" "read back of the --spectra run"
    /usr/bin/python3 -c "
import sys, numpy as np
from astropy.io import fits
a = fits.getdata('$TMP/c.fits', 'PHOT'); b = fits.getdata('$TMP/spec.fits', 'FLUX')
sys.exit(0 if np.array_equal(a, b) else 1)"
    check "[ \$? -eq 0 ]" "PHOT differs from the spectra file"
    err=$("$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/d.fits" --spectra "$TMP/spec.fits" -w 6000,6100,1 2>&1)
    check "[ \$? -ne 0 ]" "--spectra with -w accepted"
else
    echo "note: no /usr/bin/python3 with astropy; --spectra case not run"
fi

"$PERFEX" simulate -o "$TMP/d.fits" >/dev/null 2>&1
check "[ \$? -eq 2 ]" "missing -p not a usage error"
err=$("$PERFEX" simulate -p "$TMP/none.fits" -o "$TMP/d.fits" 2>&1)
check "[ \$? -eq 1 ]" "missing PSF: wrong exit status"
check "echo '$err' | grep -q '^perfex: .*none.fits'" "missing PSF message: $err"
err=$("$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/d.fits" -s 5 -n 3 2>&1)
check "[ \$? -eq 1 ]" "fibers beyond the PSF accepted"
check "echo '$err' | grep -q '^perfex: .*psf.fits'" "fiber range message: $err"
err=$("$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/nodir/d.fits" -n 1 -w 6000,6010,1 2>&1)
check "[ \$? -ne 0 ]" "unwritable path accepted"
check "echo '$err' | grep -q '^perfex: .*nodir/d.fits'" "unwritable path message: $err"
err=$("$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/d.fits" --readnoise -1 2>&1)
check "[ \$? -eq 2 ]" "--readnoise -1 accepted"
check "[ ! -e '$TMP/d.fits' ] && [ -z \"\$(ls '$TMP' | grep tmp)\" ]" "files left behind: $(ls "$TMP")"
exit $fail
