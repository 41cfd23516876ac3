#!/bin/sh
# perfex against specter on the shared bundle-0 case, in one script so both
# run under the same machine load:
#   SPECTER_DIR=/path/to/specter/py bench/vs_specter.sh [BUILD_DIR] [perfex device flags]
# SPECTER_DIR is a checkout of desihub/specter's py/ folder (the folder that
# holds the `specter` package), never part of this repository:
#   git clone https://github.com/desihub/specter /tmp/specter   -> SPECTER_DIR=/tmp/specter/py
# Python: /usr/bin/python3 with Debian's numpy, scipy, astropy and numba
# (apt-get install python3-numpy python3-scipy python3-astropy python3-numba).
# specter runs once (it takes ~40 s); perfex runs `perfex bench --case
# bundle0` (min over PERFEX_REPEAT runs, default 3, after a warm-up). Both
# time the extraction only (file reading excluded); CPU is the process's
# CPU time (all of PoCL's threads included). Also runs each end to end once
# under /usr/bin/time (reading, extraction, writing) for the record.
# PERFEX_DATA (default ../shared/data from the repository root) holds the data.
set -e
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
[ $# -gt 0 ] && shift
DATA=${PERFEX_DATA:-$SRC/../shared/data}
PY=${PYTHON:-/usr/bin/python3}
REPEAT=${PERFEX_REPEAT:-3}
IMG=$DATA/preproc-sim-r0-bundle0.fits.gz
PSF=$DATA/psf-r0-00051060.fits
if [ -z "$SPECTER_DIR" ] || [ ! -d "$SPECTER_DIR/specter" ]; then
    echo "vs_specter.sh: set SPECTER_DIR to a checkout of desihub/specter's py/ folder" >&2
    exit 2
fi
for f in "$IMG" "$PSF" "$BUILD/perfex"; do
    [ -e "$f" ] || { echo "vs_specter.sh: missing $f" >&2; exit 2; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

PYTHONPATH=$SPECTER_DIR $PY "$SRC/bench/specter_ex2d.py" -i "$IMG" -p "$PSF" \
    -w 5760,7620,0.8 -s 0 -n 25 | tee "$TMP/specter"
PERFEX_DATA=$DATA "$BUILD/perfex" bench --case bundle0 --repeat "$REPEAT" "$@" | tee "$TMP/perfex"
# end to end once each: reading + extraction + writing
/usr/bin/time -f "perfex end-to-end: %e s wall, %U+%S s cpu, %M KB max RSS" \
    "$BUILD/perfex" extract -i "$IMG" -p "$PSF" -o "$TMP/frame.fits" -w 5760,7620,0.8 -s 0 -n 25 \
    --quiet "$@" 2>&1 | tee "$TMP/e2e"
"$BUILD/perfex" compare "$TMP/frame.fits" "$DATA/frame-specter-r0-bundle0.fits" | tail -1

sw=$(sed -n 's/.*SPECTER wall=\([^ ]*\).*/\1/p' "$TMP/specter")
sc=$(sed -n 's/.*SPECTER.* cpu=\([^ ]*\).*/\1/p' "$TMP/specter")
pw=$(tr ' ' '\n' <"$TMP/perfex" | sed -n 's/^wall_min=//p')
pc=$(tr ' ' '\n' <"$TMP/perfex" | sed -n 's/^cpu_min=//p')
awk -v sw="$sw" -v sc="$sc" -v pw="$pw" -v pc="$pc" 'BEGIN {
    printf "specter ex2d: %.2f s wall, %.2f s cpu; perfex extract: %.3f s wall, %.3f s cpu (min)\n", sw, sc, pw, pc
    printf "RATIO specter/perfex: wall %.1fx, cpu %.1fx\n", sw / pw, sc / pc }'
