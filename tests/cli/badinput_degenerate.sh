# perfex extract on degenerate but valid data (issue 7): the frame is written
# and holds no NaN or Inf anywhere (badinput_tool check), fibers with no
# usable pixel carry ivar 0 everywhere, the others keep ivar > 0, and a bad
# pixel counts exactly as a masked one: NaN/Inf in IMAGE, NaN/Inf/negative
# IVAR and a bad MASK bit give the frame of IVAR 0 there, bit for bit.
# Inputs: a 10-fiber synthetic PSF on a CCD cut to 230 x 1400 pixels (fibers
# at x 148..213, the 6000-6100 A grid at y ~ 800) so that images are small,
# and a simulated image of it.
# $1: the badinput_tool program.
set -u
T=$1
fail=0
W="-w 6000,6100,0.8"
# No SKY fibers (perfex simulate gives them the sky alone): the truth-chi
# checks below were sized on images with a target in every fiber.
S="--sky-every 0"
X="$W --bundlesize 5 --nsubbundles 2 --quiet"
"$PERFEX" psf synth --fibers 10 -o "$TMP/psf.fits" > /dev/null || { echo "FAIL: psf synth"; exit 1; }
"$T" key "$TMP/psf.fits" PSF NPIX_X 230 && "$T" key "$TMP/psf.fits" PSF NPIX_Y 1400 ||
    { echo "FAIL: editing the PSF"; exit 1; }
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/img.fits" $W $S --quiet || { echo "FAIL: simulate"; exit 1; }

