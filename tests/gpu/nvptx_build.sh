# SPDX-License-Identifier: BSD-3-Clause
# Every kernel program perfex builds, with the exact options it would pass on
# an NVIDIA H100 (tests/gpu/gpu_programs.c: px_build_options_for() on that
# device's description and platforms/ tuning), compiled for sm_90 without a
# GPU: clang-16 (OpenCL C 1.2, target nvptx64-nvidia-nvcl) + libclc-16's
# nvptx64--nvidiacl.bc (llvm-link-16; opt-16 -O3 then inlines the built-ins
# into the kernels, as a driver's compiler does) + llc-16 -mcpu=sm_90, then
# the CUDA toolkit's ptxas -arch=sm_90 -v. Each kernel with a
# reqd_work_group_size gets it as .reqntid, as NVIDIA's OpenCL compiler
# passes it on (ptxas then sizes registers for that many threads). Checked
# per kernel: no error, no spill store or load, shared memory within the
# 48 KiB a work-group may have, registers x work-group size within the 64 K
# registers of an SM; and px_spot_stamps's shared memory equal to what
# host/psf/spots.c reckons when it chooses the local-memory form. Prints a
# table of registers, shared memory, stack and spills per kernel.
# nvptx_known.txt lists spills known in kernels that are being reworked: such
# a spill is printed as KNOWN and does not fail the case, but one that no
# longer occurs does ("remove it from the list"), so the list cannot go
# stale.
# The programs whose source and options do not depend on the PSF (linalg,
# blas_aux: half the compile time) are the same in every case: ptxas's
# report and the work-group sizes are kept in the build tree
# (tests/gpu/nvptx-cache), keyed by the program's text, its options and the
# tools' versions, and reused by the next case; every check runs on them.
# $1: the gpu_programs helper; then "psf FILE" (a file of ../shared/data) or
# "shape HX HY GX GY". Skips (77) when a tool is missing.
set -u
G=$1
shift
skip() { echo "skip: $*"; exit 77; }
for t in clang-16 llvm-link-16 opt-16 llc-16 llvm-dis-16; do
    command -v $t > /dev/null 2>&1 || skip "$t not found (Debian packages clang-16, llvm-16)"
done
CLC=/usr/lib/clc/nvptx64--nvidiacl.bc
[ -f $CLC ] || skip "$CLC not found (Debian package libclc-16)"
PTXAS=$(command -v ptxas 2> /dev/null || true)
[ -n "$PTXAS" ] || [ ! -x /usr/local/cuda/bin/ptxas ] || PTXAS=/usr/local/cuda/bin/ptxas
[ -n "$PTXAS" ] || skip "ptxas not found on PATH or in /usr/local/cuda/bin (CUDA toolkit)"
if [ "$1" = psf ]; then
    [ -f "$SHARED/$2" ] || skip "$SHARED/$2 not found"
    set -- psf "$SHARED/$2"
