"""Mode coverage on mixtures of Gaussians (PacGAN / VEEGAN protocol, TECHNIQUES.md §F).

Each sample is assigned to its nearest mode by (isotropic) Mahalanobis
distance ``‖x − c_k‖ / σ_k``; it is *high quality* if that distance is at most
``threshold`` (3 by default).  A mode is *covered* if at least one high-quality
sample is assigned to it.  The protocol reports the number of covered modes
and the high-quality fraction on 2,500 generated samples, plus a reverse-KL
estimate from the histogram of high-quality samples over the modes.

Examples
--------
>>> from ganlib.datasets import toy
>>> from ganlib.metrics import mode_coverage
>>> r = mode_coverage(toy.ring(2500, seed=1), toy.ring_centers(), std=0.01)
>>> r.modes, r.num_modes
(8, 8)
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

__all__ = ["ModeCoverage", "mode_coverage"]

ArrayLike = Any

# float64 elements per chunk of the (chunk, K) distance matrix: 512 Ki elements = 4 MiB.
# The loop keeps a handful of (chunk, K) / (chunk, d) temporaries alive at once, so the
# peak extra memory stays around 10-20 MiB whatever the number of samples.
_CHUNK_ELEMENTS = 1 << 19


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """Result of :func:`mode_coverage`.

    Attributes
    ----------
    modes : int
        Number of covered modes (modes with at least one high-quality sample).
    num_modes : int
        Total number of modes ``K``.
    high_quality : float
        Fraction of samples within ``threshold`` standard deviations of their
        nearest mode (Mahalanobis distance).
    counts : numpy.ndarray
        ``(K,)`` int64 histogram of the high-quality samples over the modes.
    reverse_kl : float
        ``KL(q ‖ p)`` between the high-quality histogram ``q`` and the target
        mode distribution ``p``, in nats; see :func:`mode_coverage`.

    Examples
    --------
    >>> import numpy as np
    >>> r = ModeCoverage(2, 4, 0.5, np.array([1, 1, 0, 0]), float(np.log(2)))
    >>> print(r)
    modes covered 2/4, high quality 50.00%, reverse KL 0.6931 nats
    """

    modes: int
    num_modes: int
    high_quality: float
    counts: np.ndarray
    reverse_kl: float

    def __str__(self) -> str:
        return (f"modes covered {self.modes}/{self.num_modes}, "
                f"high quality {100.0 * self.high_quality:.2f}%, "
                f"reverse KL {self.reverse_kl:.4f} nats")


# ----------------------------------------------------------------------------- validation

def _float_array(name: str, value: ArrayLike) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {exc}") from None


def _positive_real(name: str, value: Any) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def _per_mode_positive(name: str, value: Any, k: int) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(k, _positive_real(name, value), dtype=np.float64)
    arr = _float_array(name, value)
    if arr.shape != (k,):
        raise ValueError(f"{name} must be a scalar or have shape ({k},) (one per mode), "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0.0):
        raise ValueError(f"{name} must be finite and > 0 for every mode")
    return arr


# ----------------------------------------------------------------------------- metric

def mode_coverage(samples: ArrayLike, centers: ArrayLike, std: Union[float, ArrayLike],
                  threshold: float = 3.0, weights: Optional[ArrayLike] = None) -> ModeCoverage:
    """Modes covered, high-quality fraction and reverse KL of samples from a Gaussian mixture.

    Definitions (``x_i`` the ``N`` samples, ``c_k`` the ``K`` centres, ``σ_k``
    the per-mode standard deviation):

    * distance: ``m_ik = ‖x_i − c_k‖₂ / σ_k`` (the Mahalanobis distance for the
      isotropic covariance ``σ_k² I``);
    * nearest mode: ``k(i) = argmin_k m_ik`` (ties go to the lowest index);
    * high quality: ``m_i,k(i) <= threshold``;
    * ``counts[k]`` = number of high-quality samples with ``k(i) = k``;
      ``modes`` = number of ``k`` with ``counts[k] >= 1``;
      ``high_quality = counts.sum() / N``;
    * ``reverse_kl = KL(q ‖ p) = Σ_{k: q_k > 0} q_k log(q_k / p_k)`` in nats,
      with ``q = counts / counts.sum()`` (the model's distribution over modes,
      estimated from its high-quality samples only) and ``p`` the target
      distribution over modes: ``weights`` normalised, uniform by default.
      Bins with ``q_k = 0`` contribute ``0 log 0 = 0`` (the sum runs over
      ``q``'s support), so dropped modes are penalised only through the extra
      mass on the others: ``q`` uniform on ``m`` of ``K`` uniform modes gives
      ``log(K / m)``.  ``p_k > 0`` is required, so the value is always finite
      and lies in ``[0, log(1 / min_k p_k)]``.
    * Convention when **no** sample is high quality (``q`` undefined):
      ``reverse_kl = log(1 / min_k p_k)`` (``log K`` for uniform ``p``), the
      supremum of ``KL(q ‖ p)`` over all ``q`` on the modes, i.e. the value of
      a total collapse onto the least likely single mode.  A model with no
      good samples therefore scores no better than the worst possible
      histogram, and the metric stays finite (never ``inf`` or ``nan``).

    Note that for samples drawn from the true 2-D mixture the expected
    high-quality fraction is the chi(2) CDF ``1 − exp(−threshold²/2)``, i.e.
    98.89 % at ``threshold=3`` (not the 1-D "3 sigma" 99.73 %).

    Distances are computed in float64, in chunks of samples, so memory stays
    bounded (~20 MB) for any ``N`` (e.g. 100,000 samples × 100 modes).

    Parameters
    ----------
    samples : array_like
        ``(N, d)`` finite samples, ``N >= 1`` (e.g. 2,500 generated points).
    centers : array_like
        ``(K, d)`` finite mode centres, e.g. :func:`ganlib.datasets.ring_centers`.
    std : float or array_like
        Standard deviation of the modes, ``> 0``: a scalar or one per mode ``(K,)``.
    threshold : float
        High-quality radius in standard deviations, ``> 0`` (3 in the protocol).
    weights : array_like, optional
        ``(K,)`` target mode probabilities ``p`` (positive; normalised here).
        Default: uniform.

    Returns
    -------
    ModeCoverage

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        On wrong shapes, empty input, non-finite values (the message gives the
        number of bad sample rows), or non-positive ``std`` / ``threshold`` /
        ``weights``.

    Examples
    --------
    >>> import numpy as np
    >>> from ganlib.datasets import toy
    >>> c = toy.ring_centers()
    >>> x = toy.ring(2500, seed=0)
    >>> r = mode_coverage(x[np.isin(np.argmax(x @ c.T, 1), [0, 1, 2])], c, 0.01)
    >>> r.modes, round(r.reverse_kl, 2), round(float(np.log(8 / 3)), 2)
    (3, 0.98, 0.98)
    """
    # --- centres, std, threshold, weights
    c = _float_array("centers", centers)
    if c.ndim != 2:
        raise ValueError(f"centers must be a 2-D array of shape (K, d), got shape {c.shape}")
    if c.shape[0] < 1 or c.shape[1] < 1:
        raise ValueError(f"centers must have at least one row and one column, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("centers must be finite (found NaN or inf)")
    k, d = c.shape
    sigma = _per_mode_positive("std", std, k)
    threshold = _positive_real("threshold", threshold)
    if weights is None:
        p = np.full(k, 1.0 / k)
    else:
        w = _float_array("weights", weights)
        if w.shape != (k,):
            raise ValueError(f"weights must have shape ({k},) (one per mode), got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w <= 0.0):
            raise ValueError("weights must be finite and > 0 for every mode "
                             "(a mode with target probability 0 would make KL(q || p) infinite)")
        p = w / w.sum()

    # --- samples (kept in their own dtype; converted to float64 chunk by chunk)
    if isinstance(samples, np.ndarray):
        x = samples
    else:
        x = _float_array("samples", samples)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"samples must be a real numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"samples must be a 2-D array of shape (N, d), got shape {x.shape}")
    if x.shape[0] < 1:
        raise ValueError("samples is empty (need at least one row)")
    if x.shape[1] != d:
        raise ValueError(f"samples have width {x.shape[1]} but centers have width {d}")
    n = x.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // max(k, d))
    if x.dtype.kind == "f":
        bad = sum(int(np.count_nonzero(~np.isfinite(x[s:s + chunk]).all(axis=1)))
                  for s in range(0, n, chunk))
        if bad:
            raise ValueError(f"samples: {bad} of {n} rows contain NaN or inf")

    # --- nearest mode by Mahalanobis distance, in chunks.
    # Shift by the mean centre to limit cancellation in ||x||^2 - 2 x.c + ||c||^2, pick the
    # argmin from that expansion, then recompute the chosen distance exactly.
    origin = c.mean(axis=0)
    cs = c - origin
    inv_var = 1.0 / (sigma * sigma)
    c_norm = np.einsum("kd,kd->k", cs, cs)
    nearest = np.empty(n, dtype=np.int64)
    good = np.empty(n, dtype=bool)
    thr2 = threshold * threshold
    for start in range(0, n, chunk):
        xs = x[start:start + chunk].astype(np.float64)
        xs -= origin
        m2 = xs @ cs.T                                    # (b, K)
        m2 *= -2.0
        m2 += np.einsum("bd,bd->b", xs, xs)[:, None]
        m2 += c_norm
        m2 *= inv_var
        idx = np.argmin(m2, axis=1)
        del m2
        diff = xs - cs[idx]                               # exact distance to the chosen mode
        dist2 = np.einsum("bd,bd->b", diff, diff) * inv_var[idx]
        nearest[start:start + chunk] = idx
        good[start:start + chunk] = dist2 <= thr2

    counts = np.bincount(nearest[good], minlength=k).astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        reverse_kl = float(-np.log(p.min()))
    else:
        q = counts / total
        support = q > 0
        reverse_kl = float(np.sum(q[support] * (np.log(q[support]) - np.log(p[support]))))
        reverse_kl = max(reverse_kl, 0.0)                 # clip rounding below 0
    return ModeCoverage(modes=int(np.count_nonzero(counts)), num_modes=k,
                        high_quality=total / n, counts=counts, reverse_kl=reverse_kl)
