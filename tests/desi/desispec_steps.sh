#!/bin/sh
# desispec on perfex's files, as desi_proc would chain them: `perfex simulate`
# writes a preproc (r1 camera, 30 fibers with 3 SKY, one fiber flagged
# BADAMPR), `perfex extract` runs desi_proc's command line for an r camera
# (--psferr 0.01 --no-gpu --barycentric-correction, on a 6000-6400 A grid that
# keeps compute_sky to seconds, plus -s 5, -m and a .gz output), and
# desispec_steps.py runs
# desispec's read_frame, sky.compute_sky, badcolumn.add_badcolumn_mask,
# read_frame_as_spectra, read_image and read_fibermap on them. Needs desispec,
# desiutil and specter sources: $PERFEX_DESISPEC_PYTHONPATH (set at configure
# time or in the environment, e.g. /src/desispec/py:/src/desiutil/py:/src/specter/py);
# skipped otherwise. desitarget is not needed (tests/desi/pystub stands in).
set -u
PY=/usr/bin/python3
DPATH=${PERFEX_DESISPEC_PYTHONPATH:-}
if [ -z "$DPATH" ]; then
    echo "SKIP: PERFEX_DESISPEC_PYTHONPATH is not set (desispec, desiutil and specter sources)"
    exit 77
fi
export PYTHONPATH="$SRC/tests/desi/pystub:$DPATH"
if ! $PY -c "import desispec.io, desispec.sky, desispec.badcolumn, specter" 2>"$TMP/imp"; then
    echo "SKIP: desispec not importable with PYTHONPATH=$PYTHONPATH: $(tail -1 "$TMP/imp")"
    exit 77
fi
fail=0
"$PERFEX" psf synth -o "$TMP/psf.fits" --camera r1 --fibers 30 --seed 2 >/dev/null || { echo "FAILED: psf synth"; exit 1; }
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/preproc-r1-00000001.fits" -n 30 -w 5980,6420,0.8 \
    --camera r1 --cosmics 10 --seed 4 --fiberstatus 5:0x800000 --quiet || { echo "FAILED: simulate"; exit 1; }
"$PERFEX" extract -i "$TMP/preproc-r1-00000001.fits" -p "$TMP/psf.fits" \
    -o "$TMP/frame-r1-00000001-no-badcolumn-mask.fits.gz" -w 6000.0,6400.0,0.8 --psferr 0.01 \
    --no-gpu --barycentric-correction -s 5 -m "$TMP/model.fits" 2>"$TMP/err"
rc=$?
cat "$TMP/err"
[ $rc -eq 0 ] || { echo "FAILED: extract (exit $rc)"; exit 1; }
grep -q "note: --no-gpu" "$TMP/err" || { echo "FAILED: no --no-gpu note"; fail=1; }
DESI_LOGLEVEL=WARNING $PY "$SRC/tests/desi/desispec_steps.py" \
    "$TMP/frame-r1-00000001-no-badcolumn-mask.fits.gz" "$TMP/psf.fits" "$TMP/preproc-r1-00000001.fits" || fail=1
exit $fail
