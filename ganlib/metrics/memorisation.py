"""The memorisation test (TECHNIQUES.md §F; Gulrajani, Raffel & Metz 2019): how many training
images must a "model" memorise to beat a given model under each metric?

The *memoriser of n* keeps ``n`` training images and samples uniformly, with
replacement, from them.  A metric that a memoriser of small ``n`` beats rewards
a few realistic images over diversity (the lecture's table: Inception Score 32,
FID 1024, D_CNN more than a million).

* :func:`memorisation_table` -- the table: each metric on the model and on each
  memoriser of a grid of ``n``, and the smallest ``n`` that wins;
* :class:`Metric` and the factories :func:`classifier_score_metric`,
  :func:`frechet_metric`, :func:`dcnn_metric`, :func:`default_memorisation_metrics`.

Examples
--------
>>> import numpy as np
>>> from ganlib import metrics
>>> rng = np.random.default_rng(0)
>>> train, test = rng.normal(size=(2000, 2)), rng.normal(size=(1000, 2))
>>> model = rng.normal(size=(1000, 2)) * 1.5            # too wide, but diverse
>>> t = metrics.memorisation_table(train, test, model, grid=(10, 100, 1000),
...                                metrics={"frechet": metrics.frechet_metric()})
>>> t.n_to_win["frechet"]    # 10 points copied beat a diverse model 1.5x too wide
10
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Sequence

import numpy as np

from .._checks import check_int, check_seed
from .critic import _rows, _same_shape, critic_divergence
from .images import MNIST_SHAPES, classifier_score, frechet_distance

__all__ = ["Metric", "memorisation_table", "MemorisationTable", "classifier_score_metric", "frechet_metric",
           "dcnn_metric", "default_memorisation_metrics"]

BETTER = ("lower", "higher")


class Metric(NamedTuple):
    """A metric of a sample set: ``fn(samples, heldout) -> float``, and which way is better.

    Attributes
    ----------
    fn : callable
        ``fn(samples, heldout_real) -> float`` (a metric without a reference,
        such as the classifier score, ignores ``heldout_real``).
    better : {"lower", "higher"}
        "lower": a memoriser beats the model when its value is smaller
        (Fréchet distance, D_CNN); "higher": when it is larger (classifier score).

    Examples
    --------
    >>> Metric(lambda s, h: float(np.abs(s.mean(0) - h.mean(0)).sum()), "lower").better
    'lower'
    """
    fn: Callable[[np.ndarray, np.ndarray], float]
    better: str


def classifier_score_metric(classifier: Optional[Callable] = None, splits: int = 1) -> Metric:
    """:func:`~ganlib.metrics.classifier_score` (the Inception Score formula), higher is better.

    ``classifier=None`` uses the shipped MNIST classifier (MNIST-shaped images only).

    Examples
    --------
    >>> m = classifier_score_metric(lambda x: np.eye(10)[np.asarray(x[:, 0], int) % 10])
    >>> round(m.fn(np.arange(100.0)[:, None], None), 6), m.better
    (10.0, 'higher')
    """
    return Metric(lambda s, h: classifier_score(s, classifier, splits=splits)[0], "higher")


def frechet_metric(features: Optional[Callable] = None) -> Metric:
    """:func:`~ganlib.metrics.frechet_distance` to the held-out data, lower is better.

    ``features=None``: vectors as they are, MNIST-shaped images through the shipped
    classifier's features (classifier-FID).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(500, 3))
    >>> frechet_metric().fn(x, x), frechet_metric().better
    (0.0, 'lower')
    """
    return Metric(lambda s, h: frechet_distance(h, s, features=features), "lower")


def dcnn_metric(**kwargs: Any) -> Metric:
    """D_CNN: :func:`~ganlib.metrics.critic_divergence` against the held-out data, lower is better.

    Parameters
    ----------
    **kwargs
        Passed to ``critic_divergence`` (``steps``, ``batch_size``, ``critic``, ``seed``, ...);
        ``train_real`` is not taken (the table's D_CNN is measured against held-out data).

    Examples
    --------
    >>> dcnn_metric(steps=200).better
    'lower'
    """
    if "train_real" in kwargs:
        raise TypeError("dcnn_metric: train_real is not taken; the table measures against the held-out data")
    return Metric(lambda s, h: critic_divergence(None, h, s, **kwargs).value, "lower")


def default_memorisation_metrics(row_shape: Sequence[int], critic_steps: int = 300) -> Dict[str, Metric]:
    """The lecture's metrics, as far as they apply to rows of ``row_shape``.

    * MNIST-shaped images ``(1, 28, 28)`` / ``(28, 28)``: ``classifier_score`` (the
      shipped classifier), ``frechet`` (on its features) and ``dcnn``;
    * vectors ``(d,)``: ``frechet`` (on the vectors) and ``dcnn``;
    * other shapes: ``dcnn`` only (pass your own metrics for the others).

    ``dcnn`` is :func:`dcnn_metric` with ``steps=critic_steps`` and the other
    defaults of :func:`~ganlib.metrics.critic_divergence`.

    Examples
    --------
    >>> sorted(default_memorisation_metrics((2,)))
    ['dcnn', 'frechet']
    """
    shape = tuple(int(d) for d in row_shape)
    critic_steps = check_int("default_memorisation_metrics: critic_steps", critic_steps, 1)
    out: Dict[str, Metric] = {}
    if shape in MNIST_SHAPES:
        out["classifier_score"] = classifier_score_metric()
    if shape in MNIST_SHAPES or len(shape) == 1:
        out["frechet"] = frechet_metric()
    out["dcnn"] = dcnn_metric(steps=critic_steps, eval_every=min(100, critic_steps), average=3)
    return out


class MemorisationTable:
    """The result of :func:`memorisation_table`.

    Attributes
    ----------
    grid : tuple of int
        The memorised set sizes ``n``.
    model : dict str -> float
        Each metric on the model's samples.
    memorisers : dict str -> ndarray
        Each metric on the memoriser of each ``n`` (one value per grid entry).
    better : dict str -> str
        "lower" or "higher" per metric.
    n_to_win : dict str -> int or None
        The smallest ``n`` of the grid whose memoriser beats the model, None if none does.
    """

    def __init__(self, grid: tuple, model: dict, memorisers: dict, better: dict) -> None:
        self.grid, self.model, self.memorisers, self.better = grid, model, memorisers, better
        self.n_to_win: Dict[str, Optional[int]] = {}
        for name in model:
            wins = self.beats(name)
            self.n_to_win[name] = int(grid[int(np.argmax(wins))]) if wins.any() else None

    def beats(self, name: str) -> np.ndarray:
        """Booleans per grid entry: whether the memoriser of that ``n`` beats the model under ``name``."""
        mem, mod = self.memorisers[name], self.model[name]
        return mem < mod if self.better[name] == "lower" else mem > mod

    def __repr__(self) -> str:
        head = ["metric", "better", "model"] + [f"n={n}" for n in self.grid] + ["n to win"]
        rows = [head]
        for name in self.model:
            win = self.n_to_win[name]
            rows.append([name, self.better[name], f"{self.model[name]:.4g}"]
                        + [f"{v:.4g}" for v in self.memorisers[name]]
                        + [str(win) if win is not None else f"> {self.grid[-1]}"])
        widths = [max(len(r[k]) for r in rows) for k in range(len(head))]
        lines = ["  ".join(c.rjust(w) if k >= 2 else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        return "MemorisationTable\n" + "\n".join(lines)


def _metrics(metrics: Optional[Mapping[str, Any]], row_shape: tuple) -> Dict[str, Metric]:
    if metrics is None:
        return default_memorisation_metrics(row_shape)
    if not isinstance(metrics, Mapping) or not metrics:
        raise TypeError("memorisation_table: metrics must be a non-empty dict of name -> Metric(fn, better) "
                        "(or a (fn, better) pair), or None for the defaults")
    out: Dict[str, Metric] = {}
    for name, m in metrics.items():
        if not isinstance(name, str):
            raise TypeError(f"memorisation_table: metric names must be strings, got {name!r}")
        if not (isinstance(m, tuple) and len(m) == 2):
            raise TypeError(f"memorisation_table: metric {name!r} must be Metric(fn, better) or a pair (fn, better), "
                            f"got {type(m).__name__}")
        fn, better = m
        if not callable(fn):
            raise TypeError(f"memorisation_table: metric {name!r}: fn must be callable (samples, heldout) -> float")
        if better not in BETTER:
            raise ValueError(f"memorisation_table: metric {name!r}: better must be 'lower' or 'higher', got {better!r}")
        out[name] = Metric(fn, better)
    return out


def _value(name: str, fn: Callable, samples: np.ndarray, heldout: np.ndarray, who: str) -> float:
    v = fn(samples, heldout)
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"memorisation_table: metric {name!r} returned {type(v).__name__} for {who}; it must "
                        "return a number") from None
    if not math.isfinite(v):
        raise ValueError(f"memorisation_table: metric {name!r} returned {v} for {who}")
    return v


def memorisation_table(train: Any, heldout: Any, model_samples: Any, metrics: Optional[Mapping[str, Any]] = None,
                       grid: Sequence[int] = (10, 100, 1000), seed: int = 0) -> MemorisationTable:
    """For each ``n`` of ``grid``, the memoriser of ``n`` training images against the model, per metric.

    The memoriser of ``n`` samples uniformly with replacement from the first ``n``
    rows of one seeded permutation of ``train`` (so each memorised set contains the
    smaller ones), as many samples as ``model_samples`` has.  Each metric is
    computed on the model's samples and on each memoriser's; a memoriser *beats*
    the model when its value is lower (``better="lower"``: Fréchet distance, D_CNN)
    or higher (``better="higher"``: classifier score).  ``n_to_win`` is the
    smallest ``n`` of the grid whose memoriser beats the model (None: none in the
    grid does), the lecture's "n to win".

    Parameters
    ----------
    train : array_like
        The model's training data ``(N, ...)``; memorisers copy its rows.
    heldout : array_like
        Held-out real data, the reference of the metrics that take one.
    model_samples : array_like
        The model's samples, rows of the same shape.
    metrics : dict str -> Metric or (fn, better), optional
        ``fn(samples, heldout) -> float``.  Default
        :func:`default_memorisation_metrics` (classifier score, Fréchet distance
        and D_CNN for MNIST images).
    grid : sequence of int
        Memorised set sizes, increasing, each in ``[1, N]``.
    seed : int
        Seeds the permutation of ``train`` and the memorisers' draws.

    Returns
    -------
    MemorisationTable
        ``model``, ``memorisers``, ``better``, ``n_to_win``; its repr is the table.

    Notes
    -----
    "n to win" is the first winning ``n`` of the grid; a metric need not be
    monotone in ``n``, so :meth:`MemorisationTable.beats` gives every entry.
    D_CNN sees a memoriser's lack of diversity through rows repeated between
    the critic's fit and evaluation parts; with ``K`` samples, a memoriser of
    ``n >> K²`` rows almost never repeats one and looks like fresh real data.
    Its n to win therefore grows with the number of samples evaluated (the
    lecture's "> 1M" used far more samples than the defaults here).

    Raises
    ------
    ValueError
        Unequal row shapes, non-finite or empty inputs, a grid that is empty, not
        increasing or beyond ``len(train)``, a metric returning NaN / inf.
    TypeError
        Malformed metrics.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> train = rng.normal(size=(1000, 1)); model = rng.normal(size=(200, 1))
    >>> spread = Metric(lambda s, h: len(np.unique(s)), "higher")   # distinct samples
    >>> memorisation_table(train, train, model, {"distinct": spread}, grid=(10, 100, 1000)).n_to_win
    {'distinct': None}
    """
    seed = check_seed("memorisation_table: seed", seed)
    x_train = _rows("train", train, 1)
    x_held = _rows("heldout", heldout, 1)
    x_model = _rows("model_samples", model_samples, 1)
    shape = _same_shape(["train", "heldout", "model_samples"], [x_train, x_held, x_model])
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence) or len(grid) == 0:
        raise ValueError(f"memorisation_table: grid must be a non-empty sequence of set sizes, got {grid!r}")
    sizes = tuple(check_int(f"memorisation_table: grid[{k}]", n, 1, x_train.shape[0]) for k, n in enumerate(grid))
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"memorisation_table: grid must be increasing, got {sizes}")
    chosen = _metrics(metrics, shape)

    rng = np.random.default_rng(seed)
    order = rng.permutation(x_train.shape[0])
    k = x_model.shape[0]
    model_values = {name: _value(name, m.fn, x_model, x_held, "the model") for name, m in chosen.items()}
    mem_values = {name: np.empty(len(sizes)) for name in chosen}
    for j, n in enumerate(sizes):
        samples = x_train[order[:n][rng.integers(0, n, size=k)]]
        for name, m in chosen.items():
            mem_values[name][j] = _value(name, m.fn, samples, x_held, f"the memoriser of n={n}")
    return MemorisationTable(sizes, model_values, mem_values, {name: m.better for name, m in chosen.items()})
