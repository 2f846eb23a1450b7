"""Seeded 2-D toy data sets for generative models (TECHNIQUES.md §F).

Every sampler draws from ``numpy.random.default_rng(seed)``, so the same
arguments give the same bits on every call, and returns a C-contiguous
``float32`` array of shape ``(n, d)``.  Centres are returned as ``float32``
too.  The standard mode-coverage benchmarks (PacGAN / VEEGAN protocol) are

* :func:`ring` -- 8 isotropic Gaussians with std 0.01 on a circle of radius 1,
* :func:`grid` -- 25 isotropic Gaussians with std 0.05 at ``{-4,-2,0,2,4}^2``,

to be scored with :func:`ganlib.metrics.mode_coverage` against
:func:`ring_centers` / :func:`grid_centers`.  :func:`gaussian_mixture` is the
general sampler behind both; :func:`swiss_roll` is a connected, curved
manifold; :func:`circle_points` is the fixed 7-point data set of the
memorisation demo.

Examples
--------
>>> from ganlib.datasets import toy
>>> x = toy.ring(2500, seed=0)
>>> x.shape, x.dtype
((2500, 2), dtype('float32'))
>>> toy.grid_centers().shape
(25, 2)
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from .._checks import check_bool, check_int, check_real, check_seed, finite_float32

__all__ = ["ring", "ring_centers", "grid", "grid_centers", "gaussian_mixture", "swiss_roll",
           "circle_points"]

ArrayLike = Any


# ----------------------------------------------------------------------------- validation

def _seed(value: Any) -> Any:
    """None, an int >= 0 or a SeedSequence (what ``numpy.random.default_rng`` takes); bools,
    floats and strings are refused."""
    return check_seed("seed", value)


def _float_array(name: str, value: ArrayLike) -> np.ndarray:
    """``value`` as a float64 array, ``TypeError`` naming ``name`` if it is not numeric."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {exc}") from None
    return arr


def _centers(value: ArrayLike, name: str = "centers") -> np.ndarray:
    """A finite float64 ``(K, d)`` array with ``K, d >= 1``."""
    c = _float_array(name, value)
    if c.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (K, d), got shape {c.shape}")
    if c.shape[0] < 1 or c.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    finite_float32(name, c)   # the samples are float32: 1e300 would become inf
    return c


def _per_mode(name: str, value: Any, k: int, *, positive: bool) -> np.ndarray:
    """A scalar or ``(k,)`` array of finite reals ``>= 0`` (``> 0`` if ``positive``) as ``(k,)``."""
    if np.ndim(value) == 0:
        if isinstance(value, np.ndarray):
            value = value.item()
        return np.full(k, check_real(name, value, positive=positive, nonnegative=True), dtype=np.float64)
    arr = _float_array(name, value)
    if arr.shape != (k,):
        raise ValueError(f"{name} must be a scalar or have shape ({k},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    if positive and np.any(arr <= 0.0):
        raise ValueError(f"{name} must be > 0 for every mode")
    if np.any(arr < 0.0):
        raise ValueError(f"{name} must be >= 0 for every mode")
    return arr


def _weights(value: ArrayLike, k: int) -> np.ndarray:
    """Non-negative finite ``(k,)`` weights with a positive sum, normalised to sum to 1."""
    w = _float_array("weights", value)
    if w.shape != (k,):
        raise ValueError(f"weights must have shape ({k},) (one per centre), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite (found NaN or inf)")
    if np.any(w < 0.0):
        raise ValueError("weights must be >= 0")
    total = float(w.sum())
    if total <= 0.0:
        raise ValueError("weights must have a positive sum")
    return w / total


# ----------------------------------------------------------------------------- centres

def ring_centers(modes: int = 8, radius: float = 1.0) -> np.ndarray:
    """Centres of the ring mixture: ``radius * (cos θ_k, sin θ_k)``, ``θ_k = 2πk / modes``.

    Parameters
    ----------
    modes : int
        Number of centres, ``>= 1``.
    radius : float
        Radius of the circle, ``> 0``.

    Returns
    -------
    numpy.ndarray
        ``(modes, 2)`` float32; centre 0 is at ``(radius, 0)``, then counter-clockwise.

    Examples
    --------
    >>> ring_centers(4).round(6)
    array([[ 1.,  0.],
           [ 0.,  1.],
           [-1.,  0.],
           [-0., -1.]], dtype=float32)
    """
    modes = check_int("modes", modes, 1)
    radius = check_real("radius", radius, positive=True)
    theta = 2.0 * np.pi * np.arange(modes, dtype=np.float64) / modes
    return finite_float32("ring_centers (radius)", np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1))


