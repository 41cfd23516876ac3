# SPDX-License-Identifier: BSD-3-Clause
"""perfex: spectroperfectionism extraction of DESI fiber spectra on OpenCL
devices, from Python.

A ctypes binding of libperfex (numpy is its only dependency):

- extract(preproc, psf, wavelength=(wmin, wmax, dw), ...) runs what
  `perfex extract` runs on files and returns the frame's arrays (Frame),
  bit for bit those the command writes;
- ex2d(image, imageivar, psf, specmin, nspec, wavelengths, ...) has the
  signature and the results of specter.extract.ex2d, so that desispec code
  can replace `from specter.extract import ex2d` by `from perfex import ex2d`
  (and specter's load_psf by perfex.load_psf);
- PSF(path) reads a PSF once for several calls; Context opens a device.

Failures raise perfex.Error (a RuntimeError) with the library's one-line
message; bad Python arguments raise TypeError or ValueError.

Threads: the functions may be called from several threads at once (ctypes
releases the GIL while the library works). A device context runs one
extraction at a time: calls that use the same context wait for each other,
calls on different devices run together. A PSF is read-only once made and
may be shared. The contexts the module opens by itself (one per device,
opened on first use and reused, so kernels are built once per process) are
closed at exit.
"""

import atexit
import ctypes
import os
import sys
import threading
import warnings
import weakref

import numpy as np

from . import _config, _fits, _lib
from ._lib import Error

__all__ = ["Error", "PSF", "load_psf", "Context", "Frame", "devices", "extract", "ex2d",
           "option_names", "__version__"]

__version__ = _lib.text(_lib.px_version())
if __version__ != _config.VERSION:
    raise ImportError("perfex: the package is version %s but %s is version %s"
                      % (_config.VERSION, _lib.path, __version__))

_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_libc.free.restype = None

_DEVICE_TYPES = {0: "any", 1: "cpu", 2: "gpu", 3: "accelerator"}


def _path(p):
    """A file name for the library (str, bytes or os.PathLike)."""
    return os.fsencode(os.fspath(p))


# ------------------------------------------------------------------ devices

def _device_array():
    """Every OpenCL device (px_list_devices), as a ctypes array."""
    out = ctypes.POINTER(_lib.DeviceInfo)()
    n = ctypes.c_int(0)
    _lib.check(_lib.px_list_devices(ctypes.byref(out), ctypes.byref(n)))
    try:
        arr = (_lib.DeviceInfo * max(n.value, 1))()
        if n.value:
            ctypes.memmove(arr, out, n.value * ctypes.sizeof(_lib.DeviceInfo))
    finally:
        _libc.free(out)
    return arr, n.value


def _device_dict(d):
    return {"index": d.index, "platform": _lib.text(d.platform_name),
            "platform_vendor": _lib.text(d.platform_vendor), "name": _lib.text(d.name),
            "vendor": _lib.text(d.vendor), "version": _lib.text(d.version),
            "driver_version": _lib.text(d.driver_version), "type": _DEVICE_TYPES.get(d.type, "?"),
            "compute_units": d.compute_units, "global_mem": d.global_mem,
            "max_alloc": d.max_alloc, "fp64": bool(d.fp64), "default": bool(d.is_default)}


def devices():
    """The OpenCL devices perfex sees, as dicts (index, name, platform, type,
    global_mem, fp64, default, ...), in the order of `perfex devices`."""
    arr, n = _device_array()
    return [_device_dict(arr[k]) for k in range(n)]


def _request(device_type=None, platform=None, device=None):
    """A px_device_request: $PERFEX_DEVICE, then the keywords over it."""
    req = _lib.DeviceRequest()
    _lib.check(_lib.px_device_request_from_env(ctypes.byref(req)))
    # own copies of the strings (the library's point into a thread's buffer)
    req.platform = req.platform
    req.device = req.device
    if device_type is not None:
        t = ctypes.c_int(0)
        _lib.check(_lib.px_parse_device_type(str(device_type).encode(), ctypes.byref(t)))
        req.type = t.value
    if platform is not None:
        req.platform = str(platform).encode()
    if device is not None:
        req.device = str(device).encode()
    return req


