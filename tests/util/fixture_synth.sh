# SPDX-License-Identifier: BSD-3-Clause
# Fixture (CTest FIXTURES_SETUP synth): the synthetic inputs that many cases
# used to make each for itself, made once into $FIXTURES (read-only for the
# cases; a case that edits one copies it into its $TMP first):
#   synth10/psf.fits      perfex psf synth --fibers 10 (seed 0): 10 fibers of
#                         bundle 0 (x 148..213) on DESI's 4114 x 4128 CCD
#   synth10/img.fits      perfex simulate -w 6000,6100,0.8 --quiet (seed 0)
#                         of it: a full-size (200 MB) preproc, for the cases
#                         about large outputs, memory and file-size limits
#   synth10-cut/psf.fits  the same PSF on the CCD cut to 230 x 1400 pixels
#                         (NPIX_X, NPIX_Y: fibers 0-9 and the 6000-6300 A rows
#                         at y 700..1310 stay inside, no spot is cut), so that
#                         images are 4 MB and each run reads 50 times fewer
#                         pixels (an extraction of the 6000-6100 A grid on it
#                         equals the one on the full CCD bit for bit)
#   synth10-cut/img.fits  perfex simulate -w 6000,6100,0.8 --quiet of that
#   synth10-narrow/       the same on the CCD cut to 230 columns only (NPIX_X):
#                         the whole wavelength range stays on the CCD, so
#                         every fiber's range and every message about it is
#                         the full CCD's, with 18 times fewer pixels
# The image names its PSF by the path above (a case that simulates it again
# must give the same bytes), so both are made in place; perfex writes each
# file under a temporary name first.
# $1: the badinput_tool program.
set -eu
T=$1
mkdir -p "$FIXTURES"
mk() { # mk NAME NPIX_X NPIX_Y: $FIXTURES/NAME (an empty value: the full CCD's)
    d=$FIXTURES/$1
    rm -rf "$d"
    mkdir "$d"
    "$PERFEX" psf synth --fibers 10 -o "$d/psf.fits.tmp" > /dev/null
    [ -z "$2" ] || "$T" key "$d/psf.fits.tmp" PSF NPIX_X "$2"
    [ -z "$3" ] || "$T" key "$d/psf.fits.tmp" PSF NPIX_Y "$3"
    mv "$d/psf.fits.tmp" "$d/psf.fits"
    "$PERFEX" simulate -p "$d/psf.fits" -o "$d/img.fits" -w 6000,6100,0.8 --quiet
    echo "$d: $(ls "$d" | tr '\n' ' ')"
}
mk synth10 "" ""
mk synth10-cut 230 1400
mk synth10-narrow 230 ""
