# SPDX-License-Identifier: BSD-3-Clause
# Signals at several moments (issue 11 item 8): SIGTERM and SIGINT during an
# extraction and during the write of a large output (perfex simulate's 200
# MB image, the model image of -m), and SIGKILL during a write followed by
# the next run. A handled signal must end perfex with 143 (TERM) or 130
# (INT), leave no OUTPUT.tmp.XXXXXX and leave an earlier output of that name
# byte for byte as it was; after SIGKILL the temporary file stays, and the
# next run that writes that output removes it (and nothing else).
set -u
fail=0
W="-w 6000,6100,0.8"
mkdir "$TMP/out"
O=$TMP/out
# the full-size 10-fiber PSF and image (simulate $W, seed 0) of the synth
# fixture (tests/util/fixture_synth.sh); copies of that image are the
# earlier outputs that an interrupted write must leave as they were
F=$FIXTURES/synth10
X="-i $F/img.fits -p $F/psf.fits --bundlesize 5 --quiet"
"$PERFEX" extract $X $W --nsubbundles 1 -o "$TMP/ref.fits" || { echo "FAIL: reference frame"; exit 1; }

# A non-interactive shell starts background jobs with SIGINT ignored (and
# perfex then keeps it ignored); run them with the default disposition.
if env --default-signal=INT true 2> /dev/null; then
    BG="env --default-signal=INT"
else
    BG=""
    echo "note: env --default-signal is missing; SIGINT cases run with SIGINT ignored"
fi

# wait_for GLOB SECONDS: 0 once a file matching GLOB exists.
wait_for() {
    n=0
    while [ $n -lt $(( $2 * 100 )) ]; do
        for f in $1; do [ -e "$f" ] && return 0; done
        sleep 0.01
        n=$((n + 1))
    done
    return 1
}
# finish NAME PID WANT KEEP REF: wait for PID, expect exit WANT, no temporary
# file in $O, and $O/KEEP identical to REF.
finish() {
    wait "$2"
    rc=$?
    echo "$1: exit $rc"
    [ "$rc" -eq "$3" ] || { echo "FAIL: $1: exit $rc, expected $3"; fail=1; }
    left=$(ls -A "$O" | grep '\.tmp\.')
    [ -z "$left" ] || { echo "FAIL: $1: left $left"; fail=1; }
    cmp -s "$O/$4" "$5" || { echo "FAIL: $1: $4 changed"; fail=1; }
}

# 1. during the extraction (about 4 s of work on 2 cores once the kernels are
#    cached, far longer before), before any temporary file exists
cp "$TMP/ref.fits" "$O/frame.fits"
for sig in TERM INT; do
    [ $sig = INT ] && [ -z "$BG" ] && continue
    $BG "$PERFEX" extract $X -w 5600,7800,0.4 --nsubbundles 5 -o "$O/frame.fits" 2> "$TMP/err" &
    pid=$!
    sleep 1.5
    if ls "$O" | grep -q '\.tmp\.'; then echo "note: the write had begun already"; fi
    kill -$sig $pid
    [ $sig = TERM ] && want=143 || want=130
    finish "extraction-$sig" $pid $want frame.fits "$TMP/ref.fits"
done
# 2. during the write of a 200 MB image (its temporary file exists)
cp "$F/img.fits" "$O/img.fits"
for sig in TERM INT; do
    [ $sig = INT ] && [ -z "$BG" ] && continue
    $BG "$PERFEX" simulate -p "$F/psf.fits" -o "$O/img.fits" $W --quiet --seed 2 &
    pid=$!
    if wait_for "$O/img.fits.tmp.*" 60; then
        kill -$sig $pid
    else
        echo "FAIL: simulate-$sig: no temporary file appeared"
        fail=1
    fi
    [ $sig = TERM ] && want=143 || want=130
    finish "simulate-write-$sig" $pid $want img.fits "$F/img.fits"
done
# 3. during the write of the model image (after the frame)
cp "$F/img.fits" "$O/model.fits"
"$PERFEX" extract $X $W --nsubbundles 1 -o "$TMP/frame-m.fits" -m "$O/model.fits" &
pid=$!
if wait_for "$O/model.fits.tmp.*" 120; then kill -TERM $pid; else echo "FAIL: no model temp"; fail=1; fi
finish "model-write-TERM" $pid 143 model.fits "$F/img.fits"
# 4. SIGKILL during a write leaves the temporary file; the next run that
#    writes that output removes it, and only it
"$PERFEX" simulate -p "$F/psf.fits" -o "$O/img.fits" $W --quiet --seed 2 &
pid=$!
if wait_for "$O/img.fits.tmp.*" 60; then kill -KILL $pid; else echo "FAIL: no temp"; fail=1; fi
wait $pid
echo "simulate-write-KILL: exit $?"
stale=$(ls "$O" | grep '^img\.fits\.tmp\.')
[ -n "$stale" ] || { echo "FAIL: SIGKILL left no temporary file (the case is not exercised)"; fail=1; }
echo "left by SIGKILL: $stale"
: > "$O/other.fits.tmp.ABCDEF"
: > "$O/img.fits.tmp.ABCDEFG"
sleep 1
"$PERFEX" simulate -p "$F/psf.fits" -o "$O/img.fits" $W --quiet ||
    { echo "FAIL: the next run"; fail=1; }
[ -z "$(ls "$O" | grep -x "$stale")" ] || { echo "FAIL: $stale not removed"; fail=1; }
[ -e "$O/other.fits.tmp.ABCDEF" ] && [ -e "$O/img.fits.tmp.ABCDEFG" ] ||
    { echo "FAIL: files of other names were removed"; fail=1; }
cmp -s "$O/img.fits" "$F/img.fits" || { echo "FAIL: the next run's output differs"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
