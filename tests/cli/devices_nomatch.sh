# Selections that match nothing fail with a non-zero exit and one line that
# names the request and lists the devices available.
set -e
unset PERFEX_DEVICE
expect_fail() {
    # expect_fail PATTERN ARGS...: perfex ARGS must fail and print PATTERN on stderr
    pattern=$1; shift
    if "$PERFEX" "$@" > "$TMP/out" 2> "$TMP/err"; then
        echo "FAIL: perfex $* succeeded"; cat "$TMP/out"; exit 1
    fi
    cat "$TMP/err"
    grep -qF -- "$pattern" "$TMP/err" || { echo "FAIL: '$pattern' not in the message"; exit 1; }
    test ! -s "$TMP/out" || { echo "FAIL: output on stdout"; exit 1; }
}
expect_fail "--device 'nosuchdevice'" devices --device nosuchdevice
grep -q "available: \[0\] " "$TMP/err" || { echo "FAIL: devices not listed"; exit 1; }
test "$(wc -l < "$TMP/err")" -eq 1 || { echo "FAIL: not one line"; exit 1; }
expect_fail "--device '999'" devices --device 999
expect_fail "--platform 'nosuchplatform'" devices --platform nosuchplatform
expect_fail "unknown device type 'bogus'" devices --device-type bogus
if ! "$PERFEX" devices | grep -q ' ACCEL '; then
    expect_fail "--device-type accelerator" devices --device-type accelerator
    grep -q "available: \[0\] " "$TMP/err" || { echo "FAIL: devices not listed"; exit 1; }
fi
echo "ok"