def _select_indices(req, devices_list):
    """Device indices for a request, as `perfex extract` picks them: the
    request's first match, or every device of a --devices list."""
    arr, n = _device_array()
    idx = (ctypes.c_int * max(n, 1))()
    got = ctypes.c_int(0)
    if not devices_list:
        _lib.check(_lib.px_select_devices(ctypes.byref(req), arr, n, idx, n, ctypes.byref(got)))
        return [idx[0]]
    if isinstance(devices_list, (str, bytes)):
        text = devices_list.decode() if isinstance(devices_list, bytes) else devices_list
        items = [t for t in text.split(",") if t]
    else:
        items = [str(t) for t in devices_list]
    if items == ["all"]:
        anyreq = _lib.DeviceRequest(req.type, req.platform, None)
        _lib.check(_lib.px_select_devices(ctypes.byref(anyreq), arr, n, idx, n,
                                          ctypes.byref(got)))
        return [idx[k] for k in range(got.value)]
    picks = []
    for t in items:
        one = _lib.DeviceRequest(req.type, req.platform, t.encode())
        pick = ctypes.c_int(-1)
        _lib.check(_lib.px_select_device(ctypes.byref(one), arr, n, ctypes.byref(pick)))
        if pick.value in picks:
            raise ValueError("perfex: devices %r names device %d (%s) twice"
                             % (devices_list, pick.value, _lib.text(arr[pick.value].name)))
        picks.append(pick.value)
    if not picks:
        raise ValueError("perfex: devices %r names no device" % (devices_list,))
    return picks


class _Closing:
    """`with` closes the handle at the end of the block."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Context(_Closing):
    """An opened OpenCL device (px_context): its queue and built kernels.

    Context() opens the device `perfex extract` would use ($PERFEX_DEVICE,
    else the default one); Context(index=k) the k-th of devices();
    device_type ("cpu", "gpu", ...), platform and device (an index or part of
    the name) select as the command's flags do. close() (or a with block)
    releases it; one context runs one extraction at a time."""

    def __init__(self, index=None, device_type=None, platform=None, device=None,
                 profiling=False):
        if index is None:
            index = _select_indices(_request(device_type, platform, device), None)[0]
        elif device_type is not None or platform is not None or device is not None:
            raise TypeError("perfex.Context: give index or device_type/platform/device, not both")
        opt = _lib.ContextOptions()
        _lib.px_context_options_init(ctypes.byref(opt))
        opt.by_index = 1
        opt.device_index = int(index)
        opt.profiling = 1 if profiling else 0
        handle = ctypes.c_void_p()
        _lib.check(_lib.px_context_create(ctypes.byref(opt), ctypes.byref(handle)))
        self._handle = handle
        self._finalize = weakref.finalize(self, _lib.px_context_destroy, handle)
        self.lock = threading.Lock()
        self.device = _device_dict(_lib.px_context_device(handle).contents)
        self.index = self.device["index"]

    @property
    def handle(self):
        if not self._finalize.alive:
            raise ValueError("perfex.Context: used after close()")
        return self._handle

    def close(self):
        """Release the device (the context must not be running an extraction)."""
        with self.lock:
            self._finalize()

    def __repr__(self):
        return "perfex.Context(index=%d, %r)" % (self.index, self.device["name"])


_cache_lock = threading.Lock()
_cached = {}


def _context_for(index):
    """The module's own context of device index, opened on first use."""
    with _cache_lock:
        ctx = _cached.get(index)
        if ctx is None:
            ctx = _cached[index] = Context(index=index)
        return ctx


@atexit.register
def _close_cached():
    with _cache_lock:
        for ctx in _cached.values():
            ctx.close()
        _cached.clear()


