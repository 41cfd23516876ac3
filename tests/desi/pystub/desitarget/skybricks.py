# SPDX-License-Identifier: BSD-3-Clause
"""Stand-in for desitarget.skybricks: imported by desispec, never used by perfex's checks."""


class Skybricks(object):
    def __init__(self, *args, **kwargs):
        raise RuntimeError("desitarget stand-in: Skybricks is not available (tests/desi/pystub)")
