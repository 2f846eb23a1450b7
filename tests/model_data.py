"""Small image data shared by the model tests: blob images in [0, 1] and random labels."""
from __future__ import annotations

import numpy as np

SHAPE = (1, 8, 8)


def images(n: int = 256, seed: int = 0) -> np.ndarray:
    """Small blob images in [0, 1]: a bright 3 x 3 square at a random place, plus a little noise."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, *SHAPE), np.float32)
    for i in range(n):
        r, c = rng.integers(0, 5, size=2)
        x[i, 0, r:r + 3, c:c + 3] = 1.0
    return np.clip(x + 0.05 * rng.random(x.shape, dtype=np.float32), 0, 1)


def labels(n: int = 256, k: int = 4, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, size=n)
