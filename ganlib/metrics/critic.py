"""Critic-based evaluation (TECHNIQUES.md §F): D_CNN, an independent Wasserstein critic.

* :func:`critic_divergence` -- "D_CNN" (Gulrajani, Raffel & Metz, *Towards GAN
  benchmarks which require generalization*): a fresh critic, trained with a
  :class:`ganlib.Trainer` to separate held-out real data from samples, and its
  converged estimate on evaluation splits it was not trained on; with training
  data as well, the overfitting gap;
* :class:`IndependentCritic` -- a ``fit(callbacks=[...])`` callback that follows a
  model during training with its own Wasserstein critic (Danihelka et al.,
  *Comparison of maximum likelihood and GAN-based training of Real NVPs*);
* :func:`default_critic` -- the critic both use when none is given.

The estimate
------------
A reference set ``R`` (real data) and a sample set ``S`` are each cut once, by a
seeded permutation, into a *fit* part and an *evaluation* part (``eval_fraction``
of the rows).  The critic ``f`` is trained for ``steps`` steps on batches of
``R_fit`` against ``S_fit``, minimising the objective's critic loss ``L`` (plus
its gradient penalty).  Every ``eval_every`` steps, and after the last one, the
**held-out estimate**

``d = L(0) − L(f)`` on ``(R_eval, S_eval)``

is recorded: how much better ``f`` separates the evaluation rows than the
constant critic ``f ≡ 0``.  For the Wasserstein objectives ``L(f) = E_S f − E_R f``
and ``L(0) = 0``, so ``d = E_{R_eval} f − E_{S_eval} f``, the critic's lower
estimate of the Wasserstein-1 distance (WGAN-GP keeps ``f`` near 1-Lipschitz);
for the logistic objectives ``d = 2 log 2 − L(f)`` estimates twice the
Jensen-Shannon divergence.  The **converged estimate** is the mean of ``d`` over
the last ``average`` evaluations.

Because ``d`` is measured on rows the critic never trained on, a critic that
merely memorises its training rows gains nothing, and ``d`` fluctuates around a
floor near 0 when ``R`` and ``S`` come from one distribution.  A sample set with
few distinct rows (a memoriser) repeats its fit rows in its evaluation rows, so
the critic's memorisation of them *does* count: that is how the estimate
penalises a lack of diversity, which classifier-based scores do not.  Held-out
estimates can be negative (by chance, or when ``S_eval`` repeats rows of
``R_fit``, as for samples that copy the training data, measured against it).

Examples
--------
>>> import numpy as np
>>> from ganlib import metrics
>>> rng = np.random.default_rng(0)
>>> real, fake = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2)) + [1.0, 0.0]
>>> r = metrics.critic_divergence(None, real, fake, steps=600, seed=0)
>>> 0.7 < r.value < 1.1        # W1 between N(0, I) and its shift by 1 is 1
True
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from .. import losses as _losses, ops, optim as _optim
from .._checks import check_bool, check_int, check_range, check_real
from ..nn.ae_presets import mlp_encoder
from ..nn.layers import mlp
from ..nn.module import Module
from ..nn.presets import DCGAN_SIZES, dcgan_discriminator
from ..streams import Data
from ..trainer import Phase, Step, Trainer
from .images import batched

__all__ = ["critic_divergence", "CriticDivergence", "IndependentCritic", "default_critic"]

ArrayLike = Any


# ----------------------------------------------------------------------------- validation

def _rows(name: str, value: ArrayLike, min_rows: int = 2) -> np.ndarray:
    """A finite C-contiguous float32 array ``(N, ...)`` with ``N >= min_rows`` and at most 3 row dims."""
    if value is None:
        raise TypeError(f"{name} must be an array of samples, got None")
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim < 2:
        raise ValueError(f"{name} must have shape (N, ...) with one row per sample (2-D vectors or "
                         f"(N, C, H, W) images), got shape {a.shape}")
    if a.ndim > 4:
        raise ValueError(f"{name}: rows have at most 3 dimensions (C, H, W), got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {a.shape[0]}")
    if any(d < 1 for d in a.shape[1:]):
        raise ValueError(f"{name} has an empty row shape {a.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.ascontiguousarray(a, dtype=np.float32)
    bad = ~np.isfinite(x.reshape(x.shape[0], -1))
    if bad.any():
        raise ValueError(f"{name} must be finite (as float32): {int(bad.any(axis=1).sum())} of {x.shape[0]} rows "
                         "contain NaN or inf")
    return x


def _same_shape(names: Sequence[str], arrays: Sequence[np.ndarray]) -> tuple:
    shape = tuple(arrays[0].shape[1:])
    for n, a in zip(names[1:], arrays[1:]):
        if tuple(a.shape[1:]) != shape:
            raise ValueError(f"{names[0]} and {n} must have the same row shape, got {shape} and "
                             f"{tuple(a.shape[1:])}")
    return shape


def _split(x: np.ndarray, eval_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, evaluation rows): one seeded permutation, at least one row on each side."""
    n = x.shape[0]
    n_eval = min(max(1, int(round(eval_fraction * n))), n - 1)
    perm = rng.permutation(n)
    return np.ascontiguousarray(x[perm[n_eval:]]), np.ascontiguousarray(x[perm[:n_eval]])


