#!/bin/sh
# Args: DIR (tests/install) LIBDIR (relative to the prefix, or absolute) CC
# BADINPUT_TOOL.
# With the build installed into a prefix (the prefix fixture,
# tests/util/fixture_prefix.sh), makes a small PSF (its CCD cut to 230
# columns with badinput_tool, so that images are 12 MB, not 200) and preproc
# with the installed command, and checks: hello.c built with pkg-config and
# with find_package(perfex) runs and equals the command's frame; `nm -D
# --defined-only` of the installed libperfex.so lists exactly the functions
# the installed headers declare with PX_API.
set -eu
DIR=$1 LIBDIR=$2 CC=$3 T=$4
PREFIX=$FIXTURES/prefix
fail() { echo "FAIL: $*"; exit 1; }
for t in pkg-config nm; do
    command -v $t >/dev/null || { echo "SKIP: $t not found"; exit 77; }
done
[ -x "$PREFIX/bin/perfex" ] || fail "$PREFIX/bin/perfex missing (made by the case util_fixture_prefix)"
case $LIBDIR in /*) LIB=$LIBDIR ;; *) LIB=$PREFIX/$LIBDIR ;; esac
PX=$PREFIX/bin/perfex
"$PX" psf synth -o "$TMP/psf.fits" --fibers 10 --seed 4 > /dev/null
"$T" key "$TMP/psf.fits" PSF NPIX_X 230
"$PX" simulate -p "$TMP/psf.fits" -o "$TMP/img.fits" -w 6000,6100,0.8 -n 5 --cosmics 2 --quiet
"$PX" extract -i "$TMP/img.fits" -p "$TMP/psf.fits" -w 6000,6100,0.8 -n 5 -o "$TMP/frame.fits" \
    --quiet

# pkg-config
export PKG_CONFIG_PATH="$LIB/pkgconfig"
[ "$(pkg-config --modversion perfex)" = "$("$PX" --version | cut -d' ' -f2)" ] ||
    fail "pkg-config --modversion perfex: $(pkg-config --modversion perfex)"
# shellcheck disable=SC2046
"$CC" -std=c11 -Wall -Wextra -Werror "$DIR/hello.c" -o "$TMP/hello_pc" \
    $(pkg-config --cflags --libs perfex) || fail "build with pkg-config --cflags --libs perfex"
LD_LIBRARY_PATH=$LIB "$TMP/hello_pc" "$TMP/img.fits" "$TMP/psf.fits" "$TMP/frame.fits" ||
    fail "the pkg-config build"
LD_LIBRARY_PATH=$LIB ldd "$TMP/hello_pc" | grep -q "$LIB/libperfex.so" || fail "hello_pc does not load $LIB's library"

# find_package(perfex)
cmake -S "$DIR/project" -B "$TMP/project" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_C_COMPILER="$CC" > "$TMP/project.log" 2>&1 || {
    cat "$TMP/project.log"; fail "find_package(perfex) project configure"; }
cmake --build "$TMP/project" > "$TMP/project-build.log" 2>&1 || {
    cat "$TMP/project-build.log"; fail "find_package(perfex) project build"; }
"$TMP/project/hello" "$TMP/img.fits" "$TMP/psf.fits" "$TMP/frame.fits" ||
    fail "the find_package build"

# exported symbols = PX_API declarations of the installed headers
cat "$PREFIX"/include/perfex/*.h | tr '\n' ' ' | grep -o 'PX_API[^;]*;' | sed 's/(.*//' |
    grep -o 'px_[a-z0-9_]*$' | sort -u > "$TMP/declared"
nm -D --defined-only "$LIB/libperfex.so.0" | awk '{print $3}' | sort -u > "$TMP/exported"
[ -s "$TMP/declared" ] || fail "no PX_API declaration found in $PREFIX/include/perfex"
if ! diff "$TMP/declared" "$TMP/exported" > "$TMP/sym.diff"; then
    sed 's/^</declared, not exported:/; s/^>/exported, not declared:/' "$TMP/sym.diff" | grep ':'
    fail "libperfex.so's dynamic symbols differ from the PX_API declarations"
fi
echo "libperfex.so exports the $(wc -l < "$TMP/exported") PX_API functions and nothing else"
echo "ok"
