"""Two unpaired image domains from MNIST, for CycleGAN: the originals and a transformed copy.

The training set is shuffled with a seed and split into two disjoint halves: domain A keeps
its images, domain B's images are transformed (colour inversion, a 90 degree rotation, or
both). A correspondence between the domains exists (the transform), but no image of A has
its own transformed copy in B, and a model is never told the transform; the labels are
returned for evaluation only.

Examples
--------
>>> XA, yA, XB, yB = gl.datasets.mnist_domains("invert", seed=0)       # doctest: +SKIP
>>> XA.shape, XB.shape                                                 # doctest: +SKIP
((30000, 1, 28, 28), (30000, 1, 28, 28))
>>> x = np.zeros((1, 1, 28, 28), np.float32) - 1                        # a black image in [-1, 1]
>>> float(gl.datasets.domain_transform(x, "invert").mean())
1.0
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .._checks import check_int
from .mnist import PathLike, mnist

__all__ = ["TRANSFORMS", "domain_transform", "domain_untransform", "mnist_domains"]

TRANSFORMS = ("invert", "rotate", "invert+rotate")


def _check(transform: Any, what: str) -> str:
    if not isinstance(transform, str) or transform not in TRANSFORMS:
        raise ValueError(f"{what}: transform must be one of {TRANSFORMS}, got {transform!r}")
    return transform


def _images(x: Any, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 4 or arr.shape[2] != arr.shape[3]:
        raise ValueError(f"{what}: images must be (n, C, H, H) (square, for the rotation), got {arr.shape}")
    return arr


def domain_transform(x: Any, transform: str) -> np.ndarray:
    """Domain B's appearance of images ``x`` in [-1, 1].

    "invert" is colour inversion, 1 - x on [0, 1] pixels (-x on the [-1, 1] scale);
    "rotate" is a 90 degree counter-clockwise rotation; "invert+rotate" both.

    Parameters
    ----------
    x : ndarray (n, C, H, H), values in [-1, 1]
    transform : {"invert", "rotate", "invert+rotate"}

    Examples
    --------
    >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    >>> gl.datasets.domain_transform(x, "rotate")[0, 0]
    array([[1., 3.],
           [0., 2.]], dtype=float32)
    """
    what = "domain_transform"
    transform = _check(transform, what)
    out = _images(x, what)
    if "invert" in transform:
        out = -out
    if "rotate" in transform:
        out = np.rot90(out, k=1, axes=(2, 3))
    return np.ascontiguousarray(out, np.float32)


def domain_untransform(x: Any, transform: str) -> np.ndarray:
    """The inverse of :func:`domain_transform`: domain A's appearance of B images.

    Examples
    --------
    >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 1, 4, 4)).astype(np.float32)
    >>> bool(np.array_equal(gl.datasets.domain_untransform(gl.datasets.domain_transform(x, "invert+rotate"),
    ...                                                   "invert+rotate"), x))
    True
    """
    what = "domain_untransform"
    transform = _check(transform, what)
    out = _images(x, what)
    if "rotate" in transform:
        out = np.rot90(out, k=-1, axes=(2, 3))
    if "invert" in transform:
        out = -out
    return np.ascontiguousarray(out, np.float32)


def mnist_domains(transform: str = "invert", seed: int = 0, split: str = "train", limit: Optional[int] = None,
                  root: Optional[PathLike] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST split into two disjoint halves: A as is, B transformed; images in [-1, 1].

    Parameters
    ----------
    transform : {"invert", "rotate", "invert+rotate"}
        What makes domain B (see :func:`domain_transform`).
    seed : int
        Seeds the shuffle that decides which images go to which half.
    split : {"train", "test"}
        The MNIST split to divide.
    limit : int, optional
        Use only the first ``limit`` images of the split (>= 2) before shuffling.
    root : path, optional
        Where to look for the MNIST files first (see :func:`ganlib.datasets.mnist`).

    Returns
    -------
    XA : float32 (n_a, 1, 28, 28)
    yA : int64 (n_a,)
    XB : float32 (n_b, 1, 28, 28)
        ``domain_transform`` of the other half's images.
    yB : int64 (n_b,)
        Labels of B's source digits; for evaluation only (a transform keeps the digit).

    Examples
    --------
    >>> XA, yA, XB, yB = gl.datasets.mnist_domains("rotate", seed=1, limit=1000)   # doctest: +SKIP
    """
    what = "mnist_domains"
    transform = _check(transform, what)
    seed = check_int(f"{what}: seed", seed, 0)
    x, y = mnist(root=root, split=split, limit=limit)
    if x.shape[0] < 2:
        raise ValueError(f"{what}: need at least 2 images to split, got {x.shape[0]}")
    order = np.random.default_rng(seed).permutation(x.shape[0])
    half = x.shape[0] // 2
    ia, ib = np.sort(order[:half]), np.sort(order[half:])
    return x[ia], y[ia], domain_transform(x[ib], transform), y[ib]
