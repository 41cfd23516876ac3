# SPDX-License-Identifier: BSD-3-Clause
# Fixture cleanup (CTest FIXTURES_CLEANUP synth, shared, prefix): removes
# $FIXTURES (about 450 MB) once every case that uses it has run.
set -eu
rm -rf "${FIXTURES:?}"
