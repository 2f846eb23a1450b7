"""Latent-space metrics (TECHNIQUES.md §F): how well codes separate classes, and how far apart
the classes of a generator lie in its latent space.

* :func:`linear_probe` -- test accuracy of a multinomial logistic regression trained (in C, by
  :class:`ganlib.Trainer`) on frozen codes,
* :func:`clustering_accuracy` -- accuracy of cluster assignments under the best one-to-one
  (Hungarian) or many-to-one (majority) mapping of clusters to labels,
* :func:`class_radius` -- the expected distance from ``z ~ p`` to the nearest latent that decodes
  to another class, estimated by nearest neighbours and bisection,
* :func:`class_radius_bound` -- the upper bound on the class radius that depends only on the
  collision probability ``‖p‖₂²`` of the class distribution.

Examples
--------
>>> import numpy as np
>>> from ganlib import metrics
>>> metrics.clustering_accuracy([1, 1, 0, 0, 2], [0, 0, 1, 1, 1])           # clusters 1->0, 0->1
0.8
>>> round(metrics.class_radius_bound(np.full(10, 0.1)), 4)                   # K = 10 balanced classes
1.5681
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Union

import numpy as np

from .._checks import check_bool, check_choice, check_int, check_real
from .images import batched

__all__ = ["linear_probe", "clustering_accuracy", "class_radius", "class_radius_bound"]

ArrayLike = Any
Fn = Callable[[np.ndarray], Any]

#: |sum(p) - 1| allowed for a class probability vector
PROB_SUM_TOL = 1e-5
#: optimizer steps of :func:`linear_probe` when neither steps nor epochs is given
DEFAULT_PROBE_STEPS = 3000
#: pieces of the probe's cosine learning-rate schedule (constant within a piece)
PROBE_LR_CHUNKS = 50


# ----------------------------------------------------------------------------- validation

def _codes(name: str, value: ArrayLike) -> np.ndarray:
    """A finite float64 ``(n, d)`` array, ``n, d >= 1``."""
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {exc}") from None
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (n codes, d features) with n, d >= 1, got shape {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{name} must be finite: {int(bad.any(axis=1).sum())} of {x.shape[0]} rows contain "
                         f"NaN or inf (first: row {int(np.argmax(bad.any(axis=1)))})")
    return x


def _int_labels(name: str, value: ArrayLike, n: Optional[int] = None, nonnegative: bool = True) -> np.ndarray:
    """A 1-D int64 array of integer labels (integral floats accepted), of length ``n`` if given."""
    a = np.asarray(value)
    if a.ndim != 1 or a.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array of integer labels, got shape {a.shape}")
    if a.dtype.kind == "b" or a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integer labels, got dtype {a.dtype}")
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name} must hold integer labels, got {a[i].item()!r} at index {i}")
    if a.dtype.kind == "u" and a.size and int(a.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name}: label {int(a.max())} does not fit in int64")
    y = a.astype(np.int64)
    if nonnegative and y.min() < 0:
        i = int(np.argmin(y))
        raise ValueError(f"{name} must be >= 0, got {int(y[i])} at index {i}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels for {n} rows; they must match")
    return y


# ----------------------------------------------------------------------------- linear probe

def linear_probe(train_codes: ArrayLike, train_labels: ArrayLike, test_codes: ArrayLike, test_labels: ArrayLike,
                 *, steps: Optional[int] = None, epochs: Optional[float] = None, l2: float = 1e-4,
                 lr: float = 5e-2, batch_size: int = 256, seed: int = 0) -> float:
    """Test accuracy of a multinomial logistic regression trained on frozen codes.

    The codes are standardised with the training mean and standard deviation (a
    constant feature is only centred), then one ``gl.nn.Linear(d, K)`` is trained in C
    by :class:`ganlib.Trainer` to minimise ``softmax_cross_entropy(logits, y) + l2 *
    ‖W‖²`` (the bias is not penalised) with Adam over shuffled mini-batches, the
    learning rate following a cosine from ``lr`` down to ~0 over the steps (the
    problem is convex: this settles at its optimum; the defaults reach it to about
    1e-4 in the objective on standardised codes, so test predictions agree with an
    exact float64 solution except at near-ties). The classes are the labels that
    occur in either set; a test label never seen in training is always an error.

    Parameters
    ----------
    train_codes, test_codes : array_like (n, d), (m, d)
        Finite codes (e.g. an encoder's means), any float or int dtype.
    train_labels, test_labels : array_like (n,), (m,)
        Integer class labels >= 0 (integral floats accepted); ``train_labels`` must
        hold at least two classes.
    steps, epochs : int / float, optional
        Length of training: ``steps`` optimizer steps, or ``epochs`` passes over the
        codes (``epochs * (n // batch_size)`` steps). Give at most one; default
        3000 steps (about 0.6 s for 60,000 codes of 64 features and 10 classes).
    l2 : float
        Weight of ``‖W‖²``, >= 0.
    lr : float
        Initial Adam learning rate, > 0.
    batch_size : int
        Rows per step (``min(batch_size, n)``).
    seed : int
        Initialisation and batch order.

    Returns
    -------
    float
        Fraction of test codes whose arg-max logit is their label, in [0, 1].

    Raises
    ------
    ValueError, TypeError
        Shapes that do not match, NaN/inf codes, non-integer or negative labels,
        fewer than two training classes, bad hyperparameters.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(400) % 2
    >>> codes = rng.normal(size=(400, 3)) + 3.0 * y[:, None]
    >>> linear_probe(codes[:300], y[:300], codes[300:], y[300:])
    0.99
    """
    from .. import ops
    from ..nn import Linear
    from ..optim import Adam
    from ..trainer import Data, Phase, Step, Trainer

    where = "linear_probe"
    xtr = _codes(f"{where}: train_codes", train_codes)
    xte = _codes(f"{where}: test_codes", test_codes)
    if xte.shape[1] != xtr.shape[1]:
        raise ValueError(f"{where}: test_codes have {xte.shape[1]} features, train_codes {xtr.shape[1]}; "
                         "they must match")
    ytr = _int_labels(f"{where}: train_labels", train_labels, xtr.shape[0])
    yte = _int_labels(f"{where}: test_labels", test_labels, xte.shape[0])
    l2 = check_real(f"{where}: l2", l2, nonnegative=True)
    lr = check_real(f"{where}: lr", lr, positive=True)
    batch_size = check_int(f"{where}: batch_size", batch_size, 1)
    seed = check_int(f"{where}: seed", seed, 0)
    if steps is not None and epochs is not None:
        raise ValueError(f"{where}: give steps or epochs, not both")
    if epochs is not None:
        epochs = check_real(f"{where}: epochs", epochs, positive=True)
    elif steps is not None:
        steps = check_int(f"{where}: steps", steps, 1)
    if np.unique(ytr).size < 2:
        raise ValueError(f"{where}: train_labels hold a single class ({int(ytr[0])}); a probe needs at least two")
    # the classes that occur, as 0..K-1 (a label absent from both sets would only add a logit that never wins)
    _, inv = np.unique(np.concatenate([ytr, yte]), return_inverse=True)
    ytr, yte = inv[:ytr.shape[0]], inv[ytr.shape[0]:]
    k = int(inv.max()) + 1

    mean, std = xtr.mean(axis=0), xtr.std(axis=0)
    std[~(std > 0.0)] = 1.0

    def standardise(x: np.ndarray, name: str) -> np.ndarray:
        with np.errstate(over="ignore"):
            s = ((x - mean) / std).astype(np.float32)
        if not np.all(np.isfinite(s)):
            raise ValueError(f"{where}: {name} overflow float32 after standardisation (a feature's test values "
                             "are too far from its training spread)")
        return s

    xs, xt = standardise(xtr, "train_codes"), standardise(xte, "test_codes")
    n, d = xs.shape
    bs = min(batch_size, n)
    if epochs is not None:
        steps = max(1, int(round(epochs * (n // bs))))
    elif steps is None:
        steps = DEFAULT_PROBE_STEPS
    net = Linear(d, k, init="xavier", seed=seed)
    opt = Adam(lr)

    def probe(b: Any) -> Any:
        ce = ops.softmax_cross_entropy(b.modules.probe(b.data.x), b.data.y)
        loss = ce + l2 * ops.sum(ops.square(b.modules.probe.p("weight"))) if l2 > 0.0 else ce
        return Step(minimize={"probe": loss}, log={"loss": loss})

    trainer = Trainer({"probe": net}, {"probe": opt}, [Phase("probe", probe)], grad_norms=False, seed=seed)
    data = {"data": Data(x=xs, y=ytr, num_classes=k)}
    chunks = min(steps, PROBE_LR_CHUNKS)
    done = 0
    for j in range(chunks):      # the learning rate is set between chunks of steps run in C
        todo = (steps * (j + 1)) // chunks - done
        opt.lr = lr * 0.5 * (1.0 + math.cos(math.pi * (done + 0.5 * todo) / steps))
        trainer.fit(data, steps=todo, batch_size=bs, log_every=todo, progress=False)
        done += todo
    net.eval()
    logits = batched(net, xt, 4096)
    return float(np.mean(np.argmax(logits, axis=1) == yte))


# ----------------------------------------------------------------------------- clustering accuracy

def _linear_sum_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a minimum-cost assignment of a finite ``(n, m)`` cost matrix.

    The Hungarian algorithm with potentials (shortest augmenting paths), O(n² m) for
    n <= m; a matrix with more rows than columns is solved transposed. Every row
    (every column when n > m) is assigned. Returns ``(rows, cols)`` sorted by row, as
    ``scipy.optimize.linear_sum_assignment``.
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("cost must be finite")
    if c.shape[0] > c.shape[1]:
        cols, rows = _linear_sum_assignment(c.T)
        order = np.argsort(rows)
        return rows[order], cols[order]
    n, m = c.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    match = np.zeros(m + 1, np.int64)      # match[j]: row (1-based) assigned to column j; column 0 is the root
    way = np.zeros(m + 1, np.int64)
    for i in range(1, n + 1):
        match[0], j0 = i, 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, bool)
        while True:                            # grow a shortest-path tree until a free column is reached
            used[j0] = True
            i0 = match[j0]
            free = ~used[1:]
            reduced = c[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[match[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:                              # augment along the path back to the root
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    cols = np.nonzero(match[1:])[0]
    rows = match[1:][cols] - 1
    order = np.argsort(rows)
    return rows[order], cols[order]


def clustering_accuracy(assignments: ArrayLike, labels: ArrayLike, mapping: str = "one-to-one") -> float:
    """Accuracy of cluster assignments under the best mapping of clusters to labels.

    * ``"one-to-one"``: each cluster is mapped to a different label, the mapping that
      maximises the number of correct points (the Hungarian algorithm on the
      cluster-by-label contingency table; unsupervised clustering accuracy). With
      more clusters than labels, the clusters left without a label count as errors;
      with fewer, some labels get no cluster.
    * ``"many-to-one"``: each cluster is mapped to its majority label, several
      clusters may share one (the adversarial autoencoder's protocol for K clusters >
      classes). Never below the one-to-one accuracy.

    Parameters
    ----------
    assignments : array_like (n,)
        Cluster ids, any integers (integral floats accepted); only their equality matters.
    labels : array_like (n,)
        Class labels, any integers.
    mapping : {"one-to-one", "many-to-one"}

    Returns
    -------
    float
        Fraction of points whose cluster maps to their label, in [0, 1].

    Examples
    --------
    >>> clustering_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 0])
    0.6666666666666666
    >>> clustering_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 0], mapping="many-to-one")
    1.0
    """
    where = "clustering_accuracy"
    mapping = check_choice(f"{where}: mapping", mapping, ("one-to-one", "many-to-one"))
    a = _int_labels(f"{where}: assignments", assignments, nonnegative=False)
    y = _int_labels(f"{where}: labels", labels, a.shape[0], nonnegative=False)
    _, ai = np.unique(a, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    counts = np.zeros((int(ai.max()) + 1, int(yi.max()) + 1), np.int64)
    np.add.at(counts, (ai, yi), 1)
    if mapping == "many-to-one":
        correct = int(counts.max(axis=1).sum())
    else:
        rows, cols = _linear_sum_assignment(-counts.astype(np.float64))
        correct = int(counts[rows, cols].sum())
    return correct / float(a.shape[0])


# ----------------------------------------------------------------------------- class radius

def class_radius_bound(p: ArrayLike) -> float:
    """Upper bound on the expected class radius from the class distribution alone.

    For a generator ``g`` with latent ``z ~ N(0, I)`` whose classes ``c(g(z))`` have
    probabilities ``p`` (Manoj 2018, after Fawzi et al. 2018)::

        E[r(z)] <= log(4π log(1/‖p‖₂²)) / sqrt(2 log(1/‖p‖₂²))

    where ``‖p‖₂² = Σ p_k²`` is the collision probability (``log(1/‖p‖₂²)`` the
    collision entropy ``H2``). The bound is smallest for a uniform ``p``:
    ``log(4π log K) / sqrt(2 log K)``. It comes from asymptotics for small class
    probabilities and is only informative while ``4π log(1/‖p‖₂²) > 1``
    (``‖p‖₂² < exp(-1/(4π)) ≈ 0.923``); above that the formula is negative and is
    returned as such.

    Parameters
    ----------
    p : array_like (K,)
        Class probabilities: finite, >= 0, summing to 1 (within 1e-5), with
        ``‖p‖₂² < 1`` (at least two classes of positive probability). A class
        histogram from :func:`class_diversity` (its ``"p"``) fits.

    Returns
    -------
    float

    Examples
    --------
    >>> round(class_radius_bound([0.5, 0.5]), 4), round(class_radius_bound(np.full(10, 0.1)), 4)
    (1.8384, 1.5681)
    """
    try:
        q = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"class_radius_bound: p must be a numeric array, got {type(p).__name__}: {exc}") from None
    if q.ndim != 1 or q.size < 1:
        raise ValueError(f"class_radius_bound: p must be a 1-D probability vector, got shape {q.shape}")
    if not np.all(np.isfinite(q)) or np.any(q < 0.0):
        raise ValueError("class_radius_bound: p must be finite and >= 0")
    total = float(q.sum())
    if abs(total - 1.0) > PROB_SUM_TOL:
        raise ValueError(f"class_radius_bound: p must sum to 1, got {total!r} (normalise a histogram first)")
    collision = float(q @ q) / (total * total)
    if not collision < 1.0:
        raise ValueError("class_radius_bound: p puts all its mass on one class (‖p‖₂² = 1); the class radius is "
                         "then infinite and the bound undefined")
    h2 = -math.log(collision)
    return math.log(4.0 * math.pi * h2) / math.sqrt(2.0 * h2)


def _classes(name: str, out: Any, rows: int) -> np.ndarray:
    """Class ids from a classifier's output: 1-D integer labels, or the arg-max of 2-D scores."""
    s = np.asarray(out)
    if s.ndim == 1 and s.dtype.kind in "iu":
        return s.astype(np.int64)
    if s.ndim == 1 and s.dtype.kind == "f" and np.all(np.isfinite(s)) and np.all(s == np.round(s)):
        return s.astype(np.int64)
    if s.ndim != 2 or s.shape[0] != rows or s.shape[1] < 1:
        raise ValueError(f"{name} must be 1-D integer class labels or 2-D (batch, K) class scores, got shape "
                         f"{s.shape} and dtype {s.dtype}")
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contains NaN or inf ({int((~np.isfinite(s)).any(axis=1).sum())} rows)")
    return np.argmax(s, axis=1).astype(np.int64)