def _contexts(context, device_type, platform, device, devices_list):
    """The contexts a call runs on."""
    if context is not None:
        if any(v is not None for v in (device_type, platform, device, devices_list)):
            raise TypeError("perfex: give context or device_type/platform/device/devices, "
                            "not both")
        ctxs = [context] if isinstance(context, Context) else list(context)
        if not ctxs or not all(isinstance(c, Context) for c in ctxs):
            raise TypeError("perfex: context must be a perfex.Context or a list of them")
        return ctxs
    if devices_list is None:
        devices_list = os.environ.get("PERFEX_DEVICES") or None
    req = _request(device_type, platform, device)
    return [_context_for(i) for i in _select_indices(req, devices_list)]


class _Locked:
    """Holds the contexts' locks (in index order) and gives their handles."""

    def __init__(self, ctxs):
        self.ctxs = sorted(set(ctxs), key=lambda c: c.index)

    def __enter__(self):
        for c in self.ctxs:
            c.lock.acquire()
        try:
            arr = (ctypes.c_void_p * len(self.ctxs))(*[c.handle.value for c in self.ctxs])
        except BaseException:
            self.__exit__()
            raise
        return arr, len(self.ctxs)

    def __exit__(self, *exc):
        for c in reversed(self.ctxs):
            c.lock.release()


# ---------------------------------------------------------------------- PSF

class PSF(_Closing):
    """A Gauss-Hermite PSF file (PSFVER 2 or 3) read once (px_psf_read).

    Attributes as specter's PSF names them: nspec, npix_x, npix_y, wmin,
    wmax (the range of some fiber), wmin_all, wmax_all (of every fiber),
    psferr; also path, psfver, fibermin. Methods xy, x, y, wavelength."""

    def __init__(self, path):
        self.path = os.fsdecode(os.fspath(path))
        handle = ctypes.c_void_p()
        _lib.check(_lib.px_psf_read(_path(path), ctypes.byref(handle)))
        self._handle = handle
        self._finalize = weakref.finalize(self, _lib.px_psf_destroy, handle)
        s = _lib.PSFSummary()
        _lib.check(_lib.px_psf_summarize(handle, ctypes.byref(s)))
        self.psfver = s.psfver
        self.nspec = s.nfiber
        self.fibermin = s.fibermin
        self.npix_x, self.npix_y = s.npix_x, s.npix_y
        self.wmin, self.wmax = s.wmin_any, s.wmax_any
        self.wmin_all, self.wmax_all = s.wmin_all, s.wmax_all
        self.psferr = s.psferr

    @property
    def handle(self):
        if not self._finalize.alive:
            raise ValueError("perfex.PSF %s: used after close()" % self.path)
        return self._handle

    def close(self):
        self._finalize()

    def __repr__(self):
        return "perfex.PSF(%r)" % self.path

    def _each(self, ispec, values, fn, nout):
        ispec_a, values_a = np.broadcast_arrays(np.asarray(ispec), np.asarray(values, float))
        outs = [np.empty(ispec_a.shape) for _ in range(nout)]
        cs = [ctypes.c_double() for _ in range(nout)]
        for k in np.ndindex(ispec_a.shape):
            _lib.check(fn(self.handle, int(ispec_a[k]), float(values_a[k]),
                          *[ctypes.byref(c) for c in cs]))
            for o, c in zip(outs, cs):
                o[k] = c.value
        if not outs[0].shape:
            return tuple(float(o) for o in outs)
        return tuple(outs)

    def xy(self, ispec, wavelength):
        """Trace centre (x, y) in pixels of fiber ispec at wavelength (arrays broadcast)."""
        return self._each(ispec, wavelength, _lib.px_psf_xy, 2)

    def x(self, ispec, wavelength):
        return self.xy(ispec, wavelength)[0]

    def y(self, ispec, wavelength):
        return self.xy(ispec, wavelength)[1]

    def wavelength(self, ispec, y):
        """Wavelength of fiber ispec at CCD row coordinate y (specter's inverse trace)."""
        return self._each(ispec, y, _lib.px_psf_wavelength, 1)[0]


