"""Image batches to one 8-bit tiled grid -- shared by :func:`ganlib.io.save_png` and
:func:`ganlib.plot.image_grid`.

Examples
--------
>>> import numpy as np
>>> g = make_grid(np.zeros((10, 1, 28, 28), np.float32), nrow=5, padding=2)
>>> g.shape, g.dtype                     # 2 rows x 5 columns, 2-px gaps and border
((62, 152), dtype('uint8'))
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["as_batch", "to_uint8", "make_grid"]

ArrayLike = Any


def as_batch(images: ArrayLike) -> np.ndarray:
    """``(N, C, H, W)`` view of one image ``(H, W)`` / ``(C, H, W)`` or a batch ``(N, C, H, W)``.

    ``C`` must be 1 (grayscale) or 3 (RGB); ``N, H, W >= 1``.

    Examples
    --------
    >>> as_batch(np.zeros((28, 28))).shape, as_batch(np.zeros((3, 8, 9))).shape
    ((1, 1, 28, 28), (1, 3, 8, 9))
    """
    x = np.asarray(images)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"images must be a numeric array, got dtype {x.dtype}")
    if x.ndim == 2:
        x = x[None, None]
    elif x.ndim == 3:
        x = x[None]
    elif x.ndim != 4:
        raise ValueError("images must be one image (H, W) or (C, H, W), or a batch (N, C, H, W); "
                         f"got shape {x.shape}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 (grayscale) or 3 (RGB) channels, got shape {x.shape} "
                         f"with {x.shape[1]} channels (layout is channels-first)")
    if min(x.shape) < 1:
        raise ValueError(f"images must not be empty, got shape {x.shape}")
    return x


def to_uint8(images: ArrayLike, value_range: Optional[Sequence[float]] = (-1, 1)) -> np.ndarray:
    """Map ``[lo, hi]`` to 0..255: ``round(255 (clip(x, lo, hi) − lo) / (hi − lo))``.

    ``value_range=None`` uses the data's own minimum and maximum (a constant
    input maps to 0).  Non-finite values raise ``ValueError``.

    Examples
    --------
    >>> to_uint8(np.array([-1.0, 0.0, 1.0, 7.0])).tolist()
    [0, 128, 255, 255]
    """
    x = np.asarray(images, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("images must be finite (found NaN or inf)")
    if value_range is None:
        lo, hi = float(x.min()), float(x.max())
        if hi <= lo:
            return np.zeros(x.shape, dtype=np.uint8)
    else:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ValueError(f"value_range must be a pair (lo, hi) or None, got {value_range!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"value_range must be finite with lo < hi, got {value_range!r}")
    y = (np.clip(x, lo, hi) - lo) * (255.0 / (hi - lo))
    return np.floor(y + 0.5).astype(np.uint8)


def make_grid(images: ArrayLike, nrow: Optional[int] = None, padding: int = 2,
              value_range: Optional[Sequence[float]] = (-1, 1)) -> np.ndarray:
    """Tile images into one 8-bit picture: ``(H', W')`` grayscale or ``(H', W', 3)`` RGB.

    Images (see :func:`as_batch`) are converted with :func:`to_uint8`, then
    placed row-major, ``nrow`` per grid row (default ``ceil(sqrt(N))``;
    capped at ``N``), ``ceil(N / nrow)`` grid rows, with ``padding`` black
    (0) pixels between tiles and around the border:
    ``H' = rows (H + padding) + padding``, ``W' = cols (W + padding) + padding``.
    A single image is returned without any padding.

    Examples
    --------
    >>> make_grid(np.ones((3, 3, 4, 4)), nrow=2, padding=1).shape
    (11, 11, 3)
    """
    x = as_batch(images)
    if padding is None or isinstance(padding, (bool, np.bool_)) or not isinstance(padding, numbers.Integral) \
            or padding < 0:
        raise ValueError(f"padding must be an int >= 0, got {padding!r}")
    n, c, h, w = x.shape
    if nrow is None:
        cols = int(math.ceil(math.sqrt(n)))
    else:
        if isinstance(nrow, (bool, np.bool_)) or not isinstance(nrow, numbers.Integral) or nrow < 1:
            raise ValueError(f"nrow must be an int >= 1 (images per grid row), got {nrow!r}")
        cols = int(nrow)
    cols = min(cols, n)
    rows = -(-n // cols)
    tiles = to_uint8(x, value_range)
    if n == 1:
        grid = tiles[0]
    else:
        p = int(padding)
        grid = np.zeros((c, rows * (h + p) + p, cols * (w + p) + p), dtype=np.uint8)
        for i in range(n):
            r, q = divmod(i, cols)
            top, left = p + r * (h + p), p + q * (w + p)
            grid[:, top:top + h, left:left + w] = tiles[i]
    return np.ascontiguousarray(grid[0] if c == 1 else grid.transpose(1, 2, 0))
