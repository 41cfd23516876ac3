# Device faults injected with PERFEX_FAULT (host/clwrap.c) into `perfex psf
# spots` on a synthetic 2-fiber PSF: each of alloc:1, launch:1, lost:1 must
# end with exit 1, one line on stderr "perfex: ..." naming the OpenCL error
# and `--device-type cpu`, and no output file (temporary ones included). The
# control run without a fault, and one whose fault is never reached, must
# write the same bytes. $1: the test_faults program (table writer).
set -u
T=$1
fail=0
check() { if ! eval "$1"; then echo "FAILED: $2"; fail=1; fi; }
"$PERFEX" psf synth --fibers 2 -o "$TMP/psf.fits" > /dev/null || { echo "FAILED: psf synth"; exit 1; }
"$T" table "$TMP/at.fits" || { echo "FAILED: table"; exit 1; }

unset PERFEX_FAULT
"$PERFEX" psf spots "$TMP/psf.fits" --at "$TMP/at.fits" -o "$TMP/ok.fits"
check "[ \$? -eq 0 ] && [ -s '$TMP/ok.fits' ]" "control run wrote no output"
PERFEX_FAULT=alloc:1000,launch:1000 "$PERFEX" psf spots "$TMP/psf.fits" --at "$TMP/at.fits" \
    -o "$TMP/late.fits"
check "cmp -s '$TMP/ok.fits' '$TMP/late.fits'" "a fault never reached changed the output"

for spec in "alloc:1 CL_MEM_OBJECT_ALLOCATION_FAILURE" "launch:1 CL_OUT_OF_RESOURCES" \
    "lost:1 CL_DEVICE_NOT_AVAILABLE" "alloc:3 CL_MEM_OBJECT_ALLOCATION_FAILURE" \
    "launch:2 CL_OUT_OF_RESOURCES" "lost:5 CL_DEVICE_NOT_AVAILABLE"; do
    set -- $spec
    rm -f "$TMP/out.fits"
    PERFEX_FAULT=$1 "$PERFEX" psf spots "$TMP/psf.fits" --at "$TMP/at.fits" -o "$TMP/out.fits" \
        2> "$TMP/err"
    rc=$?
    echo "$1: exit $rc: $(cat "$TMP/err")"
    check "[ $rc -eq 1 ]" "$1: exit $rc, expected 1"
    check "[ \$(wc -l < '$TMP/err') -eq 1 ]" "$1: not one line on stderr"
    check "grep -q '^perfex: .*$2.*--device-type cpu' '$TMP/err'" "$1: message lacks $2 or --device-type cpu"
    check "[ ! -e '$TMP/out.fits' ]" "$1: output written"
    check "! ls '$TMP' | grep -q 'out.fits.tmp'" "$1: temporary file left"
done
[ $fail -eq 0 ] && echo ok
exit $fail
