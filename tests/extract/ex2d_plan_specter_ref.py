#!/usr/bin/python3
"""Record specter's ex2d decomposition for tests/extract/test_ex2d_plan.c.

Reference generator (needs specter, numpy, scipy, astropy, numba): runs
specter's ex2d with ex2d_patch replaced by a recorder that returns zeros, so
only the decomposition runs, and prints for each configuration a line
  CONFIG psf wmin,wmax,dw specmin nspec bundlesize nsubbundles nwavestep pixpad wavepad [YRANGE y0 y1]
  NDIAG ndiag nwave npatch
then one line per ex2d_patch call in call order:
  speclo nspec nwave first_wavelength last_wavelength xmin xmax ymin ymax
  PYTHONPATH=/path/to/specter/py /usr/bin/python3 tests/extract/ex2d_plan_specter_ref.py > tests/extract/ex2d_plan_specter_ref.txt
"""
import sys
import numpy as np
import specter.extract.ex2d  # noqa: F401  (the module, not the function)
from specter.psf import load_psf

EX = sys.modules["specter.extract.ex2d"]
DATA = "../shared/data/"
CONFIGS = [
    ("psf-r0-00051060.fits", "5760,7620,0.8", 0, 25, 25, 5, 50, 0.8, 0.2),
    ("psf-r0-00051060.fits", "5760,7620,0.8", 13, 30, 25, 4, 50, 0.8, 0.2),
    ("psf-r0-00051060.fits", "5609,7735,1.0", 470, 30, 25, 7, 40, 0.5, 0.3),
    ("psf-r0-00051060.fits", "5760,7620,2.0", 100, 25, 25, 5, 50, 0.8, 0.2),
    ("psf-gausshermite-v2.fits", "5580,7745,0.7", 3, 20, 8, 3, 37, 0.8, 0.2),
]
# ex2d's xyrange: the image is a cutout of rows y0..y1 (every column), and the
# patches' boxes are cut to those rows; rows a few pixels inside the traces of
# the grid's first and last wavelengths, so that the cut binds.
XYRANGE_CONFIGS = [
    (("psf-r0-00051060.fits", "6100,6300,0.8", 5, 20, 10, 3, 50, 0.8, 0.2), (6100, 6300, 12)),
    (("psf-gausshermite-v2.fits", "6000,6400,0.7", 0, 12, 12, 2, 40, 0.8, 0.2), (6000, 6400, 20)),
]


def record(cfg, cut=None):
    name, wr, specmin, nspec, bsize, nsub, nstep, pixpad, wavepad = cfg
    psf = load_psf(DATA + name)
    wmin, wmax, dw = [float(v) for v in wr.split(",")]
    xyrange = None
    if cut is not None:
        w_lo, w_hi, inside = cut
        y0 = int(round(psf.y(specmin, w_lo))) + inside
        y1 = int(round(psf.y(specmin, w_hi))) - inside
        xyrange = [0, psf.npix_x, y0, y1]
    wave = np.arange(wmin, wmax + dw / 2, dw)
    calls = []

    def recorder(image, ivar, psf, specmin, nspec, wavelengths, xyrange=None, **kw):
        calls.append((specmin, nspec, wavelengths.copy(), list(xyrange)))
        nw = len(wavelengths)
        return dict(flux=np.zeros((nspec, nw)), ivar=np.zeros((nspec, nw)),
                    R=np.zeros((nspec * nw, nspec * nw)))

    EX.ex2d_patch = recorder
    shape = (psf.npix_y, psf.npix_x) if xyrange is None else (y1 - y0, psf.npix_x)
    img = np.zeros(shape)
    _, _, rd = EX.ex2d(img, np.ones_like(img), psf, specmin, nspec, wave, xyrange=xyrange,
                       bundlesize=bsize, nsubbundles=nsub, wavesize=nstep, pixpad_frac=pixpad,
                       wavepad_frac=wavepad)
    extra = "" if xyrange is None else " YRANGE %d %d" % (y0, y1)
    print("CONFIG %s %s %d %d %d %d %d %g %g" % cfg + extra)
    print("NDIAG %d %d %d" % ((rd.shape[1] - 1) // 2, len(wave), len(calls)))
    for s, n, ww, xy in calls:
        print("%d %d %d %.17g %.17g %d %d %d %d" % (s, n, len(ww), ww[0], ww[-1], *xy))


for c in CONFIGS:
    record(c)
for c, cut in XYRANGE_CONFIGS:
    record(c, cut)
