# SPDX-License-Identifier: BSD-3-Clause
"""What bench/specter_ex2d.py and bench/gpu_specter_extract.py share: reading
a preprocessed image the way desi_extract_spectra does, checking which
BLAS/LAPACK numpy and scipy really loaded (the peers' speed depends on it),
and writing the extracted frame in desispec's layout so that `perfex compare`
can check that the peer did the same work as perfex.
"""
import ctypes
import os
import sys

import numpy as np
from astropy.io import fits

# desispec.maskbits.extractmaskval: BAD|HOT|DEAD|SATURATED|COSMIC|PIXFLATZERO|
# PIXFLATLOW|HIGHVAR|BADAMP (bits 0-7 and 9; BADREADNOISE, bit 8, stays in).
EXTRACTMASKVAL = 0x2FF

# shared libraries that provide BLAS or LAPACK (not their Python wrappers)
BLAS_LIBS = ("libblas", "libcblas", "liblapack", "libopenblas")


def read_preproc(path):
    """IMAGE and the weights desi_extract_spectra extracts with:
    IVAR * ((MASK & extractmaskval) == 0), as desispec.io.read_image reads them
    (astropy, no memory map, float64 pixels, uint16 mask)."""
    with fits.open(path, uint=True, memmap=False) as hdus:
        image = np.asarray(hdus["IMAGE"].data, dtype=np.float64)
        ivar = np.asarray(hdus["IVAR"].data, dtype=np.float64)
        mask = np.asarray(hdus["MASK"].data).astype(np.uint16)
    return image, ivar * ((mask & EXTRACTMASKVAL) == 0)


def _mapped_libraries():
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and parts[5].startswith("/"):
                libs.add(parts[5])
    return libs


def check_blas(expect):
    """Fail unless the BLAS/LAPACK mapped into this process is `expect`
    ('openblas' or 'reference'), once numpy.linalg and scipy.linalg (the
    peers' users of it) are loaded. Returns a one-line description."""
    import numpy.linalg  # noqa: F401  (maps libblas/liblapack)
    import scipy.linalg  # noqa: F401

    libs = _mapped_libraries()
    blas = sorted(p for p in libs if os.path.basename(p).startswith(BLAS_LIBS))
    openblas = [p for p in blas if os.path.basename(p).startswith("libopenblas")]
    if expect == "openblas":
        if not openblas:
            sys.exit("peer: numpy did not load OpenBLAS (mapped: %s); is its folder first on "
                     "LD_LIBRARY_PATH?" % (", ".join(blas) or "no BLAS"))
        # every libblas/liblapack must be OpenBLAS's own (same folder), not Debian's reference
        dirs = {os.path.dirname(p) for p in openblas}
        stray = [p for p in blas if os.path.dirname(p) not in dirs]
        if stray:
            sys.exit("peer: reference BLAS/LAPACK mapped beside OpenBLAS: %s" % ", ".join(stray))
        lib = ctypes.CDLL(openblas[0])
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        nthreads = lib.openblas_get_num_threads()
        want = int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0)
        if want and nthreads != want:
            sys.exit("peer: OpenBLAS runs %d threads, OPENBLAS_NUM_THREADS asks %d" % (nthreads, want))
        return "OpenBLAS core=%s threads=%d config='%s' lib=%s" % (
            lib.openblas_get_corename().decode(), nthreads,
            lib.openblas_get_config().decode().strip(), openblas[0])
    if expect == "reference":
        if openblas:
            sys.exit("peer: OpenBLAS mapped (%s) where the reference BLAS was asked for"
                     % ", ".join(openblas))
        return "reference libs=%s" % ",".join(blas)
    sys.exit("peer: PEER_BLAS must be openblas or reference, not '%s'" % expect)


def write_frame(path, wave, flux, ivar, resolution, chi2pix, specmin):
    """A frame in desispec's layout (FLUX, IVAR, MASK, WAVELENGTH, RESOLUTION,
    CHI2PIX; float32 like desispec.io.write_frame), written under a temporary
    name and renamed."""
    flux_hdu = fits.PrimaryHDU(np.asarray(flux, dtype=np.float32))
    flux_hdu.header["EXTNAME"] = "FLUX"
    flux_hdu.header["SPECMIN"] = specmin
    flux_hdu.header["BUNIT"] = "electron/Angstrom"
    hdus = fits.HDUList([
        flux_hdu,
        fits.ImageHDU(np.asarray(ivar, dtype=np.float32), name="IVAR"),
        fits.ImageHDU((np.asarray(ivar) == 0).astype(np.uint32), name="MASK"),
        fits.ImageHDU(np.asarray(wave, dtype=np.float64), name="WAVELENGTH"),
        fits.ImageHDU(np.asarray(resolution, dtype=np.float32), name="RESOLUTION"),
        fits.ImageHDU(np.asarray(chi2pix, dtype=np.float32), name="CHI2PIX"),
    ])
    tmp = path + ".tmp"
    hdus.writeto(tmp, overwrite=True)
    os.rename(tmp, path)
