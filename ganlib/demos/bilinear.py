"""The bilinear game ``min_x max_y f(x, y) = x·y`` under four gradient procedures (TECHNIQUES.md §B).

The only equilibrium is ``(0, 0)``.  With step size ``lr`` (``η``) and the
gradients ``∂f/∂x = y``, ``∂f/∂y = x``:

* **simultaneous** -- both players step from the same point:
  ``x' = x − η y``, ``y' = y + η x``.  The update matrix has eigenvalues
  ``1 ± iη`` of modulus ``sqrt(1 + η²) > 1``: the iterates spiral *outwards*,
  the radius growing by exactly that factor every step.
* **alternating** -- x steps first, y answers the new x:
  ``x' = x − η y``, ``y' = y + η x'``.  The update has determinant 1 and, for
  ``η < 2``, eigenvalues on the unit circle: the iterates *orbit* around the
  equilibrium on a closed (slightly tilted) ellipse that conserves
  ``x² + y² − η x y``; bounded, but they never converge.
* **unrolled** -- x takes its step against y advanced ``k = unroll`` gradient
  ascent steps: ``y_k(x) = y + k η x``, so x descends the surrogate
  ``x · y_k(x)`` whose gradient (through the unrolled steps) is
  ``y + 2 k η x``; y then takes its own ordinary step from the same point.
  The update matrix ``[[1 − 2kη², −η], [η, 1]]`` has determinant
  ``1 − (2k − 1) η² < 1``: the iterates spiral *inwards* to ``(0, 0)``.
* **averaged** -- the running mean ``(1/(t+1)) Σ_{s<=t} z_s`` of the
  *simultaneous* iterates.  The rotation averages out and the mean approaches
  ``0`` at rate ``~ 1/(t η)`` while the underlying iterates still spiral out;
  because those grow like ``(1 + η²)^(t/2)``, the average eventually diverges as
  well once ``t`` is much larger than ``1/η²`` (at ``η = 0.1``, from ``(1, 1)``: norm
  0.35 at ``t = 100``, 0.18 at ``t = 200``, but above 1 again from ``t ≈ 820``
  and 2.0 at ``t = 1000``).
  Averaging bounded (alternating) iterates converges for every ``t``.

Examples
--------
>>> traj = bilinear_game("simultaneous", steps=100, lr=0.1)
>>> bool(radius(traj)[-1] > radius(traj)[0])
True
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["bilinear_game", "radius", "BILINEAR_METHODS"]

BILINEAR_METHODS: Tuple[str, ...] = ("simultaneous", "alternating", "unrolled", "averaged")


def bilinear_game(method: str = "simultaneous", steps: int = 100, lr: float = 0.1, x0: float = 1.0,
                  y0: float = 1.0, unroll: int = 5) -> np.ndarray:
    """Trajectory of gradient play on ``min_x max_y x·y``.

    Parameters
    ----------
    method : {"simultaneous", "alternating", "unrolled", "averaged"}
        The update rule (see the module docstring for the exact formulas).
        ``"averaged"`` returns the running mean of the simultaneous iterates.
    steps : int
        Number of updates (``>= 0``).
    lr : float
        Step size ``η > 0`` of both players.
    x0, y0 : float
        Starting point.
    unroll : int
        Number of look-ahead steps ``k >= 1`` of the max player for ``"unrolled"``
        (ignored by the other methods).

    Returns
    -------
    numpy.ndarray
        ``(steps + 1, 2)`` float64 array of ``(x_t, y_t)``, row 0 the start.

    Raises
    ------
    ValueError
        On an unknown method or a non-positive ``lr`` / negative ``steps`` /
        ``unroll < 1`` for the unrolled method.

    Examples
    --------
    >>> r = radius(bilinear_game("alternating", steps=1000, lr=0.1))
    >>> bool(r.max() < 1.2 * r[0])
    True
    >>> r = radius(bilinear_game("unrolled", steps=200, lr=0.1, unroll=5))
    >>> bool(r[-1] < 0.01 * r[0])
    True
    """
    if method not in BILINEAR_METHODS:
        raise ValueError(f"bilinear_game: method must be one of {BILINEAR_METHODS}, got {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"bilinear_game: steps must be an int >= 0, got {steps!r}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"bilinear_game: lr must be a finite float > 0, got {lr!r}")
    if method == "unrolled" and (isinstance(unroll, bool) or not isinstance(unroll, (int, np.integer))
                                 or unroll < 1):
        raise ValueError(f"bilinear_game: unroll must be an int >= 1, got {unroll!r}")
    lr = float(lr)
    traj = np.empty((int(steps) + 1, 2), dtype=np.float64)
    x, y = float(x0), float(y0)
    traj[0] = x, y
    for t in range(1, int(steps) + 1):
        if method in ("simultaneous", "averaged"):
            x, y = x - lr * y, y + lr * x
        elif method == "alternating":
            x = x - lr * y
            y = y + lr * x
        else:  # unrolled: d/dx [x * (y + k lr x)] = y + 2 k lr x
            x, y = x - lr * (y + 2.0 * unroll * lr * x), y + lr * x
        traj[t] = x, y
    if method == "averaged":
        traj = np.cumsum(traj, axis=0) / np.arange(1, traj.shape[0] + 1, dtype=np.float64)[:, None]
    return traj


def radius(trajectory: np.ndarray) -> np.ndarray:
    """Distance ``sqrt(x² + y²)`` of each iterate from the equilibrium ``(0, 0)``.

    Examples
    --------
    >>> radius(np.array([[3.0, 4.0]]))
    array([5.])
    """
    t = np.asarray(trajectory, dtype=np.float64)
    return np.sqrt((t ** 2).sum(axis=-1))
