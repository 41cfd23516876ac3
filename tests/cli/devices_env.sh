# PERFEX_DEVICE sets the default selection with the flags' syntax, and the
# flags override it.
set -e
"$PERFEX" devices > /dev/null 2>&1 || { echo "SKIP: no usable device"; exit 77; }
"$PERFEX" devices | grep -q ' CPU .* yes ' || { echo "SKIP: no CPU with fp64"; exit 77; }
if PERFEX_DEVICE=nosuchdevice "$PERFEX" devices > /dev/null 2> "$TMP/err"; then
    echo "FAIL: PERFEX_DEVICE=nosuchdevice accepted"; exit 1
fi
cat "$TMP/err"
grep -q "PERFEX_DEVICE=nosuchdevice" "$TMP/err" || { echo "FAIL: variable not named"; exit 1; }
PERFEX_DEVICE=cpu "$PERFEX" devices > "$TMP/out"
grep -Eq '^\* .* CPU ' "$TMP/out" || { echo "FAIL: PERFEX_DEVICE=cpu marks no CPU"; exit 1; }
# The flag overrides the variable.
if PERFEX_DEVICE=gpu:nosuch "$PERFEX" devices --device-type cpu --device "$(sed -n 's/^\* *\([0-9]*\) .*/\1/p' "$TMP/out")" > "$TMP/out2" 2> "$TMP/err"; then
    grep -Eq '^\* .* CPU ' "$TMP/out2" || { echo "FAIL: flags did not override"; exit 1; }
else
    cat "$TMP/err"; echo "FAIL: flags did not override PERFEX_DEVICE"; exit 1
fi
if PERFEX_DEVICE="dsp:x" "$PERFEX" devices > /dev/null 2> "$TMP/err"; then
    echo "FAIL: PERFEX_DEVICE=dsp:x accepted"; exit 1
fi
grep -q "unknown device type 'dsp'" "$TMP/err" || { cat "$TMP/err"; echo "FAIL: message"; exit 1; }
echo "ok"
