#!/bin/sh
# Fuzz the PSF and image readers with libFuzzer for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]      (default 300 per target)
#   FUZZ_TARGETS=fuzz_image_read scripts/fuzz.sh 600   (one target only)
#
# Builds build-fuzz/ with clang and -DPERFEX_FUZZ=ON (ASan + UBSan +
# libFuzzer coverage on the whole library), writes seeds with the project's
# own writers (`perfex psf synth` for PSFs, fuzz_seeds for preproc images, a
# gzipped copy of each kind) plus ../shared/data/psf-gausshermite-v2.fits when
# present, then runs fuzz_psf_read and fuzz_image_read in turn for SECONDS
# each. Corpora persist in build-fuzz/corpus/<target>; reproducers land in
# build-fuzz/artifacts/ (re-run one with: build-fuzz/fuzz/<target> FILE).
# A crash, leak or sanitizer report makes the script exit 1.
#
# libFuzzer runs in fork mode with -ignore_timeouts=1 -ignore_ooms=1: CFITSIO
# 4.2 spun for minutes inside its GZIP tile decompression on corrupt tiles
# (fuzz/known/cfitsio-gzip-tile-hang.fits; host/fitsguard.c now refuses those
# first), and any such stall found later is kept as a timeout-* artifact and
# counted in the summary instead of ending the campaign.
#
# CFITSIO trusts a gzip trailer's size and mallocs it (up to 4 GiB) before
# inflating, so allocations up to 8 GiB are allowed to fail or succeed
# quietly (allocator_may_return_null=1, -malloc_limit_mb=8192) while resident
# memory stays capped at -rss_limit_mb=3072.
set -eu
SECONDS_EACH=${1:-300}
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$SRC/build-fuzz
CC=${CC:-clang}
command -v "$CC" > /dev/null || { echo "fuzz.sh: $CC not found (apt-get install clang libclang-rt-14-dev)"; exit 2; }

mkdir -p "$B"
cmake -S "$SRC" -B "$B" -DCMAKE_C_COMPILER="$CC" -DPERFEX_FUZZ=ON -DPERFEX_TESTS=OFF \
    -DPERFEX_MPI=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$B/configure.log" 2>&1 ||
    { cat "$B/configure.log"; exit 2; }
cmake --build "$B" -j2 --target fuzz_psf_read fuzz_image_read fuzz_seeds perfex_cli

SEEDS=$B/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS/psf" "$SEEDS/image" "$B/artifacts" "$B/corpus/fuzz_psf_read" "$B/corpus/fuzz_image_read"
# The seed writers run outside the fuzzer; their own leaks are not the point.
export ASAN_OPTIONS=detect_leaks=0
"$B/perfex" psf synth --fibers 2 -o "$SEEDS/psf/synth-r-2.fits" > /dev/null
"$B/perfex" psf synth --fibers 1 --camera b --tails -o "$SEEDS/psf/synth-b-1-tails.fits" > /dev/null
gzip -c "$SEEDS/psf/synth-r-2.fits" > "$SEEDS/psf/synth-r-2.fits.gz"
[ -r "$SRC/../shared/data/psf-gausshermite-v2.fits" ] &&
    cp "$SRC/../shared/data/psf-gausshermite-v2.fits" "$SEEDS/psf/"
"$B/fuzz/fuzz_seeds" "$SEEDS/image"
gzip -c "$SEEDS/image/image-1.fits" > "$SEEDS/image/image-1.fits.gz"

export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
export LSAN_OPTIONS=suppressions=$SRC/tests/util/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
for target in ${FUZZ_TARGETS:-fuzz_psf_read fuzz_image_read}; do
    case $target in fuzz_psf_read) seeds=$SEEDS/psf ;; *) seeds=$SEEDS/image ;; esac
    echo "== $target for $SECONDS_EACH s"
    log=$B/$target.log
    "$B/fuzz/$target" -fork=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=3072 \
        -malloc_limit_mb=8192 -max_len=200000 -print_final_stats=1 \
        -artifact_prefix="$B/artifacts/$target-" "$B/corpus/$target" "$seeds" > "$log" 2>&1 ||
        { rc=1; echo "$target: FAILED (see $log)"; }
    grep -E '^#[0-9]+: cov' "$log" | tail -1
    grep -E 'INFO: fuzzed for|SUMMARY|ERROR' "$log" | sort | uniq -c || true
    echo "corpus: $(ls "$B/corpus/$target" | wc -l) files," \
        "$(du -sk "$B/corpus/$target" | cut -f1) KiB"
    for kind in crash leak timeout oom slow-unit; do
        echo "$kind artifacts: $(ls "$B/artifacts" | grep -c "^$target-$kind-" || true)"
    done
done
ls "$B/artifacts" | grep -E -q -- '-(crash|leak|undefined|deadly)-' && rc=1
exit $rc