fi
"$G" "$TMP" "$@" > "$TMP/list" || { echo "FAIL: gpu_programs"; exit 1; }
KNOWN=$SRC/tests/gpu/nvptx_known.txt
: > "$TMP/known_seen"
fail=0
printf '%-9s %-16s %5s %7s %6s %6s %5s\n' program kernel regs smem stack spill wg
# compile NAME OPTS: $TMP/NAME.cl through clang-16 .. ptxas into $TMP/NAME.ptxas
# (ptxas's report) and $TMP/NAME.wg (kernel, reqd_work_group_size); 1 (with
# the tool's output printed) when a step fails.
compile() {
    name=$1 opts=$2
    B=$TMP/$name
    # shellcheck disable=SC2086
    if ! clang-16 -x cl -target nvptx64-nvidia-nvcl -Xclang -finclude-default-header -O2 \
        -emit-llvm -c $opts "$B.cl" -o "$B.bc" 2> "$B.clang"; then
        cat "$B.clang"
        echo "FAIL: $name: clang-16 (options: $opts)"
        return 1
    fi
    llvm-link-16 --only-needed "$B.bc" $CLC -o "$B.linked.bc" 2> "$B.link" ||
        { cat "$B.link"; echo "FAIL: $name: llvm-link-16"; return 1; }
    opt-16 -O3 "$B.linked.bc" -o "$B.opt.bc" 2> "$B.opt" ||
        { cat "$B.opt"; echo "FAIL: $name: opt-16"; return 1; }
    llc-16 -mcpu=sm_90 -O2 "$B.opt.bc" -o "$B.raw.ptx" 2> "$B.llc" ||
        { cat "$B.llc"; echo "FAIL: $name: llc-16"; return 1; }
    # kernel -> reqd_work_group_size from the IR's metadata
    llvm-dis-16 "$B.bc" -o "$B.ll"
    awk 'NR == FNR {
             if (match($0, /^![0-9]+ = !\{i32 [0-9]+, i32 1, i32 1\}/)) {
                 split($0, f, /[ !{},]+/); md[f[2]] = f[5]
             }
             next
         }
         /^define/ && /reqd_work_group_size/ {
             k = $0; sub(/.*@/, "", k); sub(/\(.*/, "", k)
             r = $0; sub(/.*!reqd_work_group_size !/, "", r); sub(/[^0-9].*/, "", r)
             print k, md[r]
         }' "$B.ll" "$B.ll" > "$B.wg"
    awk 'FILENAME == ARGV[1] { wg[$1] = $2; next }
         /^\.entry / { k = $2; sub(/\(.*/, "", k); inentry = 1 }
         { print }
         inentry && /^\)/ { if (k in wg) print ".reqntid " wg[k] ", 1, 1"; inentry = 0 }' \
        "$B.wg" "$B.raw.ptx" > "$B.ptx"
    if ! "$PTXAS" -arch=sm_90 -v "$B.ptx" -o "$B.cubin" > "$B.ptxas" 2>&1; then
        cat "$B.ptxas"
        echo "FAIL: $name: ptxas (options: $opts)"
        return 1
    fi
}
CACHE=$(dirname "$PERFEX")/tests/gpu/nvptx-cache
mkdir -p "$CACHE" 2> /dev/null || true
TOOLS=$({ clang-16 --version; llc-16 --version; "$PTXAS" --version; cksum < $CLC; } 2>&1 | cksum)
while read -r name opts; do
    B=$TMP/$name
    key=$({ echo "$TOOLS"; echo "$opts"; cat "$B.cl"; } | cksum | tr ' ' '-')
    if [ -s "$CACHE/$key.ptxas" ] && [ -f "$CACHE/$key.wg" ]; then
        cp "$CACHE/$key.ptxas" "$B.ptxas" && cp "$CACHE/$key.wg" "$B.wg" ||
            { echo "FAIL: $name: reading $CACHE"; fail=1; continue; }
    else
        compile "$name" "$opts" || { fail=1; continue; }
        cp "$B.ptxas" "$CACHE/$key.ptxas.$$" 2> /dev/null && cp "$B.wg" "$CACHE/$key.wg" 2> /dev/null &&
            mv "$CACHE/$key.ptxas.$$" "$CACHE/$key.ptxas" 2> /dev/null || rm -f "$CACHE/$key.ptxas.$$"
    fi
    # One line per kernel: name regs smem stack spill_stores spill_loads
    awk '/Compiling entry function/ { k = $0; sub(/.*function .\047?/, "", k); sub(/\047.*/, "", k); e = 1; next }
         e && /bytes stack frame/ { st = $1; ss = $5; sl = $9 }
         e && /Used [0-9]+ registers/ {
             r = $0; sub(/.*Used /, "", r); sub(/ registers.*/, "", r)
             sm = 0; if (match($0, /[0-9]+ bytes smem/)) { sm = substr($0, RSTART); sub(/ .*/, "", sm) }
             print k, r, sm, st, ss, sl; e = 0
         }' "$B.ptxas" > "$B.kernels"
    [ -s "$B.kernels" ] || { cat "$B.ptxas"; echo "FAIL: $name: no kernel in ptxas's report"; fail=1; }
    while read -r k r sm st ss sl; do
        w=$(awk -v k="$k" '$1 == k { print $2 }' "$B.wg")
        printf '%-9s %-16s %5s %7s %6s %6s %5s\n' "$name" "$k" "$r" "$sm" "$st" "$((ss + sl))" "${w:--}"
        if [ "$ss" -ne 0 ] || [ "$sl" -ne 0 ]; then
            if grep -q "^$k spill " "$KNOWN"; then
                echo "KNOWN: $name $k: spills ($ss bytes stores, $sl bytes loads): $(grep "^$k spill " "$KNOWN" | cut -d' ' -f3-)"
                echo "$k" >> "$TMP/known_seen"
            else
                echo "FAIL: $name $k: spills ($ss bytes stores, $sl bytes loads)"
                fail=1
            fi
        fi
        [ "$sm" -le 49152 ] || { echo "FAIL: $name $k: $sm bytes of shared memory > 48 KiB"; fail=1; }
        if [ -n "$w" ] && [ $((r * w)) -gt 65536 ]; then
            echo "FAIL: $name $k: $r registers x $w work-items > 65536"
            fail=1
        fi
        if [ "$k" = px_spot_stamps ] && [ "$(cat "$TMP/spots.local")" != "$sm" ]; then
            echo "FAIL: px_spot_stamps uses $sm bytes of shared memory, host/psf/spots.c reckons $(cat "$TMP/spots.local")"
            fail=1
        fi
    done < "$B.kernels"
    grep -i "warning" "$B.ptxas" | sed "s/^/$name: /"
done < "$TMP/list"
for k in $(grep -v '^#' "$KNOWN" | awk '$2 == "spill" { print $1 }'); do
    grep -qx "$k" "$TMP/known_seen" ||
        { echo "FAIL: $k no longer spills: remove it from tests/gpu/nvptx_known.txt"; fail=1; }
done
[ "$(wc -l < "$TMP/list")" -ge 5 ] || { echo "FAIL: fewer programs than expected"; fail=1; }
sed 's/^/options: /' "$TMP/list"
[ $fail -eq 0 ] && echo ok
exit $fail
