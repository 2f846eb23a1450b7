"""How well an image-to-image translation worked, when the true correspondence is known.

For MNIST domains made by :func:`ganlib.datasets.mnist_domains` (domain B = a known
transform of domain A), a translation can be scored two ways:

* :func:`translation_agreement` -- the fraction of translated images the shipped MNIST
  classifier gives the source digit's label. The classifier was trained on plain MNIST,
  so images in domain B's appearance are mapped back with the known inverse transform
  before classification (``transform=``); images in A's appearance are classified as
  they are.
* :func:`translation_pixel_error` -- the mean absolute difference between the
  translation of an A image and the true transform of that image, in [0, 1] intensity
  units (half the difference on the [-1, 1] scale).

Examples
--------
>>> XA, yA, XB, yB = gl.datasets.mnist_domains("invert", seed=0, split="test")   # doctest: +SKIP
>>> gl.metrics.translation_agreement(cyc.translate(XA, "A->B"), yA, transform="invert")  # doctest: +SKIP
>>> gl.metrics.translation_agreement(cyc.translate(XB, "B->A"), yB)                    # doctest: +SKIP
>>> gl.metrics.translation_pixel_error(cyc.translate(XA, "A->B"), XA, "invert")        # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..datasets.domains import domain_transform, domain_untransform

__all__ = ["translation_agreement", "translation_pixel_error"]


def _images(x: Any, what: str, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 4 or arr.shape[0] == 0:
        raise ValueError(f"{what}: {name} must be a non-empty batch of images (n, C, H, W), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: {name} holds NaN or inf")
    return arr


def translation_agreement(images: Any, labels: Any, transform: Optional[str] = None,
                          classifier: Any = None) -> float:
    """Fraction of ``images`` that the MNIST classifier assigns the source digit's label.

    Parameters
    ----------
    images : ndarray (n, 1, 28, 28) in [-1, 1]
        Translated images.
    labels : ndarray of int (n,)
        The labels of the images they were translated from.
    transform : str, optional
        The images are in domain B's appearance made by this transform (``"invert"``,
        ``"rotate"``, ``"invert+rotate"``): undo it before classifying. None: they look
        like plain MNIST (domain A).
    classifier : optional
        Anything with ``predict(images) -> labels``; default the shipped
        ``gl.metrics.default_mnist_classifier()``.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> acc = gl.metrics.translation_agreement(cyc.translate(XA, "A->B"), yA, transform="invert")  # doctest: +SKIP
    """
    what = "translation_agreement"
    x = _images(images, what, "images")
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu" or y.shape[0] != x.shape[0]:
        raise ValueError(f"{what}: labels must be {x.shape[0]} integers (one per image), got dtype {y.dtype} and "
                         f"shape {y.shape}")
    if transform is not None:
        x = domain_untransform(x, transform)
    if classifier is None:
        from . import default_mnist_classifier
        classifier = default_mnist_classifier()
    return float(np.mean(np.asarray(classifier.predict(x)) == y))


def translation_pixel_error(translated: Any, source: Any, transform: str) -> float:
    """Mean |translated - domain_transform(source)| in [0, 1] intensity units.

    Parameters
    ----------
    translated : ndarray (n, C, H, W) in [-1, 1]
        ``translate(source, "A->B")``.
    source : ndarray (n, C, H, W) in [-1, 1]
        The A images that were translated.
    transform : str
        The transform that made domain B.

    Returns
    -------
    float: 0 for a perfect translation; about 0.5 for unrelated binary-ish images.

    Examples
    --------
    >>> x = np.zeros((2, 1, 4, 4), np.float32)
    >>> gl.metrics.translation_pixel_error(-x + 0.5, x, "invert")
    0.25
    """
    what = "translation_pixel_error"
    t = _images(translated, what, "translated")
    s = _images(source, what, "source")
    truth = domain_transform(s, transform)
    if truth.shape != t.shape:
        raise ValueError(f"{what}: translated {t.shape} and transformed source {truth.shape} differ in shape")
    return float(np.mean(np.abs(t.astype(np.float64) - truth)) / 2.0)
