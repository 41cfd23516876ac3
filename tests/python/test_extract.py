# SPDX-License-Identifier: BSD-3-Clause
"""perfex.extract() and perfex.ex2d() against the frame `perfex extract`
writes (read with astropy), on self-made data (`perfex psf synth` +
`perfex simulate`) and on ../shared/data's simulated r0 bundle (skipped
without it):

- extract(): every array bit for bit equal to the command's HDU (FLUX,
  IVAR, RESOLUTION, CHI2PIX float32 as written, MASK, WAVELENGTH), the
  FIBERMAP rows (every column, read by the module with numpy alone) and the
  SCORES columns equal to astropy's reading of the command's HDUs, FIBER
  numbers and HELIOCOR as written; the files written with output= and
  model= have the same data in every HDU as the command's -o and -m;
- ex2d() with specter's signature on the image and weights read with astropy
  (IVAR x (MASK & 0x2FF == 0), as desispec passes them): flux, ivar,
  resolution_data and chi2pix within 1e-5 relative of the command's frame,
  the frame's MASK rule applied to pixmask_fraction equal to MASK, and
  modelimage within 1e-5 relative of the command's -m model;
- with --prefix DIR: the module and its library must come from DIR (an
  installed prefix) and the perfex command is DIR's;
- without --quick also: a second set of options (specmin > 0, bundles and
  sub-bundles that do not divide nspec, regularize, psferr, pads) through
  keywords and through the command's flags; --barycentric-correction with
  --no-scores; a -f FIBERMAP of fewer rows than nspec (the same Python
  warning as the command's, nspec reduced); and specter's xyrange: the whole
  CCD, and a cutout whose rows hold every patch, equal the run without it.

usage: test_extract.py [--prefix DIR] [--quick]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pxtest  # noqa: E402

np, _ = pxtest.need("numpy", "astropy")
from astropy.io import fits  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--prefix")
ap.add_argument("--quick", action="store_true")
args = ap.parse_args()

import perfex  # noqa: E402

check = pxtest.Checks()
tmp = pxtest.tmpdir()
REL = 1e-5
worst = {}
cast = {}  # ex2d's float64 arrays cast as the writer casts them equal the file

if args.prefix:
    prefix = os.path.realpath(args.prefix)
    for what, p in (("module", perfex.__file__), ("library", perfex._lib.path),
                    ("command", pxtest.PERFEX)):
        check(os.path.realpath(p).startswith(prefix + os.sep),
              "%s %s is not under the installed prefix %s" % (what, p, prefix))
    print("installed perfex %s: module %s, library %s" % (perfex.__version__, perfex.__file__,
                                                            perfex._lib.path))

HDUS = (("FLUX", "flux"), ("IVAR", "ivar"), ("MASK", "mask"), ("WAVELENGTH", "wave"),
        ("RESOLUTION", "resolution_data"), ("CHI2PIX", "chi2pix"))


def rel(a, b):
    """max |a - b| / |b| (b = 0 must be matched exactly)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        return np.inf
    d = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(b != 0, d / np.abs(b), np.where(d == 0, 0.0, np.inf))
    return float(np.max(r)) if r.size else 0.0


def read_image(path):
    with fits.open(path) as h:
        pix = h["IMAGE"].data.astype(np.float64)
        ivar = h["IVAR"].data.astype(np.float64)
        mask = h["MASK"].data if "MASK" in h else np.zeros(pix.shape, np.int32)
    return pix, ivar * ((mask & 0x2FF) == 0)


def same_hdus(a, b, label):
    """Every HDU of file a has the data of file b's HDU of the same name."""
    with fits.open(a) as h, fits.open(b) as g:
        names = [x.name for x in h]
        check(names == [x.name for x in g], "%s: HDUs %s and %s" % (label, names,
                                                                   [x.name for x in g]))
        for x in h:
            if x.name in g:
                y = g[x.name]
                same = (x.data is None and y.data is None) or (
                    x.data is not None and y.data is not None and
                    x.data.tobytes() == y.data.tobytes())
                check(same, "%s: HDU %s differs between %s and %s" % (label, x.name, a, b))


