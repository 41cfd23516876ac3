# SPDX-License-Identifier: BSD-3-Clause
"""FITS binary tables in memory, read with numpy alone: what the library
hands over as a FITS file in a buffer (a frame's FIBERMAP) becomes a numpy
structured array (native byte order) and a dict of its header's keywords.

Columns as astropy.io.fits gives them: L as bool, B/I/J/K/E/D/C/M as their
numbers (TZERO 2**15, 2**31, 2**63 on I, J, K and -128 on B as the unsigned
or signed types; other TSCAL/TZERO applied as floats), A as str with
trailing blanks removed, X as bytes of packed bits; a repeat count or TDIM
gives a sub-array. Variable-length columns (P, Q) are refused.
"""

import re

import numpy as np

_BLOCK = 2880
_TYPES = {"L": "i1", "X": "u1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "A": "S",
          "E": ">f4", "D": ">f8", "C": ">c8", "M": ">c16"}
_UNSIGNED = {("I", 32768): np.uint16, ("J", 2147483648): np.uint32,
             ("K", 9223372036854775808): np.uint64, ("B", -128): np.int8}


def _value(text):
    """A header card's value: str, bool, int or float (None for none)."""
    text = text.strip()
    if text.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'", text)
        return m.group(1).replace("''", "'").rstrip() if m else text
    v = text.split("/", 1)[0].strip()
    if v == "T":
        return True
    if v == "F":
        return False
    if not v:
        return None
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v.replace("D", "E"))
    except ValueError:
        return v


def _headers(buf):
    """(header dict, offset of its data, data size) of each HDU of buf."""
    pos = 0
    out = []
    n = len(buf)
    while pos + _BLOCK <= n and buf[pos:pos + 8] in (b"SIMPLE  ", b"XTENSION"):
        hdr = {}
        end = False
        start = pos
        while not end:
            if pos + _BLOCK > n:
                raise ValueError("FITS buffer truncated in a header")
            block = buf[pos:pos + _BLOCK].decode("ascii", "replace")
            pos += _BLOCK
            for k in range(0, _BLOCK, 80):
                card = block[k:k + 80]
                key = card[:8].strip()
                if key == "END":
                    end = True
                    break
                if card[8:10] == "= " and key not in hdr:
                    hdr[key] = _value(card[10:])
        naxis = int(hdr.get("NAXIS", 0))
        size = 0
        if naxis:
            size = abs(int(hdr.get("BITPIX", 8))) // 8
            for i in range(1, naxis + 1):
                size *= int(hdr.get("NAXIS%d" % i, 0))
        size = (size + int(hdr.get("PCOUNT", 0))) * int(hdr.get("GCOUNT", 1))
        out.append((hdr, pos, size, start))
        pos += (size + _BLOCK - 1) // _BLOCK * _BLOCK
    return out


def _column(raw, fmt, tdim, tscal, tzero, name):
    m = re.match(r"^\s*(\d*)([LXBIJKAEDCMPQ])", fmt)
    if not m:
        raise ValueError("column %s: TFORM %r not understood" % (name, fmt))
    repeat = int(m.group(1)) if m.group(1) else 1
    code = m.group(2)
    if code in "PQ":
        raise ValueError("column %s: variable-length arrays (TFORM %r) are not supported"
                         % (name, fmt))
    nrow = raw.shape[0]
    if code == "A":
        shape = ()
        width = repeat
        if tdim and len(tdim) > 1:
            width = tdim[0]
            shape = tuple(reversed(tdim[1:]))
        col = raw.view("S%d" % width) if width else np.zeros((nrow,), "S1")
        col = col.reshape((nrow,) + shape)
        return np.char.rstrip(np.char.decode(col, "ascii", "replace"), " \0")
    if code == "X":
        return raw.copy().reshape((nrow, (repeat + 7) // 8))
    col = raw.view(_TYPES[code]).reshape((nrow, repeat))
    shape = tuple(reversed(tdim)) if tdim else ((repeat,) if repeat != 1 else ())
    col = col.reshape((nrow,) + shape)
    if code == "L":
        return col == ord("T")
    unsigned = _UNSIGNED.get((code, tzero)) if tscal in (None, 1) else None
    if unsigned is not None:
        # stored s = physical - TZERO: flipping the top bit of s's pattern gives
        # the physical value's pattern in the unsigned (B: signed) type
        u = col if code == "B" else col.view(col.dtype.str.replace("i", "u"))
        flipped = u ^ np.array(1 << (8 * u.dtype.itemsize - 1), dtype=u.dtype)
        return flipped.view(np.int8) if code == "B" else flipped.astype(unsigned)
    col = col.astype(col.dtype.newbyteorder("="))
    if (tscal not in (None, 1)) or (tzero not in (None, 0)):
        col = col * (1.0 if tscal is None else float(tscal)) + (0.0 if tzero is None
                                                                else float(tzero))
    return col


def read_table(buf, extname=None):
    """The binary table of a FITS file in buf (bytes): the HDU named extname,
    else the first BINTABLE. Returns (structured array, header dict)."""
    buf = bytes(buf)
    for hdr, pos, size, _ in _headers(buf):
        if hdr.get("XTENSION") != "BINTABLE":
            continue
        if extname is not None and str(hdr.get("EXTNAME", "")).strip() != extname:
            continue
        width, nrow = int(hdr["NAXIS1"]), int(hdr["NAXIS2"])
        rows = np.frombuffer(buf, np.uint8, width * nrow, pos).reshape(nrow, width)
        cols = []
        off = 0
        for i in range(1, int(hdr.get("TFIELDS", 0)) + 1):
            fmt = str(hdr["TFORM%d" % i])
            m = re.match(r"^\s*(\d*)([LXBIJKAEDCMPQ])", fmt)
            if not m:
                raise ValueError("TFORM%d %r not understood" % (i, fmt))
            rep = int(m.group(1)) if m.group(1) else 1
            code = m.group(2)
            nbytes = {"L": 1, "B": 1, "A": 1, "I": 2, "J": 4, "K": 8, "E": 4, "D": 8, "C": 8,
                      "M": 16, "P": 8, "Q": 16}.get(code)
            nb = (rep + 7) // 8 if code == "X" else rep * nbytes
            if code in "PQ":
                nb = nbytes
            name = str(hdr.get("TTYPE%d" % i, "col%d" % i))
            tdim = hdr.get("TDIM%d" % i)
            dims = None
            if tdim:
                dims = [int(v) for v in str(tdim).strip("() ").split(",") if v.strip()]
            cols.append((name, _column(np.ascontiguousarray(rows[:, off:off + nb]), fmt, dims,
                                       hdr.get("TSCAL%d" % i), hdr.get("TZERO%d" % i), name)))
            off += nb
        if off != width:
            raise ValueError("binary table rows of %d bytes, the columns use %d" % (width, off))
        dtype = [(n, c.dtype, c.shape[1:]) for n, c in cols]
        table = np.zeros(nrow, dtype=dtype)
        for n, c in cols:
            table[n] = c
        return table, hdr
    raise ValueError("no binary table%s in the FITS buffer" %
                     (" named %s" % extname if extname else ""))
