"""Additive Gaussian noise and weight-normalised dense layers (Salimans et al. 2016's MNIST
discriminator: noise on the input and on every hidden layer, weight norm on every layer)."""
from __future__ import annotations

import numpy as np

from .. import ops
from .._checks import check_bool, check_int, check_real
from . import init as _init
from .layers import _rng, register_spec
from .module import Module

__all__ = ["GaussianNoise", "WeightNormLinear"]


class GaussianNoise(Module):
    """``x + N(0, std^2)`` while training (fresh noise every run, from the program RNG);
    the identity in eval mode.

    Parameters
    ----------
    std : float
        Standard deviation of the noise (> 0).

    Examples
    --------
    >>> noise = gl.nn.GaussianNoise(0.3)
    >>> noise.eval()(np.zeros((2, 3), np.float32)).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = check_real("GaussianNoise: std", std, positive=True)

    def spec(self) -> dict:
        return {"type": "GaussianNoise", "std": self.std}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        if not self.training:
            return x
        return x + ops.randn(x.shape, 0.0, self.std)

    def __repr__(self) -> str:
        return f"GaussianNoise({self.std:g})"


class WeightNormLinear(Module):
    """A dense layer with weight normalisation: ``y = x W^T + b``, ``W_i = g_i v_i / ||v_i||``.

    The direction ``v`` (out, in) and the length ``g`` (out,) are the parameters
    (Salimans & Kingma 2016), so each output's weight norm is learned apart from its
    direction. Initialisation: ``v ~ N(0, init_std^2)``, ``g = init_scale``, ``b = 0``; the
    data-dependent initialisation of g and b is the model's (``SemiSupervisedGAN.init_from_data``).

    Parameters
    ----------
    in_features, out_features : int
    init_scale : float
        Initial g of every output (1: each output starts as a unit-norm projection).
    bias : bool
    train_scale : bool
        Whether g is learned (default). With False, g is a buffer: set once (by a data-dependent
        initialisation) and then fixed, so the layer normalises its outputs' scale — the hidden
        layers of Salimans et al.'s MNIST discriminator.
    init_std : float
        Std of the initial direction v (default 0.05). Adam moves v by about its learning rate per
        step whatever its size, so a larger ``||v||`` turns the direction more slowly; the authors'
        MNIST layers use 0.1.
    seed : int, optional
        Seed of the initialisation (else the generator set by ``gl.manual_seed``).

    Examples
    --------
    >>> lin = gl.nn.WeightNormLinear(4, 3, seed=0)
    >>> lin(np.ones((2, 4), np.float32)).shape
    (2, 3)
    """

    def __init__(self, in_features: int, out_features: int, init_scale: float = 1.0, bias: bool = True,
                 train_scale: bool = True, init_std: float = 0.05, seed: int | None = None) -> None:
        super().__init__()
        what = "WeightNormLinear"
        self.in_features = check_int(f"{what}: in_features", in_features, 1)
        self.out_features = check_int(f"{what}: out_features", out_features, 1)
        self.init_scale = check_real(f"{what}: init_scale", init_scale, positive=True)
        self.has_bias = check_bool(f"{what}: bias", bias)
        self.train_scale = check_bool(f"{what}: train_scale", train_scale)
        self.init_std = check_real(f"{what}: init_std", init_std, positive=True)
        rng = _rng(seed, f"{what}: seed")
        self.add_param("v", (self.out_features, self.in_features), _init.normal, rng, std=self.init_std)
        if self.train_scale:
            self.add_param("g", (self.out_features,), _init.zeros, rng)
        else:
            self.add_buffer("g", np.zeros(self.out_features, np.float32))
        self.scale[:] = self.init_scale
        if self.has_bias:
            self.add_param("bias", (self.out_features,), _init.zeros, rng)

    @property
    def scale(self) -> np.ndarray:
        """g, the array that holds it (a parameter view, or the buffer when ``train_scale=False``)."""
        return self.param("g") if self.train_scale else self.get_buffer("g")

    def spec(self) -> dict:
        return {"type": "WeightNormLinear", "in": self.in_features, "out": self.out_features,
                "init_scale": self.init_scale, "bias": self.has_bias, "train_scale": self.train_scale,
                "init_std": self.init_std}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"WeightNormLinear({self.in_features}, {self.out_features}): expected input of shape "
                             f"(batch, {self.in_features}), got {x.shape}")
        v = self.p("v")
        # (x v^T) * (g / ||v||) rather than x (g v / ||v||)^T: the same layer, but the scaling (and its
        # gradient) runs at the size of the output instead of the weight's, as in the authors' code
        g = self.p("g") if self.train_scale else self.buffer_tensor("g")
        norm = ops.sqrt(ops.sumsq_rows(v))                                         # (out,)
        y = ops.matmul(x, v, trans_b=True) * ops.reshape(g / norm, (1, self.out_features))
        return ops.add(y, self.p("bias")) if self.has_bias else y

    def __repr__(self) -> str:
        fixed = "" if self.train_scale else ", train_scale=False"
        return f"WeightNormLinear({self.in_features}, {self.out_features}, bias={self.has_bias}{fixed})"


register_spec("GaussianNoise", lambda d: GaussianNoise(d["std"]))
register_spec("WeightNormLinear", lambda d: WeightNormLinear(d["in"], d["out"], init_scale=d.get("init_scale", 1.0),
                                                             bias=d.get("bias", True),
                                                             train_scale=d.get("train_scale", True),
                                                             init_std=d.get("init_std", 0.05), seed=0))
