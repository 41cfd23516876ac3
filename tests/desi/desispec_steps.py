#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""desispec's next production steps on a perfex frame (tests/desi/desispec_steps.sh).

  desispec_steps.py FRAME PSF PREPROC

Runs, with desispec from its sources (PYTHONPATH; tests/desi/pystub stands in
for desitarget):
  1. desispec.io.read_frame: the FIBERMAP, FIBER numbers (the fibermap's),
     SCORES, BAD2DFIT bits, the header (HELIOCOR, ORIG_PSF, DEPNAM perfex);
  2. desispec.sky.compute_sky on the SKY fibers (OBJTYPE), which needs the
     frame's RESOLUTION, IVAR, MASK and FIBERSTATUS;
  3. desispec.badcolumn.add_badcolumn_mask with desispec.io.read_xytraceset of
     the PSF and a bad column under one fiber's trace: it must flag that
     fiber's bins BADCOLUMN and set FIBERSTATUS BADAMPR/Z as desispec does;
  4. desispec.io.read_frame_as_spectra (NIGHT, EXPID, TILEID from the header);
  5. desispec.io.read_image and read_fibermap on the preproc.
Prints one line per step with what it found; exits 1 on the first failure.
"""
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
from astropy.table import Table  # noqa: E402

import desispec.io  # noqa: E402
from desispec.io import read_frame, read_image, read_fibermap, read_xytraceset  # noqa: E402
from desispec.io.spectra import read_frame_as_spectra  # noqa: E402
from desispec.sky import compute_sky  # noqa: E402
from desispec.badcolumn import add_badcolumn_mask  # noqa: E402
from desispec.maskbits import specmask, fibermask  # noqa: E402
from desiutil.depend import getdep  # noqa: E402

frame_path, psf_path, preproc_path = sys.argv[1:4]
ok = True


def check(cond, what):
    global ok
    if not cond:
        print("FAILED:", what)
        ok = False


fr = read_frame(frame_path)
fm = fr.fibermap
check(fm is not None, "read_frame: no fibermap")
check(np.array_equal(fr.fibers, fm["FIBER"]), "fibers are not the fibermap's FIBER")
check(fr.fibers[0] == 500 + fr.meta["SPECMIN"], "first fiber %d, SPECMIN %d" % (fr.fibers[0], fr.meta["SPECMIN"]))
check(fr.scores is not None and "MEDIAN_RAW_SNR_R" in fr.scores.dtype.names, "no SCORES")
check(getdep(fr.meta, "perfex") is not None, "no DEPNAM perfex")
print("read_frame: %d spectra x %d bins, fibers %d-%d, %d SKY fibers, SCORES %s, "
      "BAD2DFIT bins %d, HELIOCOR %s, perfex %s" %
      (fr.nspec, fr.nwave, fr.fibers[0], fr.fibers[-1], np.sum(fm["OBJTYPE"] == "SKY"),
       ",".join(fr.scores.dtype.names), np.sum((fr.mask & specmask.BAD2DFIT) != 0),
       fr.meta.get("HELIOCOR"), getdep(fr.meta, "perfex")))

sky = compute_sky(fr)
good = sky.ivar > 0
check(np.all(np.isfinite(sky.flux)) and np.mean(good) > 0.5, "compute_sky: bad model")
print("compute_sky: sky model %d x %d, %.1f%% of bins with ivar > 0, median sky %.2f "
      "electron/A" % (sky.flux.shape[0], sky.flux.shape[1], 100 * np.mean(good),
                      np.median(sky.flux[good])))

fr = read_frame(frame_path)
xyset = read_xytraceset(psf_path)
fiber = fr.nspec // 2
xcol = float(np.median(xyset.x_vs_wave(fiber, fr.wave)))
bad = Table({"COLUMN": [int(round(xcol))], "ELEC_PER_SEC": [0.5]})
before = fr.fibermap["FIBERSTATUS"].copy()
add_badcolumn_mask(fr, xyset, bad)
nbad = np.sum((fr.mask[fiber] & specmask.BADCOLUMN) != 0)
camera_bit = fibermask["BADAMP" + fr.meta["CAMERA"][0].upper()]
check(nbad > 0, "add_badcolumn_mask: no BADCOLUMN on fiber %d" % fiber)
print("add_badcolumn_mask: column %d (fiber %d): %d BADCOLUMN bins on it, %d in the frame, "
      "%d fibers got BADAMP%s" % (int(round(xcol)), fiber, nbad,
                                  np.sum((fr.mask & specmask.BADCOLUMN) != 0),
                                  np.sum((fr.fibermap["FIBERSTATUS"] & camera_bit) != 0) -
                                  np.sum((before & camera_bit) != 0),
                                  fr.meta["CAMERA"][0].upper()))

sp = read_frame_as_spectra(frame_path)
band = list(sp.bands)[0]
check(sp.num_spectra() == fr.nspec, "read_frame_as_spectra: %d spectra" % sp.num_spectra())
print("read_frame_as_spectra: %d spectra, band %s, %d bins, NIGHT %d EXPID %d TILEID %d" %
      (sp.num_spectra(), band, sp.wave[band].size, sp.fibermap["NIGHT"][0],
       sp.fibermap["EXPID"][0], sp.fibermap["TILEID"][0]))

img = read_image(preproc_path)
pfm = read_fibermap(preproc_path)
check(img.camera == fr.meta["CAMERA"], "read_image: camera %s" % img.camera)
print("read_image: %s %dx%d, readnoise %s, mask %s; read_fibermap: %d rows, %d SKY" %
      (img.camera, img.pix.shape[1], img.pix.shape[0],
       "per pixel" if np.ndim(img.readnoise) else img.readnoise, img.mask.dtype, len(pfm),
       np.sum(pfm["OBJTYPE"] == "SKY")))
sys.exit(0 if ok else 1)
