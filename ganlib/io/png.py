"""A minimal PNG writer (8-bit grayscale / RGB) and reader, with ``zlib`` and ``struct`` only.

The file is the 8-byte signature, an ``IHDR`` chunk (width, height, bit depth 8,
colour type 0 = grayscale or 2 = RGB, compression 0, filter 0, no interlace),
one ``IDAT`` chunk holding the zlib-compressed scanlines (each prefixed with
filter byte 0, "None") and an empty ``IEND``; every chunk is
``length (uint32 BE) | type | data | CRC-32 of type+data``.  Writes are atomic:
a temporary file in the target directory, flushed and fsynced, then renamed.

Examples
--------
>>> import numpy as np
>>> from ganlib.io import save_png, load_png
>>> save_png("samples.png", np.zeros((16, 1, 28, 28), np.float32))    # doctest: +SKIP
>>> load_png("samples.png").shape                                      # doctest: +SKIP
(122, 122)
"""
from __future__ import annotations

import math
import os
import struct
import sys
import zlib
from typing import Any, Optional, Sequence, Union

import numpy as np

from .atomic import write_atomic
from .tiling import make_grid

__all__ = ["save_png", "load_png", "encode_png", "decode_png"]

PathLike = Union[str, "os.PathLike[str]"]
SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}     # colour type -> samples per pixel (8-bit)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """PNG bytes of a ``uint8`` ``(H, W)`` grayscale or ``(H, W, 3)`` RGB array.

    Examples
    --------
    >>> encode_png(np.zeros((2, 3), np.uint8))[:8] == SIGNATURE
    True
    """
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise TypeError(f"encode_png needs uint8 pixels, got {a.dtype}")
    if a.ndim == 2:
        colour = 0
    elif a.ndim == 3 and a.shape[2] == 3:
        colour = 2
    else:
        raise ValueError(f"encode_png needs (H, W) or (H, W, 3) pixels, got shape {a.shape}")
    h, w = a.shape[:2]
    if not (1 <= h < 2 ** 31 and 1 <= w < 2 ** 31):
        raise ValueError(f"PNG width and height must be in 1..2^31-1, got {w} x {h}")
    rows = a.reshape(h, -1)
    raw = np.empty((h, rows.shape[1] + 1), dtype=np.uint8)
    raw[:, 0] = 0                      # filter type 0 (None) on every scanline
    raw[:, 1:] = rows
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
            + _chunk(b"IEND", b""))


def save_png(path: PathLike, images: Any, value_range: Optional[Sequence[float]] = (-1, 1),
             nrow: Optional[int] = None, padding: int = 2) -> None:
    """Write one image or a tiled grid of images as an 8-bit PNG, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Target file (its directory must exist); replaced atomically.
    images : array_like
        One image ``(H, W)`` or ``(C, H, W)``, or a batch ``(N, C, H, W)``
        with ``C`` 1 (grayscale PNG) or 3 (RGB PNG), channels first.
    value_range : (float, float) or None
        Values mapped to black and white (clipped outside); ``(-1, 1)`` for
        tanh outputs, ``(0, 1)`` or ``(0, 255)`` otherwise; ``None``: the data's
        own min and max.
    nrow : int, optional
        Images per grid row (default ``ceil(sqrt(N))``).
    padding : int
        Black pixels between tiles and around the grid (not for a single image).

    Notes
    -----
    The conversion and tiling are those of :func:`ganlib.io.tiling.make_grid`
    (also used by :func:`ganlib.plot.image_grid`).

    Examples
    --------
    >>> import numpy as np
    >>> from ganlib.datasets import lines
    >>> save_png("lines.png", lines(64), nrow=8)                 # doctest: +SKIP
    """
    data = encode_png(make_grid(images, nrow=nrow, padding=padding, value_range=value_range))
    write_atomic(os.fspath(path), lambda f: f.write(data))


# Cost model for rows filtered with Average or Paeth, whose bytes depend on the
# decoded byte to their left: the per-byte Python loop costs about _LOOP_S per
# byte; the NumPy wavefront (below) about _WAVE_STEP_S per diagonal plus
# _WAVE_BYTE_S per byte.  Measured on one core; only the ratios matter.
_LOOP_S = 0.4e-6
_WAVE_STEP_S = 12e-6
_WAVE_BYTE_S = 15e-9
# The wavefront's skewed int16 buffer holds (rows + w) * rows * bpp values:
# taller spans are decoded in bands of rows that keep it under this size.
_WAVE_MAX_BYTES = 64 * 2 ** 20


def _band_rows(w: int, bpp: int) -> int:
    """Most rows per wavefront band: (k + w) * k * bpp * 2 bytes <= _WAVE_MAX_BYTES."""
    cap = _WAVE_MAX_BYTES / (2 * bpp)
    return max(1, int((math.sqrt(w * w + 4 * cap) - w) / 2))


def _unfilter_row(ftype: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    """One scanline with its decoded predecessor ``prev`` (zeros for the first)."""
    if ftype == 0:                                    # None
        return line
    if ftype == 1:                                    # Sub: running sum per byte lane, mod 256
        return np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
    if ftype == 2:                                    # Up
        return line + prev
    # Average, Paeth: sequential along the row, byte by byte
    cur = bytearray(len(line))
    up = prev.tolist()
    src = line.tolist()
    for i in range(len(line)):
        left = cur[i - bpp] if i >= bpp else 0
        if ftype == 3:
            cur[i] = (src[i] + ((left + up[i]) >> 1)) & 0xFF
        else:
            ul = up[i - bpp] if i >= bpp else 0
            p = left + up[i] - ul
            pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - ul)
            pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else ul)
            cur[i] = (src[i] + pred) & 0xFF
    return np.frombuffer(bytes(cur), dtype=np.uint8)


def _unfilter_wavefront(block: np.ndarray, prev: np.ndarray, w: int, bpp: int) -> np.ndarray:
    """Decode the consecutive scanlines ``block`` (k, 1 + w*bpp) of any filter types.

    Pixel (r, x) depends only on (r, x-1), (r-1, x) and (r-1, x-1), so all
    pixels on an anti-diagonal r + x = s are independent: the k + w - 1
    diagonals are decoded one after another, each with a few NumPy operations
    over its up-to-k pixels.  The decoded pixels are kept skewed so that a
    diagonal is contiguous: pixel (r, x) at ``d[r + x + 2, r + 1]``, the
    previous row's pixel x at ``d[x + 1, 0]``, zeros for every pixel left of
    column 0 (never written).
    """
    as_strided = np.lib.stride_tricks.as_strided
    k = block.shape[0]
    stride = w * bpp
    steps = k + w - 1
    d = np.zeros((steps + 2, k + 1, bpp), dtype=np.int16)
    d[1:w + 1, 0] = prev.reshape(w, bpp)
    # the filtered bytes, read along the same diagonals: (s, r) -> block[r, 1 + (s - r) * bpp]
    raw = block.reshape(-1)
    src = as_strided(raw[1:], (steps, k, bpp), (bpp, stride + 1 - bpp, 1))
    ftypes = block[:, 0]
    kinds = [int(f) for f in np.unique(ftypes)]
    masks = {f: (ftypes == f)[:, None] for f in kinds}
    only = kinds[0] if len(kinds) == 1 else None
    for s in range(steps):
        lo, hi = max(0, s - w + 1), min(k, s + 1)
        a = d[s + 1, lo + 1:hi + 1]                   # left: (r, x - 1)
        b = d[s + 1, lo:hi]                           # up: (r - 1, x)
        if only == 3:
            pred = (a + b) >> 1
        else:
            c = d[s, lo:hi]                           # up-left: (r - 1, x - 1)
            pa = np.abs(b - c)
            pb = np.abs(a - c)
            pc = np.abs(a + b - c - c)
            pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
            if only is None:                          # mixed filter types: pick per row
                for f, mk in masks.items():
                    if f != 4:
                        pred = np.where(mk[lo:hi], 0 if f == 0 else a if f == 1 else b if f == 2 else (a + b) >> 1,
                                        pred)
        x = d[s + 2, lo + 1:hi + 1]
        np.add(src[s, lo:hi], pred, out=x)
        np.bitwise_and(x, 0xFF, out=x)
    # unskew: out[r, x] = d[r + x + 2, r + 1]
    isz = d.itemsize
    flat = d.reshape(-1)[(2 * (k + 1) + 1) * bpp:]
    view = as_strided(flat, (k, w, bpp), ((k + 2) * bpp * isz, (k + 1) * bpp * isz, isz))
    return view.astype(np.uint8).reshape(k, stride)


def _unfilter(raw: bytes, h: int, w: int, bpp: int) -> np.ndarray:
    """Undo the per-scanline PNG filters (None, Sub, Up, Average, Paeth).

    None, Sub and Up rows are decoded with whole-row NumPy operations.  The
    rows from the first to the last Average / Paeth row are decoded together
    by :func:`_unfilter_wavefront` when that is cheaper than a per-byte loop
    over the Average / Paeth rows (it is for any image of more than a few
    rows; a 2048 x 2048 Paeth image decodes in a fraction of a second).
    """
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError(f"PNG: image data has {len(raw)} bytes, expected {h * (stride + 1)}")
    data = np.frombuffer(raw, dtype=np.uint8).reshape(h, stride + 1)
    ftypes = data[:, 0]
    bad = np.flatnonzero(ftypes > 4)
    if bad.size:
        raise ValueError(f"PNG: unknown filter type {int(ftypes[bad[0]])} on scanline {int(bad[0])}")
    out = np.empty((h, stride), dtype=np.uint8)
    hard = np.flatnonzero(ftypes >= 3)
    span, band = (h, h), h                            # rows [begin, end) decoded by the wavefront
    if hard.size:
        begin, end = int(hard[0]), int(hard[-1]) + 1
        band = _band_rows(w, bpp)
        k, bands = end - begin, -(-(end - begin) // band)
        wave = (k + bands * w) * _WAVE_STEP_S + k * stride * _WAVE_BYTE_S
        if wave < hard.size * stride * _LOOP_S:
            span = (begin, end)
    prev = np.zeros(stride, dtype=np.uint8)
    r = 0
    while r < h:
        if span[0] <= r < span[1]:
            end = min(r + band, span[1])
            out[r:end] = _unfilter_wavefront(data[r:end], prev, w, bpp)
            r = end
        else:
            out[r] = _unfilter_row(int(ftypes[r]), data[r, 1:], prev, bpp)
            r += 1
        prev = out[r - 1]
    return out


def decode_png(data: bytes) -> np.ndarray:
    """Pixels of an 8-bit, non-interlaced grayscale / RGB (/ gray+alpha, RGBA) PNG.

    Returns ``uint8`` ``(H, W)`` for grayscale, else ``(H, W, C)``.  Chunk CRCs
    are checked; ancillary chunks are skipped.  ``ValueError`` on anything else
    (a short or damaged header included).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_png needs bytes, got {type(data).__name__}")
    data = bytes(data)
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG file (bad signature)")
    pos, header, idat = 8, None, []
    while True:
        if pos + 8 > len(data):
            raise ValueError("PNG: truncated (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ValueError(f"PNG: truncated {kind!r} chunk")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body) & 0xFFFFFFFF:
            raise ValueError(f"PNG: CRC mismatch in {kind!r} chunk")
        if header is None and kind != b"IHDR":
            raise ValueError(f"PNG: the first chunk must be IHDR, got {kind!r}")
        pos += 12 + length
        if kind == b"IHDR":
            if header is not None:
                raise ValueError("PNG: more than one IHDR chunk")
            if length != 13:
                raise ValueError(f"PNG: IHDR chunk has {length} bytes, expected 13")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        elif not (kind[0] & 0x20):                    # critical chunk we do not know (e.g. PLTE)
            raise ValueError(f"PNG: unsupported critical chunk {kind!r}")
    w, h, depth, colour, comp, filt, interlace = header
    if not (1 <= w < 2 ** 31 and 1 <= h < 2 ** 31):
        raise ValueError(f"PNG: width and height must be in 1..2^31-1, got {w} x {h}")
    if depth != 8 or colour not in _CHANNELS or comp or filt or interlace:
        raise ValueError(f"PNG: unsupported format (bit depth {depth}, colour type {colour}, "
                         f"interlace {interlace}); only 8-bit non-interlaced gray/RGB(A)")
    c = _CHANNELS[colour]
    expected = h * (w * c + 1)
    if expected >= sys.maxsize:
        raise ValueError(f"PNG: {w} x {h} pixels is too large")
    try:                                              # never inflate more than the image needs
        z = zlib.decompressobj()
        raw = z.decompress(b"".join(idat), expected + 1)
    except zlib.error as exc:
        raise ValueError(f"PNG: corrupt image data ({exc})") from None
    if len(raw) > expected:
        raise ValueError(f"PNG: image data has more than the {expected} bytes of {w} x {h} pixels")
    if not z.eof or len(raw) < expected:
        raise ValueError(f"PNG: image data is truncated ({len(raw)} of {expected} bytes)")
    px = _unfilter(raw, h, w, c).reshape(h, w, c)
    return px[:, :, 0] if c == 1 else px


def load_png(path: PathLike) -> np.ndarray:
    """Read a PNG written by :func:`save_png` (8-bit gray / RGB) as ``uint8`` ``(H, W[, C])``.

    Examples
    --------
    >>> import numpy as np
    >>> save_png("one.png", np.full((1, 4, 5), 1.0))               # doctest: +SKIP
    >>> load_png("one.png").tolist()[0]                             # doctest: +SKIP
    [255, 255, 255, 255, 255]
    """
    with open(os.fspath(path), "rb") as f:
        return decode_png(f.read())