def load_psf(path):
    """specter.psf.load_psf's counterpart: the perfex.PSF of a file."""
    return PSF(path)


# ------------------------------------------------------------------ options

def option_names():
    """The extraction options extract() takes as keywords (the long flags of
    `perfex extract` with '_' for '-'), from the library."""
    names = _lib.px_extract_option_names()
    out = []
    k = 0
    while names[k] is not None:
        out.append(_lib.text(names[k]).replace("-", "_"))
        k += 1
    return out


def _text(value):
    """An option value as the library's parser reads it back exactly."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fsdecode(os.fspath(value))
    if isinstance(value, (tuple, list, np.ndarray)):
        return ",".join(_text(v) for v in value)
    raise TypeError("perfex: option value %r of type %s" % (value, type(value).__name__))


class _Options:
    """A px_extract_options on the library's heap, set by name."""

    def __init__(self):
        handle = ctypes.c_void_p()
        _lib.check(_lib.px_extract_options_create(ctypes.byref(handle)))
        self.handle = handle
        self._finalize = weakref.finalize(self, _lib.px_extract_options_destroy, handle)
        self._keep = []  # text values: the library keeps their pointers
        self._report = None

    def set(self, name, value):
        text = os.fsencode(_text(value))
        self._keep.append(text)
        _lib.check(_lib.px_extract_options_set(self.handle, name.replace("_", "-").encode(),
                                               text))

    def report(self, verbose):
        """desi_extract_spectra's messages: warnings (level 1) as Python
        warnings, details (level 0) on stderr when verbose, as `perfex
        extract -v` prints them."""
        def hook(level, text, arg):
            msg = _lib.text(text)
            if level >= 1:
                warnings.warn("perfex.extract: " + msg, RuntimeWarning, stacklevel=3)
            elif verbose:
                print("perfex extract: " + msg, file=sys.stderr)
        self._report = _lib.REPORT(hook)
        _lib.px_extract_options_set_report(self.handle, self._report, None)

    def get(self, name):
        buf = ctypes.create_string_buffer(256)
        _lib.check(_lib.px_extract_options_get(self.handle, name.replace("_", "-").encode(),
                                               buf, len(buf)))
        return buf.value.decode()

    def close(self):
        self._finalize()


def _check_keywords(func, given, allowed):
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise TypeError("%s() got unexpected keyword argument%s %s (it takes %s)"
                        % (func, "s" if len(unknown) > 1 else "",
                           ", ".join("'%s'" % u for u in unknown), ", ".join(sorted(allowed))))


# -------------------------------------------------------------------- frame

def _array(ptr, shape, dtype):
    n = int(np.prod(shape))
    if n == 0 or not ptr:
        return np.zeros(shape, dtype)
    return np.ctypeslib.as_array(ptr, shape=(n,)).reshape(shape).astype(dtype, copy=True)


class Frame:
    """A frame's arrays, as `perfex extract` writes them (dict-style access
    works too: frame["flux"]):

    flux, ivar [nspec, nwave] (float32 as written; float64 with float64=True),
    mask [nspec, nwave] uint32, wave [nwave] float64 (WAVELENGTH),
    resolution_data [nspec, 2 ndiag + 1, nwave] (float32, or float64),
    chi2pix [nspec, nwave] (float32, or float64), fibermap (the FIBERMAP
    rows of the spectra as a numpy structured array, every column of the
    table; None when the frame has none) and fibermap_meta (its header's
    keywords), scores (the SCORES columns: name -> [nspec] float64; {} with
    no_scores) and scores_comments, specmin, fibers (FIBER, else specmin..),
    meta (header values: IN_PSF, IN_IMG, ORIG_PSF, CAMERA, PXDEVICE,
    HELIOCOR (1.0 when not applied), SPECMIN, NSPEC, NDIAG)."""

    _keys = ("flux", "ivar", "mask", "wave", "resolution_data", "chi2pix", "fibermap",
             "fibermap_meta", "scores", "scores_comments", "specmin", "fibers", "meta")

    def __init__(self, **kw):
        for k in self._keys:
            setattr(self, k, kw.get(k))

    def keys(self):
        return list(self._keys)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key):
        return key in self._keys

    def __repr__(self):
        return "perfex.Frame(nspec=%d, nwave=%d, specmin=%d)" % (
            self.flux.shape[0], self.flux.shape[1], self.specmin)


