# SPDX-License-Identifier: BSD-3-Clause
# A small extraction under Oclgrind with the GPU tuning (oclgrind_run.sh:
# data races, API checks, PERFEX_TUNING_AS=nvidia-gpu, 48 KiB local memory):
# 3 fibers of a synthetic PSF cut to a 230 x 1400 CCD, 21 wavelength bins,
# patches of 11 bins, batches of 4 patches; CLBlast does the
# decorrelation (decorr_blas = 1 on GPUs). The frame must equal the one PoCL
# makes with its own tuning within 1e-6 of each array's largest value and
# the same mask (other reduction orders may move the last float32 bit), and
# `perfex devices` must see the Oclgrind device under Oclgrind, tuned as
# an NVIDIA GPU.
# $1: badinput_tool, $2: frame_close; the rest go to oclgrind_run.sh
# (--known KERNEL flags).
set -u
T=$1
C=$2
shift 2
command -v oclgrind > /dev/null 2>&1 || { echo "skip: oclgrind not found (Debian package oclgrind)"; exit 77; }
"$PERFEX" psf synth --fibers 10 -o "$TMP/psf.fits" > /dev/null || { echo "FAIL: psf synth"; exit 1; }
"$T" key "$TMP/psf.fits" PSF NPIX_X 230 && "$T" key "$TMP/psf.fits" PSF NPIX_Y 1400 ||
    { echo "FAIL: editing the PSF"; exit 1; }
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/img.fits" -w 6000,6030,0.8 --quiet ||
    { echo "FAIL: simulate"; exit 1; }
X="-i $TMP/img.fits -p $TMP/psf.fits -w 6000,6016,0.8 --bundlesize 3 --nsubbundles 1 --nwavestep 11 -s 0 -n 3 --batch 4 --quiet"
# shellcheck disable=SC2086
"$PERFEX" extract $X -o "$TMP/pocl.fits" || { echo "FAIL: the PoCL run"; exit 1; }
fail=0
PERFEX_TUNING_AS=nvidia-gpu oclgrind "$PERFEX" devices --verbose > "$TMP/devices" 2>&1
cat "$TMP/devices"
grep -q '^\* .*Oclgrind' "$TMP/devices" || { echo "FAIL: perfex devices under Oclgrind"; fail=1; }
grep -q "platforms entries: default, gpu, nvidia-gpu (embedded; PERFEX_TUNING_AS=nvidia-gpu)" \
    "$TMP/devices" || { echo "FAIL: not tuned as an NVIDIA GPU"; fail=1; }
# shellcheck disable=SC2086
sh "$SRC/tests/gpu/oclgrind_run.sh" "$@" "$PERFEX" extract $X -o "$TMP/oclgrind.fits" || fail=1
if [ -f "$TMP/oclgrind.fits" ]; then
    "$C" "$TMP/oclgrind.fits" "$TMP/pocl.fits" 1e-6 || { echo "FAIL: frame differs from PoCL's"; fail=1; }
else
    echo "FAIL: no frame from the Oclgrind run"
    fail=1
fi
[ $fail -eq 0 ] && echo ok
exit $fail
