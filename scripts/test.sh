#!/bin/sh
# The README's test command: installs what is missing, builds, runs every test
# with ctest on the default device (PoCL on a machine without a GPU). Tests
# that need ../shared/data skip with a message where it is absent; after the
# run, each skipped test is listed with the reason it printed (ctest's
# --output-on-failure shows the output of failures only). The exit status is
# ctest's.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --tests
BUILD=${PERFEX_BUILD_DIR:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OUT=$BUILD/Testing/test-sh.out
mkdir -p "$BUILD/Testing"
{
    rc=0
    ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "$@" || rc=$?
    echo "$rc" > "$OUT.rc"
} 2>&1 | tee "$OUT"
rc=$(cat "$OUT.rc")
# ctest's summary names them ("  42 - desi_desispec_steps (Skipped)"); their
# output is in LastTest.log, between "N/M Testing: NAME" and "<end of output>".
skipped=$(sed -n 's/^[[:space:]]*[0-9][0-9]* - \(.*\) (Skipped)$/\1/p' "$OUT")
if [ -n "$skipped" ]; then
    echo
    echo "Skipped tests and why:"
    for t in $skipped; do
        why=$(awk -v t="$t" '
            $0 ~ "^[0-9]+/[0-9]+ Testing: " { on = ($NF == t); out = 0; next }
            on && /^Output:$/ { out = 1; getline; next }
            on && /^<end of output>$/ { on = 0; out = 0 }
            out && NF { last = $0; if (tolower($0) ~ /skip/) { print; found = 1 } }
            END { if (!found && last != "") print last }' \
            "$BUILD/Testing/Temporary/LastTest.log" 2> /dev/null)
        printf '%s\n' "${why:-(no output)}" | sed "1s/^/  $t: /; 2,\$s/^/      /"
    done
fi
exit "$rc"
