"""Sample-quality metrics for image models (TECHNIQUES.md §F), all computed in float64.

* :func:`classifier_score` -- the Inception Score formula
  ``exp(E_x KL(p(y|x) ‖ p(y)))`` with any classifier,
* :func:`frechet_distance` -- the Fréchet distance between Gaussians fitted to
  two feature sets (FID when the features are Inception activations), stable
  for fewer samples than dimensions,
* :func:`kernel_distance` -- the Kernel Inception Distance (unbiased MMD² with
  the cubic polynomial kernel, averaged over random subsets),
* :func:`class_diversity` / :func:`renyi_entropy` -- the class histogram of
  samples, its collision probability and Rényi entropies,
* :func:`batched` -- apply a feature / classifier function in chunks.

A *classifier* or *feature function* is any callable that maps a NumPy batch
(the leading axis indexes samples) to a NumPy-convertible array with one row
per sample; it is always called through :func:`batched`.

Examples
--------
>>> import numpy as np
>>> from ganlib import metrics
>>> rng = np.random.default_rng(0)
>>> a, b = rng.normal(size=(5000, 8)), rng.normal(size=(5000, 8)) + 1.0
>>> abs(metrics.frechet_distance(a, b) - 8.0) < 0.3          # ≈ ‖Δμ‖² = 8
True
>>> [round(v, 9) for v in metrics.classifier_score(np.eye(10)[np.arange(1000) % 10])]
[10.0, 0.0]
"""
from __future__ import annotations

import importlib
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .._checks import check_int, check_real, check_seed

__all__ = ["batched", "classifier_score", "frechet_distance", "kernel_distance",
           "class_diversity", "renyi_entropy"]

ArrayLike = Any
Fn = Callable[[np.ndarray], Any]

#: rows whose sum differs from 1 by more than this are treated as logits
PROB_SUM_TOL = 1e-3
#: per-sample shapes of the images the shipped MNIST classifier takes when no
#: classifier / feature function is given
MNIST_SHAPES = ((1, 28, 28), (28, 28))


# ----------------------------------------------------------------------------- validation

def _float64(name: str, value: ArrayLike) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {exc}") from None


def _matrix(name: str, value: ArrayLike, min_rows: int = 1) -> np.ndarray:
    """A finite float64 ``(N, d)`` array with ``N >= min_rows``, ``d >= 1``."""
    x = _float64(name, value)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N samples, d features), got shape {x.shape}; "
                         "pass features=... to map images to feature vectors")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have at least one feature column, got shape {x.shape}")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {x.shape[0]}")
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{name} must be finite: {int(bad.any(axis=1).sum())} of {x.shape[0]} rows "
                         "contain NaN or inf")
    return x


def _mnist_images(what: str, name: str, arr: np.ndarray, pass_what: str) -> None:
    """Refuse images the shipped classifier cannot take, with a message saying what to pass."""
    if tuple(arr.shape[1:]) not in MNIST_SHAPES:
        raise ValueError(f"{what}: {name} has shape {arr.shape}; without {pass_what}=... only feature matrices "
                         "(N, d) and MNIST-shaped images (N, 1, 28, 28) or (N, 28, 28) (the shipped MNIST "
                         f"classifier) are understood; pass {pass_what}=... for other inputs")


def _features(name: str, x: ArrayLike, features: Optional[Fn], batch_size: int,
              min_rows: int, what: str = "metric") -> np.ndarray:
    if features is None:
        arr = np.asarray(x)
        if arr.ndim >= 3:   # images: the shipped classifier's penultimate activations
            _mnist_images(what, name, arr, "features")
            return _matrix(f"default classifier features({name})",
                           batched(_default_classifier().features, arr, batch_size), min_rows)
        return _matrix(name, arr, min_rows)
    x = batched(features, x, batch_size)
    return _matrix(f"features({name})", x, min_rows)


def _default_classifier() -> Fn:
    """``ganlib.metrics.default_mnist_classifier()`` if the library provides one."""
    factory = getattr(importlib.import_module("ganlib.metrics"), "default_mnist_classifier", None)
    if factory is None:
        raise ValueError("no default classifier available yet; pass classifier=...")
    return factory()