# ----------------------------------------------------------------------------- the critic

def default_critic(row_shape: Sequence[int], seed: int = 0) -> Module:
    """The critic used when none is given: small, and differentiable twice (for gradient penalties).

    * images ``(C, S, S)`` with ``S`` in 28, 32, 64: a DCGAN discriminator of
      width 32 with layer norm (``gl.nn.dcgan_discriminator(shape, width=32,
      norm="layer")``: conv 4×4 stride 2, C → 32 → 64 channels for 28 × 28);
    * vectors ``(d,)``: an MLP ``d → 128 → 128 → 1`` with leaky ReLU;
    * any other row shape: the same MLP on the flattened rows.

    Parameters
    ----------
    row_shape : sequence of int
        The shape of one sample (without the batch axis).
    seed : int
        Seed of the initialisation.

    Returns
    -------
    Module
        Maps ``(N, *row_shape)`` to ``(N, 1)``.

    Examples
    --------
    >>> default_critic((1, 28, 28), seed=0)(np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 1)
    >>> default_critic((2,), seed=0)(np.zeros((3, 2), np.float32)).shape
    (3, 1)
    """
    shape = tuple(check_int(f"default_critic: row_shape[{k}]", d, 1) for k, d in enumerate(row_shape))
    seed = check_int("default_critic: seed", seed, 0)
    if len(shape) == 3 and shape[1] == shape[2] and shape[1] in DCGAN_SIZES:
        return dcgan_discriminator(shape, width=32, norm="layer", seed=seed)
    if len(shape) == 1:
        return mlp(shape[0], [128, 128], 1, act="leaky_relu", seed=seed)
    return mlp_encoder(shape, 1, hidden=(128, 128), act="leaky_relu", seed=seed)


def _check_critic(critic: Any, row_shape: tuple, seed: int, what: str) -> Module:
    """An untrained template: the given module (cloned before each training) or the default."""
    if critic is None:
        return default_critic(row_shape, seed)
    if not isinstance(critic, Module):
        raise TypeError(f"{what}: critic must be a ganlib Module mapping (N, *row_shape) to (N, 1), or None, "
                        f"got {type(critic).__name__}")
    tr = ops.Trace()
    try:
        with ops.tracing(tr):
            out = critic(tr.input((2, *row_shape)))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: the critic does not take rows of shape {row_shape}: {e}") from None
    if tuple(out.shape) != (2, 1):
        raise ValueError(f"{what}: the critic must return one value per row, shape (N, 1); for rows of shape "
                         f"{row_shape} it returns {tuple(out.shape)[1:]} per row")
    return critic


class _Objective:
    """The objective, its penalty and clip, and the held-out estimate ``L(0) − L(f)``."""

    def __init__(self, objective: Any, penalty_weight: Optional[float], what: str) -> None:
        self.objective = _losses.get_objective(objective)
        self.name = self.objective.name
        pen = self.objective.default_penalty
        if penalty_weight is not None:
            penalty_weight = check_real(f"{what}: penalty_weight", penalty_weight, nonnegative=True)
            if pen is None:
                raise ValueError(f"{what}: penalty_weight was given, but objective {self.name!r} has no gradient "
                                 "penalty")
        self.penalty = _losses.get_penalty(pen) if pen else None
        self.weight = (self.objective.default_penalty_weight if penalty_weight is None else penalty_weight)
        self.clip = self.objective.clip
        zero = np.zeros((1, 1), np.float32)
        self.base = float(self.objective.d_loss(zero, zero))

    def estimate(self, f_real: np.ndarray, f_fake: np.ndarray) -> float:
        return self.base - float(self.objective.d_loss(f_real, f_fake))