def _other_class_neighbours(z: np.ndarray, c: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the indices (n, k) of its k nearest rows of another class; -1 where fewer exist."""
    n = z.shape[0]
    sq = np.einsum("ij,ij->i", z, z)
    idx = np.full((n, k), -1, np.int64)
    chunk = max(1, (1 << 22) // n)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        d2 = sq[s:e, None] + sq[None, :] - 2.0 * (z[s:e] @ z.T)
        d2[c[s:e, None] == c[None, :]] = np.inf
        kk = min(k, n)
        part = np.argpartition(d2, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (e - s, 1))
        dpart = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(dpart, axis=1, kind="stable")
        part, dpart = np.take_along_axis(part, order, axis=1), np.take_along_axis(dpart, order, axis=1)
        part[~np.isfinite(dpart)] = -1
        idx[s:e, :kk] = part
    return idx


def class_radius(generator: Fn, classifier: Fn, latent: Union[int, ArrayLike, Any], n: Optional[int] = None, *,
                 bisection_steps: int = 20, neighbors: int = 1, batch_size: int = 500, seed: int = 0,
                 details: bool = False) -> Union[float, Dict[str, Any]]:
    """Expected distance from ``z ~ p`` to the nearest latent that decodes to another class.

    With ``c(z) = classifier(generator(z))`` and ``K_j = {z : c(z) = j}``, the class
    radius is ``E_{z~p}[r(z)]``, ``r(z) = inf {‖z − z'‖ : c(z') ≠ c(z)}`` (Manoj 2018;
    :func:`class_radius_bound` bounds it from ``‖p‖₂²`` alone). A large radius at equal
    class balance means a less diverse generator.

    Estimate: ``n`` latents are drawn and classified; for each ``z``, the ``neighbors``
    nearest drawn latents ``z'`` of another class give segments ``z → z'`` on which the
    class changes; bisection (``bisection_steps`` halvings, all segments in lockstep,
    every call batched) finds the first point where the decoded class differs from
    ``z``'s, and ``r(z)`` is estimated by its distance to the nearest such point. Each
    estimate is a certified upper bound of ``r(z)`` (a point of another class at that
    distance); it is tight when the nearest boundary is crossed by a segment, so
    more ``n`` (and ``neighbors``) tighten it.

    Parameters
    ----------
    generator : callable
        Maps a float32 ``(batch, d)`` latent batch to outputs (e.g. ``vae.decode``).
    classifier : callable
        Maps generator outputs to ``(batch, K)`` class scores (probabilities or
        logits) or ``(batch,)`` integer labels (e.g.
        ``gl.metrics.default_mnist_classifier()``).
    latent : int, Latent or array_like
        An int ``d``: ``z ~ N(0, I_d)`` (NumPy, seeded); a ``gl.latent`` distribution:
        sampled in C with ``seed``; an ``(n, d)`` array: these latents.
    n : int, optional
        Latents to draw (default 1000; with an array, its rows).
    bisection_steps : int
        Halvings of each segment (the distance is resolved to ``2**-steps`` of it).
    neighbors : int
        Other-class latents tried per point (1: the nearest only).
    batch_size : int
        Rows per generator / classifier call.
    seed : int
        Seed of the latent draws.
    details : bool
        Return a dict instead of the float.

    Returns
    -------
    float or dict
        The estimate of ``E[r(z)]``; with ``details``: ``radius``, ``distances`` (n,),
        ``latents`` (n, d), ``classes`` (n,), ``p`` (class frequencies of the draws),
        ``per_class`` (class -> mean distance) and ``bound``
        (:func:`class_radius_bound` of ``p``).

    Raises
    ------
    ValueError
        All latents decode to one class (the radius is then infinite), bad shapes or
        outputs, NaN latents.

    Examples
    --------
    Two classes split by the hyperplane ``z₁ = 0``: ``r(z) = |z₁|``, ``E = sqrt(2/π) ≈ 0.80``.

    >>> sign = lambda x: (x[:, 0] > 0).astype(np.int64)
    >>> r = class_radius(lambda z: z, sign, 2, n=2000)
    >>> bool(abs(r - np.sqrt(2 / np.pi)) < 0.06)
    True
    """
    where = "class_radius"
    if not callable(generator) or not callable(classifier):
        raise TypeError(f"{where}: generator and classifier must be callables on NumPy batches")
    bisection_steps = check_int(f"{where}: bisection_steps", bisection_steps, 0, 60)
    neighbors = check_int(f"{where}: neighbors", neighbors, 1)
    batch_size = check_int(f"{where}: batch_size", batch_size, 1)
    seed = check_int(f"{where}: seed", seed, 0)
    details = check_bool(f"{where}: details", details)
    z = _latents(where, latent, n, seed)
    num = z.shape[0]

    def classify_batch(b: np.ndarray) -> np.ndarray:
        x = generator(b)
        shape = np.shape(x)
        if len(shape) < 1 or shape[0] != b.shape[0]:
            raise ValueError(f"{where}: the generator returned shape {shape} for a batch of {b.shape[0]} latents; "
                             "it must return one row per latent")
        cls = _classes(f"{where}: classifier output", classifier(x), b.shape[0])
        if cls.shape[0] != b.shape[0]:
            raise ValueError(f"{where}: the classifier returned {cls.shape[0]} labels for {b.shape[0]} latents")
        return cls

    def classify(points: np.ndarray) -> np.ndarray:
        return batched(classify_batch, points.astype(np.float32), batch_size)

    c = classify(z)
    present = np.unique(c)
    if present.size < 2:
        raise ValueError(f"{where}: all {num} latents decode to class {int(present[0])}; the class radius needs "
                         "points of at least two classes (it is infinite for one)")
    nbr = _other_class_neighbours(z, c, neighbors)
    dist = np.full(num, np.inf)
    for j in range(neighbors):
        rows = np.nonzero(nbr[:, j] >= 0)[0]
        if rows.size == 0:
            break
        a, b = z[rows], z[nbr[rows, j]]
        lo, hi = np.zeros(rows.size), np.ones(rows.size)   # class(lo) = class(z), class(hi) differs
        for _ in range(bisection_steps):
            mid = 0.5 * (lo + hi)
            differs = classify(a + mid[:, None] * (b - a)) != c[rows]
            hi = np.where(differs, mid, hi)
            lo = np.where(differs, lo, mid)
        dist[rows] = np.minimum(dist[rows], hi * np.linalg.norm(b - a, axis=1))
    radius = float(dist.mean())
    if not details:
        return radius
    classes, counts = np.unique(c, return_counts=True)
    p = counts / float(num)
    return {
        "radius": radius,
        "distances": dist,
        "latents": z,
        "classes": c,
        "p": dict(zip(classes.tolist(), p.tolist())),
        "per_class": {int(k): float(dist[c == k].mean()) for k in classes},
        "bound": class_radius_bound(p),
    }


def _latents(where: str, latent: Any, n: Optional[int], seed: int) -> np.ndarray:
    """The latents as a finite float64 (n, d) array."""
    from ..latent import Latent

    if isinstance(latent, Latent):
        from .. import ops
        num = 1000 if n is None else check_int(f"{where}: n", n, 2)
        z = ops.function(lambda: latent.sample(num), seed=seed)()
        return _codes(f"{where}: latents", z)
    if isinstance(latent, (int, np.integer)) and not isinstance(latent, (bool, np.bool_)):
        d = check_int(f"{where}: latent dimension", latent, 1)
        num = 1000 if n is None else check_int(f"{where}: n", n, 2)
        return np.random.default_rng(seed).standard_normal((num, d)).astype(np.float32).astype(np.float64)
    if isinstance(latent, (bool, np.bool_, float, str)) or latent is None:
        raise TypeError(f"{where}: latent must be an int dimension, a gl.latent distribution or an (n, d) array "
                        f"of latents, got {type(latent).__name__}")
    z = _codes(f"{where}: latents", latent)
    if n is not None and check_int(f"{where}: n", n, 2) != z.shape[0]:
        raise ValueError(f"{where}: n = {n} but {z.shape[0]} latents were given")
    if z.shape[0] < 2:
        raise ValueError(f"{where}: needs at least 2 latents, got {z.shape[0]}")
    return z
