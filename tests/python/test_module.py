# SPDX-License-Identifier: BSD-3-Clause
"""The Python module's interface (python/perfex) against its references:

- __version__ equals the project's version (CMakeLists.txt) and the
  command's `perfex --version`;
- failures raise perfex.Error with the message the command prints for the
  same input (missing file, a file that is not FITS) and the status name;
- unknown keywords raise TypeError naming them; bad option values raise
  perfex.Error naming the option; every option of px_extract_options that
  the header documents with a command-line flag is settable by name
  (option_names()), and every option reads back what was set;
- ex2d's argument checks: a non-uniform grid, a grid numpy.arange would not
  make, shapes, xyrange, ndecorr;
- PSF.xy against specter's trace centres (../shared/data spots tables,
  within 1e-9 pixel), PSF attributes against `perfex psf info`;
- perfex._fits.read_table (the FIBERMAP reader, numpy only) against
  astropy on a table of every column type a fibermap uses (signed and
  unsigned integers, floats, strings, logicals, arrays with TDIM) and on the
  binary tables of ../shared/data (PSFVER 2 PSF, spots tables);
- threads: ex2d from two threads at once on the module's context equals a
  serial call bit for bit; handles closed twice or used after close.
"""
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pxtest  # noqa: E402

(np,) = pxtest.need("numpy")
import perfex  # noqa: E402

check = pxtest.Checks()
tmp = pxtest.tmpdir()

# ------------------------------------------------------------------ version
with open(os.path.join(pxtest.SRC, "CMakeLists.txt")) as f:
    m = re.search(r"project\(perfex VERSION ([0-9.]+)", f.read())
check(m and perfex.__version__ == m.group(1),
      "__version__ %s, CMakeLists.txt %s" % (perfex.__version__, m and m.group(1)))
import subprocess  # noqa: E402
out = subprocess.run([pxtest.PERFEX, "--version"], stdout=subprocess.PIPE,
                     universal_newlines=True).stdout.strip()
check(out == "perfex " + perfex.__version__, "perfex --version says %r" % out)

# ------------------------------------------------------------------- errors
img, psf = pxtest.synth_inputs(tmp)
missing = os.path.join(tmp, "missing-psf.fits")
notfits = os.path.join(tmp, "notfits.fits")
with open(notfits, "w") as f:
    f.write("this is not a FITS file\n" * 200)


def command_message(*args):
    rc, err = pxtest.run("extract", *args, "-o", os.path.join(tmp, "never.fits"), "--quiet",
                         check=False)
    check(rc == 1, "perfex extract %s: exit %d, want 1" % (args, rc))
    lines = [l for l in err.strip().splitlines() if l.strip()]
    return lines[-1] if lines else ""


for what, args, status in (("missing PSF", ("-i", img, "-p", missing), "PX_ERR_IO"),
                           ("PSF not FITS", ("-i", img, "-p", notfits), None),
                           ("preproc not FITS", ("-i", notfits, "-p", psf), None)):
    cmd = command_message(*args)
    try:
        perfex.extract(args[1], args[3], wavelength=(6000, 6100, 0.8), nspec=5)
        check(False, "%s: extract() raised nothing" % what)
    except perfex.Error as e:
        check(isinstance(e, RuntimeError), "perfex.Error is not a RuntimeError")
        check(str(e) and str(e) in cmd,
              "%s: message %r is not the command's %r" % (what, str(e), cmd))
        check(e.status_name.startswith("PX_ERR_") and (status is None or e.status_name == status),
              "%s: status %s (%d)" % (what, e.status_name, e.status))
        check(e.status < 0, "%s: status %d" % (what, e.status))
check.raises(perfex.Error, lambda: perfex.PSF(missing), "PSF(missing)", (missing,))

# ------------------------------------------------------------------ options
check.raises(TypeError, lambda: perfex.extract(img, psf, nspec=5, bundle_size=5, foo=1),
             "unknown keywords", ("'bundle_size'", "'foo'"))
check.raises(NotImplementedError, lambda: perfex.extract(img, psf, nspec=5,
                                                         decorrelate_fibers=True),
             "decorrelate_fibers", ("decorrelate_fibers",))
check.raises(ValueError, lambda: perfex.extract(img, psf, nspec=5, output=img),
             "output over the input", ("refusing",))
