"""DCGAN generator and discriminator presets (Radford et al. 2016) for small images.

Supported image sizes: 28 x 28 (MNIST-like), 32 x 32 (CIFAR-like) and 64 x 64,
any channel count. Both presets are plain :class:`~ganlib.nn.Sequential` stacks
of registered layers, so ``gl.nn.from_spec(net.spec())`` rebuilds them and GAN
checkpoints restore them.

Initialisation follows the DCGAN reference (``weights_init`` of the PyTorch
DCGAN example): conv / transposed-conv / linear weights ~ N(0, 0.02), biases 0,
BatchNorm gamma ~ N(1, 0.02) and beta 0. LayerNorm (``norm="layer"``) keeps
weight 1, bias 0. Layers followed by a normalisation have no bias (it would be
cancelled by the normalisation's mean subtraction).

Examples
--------
>>> G = gl.nn.dcgan_generator(latent=100, image_shape=(1, 28, 28), seed=0)
>>> D = gl.nn.dcgan_discriminator(image_shape=(1, 28, 28), seed=1)
>>> x = G(np.random.randn(8, 100).astype(np.float32))
>>> x.shape, D(x).shape
((8, 1, 28, 28), (8, 1))
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._checks import check_int
from .conditional import Conditional, ProjectionDiscriminator, check_conditioning
from .conv import Conv2d, ConvTranspose2d, Flatten, Reshape
from .layers import LeakyReLU, Linear, ReLU, Sequential, Tanh, _rng
from .module import Module
from .norm import BatchNorm, LayerNorm

__all__ = ["dcgan_generator", "dcgan_discriminator", "DCGAN_SIZES"]

# image side -> (side of the smallest feature map, number of stride-2 stages)
DCGAN_SIZES = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
NORMS = ("batch", "layer", None)


def _layout(image_shape: Any, what: str) -> tuple[int, int, int, int]:
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3:
        raise ValueError(f"{what}: image_shape must be (channels, height, width), got {image_shape!r}")
    c, h, w = (check_int(f"{what}: image_shape[{k}]", d, 1) for k, d in enumerate(shape))
    supported = ", ".join(f"(C, {s}, {s})" for s in DCGAN_SIZES)
    if h != w or h not in DCGAN_SIZES:
        raise ValueError(f"{what}: unsupported image size {h} x {w}; supported image shapes: {supported} "
                         "for any channel count C")
    s, stages = DCGAN_SIZES[h]
    return c, h, s, stages


def _check_width(width: Any, what: str) -> int:
    return check_int(f"{what}: width", width, 1)


def _bn(c: int, rng: np.random.Generator) -> BatchNorm:
    bn = BatchNorm(c)
    bn.param("weight")[...] = rng.normal(1.0, 0.02, size=c)   # DCGAN: gamma ~ N(1, 0.02)
    return bn


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


def _classes(what: str, num_classes: Any, embed_dim: Any) -> tuple[int | None, int]:
    """(K, E): the class count and the label's input width, or (None, 0) for a plain network."""
    if num_classes is None:
        if embed_dim is not None:
            raise ValueError(f"{what}: embed_dim applies to a class-conditional network; pass num_classes=K")
        return None, 0
    k = check_int(f"{what}: num_classes", num_classes, 1)
    return k, (k if embed_dim is None else check_int(f"{what}: embed_dim", embed_dim, 1))


