# perfex bench on the synthetic case (no shared data needed), one timed run
# with a profile. Checks against what the numbers must satisfy:
#  - nwave is 2326 (5760..7620 at 0.8: (7620 - 5760) / 0.8 + 1);
#  - specwave/s = nspec nwave / wall_min (1e-3 relative);
#  - frames/node-hour = 3600 specwave/s / (500 nwave) (1e-3 relative);
#  - the profile's stages (host wall) add up to the timed run's wall time
#    within [0.7, 1.05] of it (set-up outside the stages is small);
#  - total device time <= total host wall time + 10 ms (stages are finished
#    one by one on an in-order queue; psf coefficients and spots share one
#    wait, so they are only checked together through the total).
set -e
"$PERFEX" bench --case synth --repeat 1 --profile >"$TMP/out" 2>"$TMP/err"
cat "$TMP/out" "$TMP/err"
res=$(grep '^RESULT case=synth' "$TMP/out")
val() { echo "$res" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
nspec=$(val nspec); nwave=$(val nwave); wall=$(val wall_min)
rate=$(val specwave_per_s); fph=$(val frames_per_node_hour)
total=$(awk '$1 == "total" {print $2}' "$TMP/err")
awk -v ns="$nspec" -v nw="$nwave" -v w="$wall" -v r="$rate" -v f="$fph" -v t="$total" 'BEGIN {
    bad = 0
    if (nw != 2326) { print "nwave " nw " != 2326"; bad = 1 }
    e = ns * nw / w; if (r < e * 0.999 || r > e * 1.001) { print "rate " r " != " e; bad = 1 }
    e = 3600 * r / (500 * nw); if (f < e * 0.999 || f > e * 1.001) { print "frames/h " f " != " e; bad = 1 }
    if (t < 0.7 * w || t > 1.05 * w) { print "profile total " t " vs wall " w; bad = 1 }
    exit bad }'
awk '$1 == "total" { if ($3 > $2 + 0.01) { print "device > host: " $0; exit 1 } }' "$TMP/err"
grep -q '^spots ' "$TMP/err"
grep -q '^inverse blocks ' "$TMP/err"
