"""Parameter initialisations, drawn from a seeded NumPy generator.

Each takes the array to fill (in place) and a ``numpy.random.Generator``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["torch_default", "normal", "xavier_uniform", "xavier_normal", "he_modified", "zeros", "INITS", "default_rng", "manual_seed"]

_state = {"rng": np.random.default_rng(0)}


def manual_seed(seed: int) -> None:
    """Seed the generator used by modules created without an explicit ``seed`` (an int >= 0)."""
    from .._checks import check_int
    _state["rng"] = np.random.default_rng(check_int("manual_seed: seed", seed, 0))


def default_rng() -> np.random.Generator:
    return _state["rng"]


def _fans(shape: tuple) -> tuple[int, int]:
    if len(shape) < 2:
        return int(shape[0]), int(shape[0])
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def torch_default(w: np.ndarray, rng: np.random.Generator, fan_in: int | None = None) -> None:
    """PyTorch's Linear/Conv default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    (kaiming_uniform with a=sqrt(5) for weights gives this same bound.)
    """
    fan_in = _fans(w.shape)[0] if fan_in is None else fan_in
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    w[...] = rng.uniform(-bound, bound, size=w.shape)


def normal(w: np.ndarray, rng: np.random.Generator, std: float = 0.02, fan_in: int | None = None) -> None:
    """N(0, std^2): the DCGAN initialisation (std 0.02)."""
    w[...] = rng.normal(0.0, std, size=w.shape)


def xavier_uniform(w: np.ndarray, rng: np.random.Generator, fan_in: int | None = None) -> None:
    """Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    fi, fo = _fans(w.shape)
    a = math.sqrt(6.0 / (fi + fo))
    w[...] = rng.uniform(-a, a, size=w.shape)


def xavier_normal(w: np.ndarray, rng: np.random.Generator, fan_in: int | None = None) -> None:
    """Glorot normal: N(0, 2 / (fan_in + fan_out))."""
    fi, fo = _fans(w.shape)
    w[...] = rng.normal(0.0, math.sqrt(2.0 / (fi + fo)), size=w.shape)


def he_modified(w: np.ndarray, rng: np.random.Generator, fan_in: int | None = None) -> None:
    """N(0, 1 / ((1 + 0.2²) fan_in)): the ACAI reference's ``HeModifiedNormalInitializer(0.2)``
    (brain-research/acai ``lib/layers.py``), half Kaiming-normal's variance for LeakyReLU(0.2).
    Its deep all-convolutional autoencoders stay at the mean image for 1,000+ steps from
    PyTorch's default (a third of this variance) and leave it within a few hundred from this."""
    fan_in = _fans(w.shape)[0] if fan_in is None else fan_in
    w[...] = rng.normal(0.0, 1.0 / math.sqrt(1.04 * fan_in) if fan_in > 0 else 0.0, size=w.shape)


def zeros(w: np.ndarray, rng: np.random.Generator, fan_in: int | None = None) -> None:
    w[...] = 0.0


INITS = {"torch": torch_default, "default": torch_default, "normal": normal,
         "xavier": xavier_uniform, "xavier_uniform": xavier_uniform, "xavier_normal": xavier_normal,
         "he_modified": he_modified}
