# perfex compare: specter's frame against itself passes (exit 0, max pull 0)
# and its truth chi matches README's numbers; a truth tolerance tighter than
# specter's |std - 1| = 0.0032 makes it exit 1.
set -u
F=$SHARED/frame-specter-r0-bundle0.fits
if [ ! -r "$F" ] || [ ! -r "$SHARED/preproc-sim-r0-bundle0.fits.gz" ]; then
    echo "SKIP: $SHARED absent"; exit 77
fi
# the truth from the simulated image as the shared fixture inflated it
# (tests/util/fixture_shared.sh; cli_extract_bundle0 reads it from the
# .fits.gz); the truth is read 4 times below
P=$FIXTURES/preproc-sim-r0-bundle0.fits
[ -r "$P" ] || { echo "FAIL: $P missing (made by the case util_fixture_shared)"; exit 1; }
out=$("$PERFEX" compare "$F" "$F" --truth "$P"); rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: exit $rc, want 0"; exit 1; }
echo "$out" | grep -q 'max |pull|: 0 ' || { echo "FAIL: max pull not 0"; exit 1; }
echo "$out" | grep -q 'mean 0.0045 std 0.9968 n 57900' || { echo "FAIL: truth chi"; exit 1; }
echo "$out" | tail -1 | grep -q '^PASS$' || { echo "FAIL: no PASS line"; exit 1; }
out=$("$PERFEX" compare "$F" "$F" --truth "$P" --truth-tol 0.001); rc=$?
[ $rc -eq 1 ] || { echo "FAIL: tight truth tolerance: exit $rc, want 1"; exit 1; }
echo "$out" | tail -1 | grep -q '^FAIL' || { echo "FAIL: no FAIL line"; exit 1; }
# One frame with --truth only: the truth check alone, same numbers and exit codes.
out=$("$PERFEX" compare "$F" --truth "$P"); rc=$?
[ $rc -eq 0 ] || { echo "FAIL: truth only: exit $rc, want 0"; exit 1; }
echo "$out" | grep -q 'mean 0.0045 std 0.9968 n 57900' || { echo "FAIL: truth-only chi"; exit 1; }
"$PERFEX" compare "$F" --truth "$P" --truth-tol 0.001 >/dev/null; rc=$?
[ $rc -eq 1 ] || { echo "FAIL: truth only, tight tolerance: exit $rc, want 1"; exit 1; }
"$PERFEX" compare "$F" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: one frame without --truth: exit $rc, want 2"; exit 1; }
# Rows shifted by 5 fibers: the pulls are far outside the tolerances.
out=$("$PERFEX" compare "$F" "$F" --ref-specmin 5); rc=$?
[ $rc -eq 1 ] || { echo "FAIL: shifted reference: exit $rc, want 1"; exit 1; }
echo "$out" | grep -q 'fibers compared: 5-24' || { echo "FAIL: fiber overlap"; exit 1; }
echo "ok"
