#!/usr/bin/python3
"""Time specter's ex2d on one preprocessed image, as desi_extract_spectra
calls it (bundlesize 25, nsubbundles 5, wavesize 50, full_output, psferr
from the PSF), for bench/vs_specter.sh. Our own driver: it only calls
specter.extract.ex2d; specter itself must be on PYTHONPATH (see
docs/benchmarks.md). Prints one line:
  SPECTER wall=<s> cpu=<s> nspec=<n> nwave=<n>
where wall and cpu (this process) cover the ex2d call only, not the reading.
"""
import argparse
import time

import numpy as np
from astropy.io import fits

import specter.psf
from specter.extract import ex2d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-i", "--input", required=True)
    ap.add_argument("-p", "--psf", required=True)
    ap.add_argument("-w", "--wavelength", default="5760,7620,0.8")
    ap.add_argument("-s", "--specmin", type=int, default=0)
    ap.add_argument("-n", "--nspec", type=int, default=25)
    args = ap.parse_args()

    with fits.open(args.input) as hdus:
        image = hdus["IMAGE"].data.astype(np.float64) if "IMAGE" in hdus else hdus[0].data
        image = np.asarray(image, dtype=np.float64)
        ivar = np.asarray(hdus["IVAR"].data, dtype=np.float64)
        mask = np.asarray(hdus["MASK"].data) if "MASK" in hdus else np.zeros(ivar.shape, int)
    # the pixel-weight rule of perfex (and desispec's preproc bad bits)
    bad = ((mask & 0x2FF) != 0) | ~np.isfinite(image) | ~np.isfinite(ivar) | (ivar <= 0)
    ivar = np.where(bad, 0.0, ivar)
    image = np.where(bad, 0.0, image)

    psf = specter.psf.load_psf(args.psf)
    w0, w1, dw = (float(v) for v in args.wavelength.split(","))
    wave = np.arange(w0, w1 + dw / 2, dw)

    t0, c0 = time.perf_counter(), time.process_time()
    ex2d(image, ivar, psf, args.specmin, args.nspec, wave, bundlesize=25, nsubbundles=5,
         wavesize=50, full_output=True, regularize=0.0, pixpad_frac=0.8, wavepad_frac=0.2)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print("SPECTER wall=%.3f cpu=%.3f nspec=%d nwave=%d" % (wall, cpu, args.nspec, len(wave)))


if __name__ == "__main__":
    main()