def _probabilities(name: str, scores: ArrayLike) -> np.ndarray:
    """Rows of class probabilities in float64 (softmax applied to logits)."""
    p = _matrix(name, scores)
    sums = p.sum(axis=1)
    if np.any(p < 0.0) or np.any(np.abs(sums - 1.0) > PROB_SUM_TOL):
        z = p - p.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        return z / z.sum(axis=1, keepdims=True)
    return p / sums[:, None]


# ----------------------------------------------------------------------------- helpers

def batched(fn: Fn, x: ArrayLike, batch_size: int = 500) -> np.ndarray:
    """Apply ``fn`` to ``x[0:b]``, ``x[b:2b]``, ... and concatenate the outputs along axis 0.

    Parameters
    ----------
    fn : callable
        Maps a batch (``x[i:j]``) to an array with ``j - i`` rows.
    x : array_like
        Inputs; the leading axis indexes samples (converted with ``numpy.asarray``,
        so a ``numpy.memmap`` is read chunk by chunk).
    batch_size : int
        Rows per call, ``>= 1``.

    Returns
    -------
    numpy.ndarray
        The concatenated outputs, in ``fn``'s dtype (metrics convert to float64).

    Raises
    ------
    ValueError
        Empty or 0-D ``x``, or an output whose row count differs from its batch.

    Examples
    --------
    >>> import numpy as np
    >>> batched(lambda b: b.reshape(len(b), -1).mean(1, keepdims=True), np.ones((1200, 1, 2, 2)),
    ...         batch_size=500).shape
    (1200, 1)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    batch_size = check_int("batch_size", batch_size, 1)
    x = np.asarray(x)
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(f"batched: need at least one sample along axis 0, got shape {x.shape}")
    outs: List[np.ndarray] = []
    for i in range(0, x.shape[0], batch_size):
        chunk = x[i:i + batch_size]
        out = np.asarray(fn(chunk))
        if out.ndim < 1 or out.shape[0] != chunk.shape[0]:
            raise ValueError(f"batched: fn returned shape {out.shape} for a batch of {chunk.shape[0]} "
                             "samples; it must return one row per sample")
        outs.append(out)
    return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)


# ----------------------------------------------------------------------------- classifier score

def classifier_score(images_or_probs: ArrayLike, classifier: Optional[Fn] = None, splits: int = 10,
                     batch_size: int = 500) -> Tuple[float, float]:
    """The Inception Score formula ``exp(E_x KL(p(y|x) ‖ p(y)))`` with any classifier.

    The ``N`` rows of class probabilities are cut into ``splits`` contiguous
    parts with ``numpy.array_split`` (sizes differ by at most one); for each
    part ``P`` (rows ``p_i = p(y|x_i)``), ``p(y) = mean_i p_i`` and

    ``score(P) = exp( mean_i Σ_y p_iy (log p_iy − log p(y)) )``  (``0 log 0 = 0``).

    The result is the mean and the (population, ``ddof=0``) standard
    deviation of the per-part scores.  It lies in ``[1, K]``: 1 when every
    prediction is the same, ``K`` for confident predictions spread evenly over
    ``K`` classes.

    Parameters
    ----------
    images_or_probs : array_like
        Inputs for ``classifier``; or, with ``classifier=None``, a 2-D
        ``(N, K)`` array of class probabilities or logits.  With
        ``classifier=None`` and a 3-D or higher array (images), the library's
        default classifier ``ganlib.metrics.default_mnist_classifier()`` is used.
    classifier : callable, optional
        Maps a NumPy batch to ``(batch, K)`` probabilities or logits; called in
        chunks of ``batch_size`` (see :func:`batched`).
    splits : int
        Number of parts, ``1 <= splits <= N``.
    batch_size : int
        Chunk size for ``classifier``.

    Returns
    -------
    (float, float)
        Mean and standard deviation of the score over the parts.

    Notes
    -----
    Probabilities versus logits: outputs are taken as **logits** and
    soft-maxed (in float64) if any value is negative or any row sum differs
    from 1 by more than ``PROB_SUM_TOL = 1e-3``; otherwise they are taken as
    probabilities and each row is divided by its sum.  (Non-negative logits
    that happen to sum to 1 are therefore read as probabilities.)

    Raises
    ------
    ValueError
        Non-finite or non-2-D outputs, ``N < splits``, or ``classifier=None``
        with images while no default classifier exists
        (``"no default classifier available yet; pass classifier=..."``).

    Examples
    --------
    >>> import numpy as np
    >>> confident = np.eye(10)[np.arange(1000) % 10]     # one-hot, uniform over 10 classes
    >>> m, s = classifier_score(confident)
    >>> round(m, 6), round(s, 6)
    (10.0, 0.0)
    >>> [round(v, 9) for v in classifier_score(np.tile([0.2, 0.8], (100, 1)), splits=1)]
    [1.0, 0.0]
    """
    splits = check_int("splits", splits, 1)
    if classifier is None:
        arr = np.asarray(images_or_probs)
        if arr.ndim == 2:
            scores: ArrayLike = arr
        elif arr.ndim < 2:
            raise ValueError(f"classifier_score: need (N, K) class probabilities / logits or images, got "
                             f"shape {arr.shape}")
        else:
            _mnist_images("classifier_score", "images", arr, "classifier")
            scores = batched(_default_classifier(), arr, batch_size)
    else:
        scores = batched(classifier, images_or_probs, batch_size)
    p = _probabilities("class probabilities" if classifier is None else "classifier output", scores)
    n = p.shape[0]
    if n < splits:
        raise ValueError(f"classifier_score: {n} samples cannot be cut into splits={splits} parts")
    positive = p > 0.0
    logp = np.log(np.where(positive, p, 1.0))
    values = []
    for idx in np.array_split(np.arange(n), splits):
        part, lp, pos = p[idx], logp[idx], positive[idx]
        py = part.mean(axis=0)
        log_py = np.log(np.where(py > 0.0, py, 1.0))
        kl = np.where(pos, part * (lp - log_py), 0.0).sum(axis=1)
        values.append(math.exp(float(kl.mean())))
    v = np.asarray(values)
    return float(v.mean()), float(v.std())


# ----------------------------------------------------------------------------- Fréchet distance

def _factor(xc: np.ndarray) -> np.ndarray:
    """``F`` with ``Fᵀ F = C = xcᵀ xc / (n − 1)`` (see :func:`frechet_distance`, Notes)."""
    n, d = xc.shape
    a = xc / math.sqrt(n - 1)
    if n <= d:
        return a                                        # (n, d): exact, rank <= n - 1
    c = a.T @ a
    w, v = np.linalg.eigh((c + c.T) / 2.0)
    # eigenvalues at or below the rounding level of C (incl. negative ones) are 0
    w = np.where(w > d * np.finfo(np.float64).eps * max(float(w[-1]), 0.0), w, 0.0)
    return np.sqrt(w)[:, None] * v.T                    # (d, d): C^{1/2} = V diag(√w) Vᵀ up to Vᵀ


def _nuclear_norm(m: np.ndarray) -> float:
    """Sum of singular values (SVD; eigenvalues of ``m mᵀ`` clipped at 0 as a fallback)."""
    try:
        return float(np.linalg.svd(m, compute_uv=False).sum())
    except np.linalg.LinAlgError:                       # SVD did not converge (very rare)
        g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        w = np.linalg.eigvalsh((g + g.T) / 2.0)
        return float(np.sqrt(np.clip(w, 0.0, None)).sum())


def _feature_pair(real: Any, fake: Any, features: Any, batch_size: int, who: str) -> tuple:
    """The real and fake feature matrices (at least 2 rows each) of one width."""
    x = _features("real", real, features, batch_size, 2, who)
    y = _features("fake", fake, features, batch_size, 2, who)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"real and fake features must have the same width, got {x.shape[1]} and {y.shape[1]}")
    return x, y


def frechet_distance(real: ArrayLike, fake: ArrayLike, features: Optional[Fn] = None,
                     batch_size: int = 500) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID formula), in float64.

    ``d² = ‖μ₁ − μ₂‖² + tr C₁ + tr C₂ − 2 tr (C₁^{1/2} C₂ C₁^{1/2})^{1/2}``

    with ``μ``, ``C`` the sample means and unbiased (``n − 1``) covariances.

    Parameters
    ----------
    real, fake : array_like
        Samples: inputs of ``features`` when it is given; else ``(N, d)``
        feature matrices (used as they are) or MNIST-shaped images
        ``(N, 1, 28, 28)`` / ``(N, 28, 28)``, mapped to the shipped MNIST
        classifier's 128 penultimate activations
        (``ganlib.metrics.default_mnist_classifier().features``), as
        :func:`classifier_score` uses that classifier by default; other shapes
        raise ValueError asking for ``features=``.  ``N >= 2`` each (a
        covariance needs two samples); the two ``N`` may differ but the widths
        ``d`` must agree.
    features : callable, optional
        Maps a batch to ``(batch, d)`` feature vectors, called in chunks of
        ``batch_size`` (e.g. a classifier's penultimate layer).
    batch_size : int
        Chunk size for ``features``.

    Returns
    -------
    float
        ``d²`` (the quantity reported as FID), ``>= 0`` and finite.

    Notes
    -----
    The trace term is computed without forming any matrix square root of a
    possibly singular matrix.  For any factors ``F_i`` with ``F_iᵀ F_i = C_i``,
    ``C₁^{1/2} C₂ C₁^{1/2}`` has the same non-zero eigenvalues as ``C₁ C₂`` and
    as ``(F₁ F₂ᵀ)ᵀ (F₁ F₂ᵀ)``, so

    ``tr (C₁^{1/2} C₂ C₁^{1/2})^{1/2} = Σ σ_k(F₁ F₂ᵀ)`` (the nuclear norm),

    the sum of the singular values, which are non-negative by construction
    (no NaN from ``sqrt`` of rounding-negative eigenvalues).  The factor is the
    centred data ``A = X_c / √(n−1)`` itself when ``n <= d`` (exact for rank-
    deficient covariances -- fewer samples than dimensions), else
    ``F = diag(√w) Vᵀ`` from the eigendecomposition ``C = Aᵀ A = V diag(w) Vᵀ``
    (``numpy.linalg.eigh``; ``F`` is ``C^{1/2} = V diag(√w) Vᵀ`` without the
    final rotation, which does not change singular values), where
    eigenvalues at or below the rounding level ``d ε λ_max`` -- including
    the tiny negative ones of a singular ``C`` -- are set to 0.  ``tr C_i`` is
    ``‖X_c‖²_F / (n−1)``.  A result that rounding makes slightly negative
    (identical inputs) is clipped to 0.

    Raises
    ------
    ValueError
        Non-2-D or non-finite features, fewer than 2 samples, unequal widths.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1000, 4))
    >>> frechet_distance(x, x)
    0.0
    >>> round(frechet_distance(x, 2.0 * x + 3.0) / frechet_distance(x, x + 3.0), 1)  # ≈ (36 + 4)/36
    1.1
    """
    batch_size = check_int("batch_size", batch_size, 1)
    x, y = _feature_pair(real, fake, features, batch_size, "frechet_distance")
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mu_x, y - mu_y
    tr_x = float(np.einsum("ij,ij->", xc, xc)) / (x.shape[0] - 1)
    tr_y = float(np.einsum("ij,ij->", yc, yc)) / (y.shape[0] - 1)
    cross = _nuclear_norm(_factor(xc) @ _factor(yc).T)
    diff = mu_x - mu_y
    d2 = float(diff @ diff) + tr_x + tr_y - 2.0 * cross
    return max(d2, 0.0)


