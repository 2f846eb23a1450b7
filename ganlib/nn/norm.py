"""Normalisation layers: batch norm, layer norm and virtual batch norm.

* :class:`BatchNorm` -- PyTorch's BatchNorm1d / BatchNorm2d (one class for (N, C)
  and (N, C, H, W)), running statistics kept as module buffers. In training mode
  its gradient is first-order only (no gradient penalty through it).
* :class:`LayerNorm` -- per-sample normalisation over the trailing dimensions,
  written with elementary ops, so differentiable to any order (the WGAN-GP critic's
  normalisation).
* :class:`VirtualBatchNorm` -- Salimans et al. (2016): statistics of a fixed
  reference batch combined with the example itself; differentiable to any order.

Examples
--------
>>> bn = gl.nn.BatchNorm(8)
>>> bn(np.random.randn(16, 8).astype(np.float32)).shape
(16, 8)
>>> list(bn.state_dict())
['weight', 'bias', 'running_mean', 'running_var']
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import ops
from .._checks import check_bool, check_int, check_range, check_real
from . import init as _init
from .layers import register_spec
from .module import Module

__all__ = ["BatchNorm", "LayerNorm", "VirtualBatchNorm"]


def _ones(w: np.ndarray, rng: Any, fan_in: int | None = None) -> None:
    w[...] = 1.0


def _shape_str(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"


def _positive_int(v: Any, name: str, what: str) -> int:
    return check_int(f"{what}: {name}", v, 1)


def _check_nc(x: ops.Tensor, what: str, c: int) -> None:
    if x.ndim not in (2, 4) or x.shape[1] != c:
        raise ValueError(f"{what}: expected input (N, {c}) or (N, {c}, H, W), got {_shape_str(x.shape)}")


def _affine_c(y: ops.Tensor, m: Module, c: int) -> ops.Tensor:
    """y * weight + bias with per-channel (C,) parameters broadcast over (N, C[, H, W])."""
    shape = (1, c) if y.ndim == 2 else (1, c, 1, 1)
    return ops.add(ops.mul(y, ops.reshape(m.p("weight"), shape)), ops.reshape(m.p("bias"), shape))


class BatchNorm(Module):
    """Batch normalisation per channel, like ``torch.nn.BatchNorm1d`` / ``BatchNorm2d``.

    Training mode (``module.train()``, the default) normalises with the batch's
    statistics and updates the running statistics in place at every run of a
    compiled program, ``new = (1 - momentum) old + momentum batch`` (unbiased
    batch variance for ``running_var``), exactly as PyTorch. Eval mode
    (``module.eval()``) normalises with the running statistics.

    Parameters
    ----------
    num_features : int
        C, the channel (feature) count of (N, C) or (N, C, H, W) inputs.
    eps : float
        Added to the variance.
    momentum : float
        Weight of the new batch in the running statistics.

    Attributes
    ----------
    weight, bias : parameters (C,)
        gamma (ones) and beta (zeros).
    running_mean, running_var : buffers (C,)
        float32 arrays owned by the module (zeros / ones), in ``state_dict()``
        under these names, not parameters (no gradient). PyTorch's
        ``num_batches_tracked`` is not kept.

    Notes
    -----
    In training mode the gradient is first-order only: a gradient penalty
    (WGAN-GP, DRAGAN) through a training-mode BatchNorm raises ``GanlibError``
    when the graph is differentiated; use :class:`LayerNorm` in such a critic.

    Examples
    --------
    >>> bn = gl.nn.BatchNorm(3)
    >>> y = bn(np.random.randn(8, 3, 4, 4).astype(np.float32))   # updates running stats
    >>> bn.get_buffer("running_mean").shape
    (3,)
    >>> _ = bn.eval()   # normalise with the running statistics from now on
    """

    def _couples_rows(self) -> bool:
        return self.training       # batch statistics in training mode, running ones in eval mode

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = _positive_int(num_features, "num_features", "BatchNorm")
        self.eps = check_real("BatchNorm: eps", eps, positive=True)
        self.momentum = check_range("BatchNorm: momentum", momentum, 0.0, 1.0)
        c = self.num_features
        self.add_param("weight", (c,), _ones, None)
        self.add_param("bias", (c,), _init.zeros, None)
        self.add_buffer("running_mean", np.zeros(c, np.float32))
        self.add_buffer("running_var", np.ones(c, np.float32))

    def spec(self) -> dict:
        return {"type": "BatchNorm", "num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        _check_nc(x, f"BatchNorm({self.num_features})", self.num_features)
        return ops.batch_norm(x, self.p("weight"), self.p("bias"), self.get_buffer("running_mean"),
                              self.get_buffer("running_var"), eps=self.eps, momentum=self.momentum,
                              training=self.training)

    def __repr__(self) -> str:
        return f"BatchNorm({self.num_features}, eps={self.eps:g}, momentum={self.momentum:g})"


class LayerNorm(Module):
    """Per-sample normalisation over the trailing dimensions, like ``torch.nn.LayerNorm``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with mean and (biased)
    variance over the last ``len(normalized_shape)`` dimensions of each sample.
    Built from elementary ops, so differentiable to any order: the normalisation
    for a WGAN-GP critic (no batch statistics, so per-sample gradients stay
    per-sample).

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The trailing shape, e.g. ``C`` for (N, C) or ``(C, H, W)`` for images.
    eps : float
    elementwise_affine : bool
        Learn ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``.

    Examples
    --------
    >>> ln = gl.nn.LayerNorm((16, 7, 7))
    >>> ln(np.random.randn(4, 16, 7, 7).astype(np.float32)).shape
    (4, 16, 7, 7)
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        super().__init__()
        ns = tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        if not 1 <= len(ns) <= 3:
            raise ValueError(f"LayerNorm: normalized_shape needs 1 to 3 dimensions, got {normalized_shape!r}")
        self.normalized_shape = tuple(_positive_int(d, "normalized_shape", "LayerNorm") for d in ns)
        self.eps = check_real("LayerNorm: eps", eps, positive=True)
        self.elementwise_affine = check_bool("LayerNorm: elementwise_affine", elementwise_affine)
        if self.elementwise_affine:
            self.add_param("weight", self.normalized_shape, _ones, None)
            self.add_param("bias", self.normalized_shape, _init.zeros, None)

    def spec(self) -> dict:
        return {"type": "LayerNorm", "normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k + 1 or tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(f"{self!r}: expected input (N, ..., {', '.join(map(str, self.normalized_shape))}), "
                             f"got {_shape_str(x.shape)}")
        axes = tuple(range(x.ndim - k, x.ndim))
        mu = ops.mean(x, axis=axes, keepdims=True)
        d = ops.sub(x, mu)
        var = ops.mean(ops.square(d), axis=axes, keepdims=True)
        y = ops.div(d, ops.sqrt(ops.scale(var, 1.0, self.eps)))
        if self.elementwise_affine:
            y = ops.add(ops.mul(y, self.p("weight")), self.p("bias"))
        return y

    def __repr__(self) -> str:
        ns = self.normalized_shape[0] if len(self.normalized_shape) == 1 else self.normalized_shape
        return f"LayerNorm({ns}, eps={self.eps:g}, elementwise_affine={self.elementwise_affine})"