def grid_centers(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """Centres of the grid mixture: a ``side × side`` lattice with step ``spacing``, centred at 0.

    The coordinates along each axis are ``spacing * (i - (side - 1) / 2)`` for
    ``i = 0 .. side-1``, i.e. ``{-4, -2, 0, 2, 4}`` for the defaults.  Rows are
    ordered with the first coordinate varying slowest.

    Parameters
    ----------
    side : int
        Centres per axis, ``>= 1``.
    spacing : float
        Distance between neighbouring centres, ``> 0``.

    Returns
    -------
    numpy.ndarray
        ``(side**2, 2)`` float32.

    Examples
    --------
    >>> grid_centers(2, 1.0)
    array([[-0.5, -0.5],
           [-0.5,  0.5],
           [ 0.5, -0.5],
           [ 0.5,  0.5]], dtype=float32)
    """
    side = check_int("side", side, 1)
    spacing = check_real("spacing", spacing, positive=True)
    axis = spacing * (np.arange(side, dtype=np.float64) - (side - 1) / 2.0)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    return finite_float32("grid_centers (side * spacing)", np.stack([xx.ravel(), yy.ravel()], axis=1))


def circle_points(n: int = 7, radius: float = 1.0) -> np.ndarray:
    """``n`` equally spaced points on a circle: the data set of the memorisation demo.

    Point ``k`` is ``radius * (cos(2πk/n), sin(2πk/n))`` (same layout as
    :func:`ring_centers`), so the data set is deterministic and has no seed.

    Parameters
    ----------
    n : int
        Number of points, ``>= 1``.
    radius : float
        Radius, ``> 0``.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float32.

    Examples
    --------
    >>> circle_points().shape
    (7, 2)
    """
    n = check_int("n", n, 1)
    radius = check_real("radius", radius, positive=True)
    return ring_centers(n, radius)


# ----------------------------------------------------------------------------- samplers

def gaussian_mixture(n: int, centers: ArrayLike, std: Union[float, ArrayLike],
                     weights: Optional[ArrayLike] = None, seed: Any = 0,
                     return_labels: bool = False
                     ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Samples from a mixture of isotropic Gaussians ``Σ_k w_k N(centers[k], std_k² I)``.

    The component of each sample is drawn first (``rng.choice`` with the
    normalised weights), then its offset (``rng.standard_normal``), in float64;
    the result is rounded to float32 once.

    Parameters
    ----------
    n : int
        Number of samples, ``>= 1``.
    centers : array_like
        ``(K, d)`` finite centres, any dimension ``d >= 1``.
    std : float or array_like
        Standard deviation, a scalar or one per centre (``(K,)``), ``>= 0``
        (0 gives the centres themselves).
    weights : array_like, optional
        ``(K,)`` non-negative mixture weights with a positive sum; normalised
        here.  Default: uniform.
    seed : int or None or numpy.random.SeedSequence
        Seed for ``numpy.random.default_rng``.
    return_labels : bool
        Also return the component index of each sample.

    Returns
    -------
    samples : numpy.ndarray
        ``(n, d)`` float32.
    labels : numpy.ndarray
        ``(n,)`` int64 component indices, only if ``return_labels``.

    Examples
    --------
    >>> x, y = gaussian_mixture(5, [[0.0, 0.0], [10.0, 10.0]], 0.1, seed=1, return_labels=True)
    >>> x.shape, y.shape, y.dtype
    ((5, 2), (5,), dtype('int64'))
    """
    n = check_int("n", n, 1)
    c = _centers(centers)
    k, d = c.shape
    s = _per_mode("std", std, k, positive=False)
    w = np.full(k, 1.0 / k) if weights is None else _weights(weights, k)
    return_labels = check_bool("return_labels", return_labels)
    finite_float32("std", s)
    rng = np.random.default_rng(_seed(seed))
    labels = rng.choice(k, size=n, p=w).astype(np.int64)
    x = rng.standard_normal((n, d))
    x *= s[labels, None]
    x += c[labels]
    out = np.ascontiguousarray(finite_float32("gaussian_mixture samples (centers + std * noise)", x))
    return (out, labels) if return_labels else out


def ring(n: int = 100_000, modes: int = 8, radius: float = 1.0, std: float = 0.01,
         seed: Any = 0, *, return_labels: bool = False
         ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """The ring benchmark: an equal-weight mixture of ``modes`` Gaussians on a circle.

    Centres are :func:`ring_centers` ``(modes, radius)``; each component is
    isotropic with standard deviation ``std``.  The standard settings are
    ``modes=8, radius=1, std=0.01`` (or radius 2, std 0.02).

    Parameters
    ----------
    n : int
        Number of samples, ``>= 1``.
    modes : int
        Number of mixture components, ``>= 1``.
    radius : float
        Radius of the circle of centres, ``> 0``.
    std : float
        Per-component standard deviation, ``>= 0``.
    seed : int or None or numpy.random.SeedSequence
        Seed for ``numpy.random.default_rng``.
    return_labels : bool
        Also return the mode index of each sample (int64).

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float32 (and ``(n,)`` int64 labels if ``return_labels``).

    Examples
    --------
    >>> x = ring(2500, seed=0)
    >>> bool(abs(float((x ** 2).sum(1).mean()) - 1.0) < 0.01)
    True
    """
    std = check_real("std", std, nonnegative=True)
    return gaussian_mixture(n, ring_centers(modes, radius), std, seed=seed,
                            return_labels=return_labels)


def grid(n: int = 100_000, side: int = 5, spacing: float = 2.0, std: float = 0.05,
         seed: Any = 0, *, return_labels: bool = False
         ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """The grid benchmark: an equal-weight mixture of ``side²`` Gaussians on a lattice.

    Centres are :func:`grid_centers` ``(side, spacing)`` (``{-4,-2,0,2,4}²`` for
    the defaults); each component is isotropic with standard deviation ``std``.

    Parameters
    ----------
    n : int
        Number of samples, ``>= 1``.
    side : int
        Centres per axis, ``>= 1``.
    spacing : float
        Distance between neighbouring centres, ``> 0``.
    std : float
        Per-component standard deviation, ``>= 0``.
    seed : int or None or numpy.random.SeedSequence
        Seed for ``numpy.random.default_rng``.
    return_labels : bool
        Also return the mode index (row of :func:`grid_centers`) of each sample.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float32 (and ``(n,)`` int64 labels if ``return_labels``).

    Examples
    --------
    >>> grid(1000, seed=0).shape
    (1000, 2)
    """
    std = check_real("std", std, nonnegative=True)
    return gaussian_mixture(n, grid_centers(side, spacing), std, seed=seed,
                            return_labels=return_labels)


def swiss_roll(n: int = 100_000, noise: float = 0.05, seed: Any = 0) -> np.ndarray:
    """A 2-D swiss roll (spiral), scaled so that it fits in the unit disc before noise.

    With ``u ~ U(0, 1)`` and ``t = 1.5π (1 + 2u)`` (so ``t ∈ [1.5π, 4.5π]``,
    one and a half turns, as in ``sklearn.datasets.make_swiss_roll``)::

        x = t cos(t) / (4.5π) + noise · ε₁
        y = t sin(t) / (4.5π) + noise · ε₂,      ε ~ N(0, I)

    The division by the largest ``t`` puts the noiseless roll inside the unit
    disc (coordinates in ``[-1, 1]``); ``noise`` is in these scaled units.
    Points are uniform in ``t``, not in arc length (the outer turn is sparser).

    Parameters
    ----------
    n : int
        Number of samples, ``>= 1``.
    noise : float
        Standard deviation of the isotropic Gaussian noise, ``>= 0``.
    seed : int or None or numpy.random.SeedSequence
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float32.

    Examples
    --------
    >>> x = swiss_roll(1000, noise=0.0, seed=0)
    >>> bool(float(abs(x).max()) <= 1.0)
    True
    """
    n = check_int("n", n, 1)
    noise = check_real("noise", noise, nonnegative=True)
    rng = np.random.default_rng(_seed(seed))
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
    scale = 1.0 / (4.5 * np.pi)
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) * scale
    x += noise * rng.standard_normal((n, 2))
    return np.ascontiguousarray(finite_float32("swiss_roll samples (noise)", x))
