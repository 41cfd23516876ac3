#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perfex against the Python extractions DESI runs, on bundle 0, in one script
# so that every side runs under the same machine load:
#
#   bench/vs_peers.sh PEERS [BUILD_DIR] [perfex device flags...]
#     PEERS      comma-separated: specter, gpu_specter (e.g. specter,gpu_specter)
#     BUILD_DIR  perfex build folder (default build/ in the repository)
#   bench/vs_specter.sh and bench/vs_gpu_specter.sh call it with one peer.
#
# Peers (never part of this repository; point at their checkouts' py/ folders):
#   SPECTER_DIR      holds the `specter` package:
#                    git clone https://github.com/desihub/specter  -> .../specter/py
#   GPU_SPECTER_DIR  holds the `gpu_specter` package:
#                    git clone https://github.com/desihub/gpu_specter -> .../gpu_specter/py
#   Python: $PYTHON (default /usr/bin/python3) with numpy, scipy, astropy,
#   fitsio and numba (Debian: python3-numpy python3-scipy python3-astropy
#   python3-fitsio python3-numba).
#
# What runs, on preproc-sim-r0-bundle0.fits.gz + psf-r0-00051060.fits, fibers
# 0-24, wavelengths 5760,7620,0.8, 5 sub-bundles, 50 wavelengths a patch:
#   specter      bench/specter_ex2d.py: specter.extract.ex2d as
#                desi_extract_spectra --use-specter calls it
#   gpu_specter  bench/gpu_specter_extract.py: gpu_specter.core.extract_frame in
#                CPU mode as desi_extract_spectra's default path calls it
#   perfex       `perfex extract` (read the .fits.gz, extract, write the frame)
#                and `perfex bench --case bundle0 --repeat 1` (extraction alone)
# Each is run BENCH_REPEAT times (default 3), interleaved, after one untimed
# perfex extract that fills perfex's program cache. Whole processes are timed
# by /usr/bin/time: CPU = user + system time of the process (all its threads:
# the cost of a frame on a full node) and wall time; the peers' drivers also
# report their extraction call alone, in process, beside `perfex bench`.
# The tables give min and median over the runs and the ratios peer / perfex
# (min over min, and median over median).
#
# BLAS/LAPACK of the peers, PEER_BLAS:
#   openblas (default): as DESI runs them, numpy on OpenBLAS, one thread a
#     process. Debian's libopenblas0-pthread (and any of its dependencies not
#     installed) is fetched with `apt-get download` (or taken from
#     $OPENBLAS_DEB, a .deb file) and unpacked with dpkg -x under
#     $PERFEX_BENCH_DIR/openblas (default BUILD_DIR/bench-peers/openblas); its
#     folder goes first on LD_LIBRARY_PATH so that numpy's and scipy's
#     libblas.so.3/liblapack.so.3 resolve to OpenBLAS; OPENBLAS_NUM_THREADS=1
#     and OMP_NUM_THREADS=1; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset
#     for the peer's command alone (OpenBLAS picks its kernels for the CPU).
#   reference: the system's libblas.so.3/liblapack.so.3 as they are (Debian's
#     reference BLAS/LAPACK unless an alternative is installed); labelled as
#     such, it is not how DESI runs the peers.
#   The drivers check /proc/self/maps (and OpenBLAS's thread count) and stop
#   if numpy loaded another BLAS than the one asked for; bench/peer_blas.py
#   prints the BLAS's speed on the peers' sizes (eigh, solve, gemm of 511).
#
# Equal work: perfex's frame is compared with each peer's (`perfex compare
# PERFEX PEER`), and each peer's with the shared specter frame
# (frame-specter-r0-bundle0.fits). specter: perfex compare's default
# tolerances. gpu_specter differs from specter by itself (its own patch
# padding: ~98.7% of |pull| < 0.01, max |pull| ~0.053 on this bundle), so it
# is held to GPU_SPECTER_TOL (default "--min-frac 0.98 --max-pull 0.1").
#
# Other settings: PERFEX_DATA (default ../shared/data beside the repository),
# BENCH_KEEP=1 keeps the frames and logs (the folder is printed).
# Exit status: 0 when every run succeeded and every output agrees; 1 when a
# peer or perfex failed or outputs disagree; 2 when something is missing.
# The last line is one SUMMARY line of the CPU and wall ratios.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
ME=bench/vs_peers.sh
die() {
    echo "$ME: $*" >&2
    exit 2
}
[ $# -ge 1 ] || die "usage: $ME specter,gpu_specter [BUILD_DIR] [perfex device flags...]"
case $1 in -h | --help)
    sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac
PEERS=$(echo "$1" | tr ',' ' ')
shift
BUILD=$SRC/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    BUILD=$1
    shift
