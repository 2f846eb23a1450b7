"""Encoder / decoder presets for autoencoders, VAEs and AAEs on small images.

Two families, both plain :class:`~ganlib.nn.Sequential` stacks of registered layers
(so ``gl.nn.from_spec(net.spec())`` rebuilds them and checkpoints restore them):

* **MLP**: ``Concat -> Linear -> act -> ... -> Linear`` (the encoder flattens the
  image; with ``extra`` label features it takes ``E(x, y)``; the decoder takes
  ``Dec(z)`` or ``Dec(z, y)`` and reshapes to the image shape). Any input shape.
* **Convolutional** (28 x 28 and 32 x 32, any channel count): stride-2 4 x 4
  convolutions down to a 7 x 7 (28) or 4 x 4 (32) map, a linear code layer, and
  the mirror image with transposed convolutions.

Decoders output raw values: logits for a Bernoulli likelihood, means for a
Gaussian one or squared error; the models apply any output transform.

Examples
--------
>>> E = gl.nn.mlp_encoder((1, 28, 28), 2 * 50, hidden=(500, 500), seed=0)
>>> Dec = gl.nn.mlp_decoder(50, (1, 28, 28), hidden=(500, 500), seed=1)
>>> Dec(E(np.zeros((3, 1, 28, 28), np.float32))[:, :50]).shape
(3, 1, 28, 28)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._checks import check_int
from .conv import Conv2d, ConvTranspose2d, Flatten, Reshape
from .layers import Concat, LeakyReLU, Linear, ReLU, Sequential, _rng, activation
from .module import Module

__all__ = ["mlp_encoder", "mlp_decoder", "conv_encoder", "conv_decoder", "CONV_AE_SIZES"]

# image side -> (side of the smallest map, stride-2 stages)
CONV_AE_SIZES = {28: (7, 2), 32: (4, 3)}


def _shape(shape: Any, what: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not 1 <= len(shape) <= 3:
        raise ValueError(f"{what}: the data shape must be a tuple of 1 to 3 ints such as (1, 28, 28) or (784,), "
                         f"got {shape!r}")
    return tuple(check_int(f"{what}: shape[{k}]", d, 1) for k, d in enumerate(shape))


def _hidden(hidden: Any, what: str) -> list[int]:
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = [hidden]
    if not isinstance(hidden, (list, tuple)):
        raise TypeError(f"{what}: hidden must be an int or a list of ints, got {hidden!r}")
    return [check_int(f"{what}: hidden[{k}]", h, 1) for k, h in enumerate(hidden)]


def _seeds(seed: int | None, what: str) -> Any:
    rng = _rng(seed, f"{what}: seed")
    return lambda: int(rng.integers(2**31))


def mlp_encoder(input_shape: Any, out_features: int, hidden: Sequence[int] = (500, 500), act: Any = "relu",
                extra: int = 0, seed: int | None = None) -> Sequential:
    """Images (or rows) of ``input_shape`` -> ``(N, out_features)``; with ``extra`` > 0 it
    takes a second input of ``extra`` features (one-hot labels): ``E(x, y)``.

    Examples
    --------
    >>> E = gl.nn.mlp_encoder((1, 28, 28), 2, hidden=[64], seed=0)
    >>> E(np.zeros((4, 1, 28, 28), np.float32)).shape
    (4, 2)
    """
    what = "mlp_encoder"
    shape = _shape(input_shape, what)
    out = check_int(f"{what}: out_features", out_features, 1)
    extra = check_int(f"{what}: extra", extra, 0)
    seeds = _seeds(seed, what)
    width = int(np.prod(shape)) + extra
    layers: list[Module] = [Concat() if extra else Flatten()]
    for h in _hidden(hidden, what):
        layers += [Linear(width, h, seed=seeds()), activation(act)]
        width = h
    layers.append(Linear(width, out, seed=seeds()))
    return Sequential(*layers)


def mlp_decoder(latent: int, output_shape: Any, hidden: Sequence[int] = (500, 500), act: Any = "relu",
                extra: int = 0, seed: int | None = None) -> Sequential:
    """Codes ``(N, latent)`` (plus ``extra`` label features: ``Dec(z, y)``) -> ``(N, *output_shape)``.

    Examples
    --------
    >>> Dec = gl.nn.mlp_decoder(2, (1, 28, 28), hidden=[64], seed=0)
    >>> Dec(np.zeros((4, 2), np.float32)).shape
    (4, 1, 28, 28)
    """
    what = "mlp_decoder"
    latent = check_int(f"{what}: latent", latent, 1)
    shape = _shape(output_shape, what)
    extra = check_int(f"{what}: extra", extra, 0)
    seeds = _seeds(seed, what)
    width = latent + extra
    layers: list[Module] = [Concat()]
    for h in _hidden(hidden, what):
        layers += [Linear(width, h, seed=seeds()), activation(act)]
        width = h
    layers.append(Linear(width, int(np.prod(shape)), seed=seeds()))
    if len(shape) > 1:
        layers.append(Reshape(*shape))
    return Sequential(*layers)


def _image(image_shape: Any, what: str) -> tuple[int, int, int, int]:
    shape = _shape(image_shape, what)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in CONV_AE_SIZES:
        sizes = ", ".join(f"(C, {s}, {s})" for s in CONV_AE_SIZES)
        raise ValueError(f"{what}: unsupported image shape {shape}; supported: {sizes} for any channel count C "
                         "(the MLP presets take any shape)")
    side, stages = CONV_AE_SIZES[shape[1]]
    return shape[0], shape[1], side, stages


def conv_encoder(image_shape: Any, out_features: int, width: int = 32, seed: int | None = None) -> Sequential:
    """Images -> ``(N, out_features)``: ``[Conv2d(4, stride 2, padding 1) -> LeakyReLU(0.2)] x k``
    (channels w, 2w, 4w, ...) down to a 7 x 7 (28 x 28) or 4 x 4 (32 x 32) map, then Flatten -> Linear.

    Examples
    --------
    >>> E = gl.nn.conv_encoder((1, 32, 32), 16, width=8, seed=0)
    >>> E(np.zeros((2, 1, 32, 32), np.float32)).shape
    (2, 16)
    """
    what = "conv_encoder"
    c, _, side, stages = _image(image_shape, what)
    out = check_int(f"{what}: out_features", out_features, 1)
    w = check_int(f"{what}: width", width, 1)
    seeds = _seeds(seed, what)
    layers: list[Module] = []
    ch_in, ch = c, w
    for _ in range(stages):
        layers += [Conv2d(ch_in, ch, 4, stride=2, padding=1, seed=seeds()), LeakyReLU(0.2)]
        ch_in, ch = ch, ch * 2
    layers += [Flatten(), Linear(ch_in * side * side, out, seed=seeds())]
    return Sequential(*layers)


def conv_decoder(latent: int, image_shape: Any, width: int = 32, extra: int = 0,
                 seed: int | None = None) -> Sequential:
    """Codes ``(N, latent)`` (plus ``extra`` features, e.g. one-hot labels: ``Dec(z, y)``) -> images:
    Linear -> ReLU -> a (w 2^(k-1), s, s) map, then
    ``[ConvTranspose2d(4, stride 2, padding 1) -> ReLU] x (k-1)`` halving channels and a last
    ConvTranspose2d to C channels (no output activation).

    Examples
    --------
    >>> Dec = gl.nn.conv_decoder(16, (1, 28, 28), width=8, seed=0)
    >>> Dec(np.zeros((2, 16), np.float32)).shape
    (2, 1, 28, 28)
    """
    what = "conv_decoder"
    latent = check_int(f"{what}: latent", latent, 1)
    c, _, side, stages = _image(image_shape, what)
    w = check_int(f"{what}: width", width, 1)
    extra = check_int(f"{what}: extra", extra, 0)
    seeds = _seeds(seed, what)
    ch = w * 2 ** (stages - 1)
    layers: list[Module] = [Concat()] if extra else []
    layers += [Linear(latent + extra, ch * side * side, seed=seeds()), ReLU(), Reshape(ch, side, side)]
    for _ in range(stages - 1):
        layers += [ConvTranspose2d(ch, ch // 2, 4, stride=2, padding=1, seed=seeds()), ReLU()]
        ch //= 2
    layers.append(ConvTranspose2d(ch, c, 4, stride=2, padding=1, seed=seeds()))
    return Sequential(*layers)
