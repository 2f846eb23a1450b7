"""Convolution, pooling, upsampling and shape layers for (N, C, H, W) images.

Weights follow PyTorch's layouts (``Conv2d``: (out, in, kh, kw);
``ConvTranspose2d``: (in, out, kh, kw)) and default initialisations, so a
``torch.nn`` state dict with the same names loads with ``load_state_dict``.
Every layer is differentiable to any order (gradient penalties through convs).

Examples
--------
>>> net = gl.nn.Sequential(gl.nn.Conv2d(1, 8, 3, padding=1, seed=0), gl.nn.ReLU(),
...                        gl.nn.MaxPool2d(2), gl.nn.Flatten(), gl.nn.Linear(8 * 14 * 14, 1))
>>> net(np.zeros((4, 1, 28, 28), np.float32)).shape
(4, 1)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import ops
from .._checks import check_bool, check_int
from . import init as _init
from .layers import _rng, register_spec
from .module import Module

__all__ = ["Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Upsample", "Flatten", "Reshape"]


def _kernel(kernel_size: Any, what: str) -> tuple[int, int]:
    ks = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    if len(ks) != 2:
        raise ValueError(f"{what}: kernel_size must be an int or a (kh, kw) pair, got {kernel_size!r}")
    out = [check_int(f"{what}: kernel_size", k, 1) for k in ks]
    return out[0], out[1]


def _int(v: Any, name: str, what: str, low: int) -> int:
    return check_int(f"{what}: {name}", v, low)


def _ks_str(kh: int, kw: int) -> str:
    return str(kh) if kh == kw else f"({kh}, {kw})"


def _shape_str(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"


def _check_image(x: ops.Tensor, what: str, channels: int | None) -> None:
    """x must be (N, C, H, W) with C == channels (when given)."""
    c = "C" if channels is None else str(channels)
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        raise ValueError(f"{what}: expected input (N, {c}, H, W), got {_shape_str(x.shape)}")


class _ConvBase(Module):
    _weight_layout = "(out, in, kh, kw)"

    def _setup(self, in_ch: int, out_ch: int, kernel_size: Any, stride: int, padding: int, bias: bool,
               init: str, seed: int | None, weight_shape: tuple, fan_in: int) -> None:
        what = type(self).__name__
        self.in_channels = _int(in_ch, "in_ch", what, 1)
        self.out_channels = _int(out_ch, "out_ch", what, 1)
        self.kernel_size = _kernel(kernel_size, what)
        self.stride = _int(stride, "stride", what, 1)
        self.padding = _int(padding, "padding", what, 0)
        if not isinstance(init, str) or init not in _init.INITS:
            raise ValueError(f"{what}: unknown init {init!r}; known: {sorted(_init.INITS)}")
        self.init_name, self.has_bias = init, check_bool(f"{what}: bias", bias)
        rng = _rng(seed, f"{what}: seed")
        # torch_default computes fan_in from weight.shape[1] * kh * kw, exactly as
        # torch.nn.init._calculate_fan_in_and_fan_out does for both layouts
        self.add_param("weight", weight_shape, _init.INITS[init], rng)
        if self.has_bias:
            binit = _init.torch_default if _init.INITS[init] is _init.torch_default else _init.zeros
            self.add_param("bias", (self.out_channels,), binit, rng, fan_in=fan_in)

    def _add_bias(self, y: ops.Tensor) -> ops.Tensor:
        if not self.has_bias:
            return y
        return ops.add(y, ops.reshape(self.p("bias"), (1, self.out_channels, 1, 1)))

    def _name(self) -> str:
        kh, kw = self.kernel_size
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, {_ks_str(kh, kw)})"

    def _base_spec(self) -> dict:
        return {"type": type(self).__name__, "in": self.in_channels, "out": self.out_channels,
                "kernel": list(self.kernel_size), "stride": self.stride, "padding": self.padding,
                "bias": self.has_bias}

    def __repr__(self) -> str:
        kh, kw = self.kernel_size
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, kernel_size={_ks_str(kh, kw)}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.has_bias})")


class Conv2d(_ConvBase):
    """2-D convolution (cross-correlation) of (N, in_ch, H, W) images, like ``torch.nn.Conv2d``.

    Output (N, out_ch, Ho, Wo) with Ho = (H + 2 padding - kh) // stride + 1.

    Parameters
    ----------
    in_ch, out_ch : int
        Input and output channels.
    kernel_size : int or (int, int)
    stride, padding : int
    bias : bool
    init : {"torch", "normal", "xavier", "xavier_normal", "he_modified"}
        Weight initialisation. "torch" is PyTorch's default U(-b, b),
        b = 1/sqrt(in_ch * kh * kw), for the weight and the bias; the others set the bias to 0
        ("normal" is DCGAN's N(0, 0.02)).
    seed : int, optional
        Seed of the initialisation (else the generator set by ``gl.manual_seed``).

    Attributes
    ----------
    weight : parameter (out_ch, in_ch, kh, kw); bias : parameter (out_ch,)

    Examples
    --------
    >>> conv = gl.nn.Conv2d(3, 16, 4, stride=2, padding=1, seed=0)
    >>> conv(np.zeros((2, 3, 32, 32), np.float32)).shape
    (2, 16, 16, 16)
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: Any, stride: int = 1, padding: int = 0,
                 bias: bool = True, init: str = "torch", seed: int | None = None) -> None:
        super().__init__()
        kh, kw = _kernel(kernel_size, "Conv2d")
        in_ch, out_ch = _int(in_ch, "in_ch", "Conv2d", 1), _int(out_ch, "out_ch", "Conv2d", 1)
        self._setup(in_ch, out_ch, kernel_size, stride, padding, bias, init, seed,
                    (out_ch, in_ch, kh, kw), in_ch * kh * kw)

    def spec(self) -> dict:
        return self._base_spec()

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        _check_image(x, self._name(), self.in_channels)
        kh, kw = self.kernel_size
        if kh > x.shape[2] + 2 * self.padding or kw > x.shape[3] + 2 * self.padding:
            raise ValueError(f"{self._name()}: input {_shape_str(x.shape)} padded by {self.padding} is "
                             f"smaller than the kernel")
        return self._add_bias(ops.conv2d(x, self.p("weight"), self.stride, self.padding))