fi
DATA=${PERFEX_DATA:-$SRC/../shared/data}
PY=${PYTHON:-/usr/bin/python3}
REPEAT=${BENCH_REPEAT:-${PERFEX_REPEAT:-3}}
BLAS=${PEER_BLAS:-openblas}
BENCH_DIR=${PERFEX_BENCH_DIR:-$BUILD/bench-peers}
GS_TOL=${GPU_SPECTER_TOL:---min-frac 0.98 --max-pull 0.1}
IMG=$DATA/preproc-sim-r0-bundle0.fits.gz
PSF=$DATA/psf-r0-00051060.fits
REF=$DATA/frame-specter-r0-bundle0.fits
PERFEX=$BUILD/perfex
WAVE=5760,7620,0.8

case $REPEAT in '' | *[!0-9]* | 0) die "BENCH_REPEAT must be a positive integer, not '$REPEAT'" ;; esac
case $BLAS in openblas | reference) ;; *) die "PEER_BLAS must be openblas or reference, not '$BLAS'" ;; esac
for f in "$IMG" "$PSF" "$REF"; do
    [ -r "$f" ] || die "missing $f (set PERFEX_DATA to the folder of the shared data)"
done
[ -x "$PERFEX" ] || die "no perfex binary at $PERFEX (build it, or pass BUILD_DIR)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package time)"
PYPATH=
for p in $PEERS; do
    case $p in
    specter)
        [ -n "${SPECTER_DIR:-}" ] && [ -d "$SPECTER_DIR/specter" ] ||
            die "set SPECTER_DIR to the py/ folder of a desihub/specter checkout (it holds specter/)"
        PYPATH=$PYPATH:$SPECTER_DIR
        ;;
    gpu_specter)
        [ -n "${GPU_SPECTER_DIR:-}" ] && [ -d "$GPU_SPECTER_DIR/gpu_specter" ] ||
            die "set GPU_SPECTER_DIR to the py/ folder of a desihub/gpu_specter checkout (it holds gpu_specter/)"
        PYPATH=$PYPATH:$GPU_SPECTER_DIR
        ;;
    *) die "unknown peer '$p' (specter, gpu_specter)" ;;
    esac
done
PYPATH=$SRC/bench$PYPATH

TMP=$(mktemp -d "${TMPDIR:-/tmp}/perfex-vs-peers-XXXXXX") || die "mktemp failed"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "keeping frames and logs in $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi
trap 'exit 130' INT TERM
REC=$TMP/records