def _frame_shape(fp):
    ns, nw, nd = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    _lib.px_frame_shape(fp, ctypes.byref(ns), ctypes.byref(nw), ctypes.byref(nd))
    return ns.value, nw.value, nd.value


def _frame_from(fp, float64):
    """Copies of a px_frame's arrays in the types px_frame_write gives them
    (CFITSIO writes float32 HDUs by a C cast, which numpy's astype matches)."""
    ns, nw, nd = _frame_shape(fp)
    real = np.float64 if float64 else np.float32
    specmin = _lib.px_frame_specmin(fp)
    res = None
    if nd >= 0:
        res = _array(_lib.px_frame_resolution(fp), (ns, 2 * nd + 1, nw), real)
    helio = _lib.px_frame_heliocor(fp)
    meta = {"IN_PSF": _lib.text(_lib.px_frame_in_psf(fp)),
            "IN_IMG": _lib.text(_lib.px_frame_in_img(fp)),
            "ORIG_PSF": _lib.text(_lib.px_frame_orig_psf(fp)),
            "CAMERA": _lib.text(_lib.px_frame_camera(fp)),
            "PXDEVICE": _lib.text(_lib.px_frame_device(fp)),
            "HELIOCOR": helio if helio else 1.0,
            "SPECMIN": specmin, "NSPEC": ns, "NDIAG": nd}
    fibermap, fm_meta = None, None
    fm = _lib.px_frame_fibermap(fp)
    if fm:
        buf = ctypes.c_void_p()
        size = ctypes.c_size_t(0)
        _lib.check(_lib.px_fibermap_fits(fm, ctypes.byref(buf), ctypes.byref(size)))
        try:
            data = ctypes.string_at(buf, size.value)
        finally:
            _libc.free(buf)
        fibermap, fm_meta = _fits.read_table(data, "FIBERMAP")
    scores, comments = {}, {}
    for i in range(_lib.px_frame_nscores(fp)):
        name, comment = ctypes.c_char_p(), ctypes.c_char_p()
        values = ctypes.POINTER(ctypes.c_double)()
        _lib.check(_lib.px_frame_score(fp, i, ctypes.byref(name), ctypes.byref(comment),
                                       ctypes.byref(values)))
        scores[_lib.text(name.value)] = _array(values, (ns,), np.float64)
        comments[_lib.text(name.value)] = _lib.text(comment.value)
    if fibermap is not None and "FIBER" in fibermap.dtype.names:
        fibers = np.array(fibermap["FIBER"], dtype=np.int32)
    else:
        fibers = np.arange(specmin, specmin + ns, dtype=np.int32)
    return Frame(flux=_array(_lib.px_frame_flux(fp), (ns, nw), real),
                 ivar=_array(_lib.px_frame_ivar(fp), (ns, nw), real),
                 mask=_array(_lib.px_frame_mask(fp), (ns, nw), np.uint32),
                 wave=_array(_lib.px_frame_wave(fp), (nw,), np.float64),
                 resolution_data=res,
                 chi2pix=_array(_lib.px_frame_chi2pix(fp), (ns, nw), real),
                 fibermap=fibermap, fibermap_meta=fm_meta, scores=scores,
                 scores_comments=comments, specmin=specmin, fibers=fibers, meta=meta)


# ------------------------------------------------------------------ extract

_EXTRACT_OWN = ("wavelength", "specmin", "nspec", "yrange")