# ----------------------------------------------------------------------------- kernel distance

def kernel_distance(real: ArrayLike, fake: ArrayLike, features: Optional[Fn] = None,
                    subsets: int = 100, subset_size: int = 1000, degree: int = 3,
                    gamma: Optional[float] = None, coef0: float = 1.0, seed: int = 0,
                    batch_size: int = 500) -> Tuple[float, float]:
    """Kernel (Inception) Distance: unbiased MMD² with a polynomial kernel over random subsets.

    Kernel ``k(a, b) = (γ a·b + coef0)^degree`` (default ``(a·b/d + 1)³``).
    For each of ``subsets`` rounds, ``m = min(subset_size, N_real, N_fake)``
    rows are drawn without replacement from each set -- with
    ``rng = numpy.random.default_rng(seed)``, first
    ``rng.choice(N_real, m, replace=False)`` then ``rng.choice(N_fake, m,
    replace=False)`` -- and

    ``MMD²ᵤ = Σ_{i≠j} k(x_i,x_j) / (m(m−1)) + Σ_{i≠j} k(y_i,y_j) / (m(m−1))
    − 2 Σ_{i,j} k(x_i,y_j) / m²``.

    Parameters
    ----------
    real, fake : array_like
        Inputs of ``features`` when it is given; else ``(N, d)`` features, or
        MNIST-shaped images mapped to the shipped classifier's features (as in
        :func:`frechet_distance`); ``N >= 2``.
    features : callable, optional
        Feature function applied in chunks of ``batch_size``.
    subsets, subset_size : int
        Number of rounds (``>= 1``) and rows per set per round (``>= 2``,
        capped at the sample counts).
    degree : int
        Kernel degree, ``>= 1``.
    gamma : float, optional
        ``> 0``; default ``1/d``.
    coef0 : float
        Kernel offset.
    seed : int
        Seed of the subset draws.
    batch_size : int
        Chunk size for ``features``.

    Returns
    -------
    (float, float)
        Mean and (``ddof=0``) standard deviation of the per-subset estimates
        (unbiased, so the mean can be slightly negative for equal distributions).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    >>> m, s = kernel_distance(a, b, subsets=10, subset_size=200)
    >>> abs(m) < 0.05, kernel_distance(a, b + 1.0, subsets=10, subset_size=200)[0] > 1.0
    (True, True)
    """
    subsets = check_int("subsets", subsets, 1)
    subset_size = check_int("subset_size", subset_size, 2)
    degree = check_int("degree", degree, 1)
    gamma = None if gamma is None else check_real("gamma", gamma, positive=True)
    c = check_real("coef0", coef0)
    seed = check_seed("seed", seed)
    batch_size = check_int("batch_size", batch_size, 1)
    x, y = _feature_pair(real, fake, features, batch_size, "kernel_distance")
    g = 1.0 / x.shape[1] if gamma is None else gamma
    m = min(subset_size, x.shape[0], y.shape[0])
    rng = np.random.default_rng(seed)

    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (g * (a @ b.T) + c) ** degree

    values = np.empty(subsets)
    for s in range(subsets):
        a = x[rng.choice(x.shape[0], m, replace=False)]
        b = y[rng.choice(y.shape[0], m, replace=False)]
        kxx, kyy, kxy = k(a, a), k(b, b), k(a, b)
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values[s] = within - 2.0 * kxy.sum() / (m * m)
    return float(values.mean()), float(values.std())


