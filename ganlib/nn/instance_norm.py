"""Instance normalisation (Ulyanov et al. 2016), the normalisation of CycleGAN's networks.

Each image's channels are normalised over their own H x W, so outputs of different
images never interact: no batch statistics, no running averages, the same result in
training and in eval mode (as ``torch.nn.InstanceNorm2d`` with its default
``track_running_stats=False``). Composed of elementary ops, so differentiable to any
order.

Examples
--------
>>> norm = gl.nn.InstanceNorm2d(8)
>>> norm(np.random.randn(2, 8, 7, 7).astype(np.float32)).shape
(2, 8, 7, 7)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._checks import check_bool, check_int, check_real
from . import init as _init
from .layers import register_spec
from .module import Module

__all__ = ["InstanceNorm2d"]


def _ones(w: np.ndarray, rng: Any, fan_in: int | None = None) -> None:
    w[...] = 1.0


class InstanceNorm2d(Module):
    """``y = (x - mean) / sqrt(var + eps)`` per image and channel, like ``torch.nn.InstanceNorm2d``.

    Mean and (biased) variance are over each (H, W) plane of an (N, C, H, W) input.

    Parameters
    ----------
    num_features : int
        C.
    eps : float
        Added to the variance.
    affine : bool
        Learn a per-channel ``weight`` (ones) and ``bias`` (zeros), as PyTorch's
        ``affine=True``; off by default, as in PyTorch and CycleGAN.

    Examples
    --------
    >>> norm = gl.nn.InstanceNorm2d(3, affine=True)
    >>> y = norm(np.random.randn(4, 3, 5, 5).astype(np.float32))
    >>> bool(abs(y.mean(axis=(2, 3))).max() < 1e-5)
    True
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__()
        self.num_features = check_int("InstanceNorm2d: num_features", num_features, 1)
        self.eps = check_real("InstanceNorm2d: eps", eps, positive=True)
        self.affine = check_bool("InstanceNorm2d: affine", affine)
        if self.affine:
            self.add_param("weight", (self.num_features,), _ones, None)
            self.add_param("bias", (self.num_features,), _init.zeros, None)

    def spec(self) -> dict:
        return {"type": "InstanceNorm2d", "num_features": self.num_features, "eps": self.eps, "affine": self.affine}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        c = self.num_features
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"{self!r}: expected input (N, {c}, H, W), got {tuple(x.shape)}")
        y = ops.instance_norm(x, self.eps)
        if self.affine:
            y = ops.add(ops.mul(y, ops.reshape(self.p("weight"), (1, c, 1, 1))),
                        ops.reshape(self.p("bias"), (1, c, 1, 1)))
        return y

    def __repr__(self) -> str:
        return f"InstanceNorm2d({self.num_features}, eps={self.eps:g}, affine={self.affine})"


register_spec("InstanceNorm2d", lambda d: InstanceNorm2d(d["num_features"], eps=d.get("eps", 1e-5),
                                                         affine=d.get("affine", False)))
