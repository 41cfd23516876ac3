#!/bin/sh
# `perfex plan` on the fake production tree of test_plan (argument 1, the
# desi_plan program, makes it): the plan lines (3 cameras of 7), the skipped
# cameras as comments, -o written atomically with one line on stderr, the
# environment's production, and clear errors (missing -n/-e, an ARC
# exposure, a production without the exposure, a bad --psf).
set -u
MAKE=$1
fail=0
check() { if ! eval "$1"; then echo "FAILED: $2"; fail=1; fi; }
"$MAKE" --make-tree "$TMP/t" || { echo "FAILED: making the tree"; exit 1; }
PROD=$TMP/t/spectro/redux/prod

out=$("$PERFEX" plan -n 20210101 -e 1234 --specprod-dir "$PROD" 2>"$TMP/err")
check "[ \$? -eq 0 ]" "plan failed: $(cat "$TMP/err")"
echo "$out" > "$TMP/plan"
check "[ \$(grep -vc '^#' '$TMP/plan') -eq 3 ]" "not 3 plan lines: $out"
check "[ \$(grep -c '^# [brz][0-9]: ' '$TMP/plan') -eq 5 ]" "not 5 camera comments: $out"
check "grep -q 'preproc-r0-00001234.fits .*psf-r0-00001234.fits .*frame-r0-00001234-no-badcolumn-mask.fits.gz -w 5760.0,7620.0,0.8 --psferr 0.01 --barycentric-correction\$' '$TMP/plan'" "r0 line: $out"
check "grep -q 'psfnight-z0-20210101.fits' '$TMP/plan'" "z0 takes the nightly PSF"
# Every plan line has INPUT PSF OUTPUT and flags (the --plan format).
check "[ -z \"\$(grep -v '^#' '$TMP/plan' | awk 'NF < 3')\" ]" "short plan line"

# -o: the file, no temporary left, one line on stderr; the environment's production.
SPECPROD=prod DESI_SPECTRO_REDUX=$TMP/t/spectro/redux "$PERFEX" plan -n 20210101 -e 1234 -o "$TMP/p2" 2>"$TMP/err"
check "[ \$? -eq 0 ] && cmp -s '$TMP/plan' '$TMP/p2'" "-o with \$SPECPROD: $(cat "$TMP/err")"
check "grep -q '^perfex plan: .*p2: 3 of 7 cameras to extract' '$TMP/err'" "stderr: $(cat "$TMP/err")"
check "[ -z \"\$(ls '$TMP' | grep tmp)\" ]" "temporary file left: $(ls "$TMP")"
out=$("$PERFEX" plan -n 20210101 -e 1234 --specprod-dir "$PROD" --no-barycentric-correction --cameras r0)
check "echo '$out' | grep -q -- '--psferr 0.01\$'" "--no-barycentric-correction: $out"

"$PERFEX" plan -e 1234 --specprod-dir "$PROD" >/dev/null 2>&1
check "[ \$? -eq 2 ]" "missing -n not a usage error"
err=$("$PERFEX" plan -n 20210101 -e 1234 --specprod-dir "$PROD" --obstype ARC 2>&1)
check "[ \$? -eq 1 ] && echo '$err' | grep -q '^perfex: .*ARC'" "ARC: $err"
err=$("$PERFEX" plan -n 20210101 -e 99 --specprod-dir "$PROD" 2>&1)
check "[ \$? -eq 1 ] && echo '$err' | grep -q '^perfex: .*00000099: no preproc'" "no exposure: $err"
err=$(env -u SPECPROD "$PERFEX" plan -n 20210101 -e 1234 2>&1)
check "[ \$? -eq 1 ] && echo '$err' | grep -q 'SPECPROD'" "no production: $err"
"$PERFEX" plan -n 20210101 -e 1234 --specprod-dir "$PROD" --psf best >/dev/null 2>&1
check "[ \$? -eq 2 ]" "--psf best accepted"
exit $fail
