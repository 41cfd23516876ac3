# perfex extract on bad input (issue 7): every case must exit non-zero with
# exactly one line on stderr that starts with "perfex", names the offending
# file (or flag) and says the problem, and leave no output file and no
# temporary file behind. Inputs: a 10-fiber synthetic PSF and a simulated
# image of it (the synth fixture's CCD cut to 230 columns, which keeps every
# fiber's whole wavelength range: tests/util/fixture_synth.sh; about 80 runs
# read it), and broken copies (badinput_tool edits FITS files).
# $1: the badinput_tool program.
set -u
T=$1
fail=0
W="-w 6000,6100,0.8"
cp "$FIXTURES/synth10-narrow/psf.fits" "$FIXTURES/synth10-narrow/img.fits" "$TMP/" ||
    { echo "FAIL: the synth fixture"; exit 1; }
mkdir "$TMP/out"
O=$TMP/out/frame.fits

# reject NAME WHAT PROBLEM ARGS...: run perfex extract ARGS (-o $O unless
# ARGS has its own -o); WHAT and PROBLEM are grep -E patterns the message
# must contain.
reject() {
    name=$1 what=$2 problem=$3
    shift 3
    rm -rf "$TMP/out"/*
    "$PERFEX" extract "$@" > /dev/null 2> "$TMP/err"
    rc=$?
    echo "$name: exit $rc: $(cat "$TMP/err")"
    if [ $rc -eq 0 ]; then echo "FAIL: $name: exit 0"; fail=1; fi
    if [ "$(wc -l < "$TMP/err")" -ne 1 ]; then echo "FAIL: $name: not one line"; fail=1; fi
    if ! grep -q '^perfex' "$TMP/err"; then echo "FAIL: $name: no perfex prefix"; fail=1; fi
    if ! grep -qE -- "$what" "$TMP/err"; then echo "FAIL: $name: does not name $what"; fail=1; fi
    if ! grep -qiE -- "$problem" "$TMP/err"; then echo "FAIL: $name: does not say $problem"; fail=1; fi
    if [ -n "$(ls -A "$TMP/out")" ]; then echo "FAIL: $name: left $(ls "$TMP/out")"; fail=1; fi
}
ok() { # the control: the same inputs extract
    rm -rf "$TMP/out"/*
    "$PERFEX" extract "$@" --quiet > /dev/null 2> "$TMP/err" && [ -s "$O" ] ||
        { echo "FAIL: control run: $(cat "$TMP/err")"; fail=1; }
}
I="-i $TMP/img.fits"
P="-p $TMP/psf.fits"
B="--bundlesize 5 --nsubbundles 1"
ok $I $P -o "$O" $W $B

# missing, not FITS, truncated, corrupt gzip
reject missing-image none.fits "No such file" -i "$TMP/none.fits" $P -o "$O" $W
reject missing-psf none.fits "No such file" $I -p "$TMP/none.fits" -o "$O" $W
echo "this is not FITS" > "$TMP/text.fits"
reject text-image text.fits "not a FITS" -i "$TMP/text.fits" $P -o "$O" $W
reject text-psf text.fits "not a FITS" $I -p "$TMP/text.fits" -o "$O" $W
head -c 200000 "$TMP/img.fits" > "$TMP/cut.fits"
reject truncated-image cut.fits "truncated" -i "$TMP/cut.fits" $P -o "$O" $W
head -c 20000 "$TMP/psf.fits" > "$TMP/cutpsf.fits"
reject truncated-psf cutpsf.fits "truncated" $I -p "$TMP/cutpsf.fits" -o "$O" $W
gzip -c "$TMP/psf.fits" > "$TMP/psf.fits.gz"
ok $I -p "$TMP/psf.fits.gz" -o "$O" $W $B
cp "$TMP/psf.fits.gz" "$TMP/bad.fits.gz"
printf 'XXXXXXXXXXXXXXXX' | dd of="$TMP/bad.fits.gz" bs=1 seek=3000 conv=notrunc 2> /dev/null
reject corrupt-gzip-psf bad.fits.gz "corrupt|damaged" $I -p "$TMP/bad.fits.gz" -o "$O" $W
head -c 6000 "$TMP/psf.fits.gz" > "$TMP/cut.fits.gz"
reject truncated-gzip-psf cut.fits.gz "truncated|corrupt" $I -p "$TMP/cut.fits.gz" -o "$O" $W
gzip -1 -c "$TMP/img.fits" > "$TMP/img.fits.gz"
cp "$TMP/img.fits.gz" "$TMP/badimg.fits.gz"
printf 'XXXXXXXXXXXXXXXX' | dd of="$TMP/badimg.fits.gz" bs=1 seek=20000 conv=notrunc 2> /dev/null
reject corrupt-gzip-image badimg.fits.gz "corrupt|damaged|truncated" \
    -i "$TMP/badimg.fits.gz" $P -o "$O" $W
head -c $(($(wc -c < "$TMP/img.fits.gz") / 2)) "$TMP/img.fits.gz" > "$TMP/cutimg.fits.gz"
reject truncated-gzip-image cutimg.fits.gz "truncated|corrupt" -i "$TMP/cutimg.fits.gz" $P \
    -o "$O" $W
rm -f "$TMP/img.fits.gz" "$TMP/badimg.fits.gz" "$TMP/cutimg.fits.gz"

# a file of the wrong kind, another PSFTYPE, missing keywords and HDUs
reject image-as-psf img.fits "PSFTYPE" $I -p "$TMP/img.fits" -o "$O" $W
reject psf-as-image psf.fits "IVAR|IMAGE" -i "$TMP/psf.fits" $P -o "$O" $W
edit() { # edit NAME CMD ARGS...: a copy of the PSF as $TMP/NAME.fits, edited
    n=$1
    shift
    cp "$TMP/psf.fits" "$TMP/$n.fits"
    c=$1
    shift
    "$T" "$c" "$TMP/$n.fits" "$@" || { echo "FAIL: badinput_tool $c $*"; fail=1; }
}
edit spotgrid key XTRACE PSFTYPE SPOTGRID
edit spotgrid2 key PSF PSFTYPE SPOTGRID
reject psftype spotgrid.fits "PSFTYPE|SPOTGRID" $I -p "$TMP/spotgrid.fits" -o "$O" $W
reject psftype-table spotgrid2.fits "PSFTYPE|SPOTGRID" $I -p "$TMP/spotgrid2.fits" -o "$O" $W
for k in WAVEMIN NPIX_X LEGDEG GHDEGX HSIZEY; do
    edit no$k delkey PSF $k
    reject missing-$k no$k.fits "$k" $I -p "$TMP/no$k.fits" -o "$O" $W
done
edit noxwavemin delkey XTRACE WAVEMIN
reject missing-XTRACE-WAVEMIN noxwavemin.fits "WAVEMIN" $I -p "$TMP/noxwavemin.fits" -o "$O" $W
edit noytrace delhdu YTRACE
reject missing-YTRACE noytrace.fits "YTRACE" $I -p "$TMP/noytrace.fits" -o "$O" $W
edit nopsfhdu delhdu PSF
reject missing-PSF-HDU nopsfhdu.fits "PSF" $I -p "$TMP/nopsfhdu.fits" -o "$O" $W

# NaN and Inf in the coefficients: PSF table rows GHSIGX, GH-0-0, TAILAMP (fiber 0, first
# coefficient) and the trace images
for v in nan inf -inf; do
    for row in 1 3 52; do
        edit coef$row$v coef PSF $row $v
        reject "coef-row$row-$v" coef$row$v.fits "non-finite|NaN|Inf" $I \
            -p "$TMP/coef$row$v.fits" -o "$O" $W
    done
    edit xtr$v rect XTRACE 0 1 3 4 $v
    reject "xtrace-$v" xtr$v.fits "non-finite|NaN|Inf" $I -p "$TMP/xtr$v.fits" -o "$O" $W
    edit ytr$v rect YTRACE 2 3 9 10 $v
    reject "ytrace-$v" ytr$v.fits "non-finite|NaN|Inf" $I -p "$TMP/ytr$v.fits" -o "$O" $W
done

# image shape against the PSF's CCD
edit wide key PSF NPIX_X 4000
reject shape img.fits "230|4000|shape|size" $I -p "$TMP/wide.fits" -o "$O" $W

# wavelength grid
reject grid-above psf.fits "9000.*5[0-9.]*\.\.7[0-9.]*" $I $P -o "$O" -w 9000,9100,0.8
reject grid-below psf.fits "range" $I $P -o "$O" -w 3000,3500,1
reject grid-one-fiber psf.fits "range" $I $P -o "$O" -w 7700,7800,1 -s 9 -n 1
reject dw-zero -wavelength "DW > 0" $I $P -o "$O" -w 6000,6100,0
reject dw-negative -wavelength "DW > 0" $I $P -o "$O" -w 6000,6100,-0.8
reject reversed -wavelength "WMAX >= WMIN" $I $P -o "$O" -w 6100,6000,0.8
reject grid-nan -wavelength "WMIN,WMAX,DW" $I $P -o "$O" -w nan,6000,0.8
reject grid-text -wavelength "WMIN,WMAX,DW" $I $P -o "$O" -w 6000,6100

# fibers and bundles
reject specmin-beyond psf.fits "0\.\.9" $I $P -o "$O" $W -s 10
reject nspec-beyond psf.fits "0\.\.9" $I $P -o "$O" $W -n 11
reject range-beyond psf.fits "0\.\.9" $I $P -o "$O" $W -s 8 -n 5
reject specmin-negative -specmin ">= 0" $I $P -o "$O" $W -s -1
reject nspec-zero -nspec ">= 1" $I $P -o "$O" $W -n 0
reject nsub-gt-bundle -nsubbundles "bundlesize" $I $P -o "$O" $W --bundlesize 5 --nsubbundles 6
reject nsub-zero -nsubbundles ">= 1" $I $P -o "$O" $W --nsubbundles 0
reject nwavestep-huge "[0-9]+ wavelength bins" "smaller --nwavestep" $I $P -o "$O" \
    -w 6000,6300,0.8 --nwavestep 300
reject pad-huge "pixpad-frac 100" "outside 0 .. 10" $I $P -o "$O" $W --pixpad-frac 100
reject regularize-huge "regularize 1e\+20" "outside 0 .. 10000" $I $P -o "$O" $W -r 1e20
reject grid-huge "9000001 wavelength bins" "larger wavelength step" $I $P -o "$O" \
    -w 3000,12000,0.001
reject dw-tiny "wavelength bins" "larger wavelength step" $I $P -o "$O" -w 6000,6010,0.001
reject bundle-zero -bundlesize ">= 1" $I $P -o "$O" $W --bundlesize 0

# output path
reject out-empty "output path" "empty" $I $P -o "" $W
reject out-under-file /dev/null/x "not a directory" $I $P -o /dev/null/x $W
reject out-no-dir nodir/f.fits "No such file" $I $P -o "$TMP/nodir/f.fits" $W
reject out-is-dir out "directory" $I $P -o "$TMP/out" $W
reject out-is-image img.fits "input" $I $P -o "$TMP/img.fits" $W
reject out-is-psf psf.fits "input" $I $P -o "$TMP/psf.fits" $W
ln -s "$TMP/img.fits" "$TMP/link.fits"
reject out-symlink-image link.fits "input" $I $P -o "$TMP/link.fits" $W
reject out-respelled "\./img.fits" "input" $I $P -o "$TMP/out/.././img.fits" $W
reject model-is-psf psf.fits "input" $I $P -o "$O" -m "$TMP/out/../psf.fits" $W
reject model-under-file /dev/null/m "not a directory" $I $P -o "$O" -m /dev/null/m $W
reject model-is-output frame.fits "same file" $I $P -o "$O" -m "$TMP/out/../out/frame.fits" $W
# a PSF of another camera: refused with both names, accepted with --ignore-camera
edit bcam key PSF CAMERA b0
reject camera img.fits "CAMERA is 'r0' but the PSF .*bcam.fits is for camera 'b0'" \
    $I -p "$TMP/bcam.fits" -o "$O" $W
ok $I -p "$TMP/bcam.fits" -o "$O" $W $B --ignore-camera
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$TMP/ro" && chmod 0555 "$TMP/ro"
    rm -rf "$TMP/out"/*
    reject out-readonly ro/f.fits "not writable" $I $P -o "$TMP/ro/f.fits" $W
    [ -z "$(ls -A "$TMP/ro")" ] || { echo "FAIL: files left in the read-only directory"; fail=1; }
    chmod 0755 "$TMP/ro"
else
    echo "running as root: the chmod 0555 case is not testable (root writes anyway)"
fi
# the inputs are untouched by all this
ok $I $P -o "$O" $W $B
[ $fail -eq 0 ] && echo ok
exit $fail