# ----------------------------------------------------------------------------- class diversity

def renyi_entropy(p: ArrayLike, alpha: float) -> float:
    """Rényi entropy ``H_α(p) = log(Σ p_k^α) / (1 − α)`` in nats.

    Limits: ``α = 0``: ``log |support|``; ``α = 1``: Shannon ``−Σ p log p``;
    ``α = inf``: ``−log max p``.  ``p`` is normalised to sum 1 first.

    Examples
    --------
    >>> round(renyi_entropy([0.5, 0.5, 0, 0], 2), 6), round(renyi_entropy([1, 1, 1, 1], 1), 6)
    (0.693147, 1.386294)
    """
    q = _float64("p", p)
    if q.ndim != 1 or q.size < 1:
        raise ValueError(f"p must be a non-empty 1-D histogram, got shape {q.shape}")
    if not np.all(np.isfinite(q)) or np.any(q < 0.0) or q.sum() <= 0.0:
        raise ValueError("p must be finite, non-negative and have a positive sum")
    q = q / q.sum()
    a = float(alpha)
    if math.isnan(a) or a < 0.0:
        raise ValueError(f"alpha must be >= 0 (or inf), got {alpha}")
    nz = q[q > 0.0]
    if a == 0.0:
        return float(math.log(nz.size))
    if a == 1.0:
        return float(-(nz * np.log(nz)).sum())
    if math.isinf(a):
        return float(-math.log(nz.max()))
    return float(math.log(float((nz ** a).sum())) / (1.0 - a))


