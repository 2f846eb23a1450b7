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

import os
import struct
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


def _unfilter(raw: bytes, h: int, w: int, bpp: int) -> np.ndarray:
    """Undo the per-scanline PNG filters (None, Sub, Up, Average, Paeth)."""
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError(f"PNG: image data has {len(raw)} bytes, expected {h * (stride + 1)}")
    data = np.frombuffer(raw, dtype=np.uint8).reshape(h, stride + 1)
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for r in range(h):
        ftype, line = data[r, 0], data[r, 1:]
        if ftype == 0:
            cur = line.copy()
        elif ftype == 1:                              # Sub: running sum per byte lane, mod 256
            pad = (-stride) % bpp
            lanes = np.concatenate([line, np.zeros(pad, np.uint8)]).reshape(-1, bpp)
            cur = (np.cumsum(lanes, axis=0, dtype=np.uint64) % 256).astype(np.uint8).reshape(-1)[:stride]
        elif ftype == 2:                              # Up
            cur = line + prev
        elif ftype in (3, 4):                         # Average, Paeth: sequential
            cur = bytearray(stride)
            up = prev.tolist()
            src = line.tolist()
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                if ftype == 3:
                    cur[i] = (src[i] + ((left + up[i]) >> 1)) & 0xFF
                else:
                    ul = up[i - bpp] if i >= bpp else 0
                    p = left + up[i] - ul
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else ul)
                    cur[i] = (src[i] + pred) & 0xFF
            cur = np.frombuffer(bytes(cur), dtype=np.uint8)
        else:
            raise ValueError(f"PNG: unknown filter type {int(ftype)} on scanline {r}")
        out[r] = cur
        prev = out[r]
    return out


def decode_png(data: bytes) -> np.ndarray:
    """Pixels of an 8-bit, non-interlaced grayscale / RGB (/ gray+alpha, RGBA) PNG.

    Returns ``uint8`` ``(H, W)`` for grayscale, else ``(H, W, C)``.  Chunk CRCs
    are checked; ancillary chunks are skipped.  ``ValueError`` on anything else.
    """
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
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        elif not (kind[0] & 0x20):                    # critical chunk we do not know (e.g. PLTE)
            raise ValueError(f"PNG: unsupported critical chunk {kind!r}")
    if header is None:
        raise ValueError("PNG: missing IHDR chunk")
    w, h, depth, colour, comp, filt, interlace = header
    if depth != 8 or colour not in _CHANNELS or comp or filt or interlace:
        raise ValueError(f"PNG: unsupported format (bit depth {depth}, colour type {colour}, "
                         f"interlace {interlace}); only 8-bit non-interlaced gray/RGB(A)")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ValueError(f"PNG: corrupt image data ({exc})") from None
    c = _CHANNELS[colour]
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
