"""The residual block of CycleGAN's generators (He et al. 2016; Johnson et al. 2016).

``x + IN(conv3x3(ReLU(IN(conv3x3(x)))))``: two 3 x 3 stride-1 convolutions that keep
the channel count and the size, each followed by instance normalisation. The paper pads
by reflection; ganlib's convolutions pad with zeros, which is what is used here.

Examples
--------
>>> block = gl.nn.ResidualBlock(16, seed=0)
>>> block(np.zeros((2, 16, 7, 7), np.float32)).shape
(2, 16, 7, 7)
"""
from __future__ import annotations

from .. import ops
from .._checks import check_int
from .conv import Conv2d
from .instance_norm import InstanceNorm2d
from .layers import ReLU, Sequential, _rng, register_spec
from .module import Module

__all__ = ["ResidualBlock"]


class ResidualBlock(Module):
    """``x + body(x)``, body = conv3x3 -> InstanceNorm -> ReLU -> conv3x3 -> InstanceNorm.

    Parameters
    ----------
    channels : int
        Input and output channels.
    init : str
        Weight initialisation of both convolutions (see :class:`~ganlib.nn.Conv2d`);
        CycleGAN's reference uses "normal", N(0, 0.02).
    seed : int, optional
        Seed of the initialisation.

    Examples
    --------
    >>> block = gl.nn.ResidualBlock(8, init="normal", seed=1)
    >>> block.num_parameters()
    1152
    """

    def __init__(self, channels: int, init: str = "normal", seed: int | None = None) -> None:
        super().__init__()
        self.channels = c = check_int("ResidualBlock: channels", channels, 1)
        self.init = init
        rng = _rng(seed, "ResidualBlock: seed")
        # biases are cancelled by the instance norm's mean subtraction
        conv = [Conv2d(c, c, 3, padding=1, bias=False, init=init, seed=int(rng.integers(2**31))) for _ in range(2)]
        self.add_child("body", Sequential(conv[0], InstanceNorm2d(c), ReLU(), conv[1], InstanceNorm2d(c)))
        self._adopt_children()

    def spec(self) -> dict:
        return {"type": "ResidualBlock", "channels": self.channels, "init": self.init}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"{self!r}: expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        return ops.add(x, self._children["body"](x))

    def __repr__(self) -> str:
        return f"ResidualBlock({self.channels})"


register_spec("ResidualBlock", lambda d: ResidualBlock(d["channels"], init=d.get("init", "normal"), seed=0))
