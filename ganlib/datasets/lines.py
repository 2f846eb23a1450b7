"""The ACAI "lines" images (Berthelot et al. 2018; TECHNIQUES.md §F, interpolation quality).

Each image is ``size x size`` (32 x 32 by default) with one anti-aliased line
segment starting at the image centre, of length ``L = size/2 - 1`` pixels (15
for 32 x 32), width 2 pixels, at an angle ``θ ~ U(0, 2π)``; background −1,
foreground +1.

Rendering rule (exact)
----------------------
Continuous image coordinates: the image covers ``[0, size]²``, pixel
``(row r, col c)`` has its centre at ``(x, y) = (c + 0.5, r + 0.5)``, ``x``
to the right and ``y`` *down* (row index).  The segment runs from the centre
``P0 = (size/2, size/2)`` to ``P1 = P0 + L (cos θ, −sin θ)``, so ``θ`` is the
usual counter-clockwise angle as the image is displayed (``θ = 0`` points
right, ``θ = π/2`` points up).  For each pixel centre ``q``,

* ``d`` = Euclidean distance from ``q`` to the segment ``[P0, P1]``
  (projection parameter ``t = clip(<q − P0, u>, 0, L)`` with ``u`` the unit
  direction, ``d = ‖q − P0 − t u‖``; the ends are therefore round caps),
* coverage ``a = clip(w/2 + 1/2 − d, 0, 1)`` with ``w = 2`` -- a linear ramp
  one pixel wide centred on the stroke boundary ``d = w/2``, the box-filter
  estimate of the fraction of the pixel inside the stroke (pixels with
  ``d <= 0.5`` are fully on, ``d >= 1.5`` fully off),
* value ``= −1 + 2a``.

Angles are drawn with ``numpy.random.default_rng(seed).uniform(0, 2π, n)``,
so a seed gives the same images everywhere.

Examples
--------
>>> from ganlib.datasets import lines
>>> x, theta = lines(4, seed=0, return_angles=True)
>>> x.shape, x.dtype, float(x.min()), float(x.max())
((4, 1, 32, 32), dtype('float32'), -1.0, 1.0)
"""
from __future__ import annotations

import math
from typing import Any, Tuple, Union

import numpy as np

from .._checks import check_bool, check_int, check_seed

__all__ = ["lines", "render_lines"]

LINE_WIDTH = 2.0
# images rendered per chunk: bounds the (chunk, size, size) float64 temporaries
_CHUNK = 2048


def render_lines(angles: Any, size: int = 32) -> np.ndarray:
    """Render one line image per angle (radians) with the rule in the module docstring.

    Parameters
    ----------
    angles : array_like
        ``(n,)`` finite angles in radians (any real value; periodic in 2π).
    size : int
        Image side, ``>= 4``; the line length is ``size/2 - 1``.

    Returns
    -------
    numpy.ndarray
        ``float32`` of shape ``(n, 1, size, size)`` with values in ``[-1, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> x = render_lines(np.array([0.0]))
    >>> x[0, 0, 15:17, 16:31].tolist() == [[1.0] * 15] * 2    # the 2-px line, theta = 0
    True
    """
    size = check_int("size", size, 4)
    theta = np.asarray(angles, dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError(f"angles must be a 1-D array, got shape {theta.shape}")
    if not np.all(np.isfinite(theta)):
        raise ValueError("angles must be finite")
    n = theta.shape[0]
    length = size / 2.0 - 1.0
    half = LINE_WIDTH / 2.0
    centres = np.arange(size, dtype=np.float64) + 0.5 - size / 2.0   # pixel centre − P0
    qx = centres[None, None, :]          # (1, 1, size): x = column
    qy = centres[None, :, None]          # (1, size, 1): y = row (down)
    out = np.empty((n, 1, size, size), dtype=np.float32)
    for s in range(0, n, _CHUNK):
        th = theta[s:s + _CHUNK]
        ux = np.cos(th)[:, None, None]
        uy = -np.sin(th)[:, None, None]
        t = np.clip(qx * ux + qy * uy, 0.0, length)
        d = np.hypot(qx - t * ux, qy - t * uy)
        a = np.clip(half + 0.5 - d, 0.0, 1.0)
        out[s:s + _CHUNK, 0] = 2.0 * a - 1.0
    return out


def lines(n: int, size: int = 32, seed: int = 0,
          return_angles: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """``n`` random ACAI line images (angles ``θ ~ U(0, 2π)``), background −1, line +1.

    Parameters
    ----------
    n : int
        Number of images, ``>= 0``.
    size : int
        Image side (32 in ACAI), ``>= 4``; line length ``size/2 - 1`` (15),
        width 2 px, anti-aliased (see the module docstring for the exact rule).
    seed : int
        Seed of ``numpy.random.default_rng`` for the angles.
    return_angles : bool
        Also return the ``(n,)`` float64 angles in ``[0, 2π)``.

    Returns
    -------
    images : numpy.ndarray
        ``float32`` ``(n, 1, size, size)``, C-contiguous, values in ``[-1, 1]``.
    angles : numpy.ndarray
        Only if ``return_angles``.

    Examples
    --------
    >>> x = lines(1000, seed=1)
    >>> x.shape, bool((x == -1).mean() > 0.9)
    ((1000, 1, 32, 32), True)
    """
    n = check_int("n", n, 0)
    size = check_int("size", size, 4)
    return_angles = check_bool("return_angles", return_angles)
    theta = np.random.default_rng(check_seed("seed", seed)).uniform(0.0, 2.0 * math.pi, n)
    images = render_lines(theta, size)
    return (images, theta) if return_angles else images
