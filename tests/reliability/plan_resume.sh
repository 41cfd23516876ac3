# SPDX-License-Identifier: BSD-3-Clause
# Plans that resume (issue 11 items 2, 5, 6), serially (no MPI needed):
# --resume counts an output as finished only when px_fits_verify passes, so
# a 0-byte, truncated or damaged frame is made again (and the report says
# why) while a good one is kept; a frame on which the process dies (SIGKILL,
# three times) is reported FAILED on the next resume and the rest finish;
# two lines writing one file, a frame and its model image being one file,
# and a bad flag on any line are refused before anything runs.
set -u
fail=0
W="-w 6000,6100,0.8"
# a 10-fiber PSF and image on a CCD of 230 columns, the whole wavelength
# range on it (tests/util/fixture_synth.sh)
cp "$FIXTURES/synth10-narrow/psf.fits" "$FIXTURES/synth10-narrow/img.fits" "$TMP/" ||
    { echo "FAIL: the synth fixture"; exit 1; }
I=$TMP/img.fits
P=$TMP/psf.fits
F="--bundlesize 2 --nsubbundles 1"
mkdir "$TMP/out"
O=$TMP/out
: > "$TMP/plan"
for i in 0 1 2 3; do
    echo "$I $P $O/f$i.fits $W -s $((2 * i)) -n 2 $F" >> "$TMP/plan"
done

# 1. a plan, then damaged outputs and a resume
"$PERFEX" extract --plan "$TMP/plan" --quiet > "$TMP/log" 2>&1 || { cat "$TMP/log"; echo "FAIL: plan"; exit 1; }
for i in 0 1 2 3; do cp "$O/f$i.fits" "$TMP/good$i.fits"; done
: > "$O/f0.fits"
head -c 5000 "$TMP/good1.fits" > "$O/f1.fits"
printf 'X' | dd of="$O/f2.fits" bs=1 seek=30000 conv=notrunc 2> /dev/null
"$PERFEX" extract --plan "$TMP/plan" --resume > "$TMP/log" 2>&1
rc=$?
cat "$TMP/log"
[ $rc -eq 0 ] || { echo "FAIL: resume exit $rc"; fail=1; }
grep "line 1:" "$TMP/log" | grep "f0.fits exists but is not a finished frame" | grep -q "empty" ||
    { echo "FAIL: the empty frame is not reported"; fail=1; }
grep "line 2:" "$TMP/log" | grep "f1.fits exists but" | grep -q "truncated" ||
    { echo "FAIL: the truncated frame is not reported"; fail=1; }
grep "line 3:" "$TMP/log" | grep "f2.fits exists but" | grep -q "damaged" ||
    { echo "FAIL: the damaged frame is not reported"; fail=1; }
grep "line 4:" "$TMP/log" | grep -q "f3.fits exists and verifies, skipped" ||
    { echo "FAIL: the good frame is not skipped"; fail=1; }
grep -q "4 frames: 3 written, 0 failed, 1 skipped" "$TMP/log" || { echo "FAIL: totals"; fail=1; }
for i in 0 1 2 3; do
    cmp -s "$O/f$i.fits" "$TMP/good$i.fits" || { echo "FAIL: f$i.fits is not the frame"; fail=1; }
done
# an output that is a directory is redone, which then fails (reported, not skipped)
rm "$O/f3.fits"
mkdir "$O/f3.fits"
"$PERFEX" extract --plan "$TMP/plan" --quiet > "$TMP/log" 2>&1
rc=$?
echo "directory output: exit $rc: $(grep FAILED "$TMP/log")"
[ $rc -eq 1 ] && grep FAILED "$TMP/log" | grep -q "f3.fits: is a directory" ||
    { echo "FAIL: a directory counted as finished"; fail=1; }
rmdir "$O/f3.fits"

