"""Invertible layers of Real NVP (Dinh, Sohl-Dickstein & Bengio 2017): affine couplings with
alternating, checkerboard and channel masks, the squeeze (space-to-depth), and a stack of them.

Every layer maps ``x -> (y, log|det ∂y/∂x| per row)`` in ``forward`` and back in ``inverse``,
both as traced ops, so the likelihood, its gradient and sampling all run in C.

Examples
--------
>>> flow = gl.nn.RealNVPFlow([gl.nn.AffineCoupling((2,), "alternate", p, gl.nn.mlp(2, [16], 4, seed=p))
...                           for p in (0, 1)])
>>> z, logdet = flow(np.ones((3, 2), np.float32))
>>> z.shape, logdet.shape
((3, 2), (3,))
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import ops
from .._checks import check_choice, check_int
from .layers import from_spec, register_spec
from .module import Module

__all__ = ["AffineCoupling", "Squeeze", "RealNVPFlow", "MASKS"]

MASKS = ("alternate", "checkerboard", "channel")


def _shape(shape: Any, what: str) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what}: shape must be a tuple of ints, got {shape!r}")
    out = tuple(check_int(f"{what}: shape[{k}]", d, 1) for k, d in enumerate(shape))
    if len(out) not in (1, 3):
        raise ValueError(f"{what}: shape must be (features,) or (channels, height, width) of positive sizes, "
                         f"got {out}")
    return out


def _ones(w: np.ndarray, rng: np.random.Generator) -> None:
    w[...] = 1.0


def _row_sum(t: ops.Tensor) -> ops.Tensor:
    return ops.sum(ops.reshape(t, (t.shape[0], -1)), axis=1)


def _last_linear_or_conv(net: Module) -> Module:
    last = None
    for m in net._modules():
        if m._specs and "weight" in m._specs:
            last = m
    if last is None:
        raise ValueError("AffineCoupling: the coupling network has no layer with a weight")
    return last


class AffineCoupling(Module):
    """An affine coupling layer: half of the input, chosen by a mask, passes unchanged and
    conditions a scale ``s`` and shift ``t`` applied to the other half,
    ``y = x_a ⊕ (x_b · exp(s(x_a)) + t(x_a))``, with ``log|det| = Σ s``.

    The scale is ``s = scale · tanh(raw)`` with a learnable per-feature (per-channel) factor
    ``scale`` (as in Dinh et al.'s code), which bounds ``|s|`` and keeps training stable.

    Parameters
    ----------
    shape : tuple
        Shape of one input row: ``(features,)`` or ``(channels, height, width)``.
    mask : {"alternate", "checkerboard", "channel"}
        Which half passes: features of alternating index (vectors), a spatial checkerboard
        (images), or the first / second half of the channels (images).
    parity : {0, 1}
        Which half of the mask passes unchanged (alternate it between layers).
    net : Module
        The coupling network: conditioning half → ``2 k`` outputs (``raw`` then ``t``), with
        ``k`` the features (or channels) of one row for "alternate" / "checkerboard" (the
        network sees the full-size masked input) and half the channels for "channel".
    zero_init : bool
        Zero the network's last weight and bias so the layer starts as the identity.

    Examples
    --------
    >>> layer = gl.nn.AffineCoupling((4,), "alternate", 0, gl.nn.mlp(4, [8], 8, seed=0))
    >>> y, logdet = layer(np.ones((2, 4), np.float32))
    >>> np.allclose(y, 1.0), np.allclose(logdet, 0.0)          # identity at initialisation
    (True, True)
    """

    def __init__(self, shape: Sequence[int], mask: str, parity: int, net: Module, zero_init: bool = True) -> None:
        super().__init__()
        what = "AffineCoupling"
        self.shape = _shape(shape, what)
        self.mask = check_choice(f"{what}: mask", mask, MASKS)
        self.parity = check_int(f"{what}: parity", parity, 0, 1)
        if not isinstance(net, Module):
            raise TypeError(f"{what}: net must be a ganlib Module, got {type(net).__name__}")
        image = len(self.shape) == 3
        if self.mask == "alternate" and image:
            raise ValueError(f"{what}: mask 'alternate' is for vectors; images use 'checkerboard' or 'channel'")
        if self.mask != "alternate" and not image:
            raise ValueError(f"{what}: mask {self.mask!r} is for images (channels, height, width), got shape "
                             f"{self.shape}")
        if self.mask == "channel" and self.shape[0] % 2:
            raise ValueError(f"{what}: a channel mask splits the channels in half; {self.shape[0]} is odd")
        if self.mask == "alternate" and self.shape[0] < 2:
            raise ValueError(f"{what}: an alternating mask needs at least 2 features, got {self.shape[0]}")
        self.k = self.shape[0] // 2 if self.mask == "channel" else self.shape[0]
        if zero_init:
            last = _last_linear_or_conv(net)
            for name in last._specs:
                last.param(name)[...] = 0.0
        self.zero_init = bool(zero_init)
        self.add_child("net", net)
        scale_shape = (self.k,) if not image else (self.k, 1, 1)
        self.add_param("scale", scale_shape, _ones, np.random.default_rng(0))
        self._adopt_children()
        self._mask = self._mask_array() if self.mask != "channel" else None

    def _mask_array(self) -> np.ndarray:
        """1 where the input passes unchanged, broadcastable against a batch."""
        if self.mask == "alternate":
            m = (np.arange(self.shape[0]) + self.parity) % 2 == 0
            return m.astype(np.float32)[None, :]
        _, h, w = self.shape
        m = (np.add.outer(np.arange(h), np.arange(w)) + self.parity) % 2 == 0
        return m.astype(np.float32)[None, None, :, :]

    def spec(self) -> dict:
        return {"type": "AffineCoupling", "shape": list(self.shape), "mask": self.mask, "parity": self.parity,
                "net": self.children_net.spec(), "zero_init": self.zero_init}

    @property
    def children_net(self) -> Module:
        return self._children["net"]

    def _check(self, x: ops.Tensor, what: str) -> None:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"AffineCoupling.{what}: rows must have shape {self.shape}, got a batch of {x.shape}")

    def _scale_shift(self, cond: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
        h = self.children_net(cond)
        want = (cond.shape[0], 2 * self.k, *cond.shape[2:])
        if tuple(h.shape) != want:
            raise ValueError(f"AffineCoupling: the coupling network must output {want} (raw scale, then shift), "
                             f"got {h.shape}")
        s = ops.tanh(ops.slice(h, 0, self.k)) * self.p("scale")
        return s, ops.slice(h, self.k, 2 * self.k)

    def _halves(self, x: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
        """(conditioning half, transformed half) of a channel split."""
        a, b = ops.slice(x, 0, self.k), ops.slice(x, self.k, 2 * self.k)
        return (a, b) if self.parity == 0 else (b, a)

    def _join(self, cond: ops.Tensor, moved: ops.Tensor) -> ops.Tensor:
        return ops.concat([cond, moved] if self.parity == 0 else [moved, cond])

    def forward(self, x: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
        """``(y, log|det J| per row)``."""
        self._check(x, "forward")
        if self.mask == "channel":
            cond, moved = self._halves(x)
            s, t = self._scale_shift(cond)
            return self._join(cond, moved * ops.exp(s) + t), _row_sum(s)
        m = ops.constant(self._mask)
        free = 1.0 - m
        kept = x * m
        s, t = self._scale_shift(kept)
        s, t = s * free, t * free                 # the passing half is left exactly as it is
        return kept + (x * ops.exp(s) + t) * free, _row_sum(s)

    def inverse(self, y: ops.Tensor) -> ops.Tensor:
        """``x`` with ``forward(x)[0] == y``."""
        self._check(y, "inverse")
        if self.mask == "channel":
            cond, moved = self._halves(y)
            s, t = self._scale_shift(cond)
            return self._join(cond, (moved - t) * ops.exp(-s))
        m = ops.constant(self._mask)
        free = 1.0 - m
        kept = y * m
        s, t = self._scale_shift(kept)
        return kept + ((y - t * free) * ops.exp(-(s * free))) * free

    def __repr__(self) -> str:
        return f"AffineCoupling({self.shape}, {self.mask!r}, parity={self.parity}, net={self.children_net!r})"


class Squeeze(Module):
    """Space-to-depth: ``(C, H, W) -> (4C, H/2, W/2)``, each 2×2 block to 4 channels (the order of
    ``torch.nn.functional.pixel_unshuffle``). A permutation: ``log|det| = 0``.

    It runs as a stride-2 convolution with a fixed 0/1 kernel (exact in float32: each output
    is one input times 1 plus zeros) and inverts with the transposed convolution.

    Examples
    --------
    >>> sq = gl.nn.Squeeze(1)
    >>> y, logdet = sq(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    >>> y.shape, y[0, :, 0, 0].tolist()
    ((1, 4, 2, 2), [0.0, 1.0, 4.0, 5.0])
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = check_int("Squeeze: channels", channels, 1)
        c = self.channels
        w = np.zeros((4 * c, c, 2, 2), np.float32)
        for ch in range(c):
            for di in range(2):
                for dj in range(2):
                    w[4 * ch + 2 * di + dj, ch, di, dj] = 1.0
        self._kernel = w          # conv2d weight (4C, C, 2, 2) = conv_transpose2d weight (in 4C, out C, 2, 2)

    def spec(self) -> dict:
        return {"type": "Squeeze", "channels": self.channels}

    def forward(self, x: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.channels or x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(f"Squeeze: expected (batch, {self.channels}, even H, even W), got {x.shape}")
        y = ops.conv2d(x, ops.constant(self._kernel), stride=2)
        return y, ops.zeros((x.shape[0],))

    def inverse(self, y: ops.Tensor) -> ops.Tensor:
        if y.ndim != 4 or y.shape[1] != 4 * self.channels:
            raise ValueError(f"Squeeze.inverse: expected (batch, {4 * self.channels}, H, W), got {y.shape}")
        return ops.conv_transpose2d(y, ops.constant(self._kernel), stride=2)

    def __repr__(self) -> str:
        return f"Squeeze({self.channels})"


class RealNVPFlow(Module):
    """A stack of invertible layers: ``forward(x) -> (z, log|det| per row)`` with ``z`` flattened
    to ``(n, D)``, and ``inverse(z)`` from flat ``z`` back to rows of the input shape.

    Parameters
    ----------
    layers : list of Module
        Each with ``forward(x) -> (y, logdet)`` and ``inverse(y) -> x`` (AffineCoupling,
        Squeeze or your own).
    input_shape : tuple, optional
        Shape of one input row; by default the first layer's (``shape``, or
        ``(channels, ...)`` unknown for a leading Squeeze, which then needs it given).

    Examples
    --------
    >>> flow = gl.nn.RealNVPFlow([gl.nn.AffineCoupling((2,), "alternate", p, gl.nn.mlp(2, [16], 4, seed=p))
    ...                           for p in (0, 1, 0)])
    >>> x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    >>> z, _ = flow(x)
    """

    def __init__(self, layers: Sequence[Module], input_shape: Sequence[int] | None = None) -> None:
        super().__init__()
        layers = list(layers)
        if not layers:
            raise ValueError("RealNVPFlow: needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module) or not callable(getattr(layer, "inverse", None)):
                raise TypeError(f"RealNVPFlow: layer {i} must be a Module with an inverse, got {type(layer).__name__}")
            self.add_child(str(i), layer)
        if input_shape is None:
            input_shape = getattr(layers[0], "shape", None)
            if input_shape is None:
                raise ValueError("RealNVPFlow: pass input_shape= when the first layer does not declare its shape")
        self.input_shape = _shape(input_shape, "RealNVPFlow")
        self._out_shape = self._trace_output_shape()
        self._adopt_children()

    def _trace_output_shape(self) -> tuple[int, ...]:
        """Shape of a row after the last layer (checks the layers fit together)."""
        def fn(x: ops.Tensor) -> ops.Tensor:
            y = x
            for layer in self._children.values():
                y, _ = layer(y)
            return y
        tr, _, outs, _ = ops.Function(fn, training=False, update_state=False).trace((1, *self.input_shape))
        return tuple(outs[0].shape[1:])

    @property
    def dims(self) -> int:
        """Dimensions of one row."""
        return int(np.prod(self.input_shape))

    def spec(self) -> dict:
        return {"type": "RealNVPFlow", "input_shape": list(self.input_shape),
                "layers": [m.spec() for m in self._children.values()]}

    def forward(self, x: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
        """``(z (n, D), log|det ∂z/∂x| (n,))``."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"RealNVPFlow: rows must have shape {self.input_shape}, got a batch of {x.shape}")
        logdet = None
        for layer in self._children.values():
            x, ld = layer(x)
            logdet = ld if logdet is None else logdet + ld
        return ops.reshape(x, (x.shape[0], -1)), logdet

    def inverse(self, z: ops.Tensor) -> ops.Tensor:
        """Rows of ``input_shape`` from flat codes ``z`` (n, D)."""
        if z.ndim != 2 or z.shape[1] != self.dims:
            raise ValueError(f"RealNVPFlow.inverse: codes must have shape (n, {self.dims}), got {z.shape}")
        x = ops.reshape(z, (z.shape[0], *self._out_shape))
        for layer in reversed(list(self._children.values())):
            x = layer.inverse(x)
        return x

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(v) for v in self._children.values())
        return f"RealNVPFlow(\n  {inner}\n)"


register_spec("AffineCoupling", lambda d: AffineCoupling(d["shape"], d["mask"], d["parity"], from_spec(d["net"]),
                                                         zero_init=d.get("zero_init", True)))
register_spec("Squeeze", lambda d: Squeeze(d["channels"]))
register_spec("RealNVPFlow", lambda d: RealNVPFlow([from_spec(x) for x in d["layers"]], d["input_shape"]))
