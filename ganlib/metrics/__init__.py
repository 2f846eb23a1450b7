"""Evaluation metrics for generative models (TECHNIQUES.md §F).

* :mod:`.modes`: :func:`mode_coverage` (modes covered, high-quality fraction and
  reverse KL on 2-D Gaussian mixtures, the PacGAN / VEEGAN protocol);
* :mod:`.images`: classifier score, Fréchet and kernel distances, class diversity;
* :mod:`.latent`: :func:`linear_probe`, :func:`clustering_accuracy`,
  :func:`class_radius` and :func:`class_radius_bound`;
* :mod:`.interpolation`: :func:`interpolation_scores` (Mean Distance and Smoothness of
  interpolations on the ACAI lines benchmark);
* :mod:`.translation`: :func:`translation_agreement` and :func:`translation_pixel_error`
  (image-to-image translation between MNIST domains with a known correspondence);
* :mod:`.critic`: :func:`critic_divergence` (D_CNN and the overfitting gap) and
  :class:`IndependentCritic` (a Wasserstein critic that follows a model during training);
* :mod:`.memorisation`: :func:`memorisation_table` (how many memorised training images
  beat a model under each metric).

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
from . import latent
from .latent import class_radius, class_radius_bound, clustering_accuracy, linear_probe
from . import interpolation
from .interpolation import interpolation_scores
from .translation import translation_agreement, translation_pixel_error
from . import critic
from .critic import CriticDivergence, IndependentCritic, critic_divergence, default_critic
from . import memorisation
from .memorisation import (Metric, MemorisationTable, classifier_score_metric, dcnn_metric,
                           default_memorisation_metrics, frechet_metric, memorisation_table)

__all__ = ["modes", "ModeCoverage", "mode_coverage", "batched", "classifier_score", "frechet_distance",
           "kernel_distance", "class_diversity", "renyi_entropy", "default_mnist_classifier", "MnistClassifier",
           "latent", "linear_probe", "clustering_accuracy", "class_radius", "class_radius_bound",
           "interpolation", "interpolation_scores", "translation_agreement", "translation_pixel_error",
           "critic", "critic_divergence", "CriticDivergence", "IndependentCritic", "default_critic",
           "memorisation", "memorisation_table", "MemorisationTable", "Metric", "classifier_score_metric",
           "frechet_metric", "dcnn_metric", "default_memorisation_metrics"]



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