def compare(label, img, psf, grid, specmin, nspec, flags=(), kw=None, ex2d_kw=None,
            expect_nspec=None):
    """The command's frame against extract() and ex2d() with the same options."""
    import warnings
    kw = kw or {}
    ex2d_kw = ex2d_kw or {}
    cmd = os.path.join(tmp, "%s-cmd.fits" % label)
    model = os.path.join(tmp, "%s-model.fits" % label)
    out = os.path.join(tmp, "%s-py.fits" % label)
    pymodel = os.path.join(tmp, "%s-pymodel.fits" % label)
    _, err = pxtest.run("extract", "-i", img, "-p", psf, "-w", ",".join(map(repr, grid)), "-s",
                        specmin, "-n", nspec, "-o", cmd, "-m", model, *flags)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fr = perfex.extract(img, psf, wavelength=grid, specmin=specmin, nspec=nspec, output=out,
                            model=pymodel, **kw)
    cmd_warn = sorted(l.split("warning: ", 1)[1] for l in err.splitlines() if "warning: " in l)
    py_warn = sorted(str(w.message).split("perfex.extract: ", 1)[-1] for w in caught)
    check(cmd_warn == py_warn, "%s: warnings %r, the command's %r" % (label, py_warn, cmd_warn))
    if expect_nspec is not None:
        check(any("nspec" in w for w in py_warn), "%s: no warning that nspec was reduced (%r)"
              % (label, py_warn))
        print("%s: warned as the command: %s" % (label, "; ".join(py_warn)))
    same_hdus(cmd, out, label + " output=")
    same_hdus(model, pymodel, label + " model=")
    with fits.open(cmd) as h:
        for hdu, key in HDUS:
            ref = h[hdu].data
            mine = fr[key]
            same = (mine.shape == ref.shape and mine.dtype == ref.dtype.newbyteorder("=") and
                    np.array_equal(mine.view(np.uint8),
                                   ref.astype(ref.dtype.newbyteorder("=")).view(np.uint8)))
            check(same, "%s: extract() %s %s %s differs from the command's %s %s" % (
                label, key, mine.dtype, mine.shape, ref.dtype, ref.shape))
        hdr = h[0].header
        check(fr.specmin == hdr.get("SPECMIN", fr.specmin) == specmin,
              "%s: specmin %d" % (label, fr.specmin))
        check(fr.meta["HELIOCOR"] == hdr.get("HELIOCOR", 1.0), "%s: HELIOCOR %r, file %r" % (
            label, fr.meta["HELIOCOR"], hdr.get("HELIOCOR")))
        if expect_nspec is not None:
            check(fr.flux.shape[0] == expect_nspec, "%s: %d spectra, want %d" % (
                label, fr.flux.shape[0], expect_nspec))
        if "FIBERMAP" in h:
            fm = h["FIBERMAP"].data
            check(fr.fibermap is not None and fr.fibermap.dtype.names == tuple(fm.names) and
                  all(np.array_equal(fr.fibermap[n], np.asarray(fm[n])) for n in fm.names),
                  "%s: FIBERMAP differs from the command's" % label)
            check(np.array_equal(fr.fibers, fm["FIBER"]), "%s: fibers %s" % (label, fr.fibers))
            check(fr.fibermap_meta.get("EXTNAME") == "FIBERMAP", "%s: fibermap header" % label)
        else:
            check(fr.fibermap is None, "%s: a fibermap the command did not write" % label)
        if "SCORES" in h:
            sc = h["SCORES"].data
            check(sorted(fr.scores) == sorted(sc.names) and
                  all(np.array_equal(fr.scores[n], sc[n]) for n in sc.names),
                  "%s: SCORES differ from the command's" % label)
        else:
            check(fr.scores == {}, "%s: scores the command did not write" % label)
        ref = {key: h[hdu].data for hdu, key in HDUS}
        nspec = ref["flux"].shape[0]
    mref = fits.getdata(model)
    pix, ivar = read_image(img)
    wave = np.arange(grid[0], grid[1] + grid[2] / 2, grid[2])
    r = perfex.ex2d(pix, ivar, psf, specmin, nspec, wave, full_output=True, **ex2d_kw)
    # (nspec is the frame's: the fibermap may have reduced it)
    check(sorted(r) == sorted(["flux", "ivar", "resolution_data", "modelimage",
                               "pixmask_fraction", "chi2pix"]), "ex2d keys %s" % sorted(r))
    for key in ("flux", "ivar", "resolution_data", "chi2pix"):
        d = rel(r[key], ref[key])
        worst[(label, key)] = d
        cast[(label, key)] = np.array_equal(r[key].astype(ref[key].dtype), ref[key])
        check(d <= REL, "%s: ex2d %s off the command's frame by %.3g relative" % (label, key, d))
    d = rel(r["modelimage"], mref)
    worst[(label, "modelimage")] = d
    cast[(label, "modelimage")] = np.array_equal(r["modelimage"].astype(mref.dtype), mref)
    check(d <= REL, "%s: ex2d modelimage off the command's model by %.3g relative" % (label, d))
    pm = r["pixmask_fraction"]
    mask = np.where(pm > 0.5, 1, 0) | np.where(pm == 1.0, 2, 0)
    check(np.array_equal(mask, ref["mask"] & 3),
          "%s: MASK bits 1, 2 from pixmask_fraction differ" % label)
    check(np.all(r["flux"].dtype == np.float64), "ex2d flux not float64")
    f3 = perfex.ex2d(pix, ivar, psf, specmin, nspec, wave, **ex2d_kw)
    check(isinstance(f3, tuple) and len(f3) == 3 and
          all(np.array_equal(a, r[k]) for a, k in zip(f3, ("flux", "ivar", "resolution_data"))),
          "%s: ex2d without full_output differs from full_output's arrays" % label)
    print("%s: extract() equals the command bit for bit; ex2d within %.2g relative" % (
        label, max(v for k, v in worst.items() if k[0] == label)))
    return pix, ivar, wave, r