check(perfex.Error.__module__ == "perfex", "perfex.Error's module %s" % perfex.Error.__module__)
check.raises(perfex.Error, lambda: perfex.extract(img, psf, nspec=5, bundlesize=0),
             "bundlesize=0", ("bundlesize",))
check.raises(perfex.Error, lambda: perfex.extract(img, psf, wavelength=(6100, 6000, 0.8)),
             "decreasing grid", ("wavelength",))
check.raises(perfex.Error, lambda: perfex.extract(img, psf, nspec=5, nsubbundles=9,
                                                  bundlesize=5), "nsubbundles > bundlesize",
             ("nsubbundles",))
names = perfex.option_names()
for n in ("wavelength", "specmin", "nspec", "bundlesize", "nsubbundles", "nwavestep",
          "regularize", "psferr", "pixpad_frac", "wavepad_frac"):
    check(n in names, "desi_extract_spectra option %s not in option_names()" % n)
# every flag the header's px_extract_options documents is settable by name
with open(os.path.join(pxtest.SRC, "include", "perfex", "extract.h")) as f:
    hdr = f.read()
body = hdr[hdr.index("typedef struct px_extract_options {"):hdr.index("} px_extract_options;")]
short = {"-w": "wavelength", "-s": "specmin", "-n": "nspec", "-r": "regularize", "-f": "fibermap"}
flags = set(re.findall(r"/\*\s*(--[a-z][a-z0-9-]*|-[a-z])\b", body))
check(len(flags) >= 10, "only %d flags found in px_extract_options" % len(flags))
for fl in sorted(flags):
    name = short.get(fl, fl.lstrip("-")).replace("-", "_")
    check(name in names, "px_extract_options flag %s has no name in option_names()" % fl)
o = perfex._Options()
values = {"wavelength": (5760.25, 7620.0, 0.8), "specmin": 3, "nspec": 7, "bundlesize": 9,
          "nsubbundles": 2, "nwavestep": 33, "regularize": 0.125, "psferr": 0.02,
          "pixpad_frac": 0.7, "wavepad_frac": 0.1, "batch": 4, "yrange": (10, 200),
          "fibermap": "fibermap-0.fits", "barycentric_correction": True, "no_scores": True,
          "use_specter": True}
for n in names:
    before = o.get(n)
    if before:
        o.set(n, before)
        check(o.get(n) == before, "option %s: default %r does not read back" % (n, before))
    if n in values:
        o.set(n, values[n])
        v = values[n]
        if isinstance(v, str):
            got, want = o.get(n), v
        else:
            got = [float(x) for x in o.get(n).split(",")]
            want = [float(x) for x in (v if isinstance(v, tuple) else (v,))]
        check(got == want, "option %s: set %r, got %r" % (n, v, got))
    else:
        check(False, "option %s has no test value" % n)
for n, bad in (("nspec", "1.5"), ("nspec", "-1"), ("bundlesize", "x"), ("regularize", "nan"),
               ("regularize", "-0.1"), ("pixpad_frac", "inf"), ("wavelength", "5760,7620"),
               ("wavelength", "5760,7620,0.8,1"), ("wavelength", "5760,,0.8"),
               ("wavelength", "5760,7620,0"), ("wavelength", "5760,7620,0.8,"),
               ("yrange", "10,5"), ("yrange", "1.5,9"), ("nwavestep", ""),
               ("no_scores", "maybe"), ("barycentric_correction", "2")):
    check.raises(perfex.Error, lambda: o.set(n, bad), "option %s = %r" % (n, bad),
                 (n.replace("_", "-"),))
o.close()
o.close()  # closing twice is harmless

# --------------------------------------------------------- ex2d's arguments
P = perfex.PSF(psf)
ny, nx = P.npix_y, P.npix_x
zero = np.zeros((ny, nx))
w = np.arange(6000, 6100 + 0.4, 0.8)
wbad = w.copy()
wbad[10] += 0.1
check.raises(ValueError, lambda: perfex.ex2d(zero, zero, P, 0, 5, wbad), "non-uniform grid",
             ("bin 10",))
check.raises(ValueError, lambda: perfex.ex2d(zero, zero, P, 0, 5, w[::-1]), "decreasing grid",
             ("increase",))
