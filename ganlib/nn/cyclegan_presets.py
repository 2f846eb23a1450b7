"""CycleGAN's networks (Zhu et al. 2017, after Johnson et al. 2016), sized for small images.

* :func:`resnet_generator` -- a 7 x 7 stride-1 stem, ``n_down`` stride-2 3 x 3
  downsamplings (channels doubling), ``n_blocks`` :class:`~ganlib.nn.ResidualBlock`,
  as many stride-2 transposed convolutions back up, a 7 x 7 stride-1 convolution to the
  output channels and tanh (images in [-1, 1]). Every inner convolution is followed by
  instance normalisation and ReLU.
* :func:`patch_discriminator` -- PatchGAN: 4 x 4 convolutions (two stride-2, two
  stride-1) with instance normalisation and LeakyReLU(0.2), one logit per overlapping
  patch, returned flattened ``(N, patches)``.

The paper's generator for 256 x 256 images has width 64, two downsamplings and nine
blocks; the defaults here (width 16, two downsamplings, three blocks) fit 28 x 28 MNIST
on a CPU. Both are plain :class:`~ganlib.nn.Sequential` stacks of registered layers, so
``gl.nn.from_spec`` and checkpoints rebuild them. Weights ~ N(0, 0.02) as the reference.

Examples
--------
>>> G = gl.nn.resnet_generator((1, 28, 28), seed=0)
>>> D = gl.nn.patch_discriminator((1, 28, 28), seed=1)
>>> x = G(np.zeros((2, 1, 28, 28), np.float32))
>>> x.shape, D(x).shape
((2, 1, 28, 28), (2, 25))
"""
from __future__ import annotations

from typing import Any, Sequence

from .._checks import check_int
from .conv import Conv2d, ConvTranspose2d, Flatten
from .instance_norm import InstanceNorm2d
from .layers import LeakyReLU, ReLU, Sequential, Tanh, _rng
from .residual import ResidualBlock

__all__ = ["resnet_generator", "patch_discriminator"]


def _image(shape: Any, what: str) -> tuple[int, int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"{what}: image_shape must be (channels, height, width), got {shape!r}")
    c, h, w = (check_int(f"{what}: image_shape[{k}]", d, 1) for k, d in enumerate(shape))
    return c, h, w


def resnet_generator(image_shape: Sequence[int], out_channels: int | None = None, width: int = 16,
                     n_down: int = 2, n_blocks: int = 3, seed: int | None = None) -> Sequential:
    """CycleGAN's residual generator: images ``(N, C, H, W)`` -> ``(N, out_channels, H, W)`` in [-1, 1].

    Parameters
    ----------
    image_shape : (C, H, W)
        Input images; H and W must be divisible by ``2 ** n_down``.
    out_channels : int, optional
        Channels of the output (default C).
    width : int
        Channels after the stem (doubled at each downsampling).
    n_down : int
        Stride-2 downsamplings (and as many upsamplings), 0 or more.
    n_blocks : int
        Residual blocks at the smallest resolution.
    seed : int, optional

    Examples
    --------
    >>> G = gl.nn.resnet_generator((1, 28, 28), width=8, n_blocks=2, seed=0)
    >>> G(np.zeros((1, 1, 28, 28), np.float32)).shape
    (1, 1, 28, 28)
    """
    what = "resnet_generator"
    c, h, w = _image(image_shape, what)
    out = c if out_channels is None else check_int(f"{what}: out_channels", out_channels, 1)
    width = check_int(f"{what}: width", width, 1)
    n_down = check_int(f"{what}: n_down", n_down, 0)
    n_blocks = check_int(f"{what}: n_blocks", n_blocks, 0)
    if h % 2 ** n_down or w % 2 ** n_down:
        raise ValueError(f"{what}: image size {h} x {w} is not divisible by 2**n_down = {2 ** n_down}, so the "
                         "upsampled output would not have the input's size; choose a smaller n_down")
    rng = _rng(seed, f"{what}: seed")

    def s() -> int:
        return int(rng.integers(2**31))

    # convolutions followed by instance norm have no bias (the mean subtraction cancels it)
    layers: list = [Conv2d(c, width, 7, padding=3, bias=False, init="normal", seed=s()), InstanceNorm2d(width), ReLU()]
    ch = width
    for _ in range(n_down):
        layers += [Conv2d(ch, 2 * ch, 3, stride=2, padding=1, bias=False, init="normal", seed=s()),
                   InstanceNorm2d(2 * ch), ReLU()]
        ch *= 2
    layers += [ResidualBlock(ch, init="normal", seed=s()) for _ in range(n_blocks)]
    for _ in range(n_down):
        layers += [ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1, bias=False,
                                   init="normal", seed=s()), InstanceNorm2d(ch // 2), ReLU()]
        ch //= 2
    layers += [Conv2d(ch, out, 7, padding=3, init="normal", seed=s()), Tanh()]
    return Sequential(*layers)


def patch_discriminator(image_shape: Sequence[int], width: int = 16, seed: int | None = None) -> Sequential:
    """PatchGAN discriminator: images ``(N, C, H, W)`` -> one logit per patch, ``(N, patches)``.

    Two stride-2 4 x 4 convolutions (the first without normalisation), one stride-1 with
    twice the channels, and a stride-1 4 x 4 convolution to one channel; H and W must be
    at least 16. For 28 x 28 images: 5 x 5 = 25 patches, each seeing a 22 x 22 window.

    Parameters
    ----------
    image_shape : (C, H, W)
    width : int
        Channels of the first convolution (doubled twice).
    seed : int, optional

    Examples
    --------
    >>> D = gl.nn.patch_discriminator((1, 28, 28), width=8, seed=0)
    >>> D(np.zeros((3, 1, 28, 28), np.float32)).shape
    (3, 25)
    """
    what = "patch_discriminator"
    c, h, w = _image(image_shape, what)
    width = check_int(f"{what}: width", width, 1)
    if h < 16 or w < 16:
        raise ValueError(f"{what}: images must be at least 16 x 16, got {h} x {w}")
    rng = _rng(seed, f"{what}: seed")

    def s() -> int:
        return int(rng.integers(2**31))

    return Sequential(
        Conv2d(c, width, 4, stride=2, padding=1, init="normal", seed=s()), LeakyReLU(0.2),
        Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False, init="normal", seed=s()),
        InstanceNorm2d(2 * width), LeakyReLU(0.2),
        Conv2d(2 * width, 4 * width, 4, stride=1, padding=1, bias=False, init="normal", seed=s()),
        InstanceNorm2d(4 * width), LeakyReLU(0.2),
        Conv2d(4 * width, 1, 4, stride=1, padding=1, init="normal", seed=s()), Flatten())
