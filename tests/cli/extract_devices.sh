# perfex extract --devices: two PoCL devices of one kind (POCL_DEVICES=
# "pthread pthread") share one frame, and the frame equals the one-device
# frame HDU by HDU, byte for byte (fits_data_cmp); PERFEX_DEVICES does the
# same; a list naming a device twice or nothing is refused with one line.
# Runs on the synth fixture's 10-fiber PSF on a CCD of 230 columns
# (tests/util/fixture_synth.sh) and an image of it simulated here.
# Args: fits_data_cmp.
set -u
CMP=$1
export POCL_DEVICES="pthread pthread"
n=$("$PERFEX" devices --device-type cpu 2>/dev/null | grep -c "yes" || true)
[ "$n" -ge 2 ] || { echo "SKIP: PoCL does not show two CPU devices"; exit 77; }
W="-w 6000,6300,0.8"
cp "$FIXTURES/synth10-narrow/psf.fits" "$TMP/" || { echo "FAIL: the synth fixture"; exit 1; }
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/img.fits" $W --quiet || { echo "FAIL: simulate"; exit 1; }
A="-i $TMP/img.fits -p $TMP/psf.fits $W --bundlesize 5 --nsubbundles 5 --batch 4 --quiet"
"$PERFEX" extract $A -o "$TMP/one.fits" --device-type cpu || { echo "FAIL: one device"; exit 1; }
"$PERFEX" extract $A -o "$TMP/two.fits" --devices all --device-type cpu --profile 2> "$TMP/err" ||
    { cat "$TMP/err"; echo "FAIL: --devices all"; exit 1; }
"$CMP" "$TMP/one.fits" "$TMP/two.fits" || { echo "FAIL: --devices all differs from one device"; exit 1; }
PERFEX_DEVICES=0,1 "$PERFEX" extract $A -o "$TMP/env.fits" --device-type cpu ||
    { echo "FAIL: PERFEX_DEVICES"; exit 1; }
"$CMP" "$TMP/one.fits" "$TMP/env.fits" || { echo "FAIL: PERFEX_DEVICES=0,1 differs"; exit 1; }
fail=0
for list in 0,0 nosuchdevice; do
    "$PERFEX" extract $A -o "$TMP/bad.fits" --devices $list --device-type cpu 2> "$TMP/err"
    rc=$?
    echo "--devices $list: exit $rc: $(cat "$TMP/err")"
    [ $rc -ne 0 ] || { echo "FAIL: --devices $list accepted"; fail=1; }
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || { echo "FAIL: --devices $list: not one line"; fail=1; }
    [ ! -e "$TMP/bad.fits" ] || { echo "FAIL: --devices $list wrote a frame"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok"
exit $fail