def dcgan_generator(latent: int = 100, image_shape: Sequence[int] = (1, 28, 28), width: int = 64,
                    seed: int | None = None, num_classes: int | None = None,
                    embed_dim: int | None = None) -> Module:
    """The DCGAN generator: z (N, latent) -> images (N, C, H, W) in [-1, 1].

    Layout (w = ``width``, s = 7 for 28 x 28, 4 for 32 x 32 and 64 x 64, k = number of
    stride-2 stages = 2, 3, 4)::

        Linear(latent -> m w s s, no bias) -> Reshape(m w, s, s) -> BatchNorm -> ReLU
        [ConvTranspose2d(4, stride 2, padding 1, halving channels) -> BatchNorm -> ReLU] x (k - 1)
        ConvTranspose2d(w -> C, 4, stride 2, padding 1) -> Tanh

    with m = 2**(k-1): channels 2w -> w -> C for 28 x 28, 4w -> 2w -> w -> C for 32 x 32.
    The first BatchNorm is per channel of the s x s map (BatchNorm2d after the reshape),
    so a batch of one sample is still valid in training mode.

    Parameters
    ----------
    latent : int
        Latent dimension.
    image_shape : (C, H, W)
        H = W in 28, 32, 64; any C.
    width : int
        w, the channel count of the last hidden stage (64 in DCGAN).
    seed : int, optional
        Seed of the initialisation (else the generator set by ``gl.manual_seed``).
    num_classes : int, optional
        K: a class-conditional generator ``G(z, y)`` (y one-hot ``(N, K)``), the label
        joined to z (a :class:`~ganlib.nn.Conditional` around the same layout with
        ``latent + E`` inputs). Default None: the plain generator, unchanged.
    embed_dim : int, optional
        E: the label enters as a learned embedding of this width (default: the
        one-hot row, E = K).

    Returns
    -------
    Sequential, or Conditional with ``num_classes``

    Raises
    ------
    ValueError
        For an unsupported image size (the message lists the supported ones).

    Examples
    --------
    >>> G = gl.nn.dcgan_generator(latent=64, image_shape=(3, 32, 32), width=32, seed=0)
    >>> G(np.zeros((2, 64), np.float32)).shape
    (2, 3, 32, 32)
    """
    what = "dcgan_generator"
    latent = check_int(f"{what}: latent", latent, 1)
    c, _, s, stages = _layout(image_shape, what)
    w = _check_width(width, what)
    rng = _rng(seed, f"{what}: seed")
    k, e = _classes(what, num_classes, embed_dim)
    if k is not None:
        net = dcgan_generator(latent + e, image_shape, width, seed=_seed(rng))
        return Conditional(net, k, embed_dim=embed_dim, seed=_seed(rng))
    ch = w * 2 ** (stages - 1)
    layers: list[Module] = [Linear(int(latent), ch * s * s, bias=False, init="normal", seed=_seed(rng)),
                            Reshape(ch, s, s), _bn(ch, rng), ReLU()]
    for _ in range(stages - 1):
        layers += [ConvTranspose2d(ch, ch // 2, 4, stride=2, padding=1, bias=False, init="normal",
                                   seed=_seed(rng)), _bn(ch // 2, rng), ReLU()]
        ch //= 2
    layers += [ConvTranspose2d(ch, c, 4, stride=2, padding=1, bias=True, init="normal", seed=_seed(rng)),
               Tanh()]
    return Sequential(*layers)


def dcgan_discriminator(image_shape: Sequence[int] = (1, 28, 28), width: int = 64, norm: str | None = "batch",
                        seed: int | None = None, num_classes: int | None = None, embed_dim: int | None = None,
                        conditioning: str = "concat") -> Module:
    """The DCGAN discriminator: images (N, C, H, W) -> one logit per image (N, 1).

    Layout (w = ``width``, k stride-2 stages: 2 for 28 x 28, 3 for 32 x 32, 4 for 64 x 64)::

        Conv2d(C -> w, 4, stride 2, padding 1) -> LeakyReLU(0.2)          (no norm, as in DCGAN)
        [Conv2d(4, stride 2, padding 1, doubling channels) -> norm -> LeakyReLU(0.2)] x (k - 1)
        Flatten -> Linear(-> 1)

    channels C -> w -> 2w for 28 x 28 (7 x 7 maps), C -> w -> 2w -> 4w for 32 x 32 (4 x 4).

    Parameters
    ----------
    image_shape : (C, H, W)
        H = W in 28, 32, 64; any C.
    width : int
        w, the channel count of the first conv (64 in DCGAN).
    norm : {"batch", "layer", None}
        "batch": BatchNorm (DCGAN; first-order only in training mode, so not usable with a
        gradient penalty such as loss="wgan-gp"); "layer": LayerNorm over (C, H, W) of each
        map (the WGAN-GP critic's choice, differentiable to any order); None: no normalisation.
    seed : int, optional
    num_classes : int, optional
        K: a class-conditional discriminator, in the way ``conditioning`` names.
        Default None: the plain discriminator, unchanged.
    embed_dim : int, optional
        With ``conditioning="concat"``: the label enters as a learned embedding of
        this width (default: the one-hot row).
    conditioning : {"concat", "projection", "classifier"}
        "concat": ``D(x, y)``, the label as E constant extra input channels;
        "projection": ``D(x, y)``, a projection discriminator (Miyato & Koyama 2018)
        on the flattened last feature map; "classifier": the AC-GAN discriminator
        ``D(x)`` with 1 + K outputs (source logit, then K class logits).

    Returns
    -------
    Sequential, or Conditional / ProjectionDiscriminator with ``num_classes``

    Raises
    ------
    ValueError
        For an unsupported image size or norm.

    Examples
    --------
    >>> D = gl.nn.dcgan_discriminator((3, 32, 32), width=16, norm="layer", seed=0)
    >>> D(np.zeros((2, 3, 32, 32), np.float32)).shape
    (2, 1)
    """
    what = "dcgan_discriminator"
    if not (norm is None or isinstance(norm, str)) or norm not in NORMS:
        raise ValueError(f"{what}: norm must be one of {NORMS}, got {norm!r}")
    c, h, _, stages = _layout(image_shape, what)
    w = _check_width(width, what)
    rng = _rng(seed, f"{what}: seed")
    k, e = _classes(what, num_classes, embed_dim)
    outputs = 1
    if k is not None:
        conditioning = check_conditioning(what, conditioning, ("concat", "projection", "classifier"))
        if conditioning != "concat" and embed_dim is not None:
            raise ValueError(f"{what}: embed_dim is for conditioning='concat'; with {conditioning!r} the label is "
                             "not an input")
        if conditioning == "concat":
            net = dcgan_discriminator((c + e, h, h), width, norm, seed=_seed(rng))
            return Conditional(net, k, embed_dim=embed_dim, maps=True, seed=_seed(rng))
        if conditioning == "projection":
            body = dcgan_discriminator(image_shape, width, norm, seed=_seed(rng))
            last = body._children.popitem()[1]   # the body ends at the flattened features
            body._adopt_children()
            return ProjectionDiscriminator(body, last.in_features, k, seed=_seed(rng))
        outputs = 1 + k
    elif conditioning != "concat":
        raise ValueError(f"{what}: conditioning applies to a class-conditional D; pass num_classes=K")
    layers: list[Module] = [Conv2d(c, w, 4, stride=2, padding=1, bias=True, init="normal", seed=_seed(rng)),
                            LeakyReLU(0.2)]
    ch, side = w, h // 2
    for _ in range(stages - 1):
        side //= 2
        layers.append(Conv2d(ch, ch * 2, 4, stride=2, padding=1, bias=norm is None, init="normal",
                             seed=_seed(rng)))
        ch *= 2
        if norm == "batch":
            layers.append(_bn(ch, rng))
        elif norm == "layer":
            layers.append(LayerNorm((ch, side, side)))
        layers.append(LeakyReLU(0.2))
    layers += [Flatten(), Linear(ch * side * side, outputs, init="normal", seed=_seed(rng))]
    return Sequential(*layers)