check.raises(ValueError, lambda: perfex.ex2d(zero, zero, P, 0, 5, w[:1]), "one bin", ("2 bins",))
check.raises(ValueError, lambda: perfex.ex2d(zero[:100], zero[:100], P, 0, 5, w), "shape",
             ("xyrange",))
check.raises(ValueError, lambda: perfex.ex2d(zero[:100], zero[:100], P, 0, 5, w,
                                             xyrange=(0, nx, 0, 50)), "xyrange shape",
             ("xyrange",))
check.raises(ValueError, lambda: perfex.ex2d(zero, zero, P, 0, 5, w,
                                             xyrange=(0, nx + 1, 0, ny)), "xyrange off the CCD",
             ("not inside",))
check.raises(NotImplementedError, lambda: perfex.ex2d(zero, zero, P, 0, 5, w, ndecorr=True),
             "ndecorr", ("ndecorr",))
check.raises(perfex.Error, lambda: perfex.ex2d(zero, zero, P, 28, 5, w), "fibers beyond the PSF",
             ("fibers",))
check.raises(TypeError, lambda: perfex.ex2d(zero, zero, P, 0, 5, w, foo=1), "ex2d keyword",
             ("foo",))
# a linspace grid is accepted (within 1e-6 of a step of numpy.arange's)
wl = np.linspace(6000, 6100, len(w))
try:
    perfex.ex2d(zero[:10], zero[:10], P, 0, 2, wl, xyrange=(0, nx, 0, 10))
except perfex.Error:
    pass  # an empty cutout may fail in the library; the grid check passed
except ValueError as e:
    check(False, "linspace grid refused: %s" % e)

# ------------------------------------------------------------- PSF methods
info_out = subprocess.run([pxtest.PERFEX, "psf", "info", psf], stdout=subprocess.PIPE,
                                universal_newlines=True).stdout
check(str(P.nspec) in info_out and str(P.npix_x) in info_out,
      "PSF nspec %d npix_x %d not in `perfex psf info`: %s" % (P.nspec, P.npix_x, info_out))
check(P.wmin <= P.wmin_all < P.wmax_all <= P.wmax, "PSF ranges %r" % (
    (P.wmin, P.wmin_all, P.wmax_all, P.wmax),))
x, y = P.xy([0, 1, 2], 6500.0)
check(x.shape == (3,) and np.all(np.diff(x) > 0), "xy over fibers: %r" % (x,))
wy = P.wavelength(1, y[1])
check(abs(wy - 6500.0) < 0.05, "wavelength(y(6500)) = %r" % wy)
for name in ("psf-r0-00051060.fits", "psf-gausshermite-v2.fits"):
    path, spots = pxtest.shared(name), pxtest.shared("spots-" + name)
    if not path or not spots:
        print("note: %s or its spots table absent, PSF.xy not compared with specter" % name)
        continue
    try:
        from astropy.io import fits
    except ImportError:
        print("note: astropy absent, PSF.xy not compared with specter")
        break
    t = fits.getdata(spots, 1)
    with perfex.PSF(path) as Q:
        qx, qy = Q.xy(t["FIBER"], t["WAVELENGTH"])
    dx = np.max(np.abs(qx - t["X"]))
    dy = np.max(np.abs(qy - t["Y"]))
    check(dx < 1e-9 and dy < 1e-9, "%s: xy off specter's by %g, %g pixels" % (name, dx, dy))
    print("%s: PSF.xy within %.2g, %.2g pixel of specter at %d points" % (name, dx, dy, len(t)))
    check.raises(ValueError, lambda: Q.xy(0, 6000.0), "PSF used after close", ("close",))

# ------------------------------------------------------------ FITS tables
try:
    from astropy.io import fits
    from astropy.table import Table
except ImportError:
    fits = None
    print("note: astropy absent, the FITS table reader is not compared with it")