def _refuse_batch_norm(critic: Module, obj: _Objective, what: str) -> None:
    if obj.penalty is not None and any(type(m).__name__ == "BatchNorm" and m.training for m in critic._modules()):
        raise ValueError(f"{what}: the {obj.penalty.name} penalty differentiates the critic's gradient again, but "
                         "batch norm in training mode is first-order only; use norm='layer' (or no norm) in the "
                         "critic")


class _CriticRun:
    """One critic (a clone of the template) trained by a gl.Trainer on (R_fit, S_fit)."""

    def __init__(self, template: Module, obj: _Objective, lr: float, seed: int) -> None:
        self.critic = template.clone()
        self.obj = obj
        crit, pen, w = self.critic, obj.penalty, obj.weight

        def step(b: Any) -> Step:
            real, fake = b.real.x, b.fake.x
            loss = obj.objective.d_loss(crit(real), crit(fake))
            if pen is None:
                return Step(minimize={"critic": loss}, log={"loss": loss})
            p = pen(crit, real, fake) * w
            return Step(minimize={"critic": loss + p}, log={"loss": loss, "penalty": p})

        # Adam with beta2 = 0.9 as in WGAN-GP (Gulrajani et al. 2017); beta1 = 0.5 settles faster alone
        self.trainer = Trainer({"critic": crit}, {"critic": _optim.Adam(lr, betas=(0.5, 0.9))},
                               [Phase("critic", step)], clip=None if obj.clip is None else {"critic": obj.clip},
                               grad_norms=False, seed=seed)

    def value(self, real_eval: np.ndarray, fake_eval: np.ndarray, batch_size: int) -> float:
        fr = batched(self.critic._read, real_eval, batch_size)
        ff = batched(self.critic._read, fake_eval, batch_size)
        return self.obj.estimate(np.asarray(fr, np.float32), np.asarray(ff, np.float32))

    def train(self, real_fit: np.ndarray, fake_fit: np.ndarray, steps: int, batch_size: int, eval_every: int,
              real_eval: np.ndarray, fake_eval: np.ndarray) -> list[tuple[int, float]]:
        """Train ``steps`` steps; the held-out estimate every ``eval_every`` steps and at the end."""
        history: list[tuple[int, float]] = []
        first = self.trainer.step

        def record(trainer: Trainer, step: int, logs: dict) -> None:
            history.append((step - first, self.value(real_eval, fake_eval, max(batch_size, 256))))

        self.trainer.fit({"real": Data(x=real_fit), "fake": Data(x=fake_fit)}, steps, batch_size=batch_size,
                         log_every=eval_every, callbacks=[record], progress=False)
        return history


# ----------------------------------------------------------------------------- D_CNN

class CriticDivergence:
    """The result of :func:`critic_divergence`.

    Attributes
    ----------
    value : float
        The converged held-out estimate against the held-out real data (D_CNN):
        the mean of the last ``average`` evaluations.
    train_value : float or None
        The same against the training data (None without ``train_real``).
    gap : float or None
        The overfitting gap ``value − train_value``: the estimate against
        held-out data minus the estimate against training data.  Near 0 for
        samples as far from the training data as from new data; positive when
        the samples are closer to the training data (copies of it, or a model
        that overfits).
    history : ndarray (k, 2)
        ``(critic step, held-out estimate)`` at every evaluation.
    train_history : ndarray (k, 2) or None
        The same for the critic trained against the training data.
    objective : str
        The critic's objective.
    steps, average : int
        Critic steps, and how many of the last evaluations ``value`` averages.
    """

    def __init__(self, value: float, train_value: Optional[float], history: np.ndarray,
                 train_history: Optional[np.ndarray], objective: str, steps: int, average: int) -> None:
        self.value = float(value)
        self.train_value = None if train_value is None else float(train_value)
        self.gap = None if train_value is None else self.value - self.train_value
        self.history = history
        self.train_history = train_history
        self.objective = objective
        self.steps = steps
        self.average = average

    def __repr__(self) -> str:
        gap = "" if self.gap is None else f", gap={self.gap:.4g} (train_value={self.train_value:.4g})"
        return (f"CriticDivergence(value={self.value:.4g}{gap}, objective={self.objective!r}, steps={self.steps}, "
                f"mean of the last {min(self.average, len(self.history))} of {len(self.history)} evaluations)")


def _converged(history: list[tuple[int, float]], average: int) -> float:
    return float(np.mean([v for _, v in history[-average:]]))


