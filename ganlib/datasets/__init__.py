"""Data sets for ganlib: seeded 2-D toy distributions (see :mod:`ganlib.datasets.toy`).

Examples
--------
>>> from ganlib import datasets
>>> datasets.ring(1000, seed=0).shape
(1000, 2)
"""
from __future__ import annotations

from . import toy
from .toy import (circle_points, gaussian_mixture, grid, grid_centers, ring, ring_centers,
                  swiss_roll)
from .mnist import mnist, load_idx
from .lines import lines
from .domains import TRANSFORMS, domain_transform, domain_untransform, mnist_domains

__all__ = ["toy", "ring", "ring_centers", "grid", "grid_centers", "gaussian_mixture",
           "swiss_roll", "circle_points", "mnist", "load_idx", "lines",
           "mnist_domains", "domain_transform", "domain_untransform", "TRANSFORMS"]
