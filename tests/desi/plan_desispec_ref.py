#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Print desispec.io.findfile and shorten_filename for tests/desi/test_plan.c.

test_plan --make-tree ROOT makes a small production tree (preproc, psf,
psfnight and frame files of seven cameras of one exposure, some .gz, some
not); this script points desispec at it under four environments and prints,
one per line, what desispec.io.findfile gives for the extraction's file types
(inputs readonly, the frame not) and what desispec.io.shorten_filename gives
for a few paths. ROOT is written as $ROOT, so the table holds for any folder.

Reference generator (desispec, desiutil on PYTHONPATH; tests/desi/pystub
stands in for desitarget):
  PYTHONPATH=tests/desi/pystub:/path/to/desispec/py:/path/to/desiutil/py \\
      /usr/bin/python3 tests/desi/plan_desispec_ref.py build/tests/desi/desi_plan \\
      tests/desi/plan_desispec_ref.txt
"""
import os
import subprocess
import sys
import tempfile

import desispec.io.meta as meta
from desispec.io import findfile, shorten_filename

NIGHT, EXPID = 20210101, 1234
CAMERAS = ["b0", "r0", "z0", "b1", "r1", "z1", "r2", "b9"]
ENVS = {
    # name: variables (ROOT substituted)
    "v0": {"SPECPROD": "prod", "DESI_SPECTRO_REDUX": "ROOT/spectro/redux"},
    "v1": {"SPECPROD": "prod", "DESI_SPECTRO_REDUX": "ROOT/spectro/redux/",
           "DESI_COMPRESSION": "NONE"},
    "v2": {"SPECPROD": "prod", "DESI_ROOT": "ROOT", "DESI_ROOT_READONLY": "ROOT/ro"},
    "v3": {"SPECPROD": "ROOT/spectro/redux/prod", "DESI_COMPRESSION": "gzip",
           "DESI_SPECTRO_CALIB": "ROOT/calib"},
}
KEYS = ["SPECPROD", "DESI_SPECTRO_REDUX", "DESI_COMPRESSION", "DESI_ROOT", "DESI_ROOT_READONLY",
        "DESI_SPECTRO_CALIB"]

out = []
with tempfile.TemporaryDirectory() as tmp:
    root = os.path.join(tmp, "t")
    subprocess.run([sys.argv[1], "--make-tree", root], check=True)
    for name, env in ENVS.items():
        for k in KEYS:
            os.environ.pop(k, None)
        for k, v in env.items():
            os.environ[k] = v.replace("ROOT", root)
        meta._desi_root_readonly = None  # desispec caches it per process
        for cam in CAMERAS:
            for ftype, ro in (("preproc", True), ("psf", True), ("psfnight", True),
                              ("frame", False), ("fibermap", True)):
                try:
                    p = findfile(ftype, NIGHT, EXPID, cam, readonly=ro)
                except IOError:
                    p = "ERROR"
                out.append("%s findfile %s %d %d %s %d %s" %
                           (name, ftype, NIGHT, EXPID, cam, int(ro), p.replace(root, "$ROOT")))
        for p in ["ROOT/spectro/redux/prod/exposures/x.fits", "ROOT/ro/spectro/redux/prod/a.fits",
                  "ROOT/calib/psf.fits", "/elsewhere/psf.fits", "ROOT/spectro/redux/prodx/a.fits"]:
            out.append("%s shorten %s %s" % (name, p.replace("ROOT", "$ROOT"),
                                             shorten_filename(p.replace("ROOT", root)).replace(
                                                 root, "$ROOT")))
with open(sys.argv[2], "w") as f:
    f.write("\n".join(out) + "\n")