class ConvTranspose2d(_ConvBase):
    """Transposed 2-D convolution, like ``torch.nn.ConvTranspose2d`` (the DCGAN upsampler).

    Output (N, out_ch, Ho, Wo) with Ho = (H - 1) stride - 2 padding + kh + output_padding.

    Parameters
    ----------
    in_ch, out_ch : int
    kernel_size : int or (int, int)
    stride, padding : int
    output_padding : int or (int, int)
        Extra rows / columns on the bottom / right, each smaller than ``stride``.
    bias : bool
    init : {"torch", "normal", "xavier", "xavier_normal", "he_modified"}
        "torch" matches ``torch.nn.ConvTranspose2d.reset_parameters``: U(-b, b) with
        b = 1/sqrt(fan_in) where fan_in = weight.shape[1] * kh * kw = out_ch * kh * kw
        (PyTorch computes the fan from the transposed layout), for weight and bias.
    seed : int, optional

    Attributes
    ----------
    weight : parameter (in_ch, out_ch, kh, kw); bias : parameter (out_ch,)

    Examples
    --------
    >>> up = gl.nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1, seed=0)
    >>> up(np.zeros((2, 16, 7, 7), np.float32)).shape
    (2, 8, 14, 14)
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: Any, stride: int = 1, padding: int = 0,
                 output_padding: Any = 0, bias: bool = True, init: str = "torch",
                 seed: int | None = None) -> None:
        super().__init__()
        kh, kw = _kernel(kernel_size, "ConvTranspose2d")
        in_ch = _int(in_ch, "in_ch", "ConvTranspose2d", 1)
        out_ch = _int(out_ch, "out_ch", "ConvTranspose2d", 1)
        self._setup(in_ch, out_ch, kernel_size, stride, padding, bias, init, seed,
                    (in_ch, out_ch, kh, kw), out_ch * kh * kw)
        op = tuple(output_padding) if isinstance(output_padding, (tuple, list)) else (output_padding,) * 2
        if len(op) != 2:
            raise ValueError(f"ConvTranspose2d: output_padding must be an int or a pair, got {output_padding!r}")
        op = tuple(_int(v, "output_padding", "ConvTranspose2d", 0) for v in op)
        if max(op) >= self.stride:
            raise ValueError(f"ConvTranspose2d: output_padding {output_padding!r} must be smaller than the "
                             f"stride {self.stride}")
        self.output_padding = op

    def spec(self) -> dict:
        d = self._base_spec()
        d["output_padding"] = list(self.output_padding)
        return d

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        _check_image(x, self._name(), self.in_channels)
        y = ops.conv_transpose2d(x, self.p("weight"), self.stride, self.padding, self.output_padding)
        return self._add_bias(y)


class _Pool(Module):
    _fn = staticmethod(ops.max_pool2d)

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        what = type(self).__name__
        self.kernel_size = _int(kernel_size, "kernel_size", what, 1)
        self.stride = self.kernel_size if stride is None else _int(stride, "stride", what, 1)
        self.padding = _int(padding, "padding", what, 0)
        if 2 * self.padding > self.kernel_size:
            raise ValueError(f"{what}: padding {padding} must be at most kernel_size // 2")

    def spec(self) -> dict:
        return {"type": type(self).__name__, "kernel": self.kernel_size, "stride": self.stride,
                "padding": self.padding}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        what = f"{type(self).__name__}({self.kernel_size})"
        _check_image(x, what, None)
        if self.kernel_size > min(x.shape[2], x.shape[3]) + 2 * self.padding:
            raise ValueError(f"{what}: input {_shape_str(x.shape)} padded by {self.padding} is smaller "
                             f"than the window")
        return type(self)._fn(x, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class MaxPool2d(_Pool):
    """Max over k x k windows (stride defaults to k), like ``torch.nn.MaxPool2d``.

    Padding never wins a window. Differentiable to any order.

    Examples
    --------
    >>> gl.nn.MaxPool2d(2)(np.zeros((1, 3, 8, 8), np.float32)).shape
    (1, 3, 4, 4)
    """
    _fn = staticmethod(ops.max_pool2d)


class AvgPool2d(_Pool):
    """Mean over k x k windows, like ``torch.nn.AvgPool2d`` (count_include_pad=True).

    Examples
    --------
    >>> gl.nn.AvgPool2d(2)(np.ones((1, 3, 8, 8), np.float32)).shape
    (1, 3, 4, 4)
    """
    _fn = staticmethod(ops.avg_pool2d)


class Upsample(Module):
    """Nearest-neighbour upsampling by an integer factor, like
    ``torch.nn.Upsample(scale_factor=scale, mode="nearest")``.

    Examples
    --------
    >>> gl.nn.Upsample(2)(np.zeros((1, 3, 7, 7), np.float32)).shape
    (1, 3, 14, 14)
    """

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = _int(scale, "scale", "Upsample", 1)

    def spec(self) -> dict:
        return {"type": "Upsample", "scale": self.scale}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        _check_image(x, f"Upsample({self.scale})", None)
        return ops.upsample_nearest(x, self.scale)

    def __repr__(self) -> str:
        return f"Upsample({self.scale})"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), like ``torch.nn.Flatten()``.

    Examples
    --------
    >>> gl.nn.Flatten()(np.zeros((2, 3, 4, 4), np.float32)).shape
    (2, 48)
    """

    def spec(self) -> dict:
        return {"type": "Flatten"}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        if x.ndim < 2:
            raise ValueError(f"Flatten: expected input (N, ...), got {_shape_str(x.shape)}")
        return x if x.ndim == 2 else ops.flatten(x)

    def __repr__(self) -> str:
        return "Flatten()"


