"""The parts of gl.models.SemiSupervisedGAN that stand alone: its two discriminator losses,
the balanced labelled subset, and the paper's MLP networks (Salimans et al. 2016)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._checks import check_int, check_real
from ..losses import _eager, _needs_eager
from ..nn.layers import Linear, ReLU, Sequential, Sigmoid, Softplus, Tanh
from ..nn.module import Module
from ..nn.noise import GaussianNoise, WeightNormLinear
from ..nn.norm import BatchNorm
from .labels import check_labels

__all__ = ["balanced_subset", "labelled_loss", "unlabelled_loss"]

# the preset G's output activation and the range the data must lie in
G_OUTPUTS = {"sigmoid": (Sigmoid, (0.0, 1.0)), "tanh": (Tanh, (-1.0, 1.0)), "linear": (None, None)}

# ---- the two discriminator losses ------------------------------------------------------------------
def labelled_loss(logits: Any, onehot: Any) -> Any:
    """Mean cross-entropy over the K classes: ``E[lse(l) - l_y]`` (arrays or Tensors).

    Examples
    --------
    >>> round(labelled_loss(np.zeros((2, 4)), np.eye(4)[:2]), 4)     # log 4
    1.3863
    """
    if _needs_eager(logits, onehot):
        return _eager(labelled_loss, logits, onehot)
    return ops.softmax_cross_entropy(logits, onehot)


def unlabelled_loss(real_logits: Any, fake_logits: Any) -> Any:
    """``-E log D(x) - E log(1 - D(G(z)))`` with ``D = Z / (Z + 1)``, ``Z = sum exp l``.

    With ``s = logsumexp(l)``: ``-log D = softplus(-s)`` (the same as ``softplus(s) - s``,
    without its cancellation) and ``-log(1 - D) = softplus(s)``; finite for any finite
    logits. Arrays or Tensors of shape (N, K).

    Examples
    --------
    >>> round(unlabelled_loss(np.zeros((1, 1)), np.zeros((1, 1))), 4)   # D = 1/2 on both: 2 log 2
    1.3863
    """
    if _needs_eager(real_logits, fake_logits):
        return _eager(unlabelled_loss, real_logits, fake_logits)
    s_real = ops.logsumexp(real_logits, axis=1)
    s_fake = ops.logsumexp(fake_logits, axis=1)
    return ops.mean(ops.softplus(-s_real)) + ops.mean(ops.softplus(s_fake))


# ---- the labelled subset ----------------------------------------------------------------------------
def balanced_subset(y: Any, per_class: int, seed: int = 0, num_classes: int | None = None) -> np.ndarray:
    """Indices of ``per_class`` examples of every class, drawn without replacement with ``seed``.

    Parameters
    ----------
    y : array of int (n,)
        Class labels in ``[0, num_classes)``.
    per_class : int
        Examples drawn from each class (10 per class: MNIST's "100 labels").
    seed : int
    num_classes : int, optional
        Default: ``y.max() + 1``. Every class must have ``per_class`` examples.

    Returns
    -------
    ndarray of int64 (num_classes * per_class,)
        Sorted indices into ``y``; the same seed gives the same subset.

    Examples
    --------
    >>> y = np.repeat(np.arange(3), 5)
    >>> np.bincount(y[balanced_subset(y, 2, seed=0)]).tolist()
    [2, 2, 2]
    """
    what = "balanced_subset"
    per_class = check_int(f"{what}: per_class", per_class, 1)
    seed = check_int(f"{what}: seed", seed, 0)
    arr = np.asarray(y)
    k = num_classes
    if k is None:
        if arr.dtype.kind not in "iu" or arr.ndim != 1 or arr.size == 0:
            raise TypeError(f"{what}: y must be a non-empty 1-D integer array, got dtype {arr.dtype} shape {arr.shape}")
        k = int(arr.max()) + 1
    k = check_int(f"{what}: num_classes", k, 1)
    labels = check_labels(arr, arr.shape[0] if arr.ndim else 0, k, what)
    counts = np.bincount(labels, minlength=k)
    short = np.flatnonzero(counts < per_class)
    if short.size:
        raise ValueError(f"{what}: class(es) {short.tolist()} have fewer than {per_class} examples "
                         f"(counts {counts[short].tolist()})")
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(k)]
    return np.sort(np.concatenate(picks)).astype(np.int64)


# ---- presets and helpers ------------------------------------------------------------------------------------
def _widths(what: str, name: str, given: Any, default: list[int]) -> list[int]:
    if given is None:
        return list(default)
    if isinstance(given, (str, bytes)) or not isinstance(given, (list, tuple)) or not given:
        raise TypeError(f"{what}: {name} must be a non-empty list of ints, got {given!r}")
    return [check_int(f"{what}: {name}[{k}]", h, 1) for k, h in enumerate(given)]


def _preset_d(what: str, d: int, k: int, hidden: Any, input_noise: Any, hidden_noise: Any, wn: bool,
              seed: int) -> tuple[Sequential, int]:
    """The paper's MLP D: noise(0.3), then (dense, ReLU, noise(0.5)) per hidden layer, dense to K;
    also the index after the last hidden ReLU (the feature layer, before its noise).

    As the authors' MNIST code: directions start as N(0, 0.1^2), and the hidden layers' weight-norm
    scales are fixed once the data-dependent initialisation has set them (only the output layer
    learns its scale). Learned hidden scales let D's features grow without bound under feature
    matching; with 100 labels that doubled the test error after 3000 steps (21.8 % against 11.2 %)."""
    hidden = _widths(what, "d_hidden", hidden, [1000, 500, 250, 250, 250])
    s_in = 0.3 if input_noise is None else check_real(f"{what}: input_noise", input_noise, nonnegative=True)
    s_h = 0.5 if hidden_noise is None else check_real(f"{what}: hidden_noise", hidden_noise, nonnegative=True)
    rng = np.random.default_rng(seed)

    def dense(a: int, b: int, train_scale: bool = False) -> Module:
        s = int(rng.integers(2**31))
        return WeightNormLinear(a, b, train_scale=train_scale, init_std=0.1, seed=s) if wn else Linear(a, b, seed=s)
    layers: list[Module] = [GaussianNoise(s_in)] if s_in > 0 else []
    sizes = [d] + hidden
    features = 0
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [dense(a, b), ReLU()]
        features = len(layers)
        if s_h > 0:
            layers.append(GaussianNoise(s_h))
    layers.append(dense(sizes[-1], k, train_scale=True))
    return Sequential(*layers), features


def _preset_g(what: str, latent: int, d: int, hidden: Any, output: str, wn: bool, seed: int) -> Sequential:
    """The paper's MLP G: (dense without bias, batch norm, softplus) per hidden layer, then a
    (weight-normalised) dense layer and the output activation."""
    hidden = _widths(what, "g_hidden", hidden, [500, 500])
    rng = np.random.default_rng(seed)
    layers: list[Module] = []
    for a, b in zip([latent] + hidden[:-1], hidden):
        layers += [Linear(a, b, bias=False, seed=int(rng.integers(2**31))), BatchNorm(b), Softplus()]
    s = int(rng.integers(2**31))
    layers.append(WeightNormLinear(hidden[-1], d, seed=s) if wn else Linear(hidden[-1], d, seed=s))
    act = G_OUTPUTS[output][0]
    if act is not None:
        layers.append(act())
    return Sequential(*layers)