class VirtualBatchNorm(Module):
    """Virtual batch normalisation (Salimans et al. 2016, TECHNIQUES.md section C).

    Each example is normalised with statistics of a fixed reference batch of
    size B combined with the example itself::

        mu    = x / (B + 1) + mu_ref * B / (B + 1)
        E[x2] = x**2 / (B + 1) + E_ref[x2] * B / (B + 1)
        sigma = sqrt(eps + E[x2] - mu**2)
        y     = (x - mu) / sigma * weight + bias

    For (N, C) inputs the statistics are per feature. For (N, C, H, W) inputs
    they are per channel: the reference statistics are over the reference
    batch's (B, H, W) and the example's own over its (H, W) (as in
    ``tf.contrib.gan``'s VBN). Outputs of different examples do not interact, so
    a gradient penalty through it is exact; every step is an elementary op, so
    it is differentiable to any order.

    Parameters
    ----------
    num_features : int
        C.
    eps : float
        The epsilon inside the square root (1e-5 in section C).

    Attributes
    ----------
    weight, bias : parameters (C,)
        gamma (ones) and beta (zeros).
    ref_mean, ref_meansq, ref_size : buffers
        The reference batch's per-feature mean and mean of squares (C,), and B (1,);
        constants of the graph (no gradient), in ``state_dict()``, read at every run
        (so :meth:`set_reference` takes effect in already-compiled programs).

    Examples
    --------
    >>> vbn = gl.nn.VirtualBatchNorm(4)
    >>> vbn.set_reference(np.random.randn(64, 4).astype(np.float32))
    >>> vbn(np.random.randn(8, 4).astype(np.float32)).shape
    (8, 4)
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = _positive_int(num_features, "num_features", "VirtualBatchNorm")
        self.eps = check_real("VirtualBatchNorm: eps", eps, positive=True)
        c = self.num_features
        self.add_param("weight", (c,), _ones, None)
        self.add_param("bias", (c,), _init.zeros, None)
        self.add_buffer("ref_mean", np.zeros(c, np.float32))
        self.add_buffer("ref_meansq", np.zeros(c, np.float32))
        self.add_buffer("ref_size", np.zeros(1, np.float32))   # B; 0 = no reference set yet

    @property
    def has_reference(self) -> bool:
        """Whether :meth:`set_reference` (or a loaded state dict) provided the reference batch."""
        return float(self.get_buffer("ref_size")[0]) > 0

    def set_reference(self, x_ref: Any) -> None:
        """Fix the reference batch: the activations (B, C) or (B, C, H, W) reaching this layer.

        Stores their per-feature mean and mean of squares (computed in float64)
        and B; they stay fixed until the next call.

        Parameters
        ----------
        x_ref : ndarray (B, C) or (B, C, H, W)

        Examples
        --------
        >>> vbn = gl.nn.VirtualBatchNorm(3)
        >>> vbn.set_reference(np.ones((10, 3, 5, 5)))
        >>> float(vbn.get_buffer("ref_size")[0])
        10.0
        """
        x = np.asarray(x_ref, dtype=np.float64)
        c = self.num_features
        if x.ndim not in (2, 4) or x.shape[1] != c or x.shape[0] < 1:
            raise ValueError(f"VirtualBatchNorm({c}).set_reference: expected a reference batch (B, {c}) or "
                             f"(B, {c}, H, W), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("VirtualBatchNorm.set_reference: the reference batch contains NaN or inf")
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        self.get_buffer("ref_mean")[...] = x.mean(axis=axes)
        self.get_buffer("ref_meansq")[...] = np.square(x).mean(axis=axes)
        self.get_buffer("ref_size")[...] = x.shape[0]

    def spec(self) -> dict:
        return {"type": "VirtualBatchNorm", "num_features": self.num_features, "eps": self.eps}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        c = self.num_features
        what = f"VirtualBatchNorm({c})"
        _check_nc(x, what, c)
        if not self.has_reference:
            raise ValueError(f"{what}: no reference batch; call set_reference(x_ref) with the reference "
                             "activations (B, C[, H, W]) before using the layer")
        shape = (1, c) if x.ndim == 2 else (1, c, 1, 1)
        ref_mean = ops.reshape(self.buffer_tensor("ref_mean"), shape)
        ref_meansq = ops.reshape(self.buffer_tensor("ref_meansq"), shape)
        # B is read at run time too: w_new = 1 / (B + 1), w_ref = B / (B + 1)
        b = ops.reshape(self.buffer_tensor("ref_size"), (1,) * len(shape))
        w_new = ops.div(1.0, ops.scale(b, 1.0, 1.0))
        w_ref = ops.scale(w_new, -1.0, 1.0)
        if x.ndim == 2:
            x_mean, x_meansq = x, ops.square(x)
        else:
            x_mean = ops.mean(x, axis=(2, 3), keepdims=True)
            x_meansq = ops.mean(ops.square(x), axis=(2, 3), keepdims=True)
        mu = ops.add(ops.mul(x_mean, w_new), ops.mul(ref_mean, w_ref))
        meansq = ops.add(ops.mul(x_meansq, w_new), ops.mul(ref_meansq, w_ref))
        sigma = ops.sqrt(ops.scale(ops.sub(meansq, ops.square(mu)), 1.0, self.eps))
        return _affine_c(ops.div(ops.sub(x, mu), sigma), self, c)

    def __repr__(self) -> str:
        return f"VirtualBatchNorm({self.num_features}, eps={self.eps:g})"


register_spec("BatchNorm", lambda d: BatchNorm(d["num_features"], eps=d.get("eps", 1e-5),
                                               momentum=d.get("momentum", 0.1)))
register_spec("LayerNorm", lambda d: LayerNorm(tuple(d["normalized_shape"]), eps=d.get("eps", 1e-5),
                                               elementwise_affine=d.get("elementwise_affine", True)))
register_spec("VirtualBatchNorm", lambda d: VirtualBatchNorm(d["num_features"], eps=d.get("eps", 1e-5)))
