"""Interpolation quality on the ACAI lines benchmark (Berthelot et al. 2019; TECHNIQUES.md §F).

A model encodes pairs of line images, decodes ``steps`` points on the straight line
between their codes (both ends included), and every decoded image is matched to the
nearest of ``reference`` true lines, drawn at evenly spaced angles ``2πk / reference``
by :func:`ganlib.datasets.render_lines`, by cosine distance
``1 − ⟨a, b⟩ / (‖a‖ ‖b‖)`` on the raw pixel values (in [−1, 1]):

* **Mean Distance**: the mean of those nearest cosine distances over every decoded
  image of every interpolation (the paper reports it ×10⁻³);
* **Smoothness**, per interpolation: the angles of the nearest lines along the path
  are unwrapped (``numpy.unwrap``, so a path across angle 0 is continuous), and the
  score is ``max |Δθ| / |θ_last − θ_first| − 1 / (steps − 1)``: 0 when the angle moves
  in equal steps, up to ``1 − 1/(steps − 1)`` when it jumps at once. An interpolation
  whose two ends match lines less than 1e-4 rad apart has no defined score; as in the
  reference implementation (``lib/eval.py`` of brain-research/acai) it counts as 0 in
  the mean over interpolations (the sum of the defined scores over the number of
  interpolations), and the mean is NaN when no score is defined.

The pairs are rows ``i`` and ``n_pairs + i`` of the images (the reference pairs the
first half of a batch of test lines with the second).

Examples
--------
>>> scores = gl.metrics.interpolation_scores(acai, seed=1)                  # doctest: +SKIP
>>> scores["mean_distance"] * 1e3, scores["smoothness"]                     # doctest: +SKIP
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .._checks import check_int, check_seed
from ..datasets.lines import lines, render_lines

__all__ = ["interpolation_scores", "nearest_lines", "smoothness_scores"]

DEFAULT_PAIRS = 64
_ROWS = 256                 # decoded images per similarity block: (256, reference) float32
_REFINE = 4                 # float64 re-check of this many reference lines either side of float32's pick
_UNDEFINED = 1e-4           # |θ_last − θ_first| below this (radians): no smoothness score


@functools.lru_cache(maxsize=2)
def _reference(count: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(angles (count,), the lines flattened (count, size²) float32 as the dataset holds them,
    their norms (count,) float64)``."""
    angles = np.arange(count, dtype=np.float64) * (2.0 * math.pi / count)
    flat = render_lines(angles, size).reshape(count, -1)
    norms = np.linalg.norm(flat.astype(np.float64), axis=1)
    for a in (angles, flat, norms):
        a.setflags(write=False)
    return angles, flat, norms


def nearest_lines(images: Any, reference: int = 10000) -> tuple[np.ndarray, np.ndarray]:
    """For each image, the cosine distance to the nearest true line and that line's angle.

    Parameters
    ----------
    images : array_like ``(n, 1, size, size)`` or ``(n, size, size)``
        Images on the scale of the lines dataset ([−1, 1], background −1).
    reference : int
        Number of true lines, at angles ``2πk / reference``.

    Returns
    -------
    distance : ndarray (n,), float64
        ``1 − cos`` to the nearest line; an all-zero image (no direction) gets 1.
    angle : ndarray (n,), float64
        The nearest line's angle in [0, 2π).

    Examples
    --------
    >>> x, theta = gl.datasets.lines(3, seed=0, return_angles=True)
    >>> d, a = gl.metrics.interpolation.nearest_lines(x)
    >>> bool(d.max() < 1e-4), bool(np.abs(a - theta).max() < 1e-3)
    (True, True)
    """
    reference = check_int("nearest_lines: reference", reference, 1)
    arr = np.asarray(images)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"nearest_lines: images must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[1] < 4:
        raise ValueError(f"nearest_lines: images must have shape (n, 1, size, size) or (n, size, size) with "
                         f"size >= 4, got {np.asarray(images).shape}")
    if not np.isfinite(arr).all():
        raise ValueError("nearest_lines: the images hold NaN or inf")
    n, size = arr.shape[0], arr.shape[1]
    angles, ref, ref_norm = _reference(reference, size)
    flat = arr.reshape(n, -1).astype(np.float64)
    norm = np.linalg.norm(flat, axis=1)
    unit = flat / np.where(norm > 0, norm, 1.0)[:, None]
    inv32 = (1.0 / ref_norm).astype(np.float32)
    offsets = np.arange(-_REFINE, _REFINE + 1)
    pick, best_cos = np.empty(n, np.int64), np.empty(n)
    for i in range(0, n, _ROWS):
        u = unit[i:i + _ROWS]
        guess = np.argmax((u.astype(np.float32) @ ref.T) * inv32, axis=1)
        # float32 finds the neighbourhood; the nearest line is then chosen among the _REFINE lines on
        # either side in float64 (neighbouring lines differ in cosine by ~1e-7, float32's own error)
        near = (guess[:, None] + offsets[None, :]) % reference
        cos = np.einsum("ij,ikj->ik", u, ref[near].astype(np.float64)) / ref_norm[near]
        k = np.argmax(cos, axis=1)
        pick[i:i + _ROWS] = near[np.arange(len(u)), k]
        best_cos[i:i + _ROWS] = cos[np.arange(len(u)), k]
    cos = np.where(norm > 0, np.clip(best_cos, -1.0, 1.0), 0.0)
    return 1.0 - cos, angles[pick].copy()