img, psf = pxtest.synth_inputs(tmp)
pix, ivar, wave, r0 = compare("synth", img, psf, (6000.0, 6300.0, 0.8), 0, 30,
                              ex2d_kw={"nsubbundles": 5})

if not args.quick:
    flags = ("--bundlesize", 10, "--nsubbundles", 3, "--nwavestep", 40, "-r", 0.1, "--psferr",
             0.05, "--pixpad-frac", 0.6, "--wavepad-frac", 0.3)
    kw = dict(bundlesize=10, nsubbundles=3, nwavestep=40, regularize=0.1, psferr=0.05,
              pixpad_frac=0.6, wavepad_frac=0.3)
    compare("synth-options", img, psf, (6040.0, 6250.0, 0.8), 7, 19, flags, kw,
            dict(bundlesize=10, nsubbundles=3, wavesize=40, regularize=0.1, psferr=0.05,
                 pixpad_frac=0.6, wavepad_frac=0.3))
    # barycentric correction without scores (ex2d then runs on the corrected grid)
    with fits.open(img) as h:
        bc = perfex.extract(img, psf, wavelength=(6000.0, 6300.0, 0.8), nspec=10,
                            barycentric_correction=True, no_scores=True)
        fmap = h["FIBERMAP"]
        short = os.path.join(tmp, "fibermap-short.fits")
        fits.HDUList([fits.PrimaryHDU(header=h[0].header),
                      fits.BinTableHDU(fmap.data[:8], header=fmap.header, name="FIBERMAP")]
                     ).writeto(short, overwrite=True)
    f = bc.meta["HELIOCOR"]
    check(f != 1.0 and abs(f - 1) < 1e-3, "barycentric factor %r" % f)
    g = (6000.0 / f, 6300.0 / f, 0.8 / f)
    wg = np.arange(g[0], g[1] + g[2] / 2, g[2])
    rb = perfex.ex2d(pix, ivar, psf, 0, 10, wg, nsubbundles=5)
    d = max(rel(rb[0], bc.flux), rel(rb[1], bc.ivar))
    worst[("barycentric", "flux")] = d
    cast[("barycentric", "flux")] = np.array_equal(rb[0].astype(np.float32), bc.flux)
    check(d <= REL, "barycentric: ex2d on the corrected grid off by %.3g" % d)
    pxtest.run("extract", "-i", img, "-p", psf, "-w", "6000,6300,0.8", "-n", 10, "-o",
               os.path.join(tmp, "bc-cmd.fits"), "--barycentric-correction", "--no-scores",
               "--quiet")
    with fits.open(os.path.join(tmp, "bc-cmd.fits")) as h:
        check(h[0].header["HELIOCOR"] == f and np.array_equal(h["FLUX"].data, bc.flux) and
              np.array_equal(h["WAVELENGTH"].data, bc.wave) and "SCORES" not in h,
              "barycentric: extract() differs from the command's frame")
    # a FIBERMAP of 8 rows for 10 spectra: nspec reduced, with the command's warning
    compare("short-fibermap", img, psf, (6000.0, 6300.0, 0.8), 0, 10, ("-f", short),
            {"fibermap": short}, {"nsubbundles": 5}, expect_nspec=8)

    # specter's xyrange: the whole CCD, then a cutout whose rows hold every patch box
    P = perfex.PSF(psf)
    ny, nx = P.npix_y, P.npix_x
    rw = perfex.ex2d(pix, ivar, P, 0, 30, wave, nsubbundles=5, full_output=True,
                     xyrange=(0, nx, 0, ny))
    check(all(np.array_equal(rw[k], r0[k]) for k in r0), "xyrange of the whole CCD differs")
    ys = [P.y(f, w) for f in (0, 29) for w in (wave[0], wave[-1])]
    y0, y1 = max(0, int(min(ys)) - 80), min(ny, int(max(ys)) + 80)
    rc = perfex.ex2d(pix[y0:y1], ivar[y0:y1], P, 0, 30, wave, nsubbundles=5, full_output=True,
                     xyrange=(0, nx, y0, y1))
    for k in ("flux", "ivar", "resolution_data", "chi2pix", "pixmask_fraction"):
        check(np.array_equal(rc[k], r0[k]), "cutout rows %d..%d: %s differs" % (y0, y1, k))
    check(np.array_equal(rc["modelimage"], r0["modelimage"][y0:y1]),
          "cutout rows %d..%d: modelimage differs" % (y0, y1))
    print("xyrange: whole CCD and rows %d..%d equal the full image bit for bit" % (y0, y1))
    P.close()

img_s = pxtest.shared("preproc-sim-r0-bundle0.fits.gz")
psf_s = pxtest.shared("psf-r0-00051060.fits")
if img_s and psf_s:
    # under ctest, the image as the shared fixture inflated it once
    # (tests/util/fixture_shared.sh): the command, extract() and astropy would
    # each inflate the .fits.gz again (1-2 s apiece); cli_extract_bundle0
    # reads the .fits.gz itself
    img_s = pxtest.fixture("preproc-sim-r0-bundle0.fits") or img_s
    compare("shared-r0", img_s, psf_s, (6000.0, 6400.0, 0.8), 0, 25,
            ex2d_kw={"nsubbundles": 5})
else:
    print("note: ../shared/data absent, the r0 bundle is not compared")

for (label, key), v in sorted(worst.items()):
    print("  %-14s %-16s max relative difference %.3g%s" % (
        label, key, v, ", bitwise equal cast to the file's type" if cast[(label, key)] else ""))
check.finish()