class Reshape(Module):
    """Reshape each sample: (N, ...) -> (N, *shape). One entry of ``shape`` may be -1.

    Parameters
    ----------
    *shape : int
        The per-sample shape (at most 3 dimensions: tensors are at most 4-D).

    Examples
    --------
    >>> gl.nn.Reshape(128, 7, 7)(np.zeros((2, 128 * 49), np.float32)).shape
    (2, 128, 7, 7)
    """

    def __init__(self, *shape: int) -> None:
        super().__init__()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not 1 <= len(shape) <= 3:
            raise ValueError(f"Reshape: the per-sample shape needs 1 to 3 dimensions, got {shape!r}")
        for d in shape:
            if check_int("Reshape: dimensions", d) < 1 and d != -1:
                raise ValueError(f"Reshape: dimensions must be positive ints (or one -1), got {shape!r}")
        if list(shape).count(-1) > 1:
            raise ValueError(f"Reshape: only one dimension may be -1, got {shape!r}")
        self.shape = tuple(int(d) for d in shape)

    def spec(self) -> dict:
        return {"type": "Reshape", "shape": list(self.shape)}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        per = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
        known = int(np.prod([d for d in self.shape if d != -1]))
        ok = per % known == 0 if -1 in self.shape else per == known
        if x.ndim < 2 or not ok:
            raise ValueError(f"{self!r}: cannot reshape input {_shape_str(x.shape)} to "
                             f"(N, {', '.join(map(str, self.shape))})")
        return ops.reshape(x, (x.shape[0], *self.shape))

    def __repr__(self) -> str:
        return f"Reshape({', '.join(map(str, self.shape))})"


def _conv_from_spec(d: dict) -> Conv2d:
    return Conv2d(d["in"], d["out"], tuple(d["kernel"]), stride=d.get("stride", 1), padding=d.get("padding", 0),
                  bias=d.get("bias", True), seed=0)


def _convt_from_spec(d: dict) -> ConvTranspose2d:
    return ConvTranspose2d(d["in"], d["out"], tuple(d["kernel"]), stride=d.get("stride", 1),
                           padding=d.get("padding", 0), output_padding=tuple(d.get("output_padding", (0, 0))),
                           bias=d.get("bias", True), seed=0)


register_spec("Conv2d", _conv_from_spec)
register_spec("ConvTranspose2d", _convt_from_spec)
register_spec("MaxPool2d", lambda d: MaxPool2d(d["kernel"], d.get("stride"), d.get("padding", 0)))
register_spec("AvgPool2d", lambda d: AvgPool2d(d["kernel"], d.get("stride"), d.get("padding", 0)))
register_spec("Upsample", lambda d: Upsample(d["scale"]))
register_spec("Flatten", lambda d: Flatten())
register_spec("Reshape", lambda d: Reshape(*d["shape"]))
