#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run gpu_specter's extract_frame in CPU mode on one preprocessed image as
desi_extract_spectra's default path calls it (desispec.scripts.extract.
main_gpu_specter without --mpi and without a GPU: a NoMPIIOCoordinator, so
comm None; use_gpu False; bundlesize 25, nsubbundles 5, nwavestep 50,
regularize 0, psferr from the PSF, wavepad_frac 0.2, pixpad_frac 0.8, no
model image), for bench/vs_peers.sh. Our own driver: it reads the image as
desispec does, calls gpu_specter.core.extract_frame and writes the frame (-o)
for `perfex compare`; desispec's per-frame scores and fibermap are not
computed. gpu_specter (and numba, which its CPU kernels need) must be
importable. Before timing anything it checks which BLAS/LAPACK numpy loaded
($PEER_BLAS: openblas, the default, or reference) and stops if it is not that
one. Prints two lines:
  PEER_BLAS <description of the BLAS/LAPACK in use>
  PEER name=gpu_specter extract_wall=<s> extract_cpu=<s> nspec=<n> nwave=<n>
where extract_wall and extract_cpu (this process) cover the extract_frame
call alone (numba's compilation of the kernels, done on their first call,
included: every desi_extract_spectra process pays it once). With --warmup,
extract_frame runs once untimed first, so that the timed call leaves the
compilation out (what a process pays for each further bundle).
"""
import argparse
import os
import time

from peer_common import check_blas, read_preproc, write_frame


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-i", "--input", required=True)
    ap.add_argument("-p", "--psf", required=True)
    ap.add_argument("-o", "--output", help="frame to write (desispec layout)")
    ap.add_argument("-w", "--wavelength", default="5760,7620,0.8")
    ap.add_argument("-s", "--specmin", type=int, default=0)
    ap.add_argument("-n", "--nspec", type=int, default=25)
    ap.add_argument("--warmup", action="store_true", help="one untimed extract_frame first")
    args = ap.parse_args()

    print("PEER_BLAS " + check_blas(os.environ.get("PEER_BLAS", "openblas")), flush=True)
    import gpu_specter.core
    import gpu_specter.io
    import gpu_specter.mpi

    coordinator = gpu_specter.mpi.NoMPIIOCoordinator()

    def read_and_prepare_inputs():
        image, ivar = read_preproc(args.input)
        psf = gpu_specter.io.read_psf(args.psf)
        wmin, wmax, dw = map(float, args.wavelength.split(","))
        return {"image": image, "ivar": ivar}, psf, (wmin, wmax, dw)

    image, psf, wavelength = coordinator.read(read_and_prepare_inputs, (None, None, None))
    timing = dict()

    def extract_frame():
        return gpu_specter.core.extract_frame(
            image, psf, 25, args.specmin, args.nspec, wavelength, 50, 5, None, 0.0, None,
            coordinator.work_comm, False, loglevel=None, timing=timing, wavepad_frac=0.2,
            pixpad_frac=0.8)

    if args.warmup:
        coordinator.process(extract_frame, None)
    t0, c0 = time.perf_counter(), time.process_time()
    result = coordinator.process(extract_frame, None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if args.output:
        write_frame(args.output, result["wave"], result["specflux"], result["specivar"],
                    result["Rdiags"], result["chi2pix"], args.specmin)
    print("PEER name=gpu_specter extract_wall=%.3f extract_cpu=%.3f nspec=%d nwave=%d"
          % (wall, cpu, args.nspec, len(result["wave"])))


if __name__ == "__main__":
    main()