if fits is not None:
    import io
    from perfex import _fits

    def same_table(buf, extname, label):
        ref = fits.open(io.BytesIO(buf))[extname if extname else 1]
        mine, hdr = _fits.read_table(buf, extname)
        check(list(mine.dtype.names) == list(ref.data.names),
              "%s: columns %s, astropy %s" % (label, mine.dtype.names, ref.data.names))
        for name in ref.data.names:
            a, b = mine[name], np.asarray(ref.data[name])
            check(a.shape == b.shape and np.array_equal(a, b) and a.dtype.kind == b.dtype.kind,
                  "%s: column %s %s %s, astropy %s %s" % (label, name, a.dtype, a.shape, b.dtype,
                                                         b.shape))
        for key in ("EXTNAME", "NAXIS2", "TILEID", "SURVEY"):
            if key in ref.header:
                check(hdr.get(key) == ref.header[key], "%s: header %s %r, astropy %r" % (
                    label, key, hdr.get(key), ref.header[key]))

    n = 9
    t = Table()
    t["FIBER"] = np.arange(n, dtype=np.int32) + 500
    t["FIBERSTATUS"] = (np.arange(n, dtype=np.uint32) * 2**29)
    t["TARGETID"] = np.arange(n, dtype=np.int64) * 2**50 - 7
    t["DESI_TARGET"] = np.arange(n, dtype=np.uint64) * 2**61
    t["PETAL_LOC"] = np.arange(n, dtype=np.int16) - 4
    t["U16"] = np.arange(n, dtype=np.uint16) * 7000
    t["NUMOBS"] = np.arange(n, dtype=np.uint8) * 28
    t["FIBERASSIGN_X"] = np.linspace(-400, 400, n).astype(np.float32)
    t["TARGET_RA"] = np.linspace(0, 359.9, n)
    t["OBJTYPE"] = ["SKY", "TGT", "", "BAD", "TGT ", "SKY", "x" * 8, "TGT", "NON"]
    t["OK"] = np.arange(n) % 3 == 0
    t["ARR"] = np.arange(n * 6, dtype=np.float64).reshape(n, 2, 3)
    t.meta["EXTNAME"] = "FIBERMAP"
    t.meta["TILEID"] = 80605
    t.meta["SURVEY"] = "main"
    b = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones(5)),
                  fits.BinTableHDU(t)]).writeto(b)
    same_table(b.getvalue(), "FIBERMAP", "fibermap-like table")
    for name in ("psf-gausshermite-v2.fits", "spots-psf-r0-00051060.fits"):
        path = pxtest.shared(name)
        if path:
            with open(path, "rb") as fh:
                same_table(fh.read(), None, name)
    check.raises(ValueError, lambda: _fits.read_table(b.getvalue(), "SCORES"), "no such table",
                 ("SCORES",))

# ------------------------------------------------------------------ threads
if fits is None:
    print("note: astropy absent, the thread check is skipped")
else:
    with fits.open(img) as h:
        pix = h["IMAGE"].data.astype(np.float64)
        ivar = h["IVAR"].data.astype(np.float64) * ((h["MASK"].data & 0x2FF) == 0)
    ws = np.arange(6050, 6150 + 0.4, 0.8)
    ref = perfex.ex2d(pix, ivar, P, 3, 6, ws, nsubbundles=2)
    res = {}

    def work(k):
        try:
            res[k] = perfex.ex2d(pix, ivar, P, 3, 6, ws, nsubbundles=2)
        except Exception as e:  # noqa: BLE001 (reported below)
            res[k] = e

    ts = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for k in range(2):
        r = res.get(k)
        check(isinstance(r, tuple) and all(np.array_equal(a, b) for a, b in zip(r, ref)),
              "thread %d: %s" % (k, r if isinstance(r, Exception) else "differs from serial"))
    check(np.all(np.isfinite(ref[0])) and np.any(ref[1] > 0), "ex2d gave no usable flux")
    ctx = perfex.Context()
    r2 = perfex.ex2d(pix, ivar, P, 3, 6, ws, nsubbundles=2, context=ctx)
    check(all(np.array_equal(a, b) for a, b in zip(r2, ref)), "own Context differs")
    ctx.close()
    ctx.close()
    check.raises(ValueError, lambda: perfex.ex2d(pix, ivar, P, 3, 6, ws, context=ctx),
                 "Context used after close", ("close",))
    check.raises(TypeError, lambda: perfex.ex2d(pix, ivar, P, 3, 6, ws, context=ctx,
                                                device_type="cpu"), "context and device_type")
P.close()
P.close()
devs = perfex.devices()
check(len(devs) >= 1 and sum(d["default"] for d in devs) == 1, "devices(): %r" % devs)
check.finish()
