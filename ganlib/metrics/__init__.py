"""Evaluation metrics for generative models (TECHNIQUES.md §F).

Currently: :func:`mode_coverage` (modes covered, high-quality fraction and
reverse KL on 2-D Gaussian mixtures, the PacGAN / VEEGAN protocol).

Examples
--------
>>> from ganlib import datasets, metrics
>>> r = metrics.mode_coverage(datasets.grid(2500, seed=0), datasets.grid_centers(), std=0.05)
>>> r.modes, r.num_modes
(25, 25)
"""
from __future__ import annotations

from . import modes
from .modes import ModeCoverage, mode_coverage
from .images import (batched, class_diversity, classifier_score, frechet_distance, kernel_distance,
                     renyi_entropy)

__all__ = ["modes", "ModeCoverage", "mode_coverage", "batched", "classifier_score", "frechet_distance",
           "kernel_distance", "class_diversity", "renyi_entropy", "default_mnist_classifier", "MnistClassifier"]



def default_mnist_classifier():
    """The shipped MNIST classifier (:func:`ganlib.classifier.default_mnist_classifier`).

    Imported on first use, which avoids an import cycle with ``ganlib.classifier``.
    """
    from ..classifier import default_mnist_classifier as factory
    return factory()


def __getattr__(name: str):
    """Lazy ``MnistClassifier`` (from ``ganlib.classifier``)."""
    if name == "MnistClassifier":
        from ..classifier import MnistClassifier
        return MnistClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