def smoothness_scores(angles: Any) -> np.ndarray:
    """Smoothness of each interpolation from the angles of its nearest lines.

    Parameters
    ----------
    angles : array_like ``(n_interpolations, steps)``, radians, steps >= 2

    Returns
    -------
    ndarray (n_interpolations,), float64
        ``max |Δθ| / |θ_last − θ_first| − 1/(steps − 1)`` on the unwrapped angles;
        NaN where the ends are less than 1e-4 rad apart.

    Examples
    --------
    >>> gl.metrics.interpolation.smoothness_scores([[0.0, 0.1, 0.2], [0.0, 0.0, 0.2]])
    array([0. , 0.5])
    """
    a = np.unwrap(np.atleast_2d(np.asarray(angles, np.float64)), axis=1)
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"smoothness_scores: angles must be (n_interpolations, steps >= 2), got {a.shape}")
    steps = np.abs(np.diff(a, axis=1))
    total = np.abs(a[:, -1] - a[:, 0])
    undefined = total < _UNDEFINED
    with np.errstate(divide="ignore", invalid="ignore"):
        score = steps.max(axis=1) / total - 1.0 / (a.shape[1] - 1)
    score[undefined] = np.nan
    return score


def interpolation_scores(model: Any, images: Any = None, n_pairs: int | None = None, steps: int = 16,
                         reference: int = 10000, seed: int = 0) -> dict[str, float]:
    """Mean Distance and Smoothness of a model's interpolations between lines images.

    Parameters
    ----------
    model
        Anything with ``interpolate(x1, x2, steps=...)`` returning
        ``(n, steps, *image_shape)`` decoded images from ``x1``'s code to ``x2``'s, both
        ends included (every ``gl.models`` autoencoder).
    images : ndarray ``(m, 1, size, size)``, optional
        Lines to interpolate between; rows ``i`` and ``n_pairs + i`` make pair ``i``.
        Default: ``2 * n_pairs`` lines ``gl.datasets.lines(2 * n_pairs, seed=seed)``
        (32 x 32); pick a seed other than the training set's.
    n_pairs : int, optional
        Interpolations to score: default 64 when ``images`` is None, else ``m // 2``.
        (The reference implementation scores 16 per evaluation; more pairs only
        lower the variance of the means.)
    steps : int
        Images per interpolation (16 in the paper), ends included.
    reference : int
        Number of true lines to match against (10,000 in the paper).
    seed : int
        Seeds the default lines.

    Returns
    -------
    dict
        ``mean_distance`` (a cosine distance; the paper's tables show it ×10⁻³) and
        ``smoothness`` (see the module docstring), both floats.

    Examples
    --------
    >>> X = gl.datasets.lines(20_000, seed=0)                                  # doctest: +SKIP
    >>> ae = gl.models.Autoencoder((1, 32, 32), 256, preset="conv").fit(X, steps=5000)  # doctest: +SKIP
    >>> gl.metrics.interpolation_scores(ae, seed=1)                            # doctest: +SKIP
    {'mean_distance': 0.0061, 'smoothness': 0.43}
    """
    what = "interpolation_scores"
    if not callable(getattr(model, "interpolate", None)):
        raise TypeError(f"{what}: model must have an interpolate(x1, x2, steps=...) method (a gl.models "
                        f"autoencoder), got {type(model).__name__}")
    steps = check_int(f"{what}: steps", steps, 2)
    reference = check_int(f"{what}: reference", reference, 1)
    if images is None:
        n_pairs = DEFAULT_PAIRS if n_pairs is None else check_int(f"{what}: n_pairs", n_pairs, 1)
        x = lines(2 * n_pairs, seed=check_seed(f"{what}: seed", seed))
    else:
        x = np.asarray(images)
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != x.shape[3]:
            raise ValueError(f"{what}: images must be lines of shape (m, 1, size, size), got {x.shape}")
        n_pairs = x.shape[0] // 2 if n_pairs is None else check_int(f"{what}: n_pairs", n_pairs, 1)
        if n_pairs < 1 or 2 * n_pairs > x.shape[0]:
            raise ValueError(f"{what}: {n_pairs} pairs need {2 * max(n_pairs, 1)} images, got {x.shape[0]}")
    strips = np.asarray(model.interpolate(x[:n_pairs], x[n_pairs:2 * n_pairs], steps=steps))
    size = x.shape[-1]
    if strips.shape[:2] != (n_pairs, steps) or int(np.prod(strips.shape[2:])) != size * size:
        raise ValueError(f"{what}: model.interpolate returned shape {strips.shape}; expected ({n_pairs}, {steps}, 1, "
                         f"{size}, {size})")
    distance, angle = nearest_lines(strips.reshape(n_pairs * steps, size, size), reference)
    scores = smoothness_scores(angle.reshape(n_pairs, steps))
    defined = ~np.isnan(scores)
    smooth = float(scores[defined].sum() / n_pairs) if defined.any() else float("nan")
    return {"mean_distance": float(distance.mean()), "smoothness": smooth}
