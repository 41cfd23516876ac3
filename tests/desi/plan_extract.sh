#!/bin/sh
# A whole exposure the desi_proc way, on a production tree the test makes:
# `perfex simulate` writes preproc-r1-00000001.fits (a SCIENCE exposure, 30
# fibers) and the PSF goes in as psf-r1-00000001.fits; `perfex plan` writes
# the plan; `perfex extract --plan` runs it (desi_proc's r-camera flags,
# --barycentric-correction included) and writes
# frame-r1-00000001-no-badcolumn-mask.fits with HELIOCOR and the FIBERMAP;
# a second run skips it (resume). Then -f with a shorter fibermap (nspec
# reduced, FIBER from it), a missing -f, --decorrelate-fibers refused, and
# the flags that get a note. The PSFs' CCD is cut to 420 columns (NPIX_X,
# with badinput_tool, argument 1; their fibers lie at x 146..368) so that
# the images are 12 times smaller than DESI's; rows and wavelength ranges
# are the full CCD's.
set -u
T=$1
fail=0
P=$TMP/prod
mkdir -p "$P/preproc/20210101/00000001" "$P/exposures/20210101/00000001"
"$PERFEX" psf synth -o "$TMP/psf30.fits" --camera r1 --fibers 30 --seed 2 >/dev/null &&
    "$T" key "$TMP/psf30.fits" PSF NPIX_X 420 &&
    mv "$TMP/psf30.fits" "$P/exposures/20210101/00000001/psf-r1-00000001.fits" ||
    { echo "FAILED: psf synth"; exit 1; }
"$PERFEX" simulate -p "$P/exposures/20210101/00000001/psf-r1-00000001.fits" --camera r1 -n 30 \
    -w 5760,7620,0.8 -o "$P/preproc/20210101/00000001/preproc-r1-00000001.fits" --quiet ||
    { echo "FAILED: simulate"; exit 1; }
"$PERFEX" plan -n 20210101 -e 1 --specprod-dir "$P" -o "$TMP/plan" 2>"$TMP/err" ||
    { echo "FAILED: plan: $(cat "$TMP/err")"; exit 1; }
cat "$TMP/plan"
grep -q -- "-w 5760.0,7620.0,0.8 --psferr 0.01 --barycentric-correction" "$TMP/plan" ||
    { echo "FAILED: plan line"; fail=1; }
DESI_COMPRESSION=NONE "$PERFEX" plan -n 20210101 -e 1 --specprod-dir "$P" -o "$TMP/plan" 2>/dev/null
OUT=$P/exposures/20210101/00000001/frame-r1-00000001-no-badcolumn-mask.fits
"$PERFEX" extract --plan "$TMP/plan" --quiet 2>"$TMP/err" || { echo "FAILED: extract --plan: $(cat "$TMP/err")"; fail=1; }
[ -s "$OUT" ] || { echo "FAILED: no $OUT"; exit 1; }
grep -a -q "HELIOCOR=" "$OUT" || { echo "FAILED: no HELIOCOR in $OUT"; fail=1; }
grep -a -q "EXTNAME = 'FIBERMAP'" "$OUT" || { echo "FAILED: no FIBERMAP in $OUT"; fail=1; }
grep -a -q "WAVESTEP=                  0.8" "$OUT" || { echo "FAILED: WAVESTEP not 0.8"; fail=1; }
"$PERFEX" extract --plan "$TMP/plan" 2>"$TMP/err"
grep -q "exists and verifies, skipped" "$TMP/err" || { echo "FAILED: second run did not skip: $(cat "$TMP/err")"; fail=1; }

# -f with a fibermap of 20 rows for a 30-fiber PSF: -n 30 is reduced to 20,
# with a warning, and FIBER follows that fibermap (camera r2: 1000..).
"$PERFEX" psf synth -o "$TMP/psf20.fits" --camera r2 --fibers 20 --seed 2 >/dev/null
"$T" key "$TMP/psf20.fits" PSF NPIX_X 420
"$PERFEX" simulate -p "$TMP/psf20.fits" --camera r2 -w 6000,6010,1 -o "$TMP/fm20.fits" --quiet ||
    { echo "FAILED: simulate fm20"; exit 1; }
"$PERFEX" extract -i "$P/preproc/20210101/00000001/preproc-r1-00000001.fits" \
    -p "$P/exposures/20210101/00000001/psf-r1-00000001.fits" -f "$TMP/fm20.fits" -n 30 \
    -w 6000,6100,0.8 -o "$TMP/f20.fits" 2>"$TMP/err" || { echo "FAILED: -f: $(cat "$TMP/err")"; fail=1; }
grep -q "warning: nspec 30 is more than the 20 rows of .*fm20.fits's FIBERMAP" "$TMP/err" ||
    { echo "FAILED: no reduction warning: $(cat "$TMP/err")"; fail=1; }
grep -a -q "NSPEC   =                   20" "$TMP/f20.fits" && grep -a -q "FIBERMIN=                 1000" "$TMP/f20.fits" ||
    { echo "FAILED: f20.fits NSPEC/FIBERMIN"; fail=1; }
err=$("$PERFEX" extract -i "$P/preproc/20210101/00000001/preproc-r1-00000001.fits" \
    -p "$P/exposures/20210101/00000001/psf-r1-00000001.fits" -f "$TMP/none.fits" \
    -w 6000,6100,0.8 -o "$TMP/f21.fits" 2>&1)
[ $? -eq 1 ] && echo "$err" | grep -q "^perfex: .*none.fits" || { echo "FAILED: -f missing file: $err"; fail=1; }
err=$("$PERFEX" extract -i "$TMP/fm20.fits" -p "$TMP/psf20.fits" -o "$TMP/f22.fits" \
    --decorrelate-fibers 2>&1)
[ $? -eq 2 ] && echo "$err" | grep -q "decorrelate-fibers" || { echo "FAILED: --decorrelate-fibers: $err"; fail=1; }
err=$("$PERFEX" extract -i "$TMP/fm20.fits" -p "$TMP/psf20.fits" -o "$TMP/f22.fits" -w 6000,6005,1 \
    --barycentric-correction --no-scores --mpi --use-specter 2>&1)
[ $? -eq 0 ] && echo "$err" | grep -q "note: --mpi" && echo "$err" | grep -q "note: --use-specter" ||
    { echo "FAILED: desi flags: $err"; fail=1; }
grep -a -q "EXTNAME = 'SCORES'" "$TMP/f22.fits" && { echo "FAILED: SCORES with --no-scores"; fail=1; }
exit $fail