def extract(preproc, psf, wavelength=None, specmin=0, nspec=None, *, output=None, model=None,
            verbose=False, decorrelate_fibers=False, float64=False, context=None,
            device_type=None, platform=None, device=None, devices=None, **options):
    """Extract the frame of a preprocessed image file through a PSF file, as
    `perfex extract -i preproc -p psf` does (the same reading, checks,
    desi_extract_spectra steps, extraction and finishing), so the arrays
    equal the command's frame bit for bit.

    wavelength: (wmin, wmax, dw) or "wmin,wmax,dw" (None: the command's
    default grid); specmin, nspec: fibers (nspec None: all from specmin, or
    the fibermap's rows). Keywords are desi_extract_spectra's argument names:
    bundlesize, nsubbundles, nwavestep, regularize, psferr, pixpad_frac,
    wavepad_frac, fibermap (a FIBERMAP file; default the preproc's),
    barycentric_correction, no_scores, use_specter, verbose (details on
    stderr; warnings such as nspec reduced to the fibermap come as Python
    warnings), decorrelate_fibers (True: NotImplementedError, as the command
    refuses it), model (also write the model image to this path), and batch
    (patches per device launch); option_names() lists the library's. A None
    value keeps the default. output: also write the frame to this path
    (atomically, as the command does). Device: context (a perfex.Context or
    a list), or device_type/platform/device/devices as the command's flags
    (default $PERFEX_DEVICE, $PERFEX_DEVICES, else the default device).
    Returns a perfex.Frame."""
    allowed = [n for n in option_names() if n not in _EXTRACT_OWN]
    _check_keywords("perfex.extract", options, allowed)
    if decorrelate_fibers:
        raise NotImplementedError("perfex.extract: decorrelate_fibers (specter's ndecorr) is not "
                                  "implemented by perfex")
    psf_path = psf.path if isinstance(psf, PSF) else psf
    inputs = [preproc, psf_path] + ([options["fibermap"]] if options.get("fibermap") else [])
    for what, path in (("output", output), ("model", model)):
        for src in inputs:
            if path is not None and _lib.px_same_file(_path(path), _path(src)):
                raise ValueError("perfex.extract: %s %s is the input %s; refusing to overwrite it"
                                 % (what, os.fsdecode(path), os.fsdecode(src)))
    if output is not None and model is not None and _lib.px_same_file(_path(output),
                                                                       _path(model)):
        raise ValueError("perfex.extract: output and model name one file")
    opt = _Options()
    frame = ctypes.c_void_p()
    try:
        if wavelength is not None:
            if isinstance(wavelength, str):
                opt.set("wavelength", wavelength)
            else:
                wl = tuple(wavelength)
                if len(wl) != 3:
                    raise ValueError("perfex.extract: wavelength must be (wmin, wmax, dw), got %r"
                                     % (wavelength,))
                opt.set("wavelength", tuple(float(v) for v in wl))
        opt.set("specmin", int(specmin))
        if nspec is not None:
            opt.set("nspec", int(nspec))
        for name, value in options.items():
            if value is not None:
                opt.set(name, value)
        opt.report(verbose)
        image = None
        if model is not None:
            with PSF(psf_path) as p:
                ny, nx = p.npix_y, p.npix_x
            image = np.zeros((ny, nx))
            _lib.px_extract_options_set_outputs(opt.handle, image.ctypes.data, None)
        ctxs = _contexts(context, device_type, platform, device, devices)
        with _Locked(ctxs) as (arr, n):
            _lib.check(_lib.px_extract_files(arr, n, _path(preproc), _path(psf_path), opt.handle,
                                             ctypes.byref(frame)))
        out = _frame_from(frame, float64)
        if output is not None:
            _lib.check(_lib.px_frame_write(frame, _path(output)))
        if model is not None:
            _lib.check(_lib.px_frame_write_model(frame, image.ctypes.data, nx, ny, _path(model)))
    finally:
        _lib.px_frame_destroy(frame)
        opt.close()
    return out


# --------------------------------------------------------------------- ex2d