# --- the peers' BLAS -------------------------------------------------------
# Unpacks Debian's libopenblas0-pthread (and the dependencies this system
# lacks) under $BENCH_DIR/openblas once; sets OBLIB (OpenBLAS's folder) and
# OBPATH (the LD_LIBRARY_PATH to give the peers).
openblas_setup() {
    ob=$BENCH_DIR/openblas
    if [ ! -e "$ob/unpacked" ]; then
        rm -rf "$ob" && mkdir -p "$ob/deb" "$ob/root" || die "cannot create $ob"
        if [ -n "${OPENBLAS_DEB:-}" ]; then
            cp "$OPENBLAS_DEB" "$ob/deb/" || die "cannot read OPENBLAS_DEB=$OPENBLAS_DEB"
        else
            (cd "$ob/deb" && apt-get download libopenblas0-pthread) >"$ob/apt.log" 2>&1 ||
                die "apt-get download libopenblas0-pthread failed (see $ob/apt.log); set OPENBLAS_DEB to the .deb"
        fi
        deb=$(ls "$ob"/deb/*.deb | head -1)
        dpkg -x "$deb" "$ob/root" || die "dpkg -x $deb failed"
        for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[(|].*//; s/ //g'); do
            dpkg-query -W -f '${Status}\n' "$dep" 2>/dev/null | grep -q 'install ok installed' &&
                continue
            (cd "$ob/deb" && apt-get download "$dep") >>"$ob/apt.log" 2>&1 ||
                die "OpenBLAS needs $dep, which is not installed and apt-get download failed"
            dpkg -x "$(ls "$ob"/deb/"$dep"_*.deb | head -1)" "$ob/root" || die "dpkg -x of $dep failed"
        done
        echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" >"$ob/unpacked"
    fi
    so=$(find "$ob/root" -name libopenblas.so.0 | head -1)
    [ -n "$so" ] || die "no libopenblas.so.0 under $ob/root (remove $ob to unpack again)"
    OBLIB=$(dirname "$so")
    for l in libblas.so.3 liblapack.so.3; do
        [ -e "$OBLIB/$l" ] || die "OpenBLAS folder $OBLIB has no $l"
    done
    OBPATH=$OBLIB
    # folders of unpacked dependencies (libgfortran and the like), if any
    for d in $(find "$ob/root" -name '*.so*' ! -path "$OBLIB/*" -exec dirname {} \; | sort -u); do
        OBPATH=$OBPATH:$d
    done
    missing=$(LD_LIBRARY_PATH=$OBPATH ldd "$so" | grep 'not found')
    [ -z "$missing" ] || die "OpenBLAS cannot load: $missing"
    OBDESC="$(cat "$ob/unpacked") in $OBLIB"
}

# The peer's environment, as a command prefix: PEER_ENV (an array).
peer_env_setup() {
    if [ "$BLAS" = openblas ]; then
        PEER_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
            LD_LIBRARY_PATH="$OBPATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PEER_BLAS=openblas PYTHONPATH="$PYPATH")
    else
        PEER_ENV=(env PEER_BLAS=reference PYTHONPATH="$PYPATH")
    fi
}

# timed KEY LOG COMMAND...: one whole process under /usr/bin/time; appends
# "KEY wall cpu maxrss_kb" to the records; on failure shows the log, exits 1.
timed() {
    key=$1 log=$2
    shift 2
    /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" "$@" >"$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "$ME: $key failed (exit $rc); last lines of its output:" >&2
        tail -n 15 "$log" >&2
        exit 1
    fi
    tail -n 1 "$TMP/time" | awk -v k="$key" '{ printf "%s %.3f %.3f %d\n", k, $1, $2 + $3, $4 }' >>"$REC"
}

# stats KEY COLUMN: "min median" of a column of the records (2 wall, 3 cpu).
stats() {
    awk -v k="$1" -v c="$2" '$1 == k { print $c }' "$REC" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (!NR) { print "nan nan"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.3f %.3f\n", v[1], m }'
}

# row LABEL KEY [BASEKEY]: a table row; with BASEKEY, the ratios KEY / BASEKEY.
row() {
    set -- "$1" "$2" "${3:-}" "$(stats "$2" 3)" "$(stats "$2" 2)"
    if [ -n "$3" ]; then
        set -- "$@" "$(stats "$3" 3)" "$(stats "$3" 2)"
    else
        set -- "$@" "" ""
    fi
    echo "$4 $5 $6 $7" | awk -v label="$1" '{
        printf "%-44s %7.2f %7.2f %7.2f %7.2f", label, $1, $2, $3, $4
        if (NF == 8) printf "   %5.1fx %5.1fx   %5.1fx %5.1fx", $1 / $5, $2 / $6, $3 / $7, $4 / $8
        printf "\n" }'
}

# ratio KEY BASEKEY COLUMN: min over min
ratio() {
    echo "$(stats "$1" "$3") $(stats "$2" "$3")" | awk '{ printf "%.1fx", $1 / $3 }'
}

label_of() {
    case $1 in
    specter) echo "specter ex2d" ;;
    gpu_specter) echo "gpu_specter extract_frame (CPU)" ;;
    esac
}
driver_of() {
    case $1 in
    specter) echo "$SRC/bench/specter_ex2d.py" ;;
    gpu_specter) echo "$SRC/bench/gpu_specter_extract.py" ;;
    esac
}

# --- set-up and checks before timing anything -------------------------------
if [ "$BLAS" = openblas ]; then
    openblas_setup
    BLASLABEL="OpenBLAS: $OBDESC, 1 thread"
else
    BLASLABEL="REFERENCE BLAS/LAPACK (the system's libblas.so.3/liblapack.so.3; not how DESI runs the peers)"
fi
peer_env_setup
"${PEER_ENV[@]}" "$PY" "$SRC/bench/peer_blas.py" >"$TMP/blas" 2>&1 || {
    cat "$TMP/blas" >&2
    echo "$ME: the peers' BLAS is not the one asked for (above)" >&2
    exit 2
}
for p in $PEERS; do
    "${PEER_ENV[@]}" "$PY" -c "import peer_common, $p; print('PEER_BLAS', peer_common.check_blas('$BLAS'))" \
        >"$TMP/check-$p" 2>&1 || {
        cat "$TMP/check-$p" >&2
        echo "$ME: cannot import $p with its BLAS (above)" >&2
        exit 2
    }
done
"$PERFEX" extract -i "$IMG" -p "$PSF" -o "$TMP/perfex.fits" -w $WAVE -s 0 -n 25 --quiet "$@" \
    >"$TMP/warmup.log" 2>&1 || {
    tail -n 15 "$TMP/warmup.log" >&2
    echo "$ME: perfex extract failed (above)" >&2
    exit 1
}

echo "== perfex against $(echo $PEERS | sed 's/ /, /g'): bundle 0 (fibers 0-24, $WAVE), $REPEAT runs each"
echo "perfex:   $("$PERFEX" --version 2>/dev/null | head -1), source $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo "?"), $PERFEX $*"
echo "peers:    $BLASLABEL"
echo "          $(sed -n 's/^PEER_BLAS_SPEED //p' "$TMP/blas")"
for p in $PEERS; do
    echo "          $p loads: $(sed -n 's/^PEER_BLAS //p' "$TMP/check-$p")"