def critic_divergence(train_real: Optional[ArrayLike], heldout_real: ArrayLike, samples: ArrayLike,
                      critic: Optional[Module] = None, steps: int = 1000, batch_size: int = 64,
                      objective: Any = "wgan-gp", penalty_weight: Optional[float] = None, lr: float = 1e-3,
                      eval_fraction: float = 0.25, eval_every: int = 100, average: int = 5,
                      seed: int = 0) -> CriticDivergence:
    """D_CNN: train a fresh critic to separate held-out real data from samples; its converged estimate.

    The estimate is defined in the module docstring (:mod:`ganlib.metrics.critic`):
    ``d = L(0) − L(f)`` on evaluation rows the critic did not train on
    (``E_R f − E_S f`` for WGAN-GP), recorded every ``eval_every`` steps;
    ``value`` is its mean over the last ``average`` evaluations.  With
    ``train_real``, a second critic -- the same initial weights, the same
    sample split -- is trained against the training data, and the **overfitting
    gap** is ``value − train_value``.

    Parameters
    ----------
    train_real : array_like or None
        Training data of the model ``(N, ...)``; None skips the second critic
        (``gap`` is then None).  When it has more rows than ``heldout_real``, a
        seeded subset of ``len(heldout_real)`` rows is used, so that both critics
        see equally many real rows and the gap compares like with like.
    heldout_real : array_like
        Real data the model never saw (a test set), ``(M, ...)``, ``M >= 2``.
    samples : array_like
        The model's samples, ``(K, ...)``, ``K >= 2``; rows of the same shape as
        the real data.
    critic : Module, optional
        An untrained critic ``(N, ...) -> (N, 1)``; it is cloned before each
        training, so it is never changed and both critics start from its weights.
        Default :func:`default_critic` (a small conv net for 28 × 28, 32 × 32 and
        64 × 64 images, an MLP otherwise).
    steps : int
        Critic steps, ``>= 1``.
    batch_size : int
        Rows of real data and of samples per step; at most the rows of each fit part.
    objective : str or Objective
        A ``gl.losses`` objective (its critic loss, penalty and clip): "wgan-gp"
        (default), "wasserstein" (weight clipping), "nonsaturating", "hinge", ...
    penalty_weight : float, optional
        λ of the objective's gradient penalty (default the objective's, 10 for WGAN-GP).
    lr : float
        Adam learning rate of the critic (``betas=(0.5, 0.9)``); higher than a
        GAN's 1e-4, since the critic chases a fixed pair of sets, not a generator.
    eval_fraction : float
        Fraction of each of the real and sample sets held out for the estimate, in (0, 1).
    eval_every : int
        Evaluate every this many critic steps (and after the last step).
    average : int
        The converged estimate averages the last this many evaluations.
    seed : int
        Seeds the splits, the default critic's weights and the critic's training.

    Returns
    -------
    CriticDivergence
        ``value``, ``train_value``, ``gap``, ``history``, ``train_history``.

    Raises
    ------
    ValueError
        Empty or non-finite inputs, fewer than 2 rows, unequal row shapes,
        ``batch_size`` above a fit part's rows, out-of-range settings.
    TypeError
        Non-numeric inputs, a critic that is not a Module, wrong argument kinds.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> test, fake = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2)) + 2.0
    >>> r = critic_divergence(None, test, fake, steps=300, eval_every=50, seed=0)
    >>> r.value > 1.0, r.history.shape
    (True, (6, 2))
    """
    what = "critic_divergence"
    steps = check_int(f"{what}: steps", steps, 1)
    batch_size = check_int(f"{what}: batch_size", batch_size, 1)
    eval_every = check_int(f"{what}: eval_every", eval_every, 1)
    average = check_int(f"{what}: average", average, 1)
    eval_fraction = check_range(f"{what}: eval_fraction", eval_fraction, 0.0, 1.0, low_open=True, high_open=True)
    lr = check_real(f"{what}: lr", lr, positive=True)
    seed = check_int(f"{what}: seed", seed, 0)
    heldout = _rows("heldout_real", heldout_real)
    fake = _rows("samples", samples)
    train = None if train_real is None else _rows("train_real", train_real)
    names, arrays = ["heldout_real", "samples"], [heldout, fake]
    if train is not None:
        names.append("train_real")
        arrays.append(train)
    shape = _same_shape(names, arrays)
    obj = _Objective(objective, penalty_weight, what)
    template = _check_critic(critic, shape, seed, what)
    _refuse_batch_norm(template, obj, what)

    rng = np.random.default_rng(seed)
    s_fit, s_eval = _split(fake, eval_fraction, rng)
    h_fit, h_eval = _split(heldout, eval_fraction, rng)
    if train is not None:
        if train.shape[0] > heldout.shape[0]:   # as many real rows as the held-out critic gets
            train = train[np.sort(rng.choice(train.shape[0], heldout.shape[0], replace=False))]
        t_fit, t_eval = _split(train, eval_fraction, rng)
    smallest = min(s_fit.shape[0], h_fit.shape[0], t_fit.shape[0] if train is not None else h_fit.shape[0])
    if batch_size > smallest:
        raise ValueError(f"{what}: batch_size={batch_size} is more than the {smallest} rows of the smallest fit part "
                         f"(a {1 - eval_fraction:g} share of the inputs); pass a smaller batch_size or more samples")

    run = _CriticRun(template, obj, lr, seed)
    hist = run.train(h_fit, s_fit, steps, batch_size, eval_every, h_eval, s_eval)
    train_hist = None
    if train is not None:
        run2 = _CriticRun(template, obj, lr, seed)
        train_hist = run2.train(t_fit, s_fit, steps, batch_size, eval_every, t_eval, s_eval)
    return CriticDivergence(_converged(hist, average),
                            None if train_hist is None else _converged(train_hist, average),
                            np.asarray(hist, np.float64).reshape(-1, 2),
                            None if train_hist is None else np.asarray(train_hist, np.float64).reshape(-1, 2),
                            obj.name, steps, average)


