#!/bin/sh
# Build perfex at several commits of this repository and time bundle 0 with
# each in one script (same machine load for all), as docs/benchmarks.md's
# optimisation table was measured:
#   bench/compare_commits.sh COMMIT... [current]
# "current" is the working tree's build/perfex. Each commit is exported with
# git archive into $WORK/<commit> (default /tmp/perfex-commits) and built
# there (the command's target only). Prints perfex bench's RESULT line and the
# profile of the last run per commit, and for commits without `perfex bench`
# the end-to-end time of perfex extract under /usr/bin/time.
set -e
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/perfex-commits}
DATA=${PERFEX_DATA:-$SRC/../shared/data}
REPEAT=${PERFEX_REPEAT:-3}
# BENCH_CASE=full times the 500-fiber frame instead, each commit once per
# round, BENCH_ROUNDS rounds (default 2) interleaved, and skips the
# end-to-end run (which is of bundle 0).
CASE=${BENCH_CASE:-bundle0}
ROUNDS=${BENCH_ROUNDS:-2}
mkdir -p "$WORK"
for c in "$@"; do
    [ "$c" = current ] && continue
    d=$WORK/$c
    [ -x "$d/build/perfex" ] && continue
    rm -rf "$d" && mkdir -p "$d"
    git -C "$SRC" archive "$c" | tar -x -C "$d"
    cmake -S "$d" -B "$d/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    # the command is target perfex_cli since the library became target perfex
    cmake --build "$d/build" -j2 --target perfex_cli >/dev/null 2>&1 ||
        cmake --build "$d/build" -j2 --target perfex >/dev/null
done
echo "load: $(cat /proc/loadavg)"
if [ "$CASE" = full ]; then
    for r in $(seq "$ROUNDS"); do
        for c in "$@"; do
            if [ "$c" = current ]; then P=$SRC/build/perfex; else P=$WORK/$c/build/perfex; fi
            "$P" bench --case full --repeat 1 2>&1 | grep '^RESULT' | sed "s/^/$c round $r: /"
        done
    done
    echo "load: $(cat /proc/loadavg)"
    exit 0
fi
for c in "$@"; do
    if [ "$c" = current ]; then P=$SRC/build/perfex; else P=$WORK/$c/build/perfex; fi
    echo "=== $c"
    if "$P" bench --help >/dev/null 2>&1; then
        PERFEX_DATA=$DATA "$P" bench --case bundle0 --repeat "$REPEAT" --profile 2>&1 |
            grep -v '^device\|^case'
    fi
    /usr/bin/time -f "$c end-to-end: %e s wall, %U s user, %S s sys, %M KB max RSS" "$P" extract \
        -i "$DATA/preproc-sim-r0-bundle0.fits.gz" -p "$DATA/psf-r0-00051060.fits" \
        -o "$WORK/frame-$c.fits" -w 5760,7620,0.8 -s 0 -n 25 --quiet
done
echo "load: $(cat /proc/loadavg)"
