# SPDX-License-Identifier: BSD-3-Clause
"""What the Python tests share: skipping (exit 77) without numpy or astropy,
the perfex command, ../shared/data, self-made inputs (`perfex psf synth` and
`perfex simulate`), and one way to record failed checks."""

import os
import subprocess
import sys
import tempfile

SKIP = 77


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def need(*modules):
    """Import modules or skip the test naming the Debian package."""
    out = []
    for m in modules:
        try:
            out.append(__import__(m))
        except ImportError:
            skip("%s not importable (Debian package python3-%s)" % (m, m.split(".")[0]))
    return out


PERFEX = os.environ.get("PERFEX", "perfex")
SRC = os.environ.get("SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SHARED = os.environ.get("PERFEX_SHARED_DATA", os.path.join(SRC, "..", "shared", "data"))


def shared(name):
    """A file of ../shared/data, or None when absent."""
    p = os.path.join(SHARED, name)
    return p if os.path.exists(p) else None


def fixture(name):
    """A file the ctest fixture cases made (tests/util/fixture_*.sh), or None."""
    d = os.environ.get("PERFEX_TEST_FIXTURES")
    p = os.path.join(d, name) if d else None
    return p if p and os.path.exists(p) else None


def tmpdir():
    d = os.environ.get("TMP")
    if d and os.path.isdir(d):
        return d
    return tempfile.mkdtemp(prefix="perfex-py-")


def run(*args, check=True):
    """Run the perfex command; returns (exit status, stderr)."""
    p = subprocess.run([PERFEX] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if check and p.returncode != 0:
        raise AssertionError("perfex %s: exit %d: %s" % (" ".join(map(str, args)), p.returncode,
                                                         p.stderr.strip()))
    return p.returncode, p.stderr


def synth_inputs(d, fibers=30, grid="6000,6300,0.8", nspec=30, cosmics=5, npix_x=420):
    """A synthetic PSF and a simulated preproc made by the perfex command.

    The PSF's CCD is cut to npix_x columns (NPIX_X; rows and wavelength
    ranges stay the full CCD's): fibers 0-29 lie at x 146..368, and the
    images, models and weights the tests handle are then 10 times smaller
    than DESI's 4114 columns."""
    psf = os.path.join(d, "synth-psf.fits")
    img = os.path.join(d, "synth-preproc.fits")
    if not os.path.exists(psf):
        from astropy.io import fits
        tmp = psf + ".tmp"
        run("psf", "synth", "-o", tmp, "--fibers", fibers, "--seed", 2)
        if npix_x:
            fits.setval(tmp, "NPIX_X", value=npix_x, extname="PSF")
        os.rename(tmp, psf)
    if not os.path.exists(img):
        run("simulate", "-p", psf, "-o", img, "-w", grid, "-s", 0, "-n", nspec, "--cosmics",
            cosmics, "--seed", 1, "--quiet")
    return img, psf


class Checks:
    """Collects failed checks; finish() prints them and exits 1 if any."""

    def __init__(self):
        self.failed = 0

    def __call__(self, ok, what):
        if not ok:
            print("FAILED: " + what)
            self.failed += 1
        return ok

    def raises(self, exc, fn, what, contains=()):
        """fn() must raise exc whose message holds every string of contains."""
        try:
            fn()
        except exc as e:
            msg = str(e)
            missing = [c for c in contains if c not in msg]
            return self(not missing, "%s: message %r lacks %r" % (what, msg, missing))
        except Exception as e:  # noqa: BLE001 (any other exception is the failure)
            return self(False, "%s: raised %s: %s, want %s" % (what, type(e).__name__, e,
                                                             exc.__name__))
        return self(False, "%s: no %s raised" % (what, exc.__name__))

    def finish(self):
        if self.failed:
            print("%d check(s) failed" % self.failed)
            sys.exit(1)
        print("ok")
        sys.exit(0)