# ----------------------------------------------------------------------------- the independent critic

class IndependentCritic:
    """A Wasserstein critic of its own that follows a model during training: a ``fit`` callback.

    Danihelka et al. evaluate generators with an *independent* critic, trained
    beside the model but never used to train it.  Every ``every`` steps of the
    model's training, this callback draws ``n_samples`` fresh samples, splits
    them (and, once, the held-out real data) into fit and evaluation parts as
    :func:`critic_divergence` does, trains its critic ``steps`` more steps on the
    fit parts, and appends ``(model step, held-out estimate)`` to
    :attr:`history` (the estimate ``L(0) − L(f)`` of the module docstring, for
    WGAN-GP ``E_R f − E_S f`` on the evaluation parts).

    By default the critic is warm-started: it keeps its weights (and optimizer
    state) from one evaluation to the next, so a few steps each time keep it
    near convergence as the model moves.  ``restart=True`` trains a fresh
    critic (the same initial weights) at every evaluation, a D_CNN of each
    checkpoint of the model.

    Parameters
    ----------
    heldout_real : array_like
        Real data the model does not train on, ``(M, ...)``.
    every : int
        Evaluate at the first callback at or after each multiple of ``every``
        model steps (callbacks come every ``log_every`` steps of ``fit``: let
        ``log_every`` divide ``every`` for evaluations at exactly those steps);
        a call with a step that is a multiple of ``every`` -- ``cb(gan, 0, {})``
        before training, for a baseline -- evaluates too.
    steps : int
        Critic steps per evaluation.
    n_samples : int, optional
        Samples drawn per evaluation (default ``len(heldout_real)``).
    sample_fn : callable, optional
        ``sample_fn(n) -> (n, ...)`` array; default the trainer's ``sample(n)``
        (``gl.GAN.sample``, ``RealNVP.sample``, ...).
    critic : Module, optional
        An untrained critic (cloned; default :func:`default_critic`).
    batch_size : int
        Rows of real data and of samples per critic step.
    objective : str or Objective
        The critic's ``gl.losses`` objective (default "wgan-gp").
    penalty_weight : float, optional
        λ of the objective's gradient penalty.
    lr : float
        Adam learning rate of the critic (``betas=(0.5, 0.9)``).
    eval_fraction : float
        Share of the real data and of each sample draw kept for the estimate.
    restart : bool
        Train a fresh critic at each evaluation instead of continuing one.
    seed : int
        Seeds the splits, the default critic's weights and its training.

    Attributes
    ----------
    history : list of (int, float)
        ``(model step, held-out estimate)`` per evaluation.

    Examples
    --------
    >>> X = gl.datasets.ring(n=4000, seed=0)
    >>> gan = gl.GAN(gl.nn.mlp(2, [64], 2, seed=0), gl.nn.mlp(2, [64], 1, seed=1), loss="wgan-gp", seed=0)
    >>> watch = gl.metrics.IndependentCritic(gl.datasets.ring(n=2000, seed=1), every=100, steps=100)
    >>> _ = gan.fit(X, steps=200, batch_size=128, log_every=100, callbacks=[watch], progress=False)
    >>> [s for s, _ in watch.history]
    [100, 200]
    """

    def __init__(self, heldout_real: ArrayLike, every: int = 100, steps: int = 100, n_samples: Optional[int] = None,
                 sample_fn: Optional[Callable[[int], ArrayLike]] = None, critic: Optional[Module] = None,
                 batch_size: int = 64, objective: Any = "wgan-gp", penalty_weight: Optional[float] = None,
                 lr: float = 1e-3, eval_fraction: float = 0.25, restart: bool = False, seed: int = 0) -> None:
        what = "IndependentCritic"
        self.every = check_int(f"{what}: every", every, 1)
        self.steps = check_int(f"{what}: steps", steps, 1)
        self.batch_size = check_int(f"{what}: batch_size", batch_size, 1)
        self.eval_fraction = check_range(f"{what}: eval_fraction", eval_fraction, 0.0, 1.0, low_open=True,
                                         high_open=True)
        self.lr = check_real(f"{what}: lr", lr, positive=True)
        self.restart = check_bool(f"{what}: restart", restart)
        self.seed = check_int(f"{what}: seed", seed, 0)
        if sample_fn is not None and not callable(sample_fn):
            raise TypeError(f"{what}: sample_fn must be a callable n -> samples, got {type(sample_fn).__name__}")
        self.sample_fn = sample_fn
        heldout = _rows("heldout_real", heldout_real)
        self.row_shape = tuple(heldout.shape[1:])
        self.n_samples = heldout.shape[0] if n_samples is None else check_int(f"{what}: n_samples", n_samples, 2)
        self._obj = _Objective(objective, penalty_weight, what)
        self._template = _check_critic(critic, self.row_shape, self.seed, what)
        _refuse_batch_norm(self._template, self._obj, what)
        self._rng = np.random.default_rng(self.seed)
        self._real_fit, self._real_eval = _split(heldout, self.eval_fraction, self._rng)
        n_fit = self.n_samples - min(max(1, int(round(self.eval_fraction * self.n_samples))), self.n_samples - 1)
        smallest = min(n_fit, self._real_fit.shape[0])
        if self.batch_size > smallest:
            raise ValueError(f"{what}: batch_size={self.batch_size} is more than the {smallest} rows of the smallest "
                             "fit part; pass a smaller batch_size, more samples or more held-out data")
        self._run: Optional[_CriticRun] = None
        self._due = self.every
        self.history: list[tuple[int, float]] = []

    def _samples(self, trainer: Any, n: int) -> np.ndarray:
        if self.sample_fn is not None:
            out = self.sample_fn(n)
        else:
            sample = getattr(trainer, "sample", None)
            if not callable(sample):
                raise TypeError(f"IndependentCritic: {type(trainer).__name__} has no sample(n); pass "
                                "sample_fn=lambda n: ...")
            out = sample(n)
        x = _rows("IndependentCritic: the model's samples", out)
        if x.shape[0] != n or tuple(x.shape[1:]) != self.row_shape:
            raise ValueError(f"IndependentCritic: asked for {n} samples of shape {self.row_shape}, got an array of "
                             f"shape {x.shape}")
        return x

    def __call__(self, trainer: Any, step: int, logs: Optional[dict] = None) -> None:
        """The ``fit`` callback ``cb(trainer, step, logs)``: evaluate when an evaluation is due."""
        step = check_int("IndependentCritic: step", step, 0)
        if step % self.every and step < self._due:
            return
        if self.history and self.history[-1][0] == step:
            return   # fit calls back at its last step, and a following fit may call at the same step
        self._due = (step // self.every + 1) * self.every
        fake = self._samples(trainer, self.n_samples)
        s_fit, s_eval = _split(fake, self.eval_fraction, self._rng)
        if self._run is None or self.restart:
            self._run = _CriticRun(self._template, self._obj, self.lr, self.seed)
        hist = self._run.train(self._real_fit, s_fit, self.steps, self.batch_size, self.steps,
                               self._real_eval, s_eval)
        self.history.append((step, hist[-1][1]))

    def __repr__(self) -> str:
        last = f", last={self.history[-1]}" if self.history else ""
        return (f"IndependentCritic(every={self.every}, steps={self.steps}, objective={self._obj.name!r}, "
                f"{len(self.history)} evaluations{last})")
