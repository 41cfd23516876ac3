# SPDX-License-Identifier: BSD-3-Clause
# Fixture (CTest FIXTURES_SETUP prefix): `cmake --install` of this build into
# $FIXTURES/prefix, once, for the cases that check what an installation
# gives users (python_install, install_c_program); they only read it. One
# install also keeps two `cmake --install` runs from writing the build's
# install_manifest.txt at once.
set -eu
BUILD=$(dirname "$PERFEX")
PREFIX=$FIXTURES/prefix
rm -rf "$PREFIX"
mkdir -p "$FIXTURES"
cmake --install "$BUILD" --prefix "$PREFIX" > "$TMP/install.log" 2>&1 || {
    cat "$TMP/install.log"; echo "FAIL: cmake --install"; exit 1; }
echo "installed into $PREFIX: $(grep -c Installing "$TMP/install.log") files"
