#!/bin/sh
# The README's main command: installs what is missing, builds, then runs perfex
# on the default device (PoCL on a machine without a GPU): lists the devices,
# synthesises a DESI-like r-camera PSF, summarises it and evaluates spots on
# the device. With ../shared/data present it also evaluates the real DESI PSF
# and checks perfex's spots against specter's reference spots.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
BUILD=${PERFEX_BUILD_DIR:-build}
PERFEX="$BUILD/perfex"
OUT=${PERFEX_DEMO_DIR:-out/demo}
mkdir -p "$OUT"

echo "== devices"
"$PERFEX" devices
echo
echo "== a synthetic DESI-like r-camera PSF ($OUT/psf-synth-r.fits)"
"$PERFEX" psf synth -o "$OUT/psf-synth-r.fits" --camera r
"$PERFEX" psf info "$OUT/psf-synth-r.fits"
echo
echo "== one spot: fiber 12 at 6500 A"
"$PERFEX" psf spot "$OUT/psf-synth-r.fits" --fiber 12 --wavelength 6500

SHARED=../shared/data
if [ -f "$SHARED/psf-r0-00051060.fits" ]; then
    echo
    echo "== the real DESI PSF r0-00051060: spots against specter's reference"
    "$PERFEX" psf info "$SHARED/psf-r0-00051060.fits"
    start=$(date +%s%N)
    "$PERFEX" psf spots "$SHARED/psf-r0-00051060.fits" --at "$SHARED/spots-psf-r0-00051060.fits" \
        -o "$OUT/spots-r0.fits"
    end=$(date +%s%N)
    echo "evaluated the reference (fiber, wavelength) points in $(( (end - start) / 1000000 )) ms -> $OUT/spots-r0.fits"
fi
