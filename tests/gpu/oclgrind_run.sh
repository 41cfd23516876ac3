# SPDX-License-Identifier: BSD-3-Clause
# Runs one program under Oclgrind with the GPU tuning forced
# (PERFEX_TUNING_AS=nvidia-gpu: the platforms/ values an NVIDIA GPU gets) and
# H100-sized local memory (48 KiB), checking data races and API misuse:
#   oclgrind --data-races --check-api --log LOG PROGRAM ARGS...
# The case passes when the program exits 0 (77 skips) and Oclgrind reported
# nothing. Oclgrind's global memory (default 128 MiB) is set to 1 GiB (its
# --global-mem-size wraps at 4 GiB).
# Usage: oclgrind_run.sh [--known KERNEL]... PROGRAM [ARGS...]
# --known KERNEL: reports inside KERNEL are a finding listed in
# oclgrind_known.txt (a kernel being fixed by its owner): they are printed
# as KNOWN and do not fail the case, but their absence does ("remove it from
# the list"), so the list cannot go stale.
set -u
command -v oclgrind > /dev/null 2>&1 || { echo "skip: oclgrind not found (Debian package oclgrind)"; exit 77; }
known=""
while [ "${1:-}" = --known ]; do
    known="$known $2"
    shift 2
done
LIST=$SRC/tests/gpu/oclgrind_known.txt
export PERFEX_TUNING_AS=nvidia-gpu
LOG=$TMP/oclgrind.log
oclgrind --data-races --check-api --local-mem-size 49152 --global-mem-size 1073741824 \
    --log "$LOG" "$@" > "$TMP/out" 2>&1
rc=$?
cat "$TMP/out"
[ $rc -eq 77 ] && exit 77
fail=0
[ $rc -eq 0 ] || { echo "FAIL: $1 exited $rc under Oclgrind"; fail=1; }
# The log: one report per paragraph; kernel reports carry "Kernel: NAME".
awk 'BEGIN { RS = ""; FS = "\n" }
     /errors generated - suppressing/ { next }
     { k = "(no kernel: an API error)"
       for (i = 1; i <= NF; i++) if ($i ~ /^[ \t]*Kernel: /) { k = $i; sub(/^[ \t]*Kernel: /, "", k) }
       n[k]++; if (!(k in first)) first[k] = $0 }
     END { for (k in n) { print "REPORT " k " " n[k]; print first[k] } }' "$LOG" > "$TMP/reports"
for k in $(awk '/^REPORT / { print $2 }' "$TMP/reports"); do
    count=$(awk -v k="$k" '$1 == "REPORT" && $2 == k { print $NF }' "$TMP/reports")
    case " $known " in
    *" $k "*)
        echo "KNOWN: $count Oclgrind reports in $k: $(awk -v k="$k" '$1 == k { $1 = ""; $2 = ""; print }' "$LIST")"
        ;;
    *)
        echo "FAIL: $count Oclgrind reports in $k, the first:"
        awk -v k="$k" 'p && /^REPORT / { exit } p { print } $1 == "REPORT" && $2 == k { p = 1 }' "$TMP/reports"
        fail=1
        ;;
    esac
done
grep -q "^REPORT (no" "$TMP/reports" && {
    echo "FAIL: Oclgrind reported API errors:"
    awk 'p && /^REPORT / { exit } p { print } /^REPORT \(no/ { p = 1 }' "$TMP/reports"
    fail=1
}
for k in $known; do
    grep -q "^$k " "$LIST" || { echo "FAIL: --known $k is not in oclgrind_known.txt"; fail=1; }
    grep -q "^REPORT $k " "$TMP/reports" ||
        { echo "FAIL: no report in $k any more: remove it from this case and tests/gpu/oclgrind_known.txt"; fail=1; }
done
[ -s "$LOG" ] || echo "Oclgrind: no report"
[ $fail -eq 0 ] && echo ok
exit $fail
