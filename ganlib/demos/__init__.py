"""Small, deterministic experiments behind the notebooks (TECHNIQUES.md §A, §B, §F).

Each demo is a plain function that returns data (NumPy arrays, dicts, lists of
row dicts) and takes a budget argument (``steps``) so tests can run it small;
plotting is left to the caller (see ``notebooks/01_gan_objectives.ipynb``).

* :func:`gaussian_fit` -- mode covering (maximum likelihood) versus mode seeking
  (reverse KL through an f-GAN) on a 1-D mixture of two Gaussians.
* :func:`bilinear_game` -- ``min_x max_y x·y`` under simultaneous, alternating,
  unrolled and averaged gradient steps.
* :func:`mode_collapse_table` -- modes covered on the ring and grid mixtures for
  every GAN objective, with and without unrolling.
* :func:`memorisation_curve` -- training G on a fixed set of ``n`` latent vectors
  (7 points on a circle as data) and measuring how often *fresh* latents land on
  a training point.

The subpackage is not imported by ``import ganlib``; use
``from ganlib import demos`` (or ``import ganlib.demos``).

Examples
--------
>>> from ganlib import demos
>>> demos.bilinear_game("simultaneous", steps=10).shape
(11, 2)
"""
from __future__ import annotations

from .bilinear import BILINEAR_METHODS, bilinear_game, radius
from .gaussian_fit import GAUSSIAN_FIT_METHODS, gaussian_fit, mixture_density, normal_density, two_gaussians
from .memorisation import memorisation_curve
from .mode_collapse import DATASETS, default_objectives, format_table, mode_collapse_table

__all__ = ["gaussian_fit", "two_gaussians", "mixture_density", "normal_density", "GAUSSIAN_FIT_METHODS",
           "bilinear_game", "radius", "BILINEAR_METHODS",
           "mode_collapse_table", "default_objectives", "format_table", "DATASETS",
           "memorisation_curve"]
