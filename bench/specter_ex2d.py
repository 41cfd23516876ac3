#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run specter's ex2d on one preprocessed image as desi_extract_spectra
--use-specter calls it (desispec.scripts.extract._extract_and_save: bundlesize
25, nsubbundles 5, wavesize 50, regularize 0, full_output, psferr from the
PSF, pixpad_frac 0.8, wavepad_frac 0.2, no fiber decorrelation), for
bench/vs_peers.sh. Our own driver: it reads the image as desispec does,
calls specter.extract.ex2d and writes the frame (-o) for `perfex compare`;
desispec's per-frame scores and fibermap are not computed. specter must be on
PYTHONPATH. Before timing anything it checks which BLAS/LAPACK numpy loaded
($PEER_BLAS: openblas, the default, or reference) and stops if it is not that
one. Prints two lines:
  PEER_BLAS <description of the BLAS/LAPACK in use>
  PEER name=specter extract_wall=<s> extract_cpu=<s> nspec=<n> nwave=<n>
where extract_wall and extract_cpu (this process) cover the ex2d call alone.
"""
import argparse
import os
import time

import numpy as np

from peer_common import check_blas, read_preproc, write_frame


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-i", "--input", required=True)
    ap.add_argument("-p", "--psf", required=True)
    ap.add_argument("-o", "--output", help="frame to write (desispec layout)")
    ap.add_argument("-w", "--wavelength", default="5760,7620,0.8")
    ap.add_argument("-s", "--specmin", type=int, default=0)
    ap.add_argument("-n", "--nspec", type=int, default=25)
    args = ap.parse_args()

    print("PEER_BLAS " + check_blas(os.environ.get("PEER_BLAS", "openblas")), flush=True)
    import specter.psf
    from specter.extract import ex2d

    image, ivar = read_preproc(args.input)
    psf = specter.psf.load_psf(args.psf)
    w0, w1, dw = (float(v) for v in args.wavelength.split(","))
    wave = np.arange(w0, w1 + dw / 2, dw)

    t0, c0 = time.perf_counter(), time.process_time()
    res = ex2d(image, ivar, psf, args.specmin, args.nspec, wave, regularize=0.0, ndecorr=False,
               bundlesize=25, wavesize=50, verbose=False, full_output=True, nsubbundles=5,
               psferr=None, wavepad_frac=0.2, pixpad_frac=0.8)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if args.output:
        write_frame(args.output, wave, res["flux"], res["ivar"], res["resolution_data"],
                    res["chi2pix"], args.specmin)
    print("PEER name=specter extract_wall=%.3f extract_cpu=%.3f nspec=%d nwave=%d"
          % (wall, cpu, args.nspec, len(wave)))


if __name__ == "__main__":
    main()