# 2. refused before anything runs
rm -f "$O"/*.fits
check_refused() { # NAME PATTERN PLAN
    "$PERFEX" extract --plan "$3" --quiet > "$TMP/log" 2>&1
    rc=$?
    echo "$1: exit $rc: $(cat "$TMP/log")"
    [ $rc -eq 2 ] || { echo "FAIL: $1: exit $rc, expected 2"; fail=1; }
    grep -qE -- "$2" "$TMP/log" || { echo "FAIL: $1: does not say $2"; fail=1; }
    [ -z "$(ls -A "$O")" ] || { echo "FAIL: $1: something ran: $(ls "$O")"; fail=1; }
}
{ echo "$I $P $O/d.fits $W -n 2 $F"; echo "$I $P $TMP/./out/../out/d.fits $W -s 2 -n 2 $F"; } \
    > "$TMP/dup"
check_refused duplicate-outputs "lines 1 and 2 both write .*/out/d.fits" "$TMP/dup"
{ echo "$I $P $O/a.fits $W -n 2 $F"; echo "$I $P $O/b.fits $W -n 2 $F -m $O/a.fits"; } > "$TMP/dupm"
check_refused model-is-other-output "lines 1 and 2 both write .*/out/a.fits" "$TMP/dupm"
echo "$I $P $O/a.fits $W -n 2 $F -m $O/a.fits" > "$TMP/selfm"
check_refused model-is-own-output "line 1: the frame and the model image are one file" "$TMP/selfm"
{ echo "$I $P $O/a.fits $W -n 2 $F"; echo "$I $P $O/b.fits $W -n 2 -r 1e20"; } > "$TMP/badflag"
check_refused bad-flag "line 2: --regularize 1e\+20 is outside" "$TMP/badflag"

# 3. a frame the process dies on: killed three times, then FAILED and skipped
{
    echo "$I $P $O/g0.fits $W -n 2 $F"
    echo "$I $P $O/g1.fits -w 5600,7800,0.4 -n 4 --bundlesize 4 --nsubbundles 4"
    echo "$I $P $O/g2.fits $W -s 4 -n 2 $F"
} > "$TMP/poison"
for k in 1 2 3; do
    "$PERFEX" extract --plan "$TMP/poison" --quiet > "$TMP/log" 2>&1 &
    pid=$!
    n=0
    # until this run has started g1 (its attempt is the k-th line of the journal)
    while [ "$(grep -c '^start ' "$O/g1.fits.journal" 2> /dev/null)" != $k ] && [ $n -lt 6000 ]; do
        sleep 0.01
        n=$((n + 1))
    done
    kill -KILL $pid 2> /dev/null
    wait $pid 2> /dev/null
    echo "attempt $k killed; journal: $(tail -1 "$O/g1.fits.journal" 2> /dev/null)"
done
[ "$(grep -c '^start ' "$O/g1.fits.journal" 2> /dev/null)" = 3 ] ||
    { echo "FAIL: the journal does not hold 3 attempts"; fail=1; }
grep -q "pid [0-9]* rank 0 group 0 line 2" "$O/g1.fits.journal" ||
    { echo "FAIL: the journal does not say where the frame ran"; fail=1; }
"$PERFEX" extract --plan "$TMP/poison" > "$TMP/log" 2>&1
rc=$?
cat "$TMP/log"
[ $rc -eq 1 ] || { echo "FAIL: exit $rc after a poison frame, expected 1"; fail=1; }
grep "line 2: FAILED" "$TMP/log" | grep -q "died on this frame 3 times" ||
    { echo "FAIL: the poison frame is not reported"; fail=1; }
grep -q "3 frames: 1 written, 1 failed, 1 skipped" "$TMP/log" || { echo "FAIL: poison totals"; fail=1; }
[ -s "$O/g2.fits" ] && [ ! -e "$O/g1.fits" ] || { echo "FAIL: the rest did not finish"; fail=1; }
# a higher --max-attempts tries it again, and a finished frame leaves no journal
"$PERFEX" extract --plan "$TMP/poison" --max-attempts 5 --quiet > "$TMP/log" 2>&1 ||
    { cat "$TMP/log"; echo "FAIL: --max-attempts 5"; fail=1; }
[ -s "$O/g1.fits" ] && [ ! -e "$O/g1.fits.journal" ] || { echo "FAIL: retry"; fail=1; }
[ -z "$(ls "$O" | grep '\.tmp\.')" ] || { echo "FAIL: temporary files left"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