def _grid_check(wave_perfex, wavelengths, dw):
    """The plan's grid must be the caller's: ex2d extracts on numpy.arange-like
    grids only, and refuses others rather than extract on different bins."""
    if len(wave_perfex) != len(wavelengths):
        raise ValueError("perfex.ex2d: wavelengths are not a uniform grid like numpy.arange("
                         "%r, %r + dw/2, %r): %d bins given, such a grid has %d"
                         % (wavelengths[0], wavelengths[-1], dw, len(wavelengths),
                            len(wave_perfex)))
    off = np.abs(wave_perfex - wavelengths)
    k = int(np.argmax(off))
    if off[k] > 1e-6 * abs(dw):
        raise ValueError("perfex.ex2d: wavelengths are not a uniform grid: bin %d is %r, a "
                         "grid of step %r from %r has %r there (off by more than 1e-6 of a step)"
                         % (k, wavelengths[k], dw, wavelengths[0], wave_perfex[k]))


def ex2d(image, imageivar, psf, specmin, nspec, wavelengths, xyrange=None, regularize=0.0,
         ndecorr=False, bundlesize=25, nsubbundles=1, wavesize=50, full_output=False,
         verbose=False, debug=False, psferr=None, pixpad_frac=0.8, wavepad_frac=0.2, *,
         context=None, device_type=None, platform=None, device=None, devices=None, batch=None):
    """specter.extract.ex2d on perfex: 2D spectroperfectionism extraction of
    spectra specmin .. specmin + nspec - 1 of image (pixels) with imageivar
    (inverse variance, 0 = masked) through psf (a path or a perfex.PSF) on
    the grid wavelengths (uniform: numpy.arange-like; others raise
    ValueError), in bundles of bundlesize fibers, nsubbundles sub-bundles
    and wavesize bins per patch, as specter decomposes it.

    xyrange (xmin, xmax, ymin, ymax): image is that cutout of the CCD, and
    the patches use its rows only (specter's rule); its columns must cover
    the traces. regularize, psferr (None: the PSF's), pixpad_frac,
    wavepad_frac as in specter. ndecorr=True is not implemented
    (NotImplementedError). verbose prints one line per call; debug is
    accepted and ignored. Beyond specter: the device keywords of extract(),
    and batch (patches per device launch).

    Returns (flux, ivar, Rdata) with flux, ivar [nspec, nwave] per Angstrom
    and Rdata [nspec, 2 ndiag + 1, nwave], float64; with full_output=True the
    dict of specter's keys: flux, ivar, resolution_data, modelimage (image's
    shape), pixmask_fraction, chi2pix."""
    if ndecorr:
        raise NotImplementedError("perfex.ex2d: ndecorr=True (decorrelated fibers) is not "
                                  "implemented by perfex; use ndecorr=False")
    psf_obj = psf if isinstance(psf, PSF) else PSF(psf)
    own_psf = psf_obj is not psf
    opt = _Options()
    plan = ctypes.c_void_p()
    img = ctypes.c_void_p()
    frame = ctypes.c_void_p()
    try:
        image = np.asarray(image, dtype=np.float64)
        imageivar = np.asarray(imageivar, dtype=np.float64)
        if image.ndim != 2 or image.shape != imageivar.shape:
            raise ValueError("perfex.ex2d: image and imageivar must be 2-d arrays of one shape, "
                             "got %s and %s" % (image.shape, imageivar.shape))
        wavelengths = np.asarray(wavelengths, dtype=np.float64)
        if wavelengths.ndim != 1 or len(wavelengths) < 2:
            raise ValueError("perfex.ex2d: wavelengths must be a 1-d grid of at least 2 bins")
        dw = wavelengths[1] - wavelengths[0]
        if not dw > 0:
            raise ValueError("perfex.ex2d: wavelengths must increase (step %r)" % dw)
        ny, nx = psf_obj.npix_y, psf_obj.npix_x
        if xyrange is None:
            if image.shape != (ny, nx):
                raise ValueError("perfex.ex2d: image is %d x %d pixels, the PSF's CCD %d x %d "
                                 "(%s); give xyrange for a cutout"
                                 % (image.shape[0], image.shape[1], ny, nx, psf_obj.path))
            pix, ivar = image, imageivar
        else:
            x0, x1, y0, y1 = (int(v) for v in xyrange)
            if not (0 <= x0 < x1 <= nx and 0 <= y0 < y1 <= ny):
                raise ValueError("perfex.ex2d: xyrange %r is not inside the PSF's CCD "
                                 "(0, %d, 0, %d)" % (tuple(xyrange), nx, ny))
            if image.shape != (y1 - y0, x1 - x0):
                raise ValueError("perfex.ex2d: image is %d x %d pixels, xyrange %r is %d x %d"
                                 % (image.shape[0], image.shape[1], tuple(xyrange), y1 - y0,
                                    x1 - x0))
            # the cutout in a CCD of weight 0 elsewhere; the patches keep to its rows
            pix = np.zeros((ny, nx))
            ivar = np.zeros((ny, nx))
            pix[y0:y1, x0:x1] = image
            ivar[y0:y1, x0:x1] = imageivar
            opt.set("yrange", (y0, y1))
        pix = np.ascontiguousarray(pix)
        ivar = np.ascontiguousarray(ivar)
        opt.set("wavelength", (float(wavelengths[0]), float(wavelengths[-1]), float(dw)))
        opt.set("specmin", int(specmin))
        opt.set("nspec", int(nspec))
        opt.set("bundlesize", int(bundlesize))
        opt.set("nsubbundles", int(nsubbundles))
        opt.set("nwavestep", int(wavesize))
        opt.set("regularize", float(regularize))
        opt.set("pixpad_frac", float(pixpad_frac))
        opt.set("wavepad_frac", float(wavepad_frac))
        if psferr is not None:
            opt.set("psferr", float(psferr))
        if batch is not None:
            opt.set("batch", int(batch))
        nspec = int(nspec)
        nwave = len(wavelengths)
        model = np.zeros((ny, nx)) if full_output else None
        pixmask = np.zeros((nspec, nwave)) if full_output else None
        _lib.px_extract_options_set_outputs(
            opt.handle, model.ctypes.data if full_output else None,
            pixmask.ctypes.data if full_output else None)
        _lib.check(_lib.px_image_create(nx, ny, pix.ctypes.data, ivar.ctypes.data, None, None,
                                        ctypes.byref(img)))
        ctxs = _contexts(context, device_type, platform, device, devices)
        with _Locked(ctxs) as (arr, n):
            _lib.check(_lib.px_extract_plan_create_multi(arr, n, psf_obj.handle, opt.handle,
                                                         ctypes.byref(plan)))
            pns, pnw, pnd = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
            _lib.px_extract_plan_shape(plan, ctypes.byref(pns), ctypes.byref(pnw),
                                       ctypes.byref(pnd))
            _grid_check(_array(_lib.px_extract_plan_wave(plan), (pnw.value,), np.float64),
                        wavelengths, dw)
            _lib.check(_lib.px_extract_execute(plan, img, 0, 1, ctypes.byref(frame)))
        out = _frame_from(frame, True)
        if verbose:
            print("perfex.ex2d: spectra %d..%d, %d wavelengths %.2f..%.2f on %s"
                  % (specmin, specmin + nspec - 1, nwave, wavelengths[0], wavelengths[-1],
                     out.meta["PXDEVICE"]))
    finally:
        _lib.px_frame_destroy(frame)
        _lib.px_extract_plan_destroy(plan)
        _lib.px_image_destroy(img)
        opt.close()
        if own_psf:
            psf_obj.close()
    if not full_output:
        return out.flux, out.ivar, out.resolution_data
    if xyrange is not None:
        model = model[y0:y1, x0:x1].copy()
    return dict(flux=out.flux, ivar=out.ivar, resolution_data=out.resolution_data,
                modelimage=model, pixmask_fraction=pixmask, chi2pix=out.chi2pix)
