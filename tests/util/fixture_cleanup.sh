# SPDX-License-Identifier: BSD-3-Clause
# Fixture cleanup (CTest FIXTURES_CLEANUP synth, shared): removes $FIXTURES
# (400 MB) once every case that uses it has run.
set -eu
rm -rf "${FIXTURES:?}"
