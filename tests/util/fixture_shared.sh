# SPDX-License-Identifier: BSD-3-Clause
# Fixture (CTest FIXTURES_SETUP shared): ../shared/data's simulated r0 image
# inflated once into $FIXTURES/preproc-sim-r0-bundle0.fits, for the cases
# whose checks are not about reading gzip (MPI, plans, edges, compare):
# CFITSIO inflates the 6.8 MB .fits.gz (200 MB of pixels) in about 1.5 s,
# every time a process opens it, and some cases open it 18 times. The
# .fits.gz itself stays the input of cli_extract_bundle0, io_image and the
# Python module's r0 comparison. Where ../shared/data is absent this does
# nothing (exit 0) and the cases that need the image skip as before.
set -eu
GZ=$SHARED/preproc-sim-r0-bundle0.fits.gz
OUT=$FIXTURES/preproc-sim-r0-bundle0.fits
if [ ! -r "$GZ" ]; then
    echo "note: $GZ not found; nothing to inflate"
    exit 0
fi
mkdir -p "$FIXTURES"
gzip -dc "$GZ" > "$OUT.tmp.$$"
mv "$OUT.tmp.$$" "$OUT"
echo "$OUT: $(wc -c < "$OUT") bytes"