done
echo "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (before)"

# --- the runs, interleaved --------------------------------------------------
: >"$REC"
i=1
while [ "$i" -le "$REPEAT" ]; do
    for p in $PEERS; do
        timed "$p" "$TMP/$p.log" "${PEER_ENV[@]}" "$PY" "$(driver_of "$p")" \
            -i "$IMG" -p "$PSF" -o "$TMP/$p.fits" -w $WAVE -s 0 -n 25
        sed -n "s/^PEER name=$p extract_wall=\([^ ]*\) extract_cpu=\([^ ]*\).*/${p}_alone \1 \2 0/p" \
            "$TMP/$p.log" >>"$REC"
        grep -q "^PEER name=$p" "$TMP/$p.log" || {
            echo "$ME: $p printed no PEER line" >&2
            exit 1
        }
    done
    timed perfex_extract "$TMP/perfex_extract.log" \
        "$PERFEX" extract -i "$IMG" -p "$PSF" -o "$TMP/perfex.fits" -w $WAVE -s 0 -n 25 --quiet "$@"
    PERFEX_DATA="$DATA" "$PERFEX" bench --case bundle0 --repeat 1 "$@" >"$TMP/perfex_bench.log" 2>&1 || {
        tail -n 15 "$TMP/perfex_bench.log" >&2
        echo "$ME: perfex bench failed (above)" >&2
        exit 1
    }
    tr ' ' '\n' <"$TMP/perfex_bench.log" | awk -F= '
        $1 == "wall_min" { w = $2 } $1 == "cpu_min" { c = $2 }
        END { if (w == "" || c == "") exit 1; printf "perfex_bench %s %s 0\n", w, c }' >>"$REC" || {
        echo "$ME: perfex bench printed no RESULT line" >&2
        exit 1
    }
    echo "run $i/$REPEAT done, load $(cut -d' ' -f1 /proc/loadavg)"
    i=$((i + 1))
done
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (after)"

# --- equal work ---------------------------------------------------------------
agree=1
check() { # check WHAT FRAME REFERENCE [tolerance flags]
    what=$1
    shift
    if "$PERFEX" compare "$@" >"$TMP/compare.log" 2>&1; then
        verdict=PASS
    else
        verdict=FAIL
        agree=0
    fi
    printf '%-44s %s  %s\n' "$what" "$verdict" "$(grep '^PULL' "$TMP/compare.log")"
    [ $verdict = PASS ] || grep -v '^|pull|\|^PULL' "$TMP/compare.log" | sed 's/^/    /'
}
echo
echo "== outputs (perfex compare FRAME REFERENCE; pull = (f - f_ref) / sqrt(1/ivar + 1/ivar_ref))"
check "perfex vs specter reference frame" "$TMP/perfex.fits" "$REF"
for p in $PEERS; do
    tol=
    [ "$p" = gpu_specter ] && tol=$GS_TOL
    # shellcheck disable=SC2086  # tol is a list of flags
    check "perfex vs $p (this run)" "$TMP/perfex.fits" "$TMP/$p.fits" $tol
    # shellcheck disable=SC2086
    check "$p vs specter reference frame" "$TMP/$p.fits" "$REF" $tol
done

# --- the table ------------------------------------------------------------------
echo
echo "== times (s), $REPEAT runs each; ratios peer / perfex: min over min, median over median"
printf '%-44s %7s %7s %7s %7s   %13s   %13s\n' "" "CPU" "CPU" "wall" "wall" "CPU ratio" "wall ratio"
printf '%-44s %7s %7s %7s %7s   %6s %6s   %6s %6s\n' "" "min" "median" "min" "median" "min" "median" "min" "median"
echo "whole process (read, extract, write):"
for p in $PEERS; do
    row "  $(label_of "$p")" "$p" perfex_extract
done
row "  perfex extract" perfex_extract
echo "extraction alone (in process):"
for p in $PEERS; do
    row "  $(label_of "$p") call" "${p}_alone" perfex_bench
done
row "  perfex bench bundle0" perfex_bench
echo "peer BLAS: $BLASLABEL"

summary="SUMMARY blas=$BLAS runs=$REPEAT"
for p in $PEERS; do
    summary="$summary $p/perfex: whole cpu $(ratio "$p" perfex_extract 3) wall $(ratio "$p" perfex_extract 2), extraction cpu $(ratio "${p}_alone" perfex_bench 3) wall $(ratio "${p}_alone" perfex_bench 2);"
done
if [ $agree = 1 ]; then
    echo "$summary outputs agree"
    exit 0
fi
echo "$summary OUTPUTS DISAGREE"
exit 1