# run NAME CHECK-ARGS... with $TMP/$NAME.fits the input: extract it to
# $TMP/f-$NAME.fits and check the frame.
run() {
    n=$1
    shift
    if ! "$PERFEX" extract -i "$TMP/$n.fits" -p "${PSF:-$TMP/psf.fits}" -o "$TMP/f-$n.fits" \
        ${GRID:-$X} 2> "$TMP/err"; then
        echo "FAIL: $n: extract failed: $(cat "$TMP/err")"
        fail=1
        return
    fi
    echo "$n:"
    "$T" check "$TMP/f-$n.fits" "$@" || { echo "FAIL: $n: bad frame"; fail=1; }
}
# edit NAME HDU X0 X1 Y0 Y1 VALUE [HDU X0 X1 Y0 Y1 VALUE ...]: $TMP/NAME.fits
# is the image with those rectangles set.
edit() {
    n=$1
    shift
    cp "$TMP/img.fits" "$TMP/$n.fits"
    while [ $# -ge 6 ]; do
        "$T" rect "$TMP/$n.fits" "$1" "$2" "$3" "$4" "$5" "$6" ||
            { echo "FAIL: rect $*"; fail=1; }
        shift 6
    done
}
same() {
    "$T" same "$TMP/f-$1.fits" "$TMP/f-$2.fits" > "$TMP/same" ||
        { cat "$TMP/same"; echo "FAIL: $1 differs from $2"; fail=1; }
}
ALL="+0 +1 +2 +3 +4 +5 +6 +7 +8 +9"
cp "$TMP/img.fits" "$TMP/base.fits"
run base $ALL

# fiber 3 without a usable pixel: IVAR 0 and a bad MASK bit over its trace;
# its bins get ivar 0 and ALLBADPIX
x3=$("$T" trace "$TMP/psf.fits" 3 6050 | cut -d' ' -f1)
xa=$(printf '%.0f' "$x3")
edit fiber3 IVAR $((xa - 10)) $((xa + 11)) 0 1400 0 MASK $((xa - 10)) $((xa + 11)) 0 1400 1
run fiber3 3 !3 +0 +9
# a band across every fiber at y 790..830 (the middle of the grid)
edit band IVAR 0 230 790 830 0
run band $ALL
# bad values in a band y 700..720 across all fibers equal IVAR 0 there
edit ivar0 IVAR 0 230 700 720 0
run ivar0 $ALL
for v in nan inf -inf; do
    edit image$v IMAGE 0 230 700 720 $v
    run image$v $ALL
    same image$v ivar0
    edit ivar$v IVAR 0 230 700 720 $v
    run ivar$v $ALL
    same ivar$v ivar0
done
edit ivarneg IVAR 0 230 700 720 -1
run ivarneg $ALL
same ivarneg ivar0
edit maskbad MASK 0 230 700 720 1
run maskbad $ALL
same maskbad ivar0
# huge values: 1e30 on a fiber's pixels, and the whole image at 1e30
edit huge IMAGE $((xa - 2)) $((xa + 3)) 750 780 1e30
run huge $ALL
edit allhuge IMAGE 0 230 0 1400 1e30
run allhuge $ALL
# an all-zero image: ivar does not depend on the pixel values
edit zero IMAGE 0 230 0 1400 0
run zero $ALL
"$T" same "$TMP/f-zero.fits" "$TMP/f-base.fits" IVAR RESOLUTION MASK > "$TMP/same" ||
    { cat "$TMP/same"; echo "FAIL: zero image changed IVAR/RESOLUTION/MASK"; fail=1; }
# an image without any usable pixel
edit nothing IVAR 0 230 0 1400 0
run nothing 0 1 2 3 4 5 6 7 8 9 !0 !5 !9

# the grid runs off the CCD (y < 0 below ~5625 A) and past the Legendre
# domain (below 5546 A), on an image simulated over the whole CCD
"$PERFEX" simulate -p "$TMP/psf.fits" -o "$TMP/full.fits" $S --quiet || { echo "FAIL: simulate"; fail=1; }
GRID="-w 5500,5700,1 --nsubbundles 2 --quiet" run full $ALL
GRID="-w 4000,5700,5 --nsubbundles 2 --quiet" run full $ALL

# fibers whose trace leaves the CCD in x: the CCD cut to 200 columns leaves
# fibers 8 and 9 (x 206, 213) outside and fiber 7 (x 198) half outside; the
# fibers on the CCD of the same patch keep their ivar (a patch holding
# fibers 5-9 once stretched over every CCD row and lost them all)
cp "$TMP/psf.fits" "$TMP/psf200.fits"
"$T" key "$TMP/psf200.fits" PSF NPIX_X 200 || fail=1
"$PERFEX" simulate -p "$TMP/psf200.fits" -o "$TMP/img200.fits" $W $S --quiet ||
    { echo "FAIL: simulate with fibers off the CCD"; fail=1; }
PSF=$TMP/psf200.fits run img200 8 9 +0 +5 +6 +7
PSF=$TMP/psf200.fits GRID="$W --bundlesize 5 --nsubbundles 1 --quiet" run img200 8 9 +0 +5 +6 +7
PSF=$TMP/psf200.fits GRID="$W -s 5 -n 5 --nsubbundles 1 --quiet" run img200 3 4 +0 +1 +2
# and off the left edge: fiber 0 moved to x ~ -28 (outside) and to x ~ 2
# (half its spot outside; its flux must still agree with the simulated truth)
for c in -30 0; do
    cp "$TMP/psf.fits" "$TMP/left$c.fits"
    "$T" rect "$TMP/left$c.fits" XTRACE 0 1 0 1 $c || fail=1
    "$PERFEX" simulate -p "$TMP/left$c.fits" -o "$TMP/imgleft$c.fits" $W $S --quiet ||
        { echo "FAIL: simulate with fiber 0 at the left edge"; fail=1; }
done
PSF=$TMP/left-30.fits run imgleft-30 0 +1 +9
# the others keep the resolution width of the intact PSF (a spot size taken
# from fiber 0 off the CCD once made it NDIAG 0) and agree with the truth
nd0=$(grep -a -o "NDIAG   = *[0-9]*" "$TMP/f-base.fits" | tr -dc 0-9)
nd1=$(grep -a -o "NDIAG   = *[0-9]*" "$TMP/f-imgleft-30.fits" | tr -dc 0-9)
echo "NDIAG: intact PSF $nd0, fiber 0 off the CCD $nd1"
[ -n "$nd0" ] && [ "$nd0" -gt 0 ] && [ "$nd0" = "$nd1" ] || { echo "FAIL: NDIAG $nd1, want $nd0"; fail=1; }
"$PERFEX" compare "$TMP/f-imgleft-30.fits" --truth "$TMP/imgleft-30.fits" > "$TMP/truth" ||
    { cat "$TMP/truth"; echo "FAIL: fiber 0 off the CCD: the others disagree with the truth"; fail=1; }
PSF=$TMP/left0.fits run imgleft0 $ALL
"$PERFEX" compare "$TMP/f-imgleft0.fits" --truth "$TMP/imgleft0.fits" > "$TMP/truth" ||
    { cat "$TMP/truth"; echo "FAIL: fiber half off the CCD: flux disagrees with the truth"; fail=1; }
"$PERFEX" compare "$TMP/f-base.fits" --truth "$TMP/img.fits" > "$TMP/truth" ||
    { cat "$TMP/truth"; echo "FAIL: base frame disagrees with the truth"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