def _labels(name: str, value: np.ndarray) -> np.ndarray:
    if value.dtype.kind in "iu":
        return value.astype(np.int64)
    if value.dtype.kind == "f" and np.all(np.isfinite(value)) and np.all(value == np.round(value)):
        return value.astype(np.int64)
    raise TypeError(f"{name}: 1-D input must hold integer class labels, got dtype {value.dtype}")


def class_diversity(images_or_labels: ArrayLike, classifier: Optional[Fn] = None,
                    num_classes: Optional[int] = None, batch_size: int = 500) -> Dict[str, Any]:
    """Class histogram of samples, its collision probability and Rényi entropies (nats).

    Labels come from, in order of precedence:

    * ``classifier`` given: ``argmax`` of its ``(N, K)`` outputs on the inputs;
    * a 1-D array: integer class labels (integral floats accepted);
    * a 2-D array: per-class scores (probabilities or logits), ``argmax`` per row;
    * 3-D or more (images) without a classifier: the library default
      ``ganlib.metrics.default_mnist_classifier()`` (``ValueError`` if none yet).

    With ``p_k`` the fraction of samples of class ``k``:
    ``collision_probability = ‖p‖₂² = Σ p_k²`` (the chance that two
    independent samples share a class), ``H1 = −Σ p_k log p_k``,
    ``H2 = −log ‖p‖₂²``, ``Hinf = −log max_k p_k``; ``H1 >= H2 >= Hinf``, all
    ``log K`` for a uniform histogram.

    Parameters
    ----------
    images_or_labels : array_like
        Labels, class scores or classifier inputs (see above).
    classifier : callable, optional
        Maps a batch to ``(batch, K)`` class scores.
    num_classes : int, optional
        ``K``; default: the score width, or ``max(label) + 1`` for labels.
        Labels must lie in ``[0, K)``.
    batch_size : int
        Chunk size for ``classifier``.

    Returns
    -------
    dict
        ``counts`` (int64 ``(K,)``), ``p`` (float64 ``(K,)``),
        ``num_samples``, ``num_classes``, ``classes_present`` (ints),
        ``collision_probability``, ``H1``, ``H2``, ``Hinf`` (floats).

    Examples
    --------
    >>> r = class_diversity([0, 0, 1, 1], num_classes=4)
    >>> r["p"].tolist(), r["collision_probability"], round(r["H1"], 6), r["classes_present"]
    ([0.5, 0.5, 0.0, 0.0], 0.5, 0.693147, 2)
    """
    if classifier is not None:
        scores = _matrix("classifier output", batched(classifier, images_or_labels, batch_size))
        labels = np.argmax(scores, axis=1).astype(np.int64)
        width: Optional[int] = scores.shape[1]
    else:
        arr = np.asarray(images_or_labels)
        if arr.ndim == 1:
            labels, width = _labels("labels", arr), None
        elif arr.ndim == 2:
            scores = _matrix("class scores", arr)
            labels, width = np.argmax(scores, axis=1).astype(np.int64), scores.shape[1]
        elif arr.ndim == 0:
            raise ValueError("class_diversity: need a 1-D array of labels, 2-D scores or images")
        else:
            _mnist_images("class_diversity", "images", arr, "classifier")
            scores = _matrix("default classifier output", batched(_default_classifier(), arr, batch_size))
            labels, width = np.argmax(scores, axis=1).astype(np.int64), scores.shape[1]
    n = labels.shape[0]
    if n < 1:
        raise ValueError("class_diversity: need at least one sample")
    if labels.min() < 0:
        raise ValueError(f"class labels must be >= 0, found {int(labels.min())}")
    if num_classes is None:
        k = width if width is not None else int(labels.max()) + 1
    else:
        k = check_int("num_classes", num_classes, 1)
        if int(labels.max()) >= k:
            raise ValueError(f"class label {int(labels.max())} out of range for num_classes={k}")
    counts = np.bincount(labels, minlength=k).astype(np.int64)
    p = counts / float(n)
    collision = float(p @ p)
    return {
        "counts": counts,
        "p": p,
        "num_samples": int(n),
        "num_classes": int(k),
        "classes_present": int(np.count_nonzero(counts)),
        "collision_probability": collision,
        "H1": renyi_entropy(p, 1.0),
        "H2": float(-math.log(collision)),
        "Hinf": float(-math.log(p.max())),
    }
