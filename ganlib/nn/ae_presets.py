"""Encoder / decoder presets for autoencoders, VAEs and AAEs on small images.

Two families, both plain :class:`~ganlib.nn.Sequential` stacks of registered layers
(so ``gl.nn.from_spec(net.spec())`` rebuilds them and checkpoints restore them):

* **MLP**: ``Concat -> Linear -> act -> ... -> Linear`` (the encoder flattens the
  image; with ``extra`` label features it takes ``E(x, y)``; the decoder takes
  ``Dec(z)`` or ``Dec(z, y)`` and reshapes to the image shape). Any input shape.
* **Convolutional** (28 x 28 and 32 x 32, any channel count): stride-2 4 x 4
  convolutions down to a 7 x 7 (28) or 4 x 4 (32) map, a linear code layer, and
  the mirror image with transposed convolutions.
* **Spatial** (the ACAI paper's networks, Berthelot et al. 2019, ``lib/layers.py`` of
  brain-research/acai): all-convolutional, 3 x 3 convolutions with average pooling
  down and nearest upsampling up, and a code that is a small feature map
  (``latent_channels x latent_side x latent_side``, flattened). Interpolating such
  codes mixes local features; on the lines benchmark it is what makes interpolations
  rotate the line (Smoothness 0.24 for a plain autoencoder after 4,500 steps, where
  the convolutional preset's flat code stays at 0.72 however long it trains).

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

from .._checks import check_int, check_real
from .conv import AvgPool2d, Conv2d, ConvTranspose2d, Flatten, Reshape, Upsample
from .layers import Concat, LeakyReLU, Linear, ReLU, Sequential, _rng, activation
from .module import Module

__all__ = ["mlp_encoder", "mlp_decoder", "conv_encoder", "conv_decoder", "spatial_encoder", "spatial_decoder",
           "CONV_AE_SIZES"]

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


def _spatial(image_shape: Any, latent_side: Any, what: str) -> tuple[int, int, int]:
    """(channels, image side, scales) of a square image whose side is latent_side * 2^scales, scales >= 1."""
    shape = _shape(image_shape, what)
    side = check_int(f"{what}: latent_side", latent_side, 1)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"{what}: expects a square image shape (C, H, H), got {shape}")
    scales, h = 0, shape[1]
    while h > side and h % 2 == 0:
        h //= 2
        scales += 1
    if h != side or scales == 0:
        raise ValueError(f"{what}: the image side {shape[1]} must be latent_side ({side}) times a power of two >= 2")
    return shape[0], shape[1], scales


def _scaled_convs(net: Sequential, gain: Any, what: str) -> Sequential:
    """Multiply the starting weights of every Conv2d of ``net`` by ``gain`` (finite, > 0)."""
    g = check_real(f"{what}: gain", gain, positive=True)
    if g != 1.0:
        for layer in net:
            if isinstance(layer, Conv2d):
                w = layer.param("weight")
                w *= np.float32(g)
    return net


def spatial_encoder(image_shape: Any, latent_channels: int, latent_side: int, width: int = 16,
                    out_features: int | None = None, gain: float = 1.0, seed: int | None = None) -> Sequential:
    """Images -> codes, the ACAI paper's encoder: ``Conv2d(1 x 1, w)``, then per scale
    ``[Conv2d(3 x 3, w 2^k) -> LeakyReLU(0.2)] x 2 -> AvgPool2d(2)`` until the map is
    ``latent_side`` wide, then ``Conv2d(3 x 3, w 2^scales) -> LeakyReLU(0.2) ->
    Conv2d(3 x 3, latent_channels)`` and Flatten: ``(N, latent_channels * latent_side²)``.

    With ``out_features``, a Linear layer follows (the reference VAE's dense (μ, log σ²)
    heads: ``out_features = 2 * latent_channels * latent_side²``). As a critic (ACAI's
    ``d``), leave it flat: the model averages the code to one number per image, as the
    reference averages its critic's map. Convolutions start from the reference's
    initialisation (``init="he_modified"``) times ``gain``, biases from zero: with
    ``gain=1.2`` these deep unnormalised stacks leave the mean-image plateau of their
    first steps about twice as soon (lines: ~400 steps of Adam(1e-3) instead of ~800),
    at ``1.41`` (Kaiming's variance) ACAI's lines interpolations stop rotating the line.

    Examples
    --------
    >>> E = gl.nn.spatial_encoder((1, 32, 32), 16, 2, width=4, seed=0)     # lines: 16 x 2 x 2
    >>> E(np.zeros((3, 1, 32, 32), np.float32)).shape
    (3, 64)
    """
    what = "spatial_encoder"
    c, _, scales = _spatial(image_shape, latent_side, what)
    lat = check_int(f"{what}: latent_channels", latent_channels, 1)
    w = check_int(f"{what}: width", width, 1)
    seeds = _seeds(seed, what)

    def conv(ci: int, co: int, k: int) -> Conv2d:
        return Conv2d(ci, co, k, padding=k // 2, init="he_modified", seed=seeds())

    layers: list[Module] = [conv(c, w, 1)]
    ch = w
    for k in range(scales):
        layers += [conv(ch, w << k, 3), LeakyReLU(0.2), conv(w << k, w << k, 3), LeakyReLU(0.2), AvgPool2d(2)]
        ch = w << k
    layers += [conv(ch, w << scales, 3), LeakyReLU(0.2), conv(w << scales, lat, 3), Flatten()]
    if out_features is not None:
        out = check_int(f"{what}: out_features", out_features, 1)
        layers.append(Linear(lat * latent_side * latent_side, out, init="xavier", seed=seeds()))
    return _scaled_convs(Sequential(*layers), gain, what)


def spatial_decoder(latent_channels: int, latent_side: int, image_shape: Any, width: int = 16,
                    gain: float = 1.0, seed: int | None = None) -> Sequential:
    """Codes ``(N, latent_channels * latent_side²)`` -> images, the ACAI paper's decoder:
    Reshape to ``(latent_channels, latent_side, latent_side)``, then per scale (deepest
    first) ``[Conv2d(3 x 3, w 2^k) -> LeakyReLU(0.2)] x 2 -> Upsample(2)``, then
    ``Conv2d(3 x 3, w) -> LeakyReLU(0.2) -> Conv2d(3 x 3, C)`` (no output activation).
    Initialisation and ``gain`` as :func:`spatial_encoder`.

    Examples
    --------
    >>> Dec = gl.nn.spatial_decoder(16, 2, (1, 32, 32), width=4, seed=1)
    >>> Dec(np.zeros((3, 64), np.float32)).shape
    (3, 1, 32, 32)
    """
    what = "spatial_decoder"
    c, _, scales = _spatial(image_shape, latent_side, what)
    lat = check_int(f"{what}: latent_channels", latent_channels, 1)
    w = check_int(f"{what}: width", width, 1)
    seeds = _seeds(seed, what)

    def conv(ci: int, co: int) -> Conv2d:
        return Conv2d(ci, co, 3, padding=1, init="he_modified", seed=seeds())

    layers: list[Module] = [Reshape(lat, latent_side, latent_side)]
    ch = lat
    for k in range(scales - 1, -1, -1):
        layers += [conv(ch, w << k), LeakyReLU(0.2), conv(w << k, w << k), LeakyReLU(0.2), Upsample(2)]
        ch = w << k
    layers += [conv(ch, w), LeakyReLU(0.2), conv(w, c)]
    return _scaled_convs(Sequential(*layers), gain, what)
