#!/bin/sh
# `cmake --install` into a prefix (the prefix fixture,
# tests/util/fixture_prefix.sh), then perfex imported from there with only
# that prefix on PYTHONPATH and LD_LIBRARY_PATH (no build tree):
# the package's files are where cmake/Python.cmake puts them, and
# test_extract.py --prefix --quick checks that the module, its library and
# the command come from the prefix, __version__, and extract() bit for bit
# and ex2d() within 1e-5 relative against the installed command's frame.
# Args: PYTHON3 LIBDIR PYTHONDIR (relative to the prefix).
set -eu
PY=$1 LIBDIR=$2 PYDIR=$3
"$PY" -c "import numpy, astropy" 2>/dev/null || {
    echo "SKIP: $PY lacks numpy or astropy (python3-numpy, python3-astropy)"; exit 77; }
PREFIX=$FIXTURES/prefix
case $LIBDIR in /*) LIB=$LIBDIR ;; *) LIB=$PREFIX/$LIBDIR ;; esac
for f in "$PREFIX/$PYDIR/perfex/__init__.py" "$PREFIX/$PYDIR/perfex/_lib.py" \
         "$PREFIX/$PYDIR/perfex/_config.py" "$LIB/libperfex.so.0" "$PREFIX/bin/perfex"; do
    [ -f "$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
grep -q '^BUILD_LIBRARY = ""' "$PREFIX/$PYDIR/perfex/_config.py" || {
    echo "FAIL: the installed _config.py names the build tree"; exit 1; }
# the module alone from the prefix: run from $TMP, no build tree on any path
cd "$TMP"
env -u PERFEX_LIBRARY PYTHONPATH="$PREFIX/$PYDIR" LD_LIBRARY_PATH="$LIB" \
    PERFEX="$PREFIX/bin/perfex" "$PY" "$SRC/tests/python/test_extract.py" --prefix "$PREFIX" --quick
