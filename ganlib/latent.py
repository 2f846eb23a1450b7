"""Latent distributions, sampled in C inside the compiled training step.

A latent is a small object whose ``sample(batch)`` appends random nodes to the
graph being traced, so drawing z costs no Python per step.

Examples
--------
>>> gan = gl.GAN(G, D, latent=gl.latent.normal(2))
>>> z = gl.latent.custom(lambda b: gl.ops.tanh(gl.ops.randn((b, 4))), dim=4)
"""
from __future__ import annotations

from typing import Callable

from . import ops
from ._checks import check_int, check_real

__all__ = ["Latent", "normal", "uniform", "custom", "fixed", "from_spec"]


class Latent:
    """Base class: ``dim`` and ``sample(batch) -> Tensor`` of shape (batch, dim)."""

    dim: int

    def sample(self, batch: int) -> ops.Tensor:
        raise NotImplementedError

    def spec(self) -> dict | None:
        """JSON-able description, or None if it cannot be saved (user samplers)."""
        return None


class _Normal(Latent):
    def __init__(self, dim: int, std: float = 1.0) -> None:
        self.dim, self.std = _dim(dim), check_real("normal latent: std", std, positive=True)

    def sample(self, batch: int) -> ops.Tensor:
        return ops.randn((batch, self.dim), 0.0, self.std)

    def spec(self) -> dict:
        return {"kind": "normal", "dim": self.dim, "std": self.std}

    def __repr__(self) -> str:
        return f"normal({self.dim}, std={self.std})"


class _Uniform(Latent):
    def __init__(self, dim: int, low: float = -1.0, high: float = 1.0) -> None:
        self.dim = _dim(dim)
        self.low, self.high = check_real("uniform latent: low", low), check_real("uniform latent: high", high)
        if not self.low < self.high:
            raise ValueError(f"uniform latent: need low < high, got ({low}, {high})")

    def sample(self, batch: int) -> ops.Tensor:
        return ops.rand((batch, self.dim), self.low, self.high)

    def spec(self) -> dict:
        return {"kind": "uniform", "dim": self.dim, "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        return f"uniform({self.dim}, {self.low}, {self.high})"


class _Custom(Latent):
    def __init__(self, fn: Callable[[int], ops.Tensor], dim: int) -> None:
        if not callable(fn):
            raise TypeError("custom latent: fn must be callable (batch) -> Tensor")
        self.fn, self.dim = fn, _dim(dim)

    def sample(self, batch: int) -> ops.Tensor:
        z = self.fn(batch)
        if not isinstance(z, ops.Tensor) or tuple(z.shape) != (batch, self.dim):
            got = z.shape if isinstance(z, ops.Tensor) else type(z).__name__
            raise ValueError(f"custom latent must return a Tensor of shape ({batch}, {self.dim}), got {got}")
        return z

    def __repr__(self) -> str:
        return f"custom({getattr(self.fn, '__name__', 'fn')}, dim={self.dim})"


class _Fixed(Latent):
    def __init__(self, vectors) -> None:
        import numpy as np
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # beyond float32: inf, refused below
                z = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise TypeError(f"fixed latent: vectors must be a numeric (n, dim) array: {e}") from None
        if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] < 1 or not np.all(np.isfinite(z)):
            raise ValueError(f"fixed latent: need a finite (n, dim) array with n, dim >= 1, got shape {z.shape}")
        self.vectors, self.dim = z.copy(), int(z.shape[1])

    def sample(self, batch: int) -> ops.Tensor:
        onehot = ops.rand_onehot(batch, self.vectors.shape[0])
        return ops.matmul(onehot, ops.constant(self.vectors))

    def spec(self) -> dict:
        return {"kind": "fixed", "vectors": self.vectors.tolist()}

    def __repr__(self) -> str:
        return f"fixed(n={self.vectors.shape[0]}, dim={self.dim})"


def _dim(dim: int) -> int:
    return check_int("latent dimension", dim, 1)


def normal(dim: int, std: float = 1.0) -> Latent:
    """z ~ N(0, std^2 I) of dimension ``dim``."""
    return _Normal(dim, std)


def uniform(dim: int, low: float = -1.0, high: float = 1.0) -> Latent:
    """z ~ U(low, high)^dim."""
    return _Uniform(dim, low, high)


def custom(fn: Callable[[int], ops.Tensor], dim: int) -> Latent:
    """A user sampler: ``fn(batch)`` returns a (batch, dim) Tensor built from
    ``gl.ops.randn`` / ``gl.ops.rand`` and any ops (traced once, run in C)."""
    return _Custom(fn, dim)


def fixed(vectors) -> Latent:
    """z drawn uniformly from the rows of a fixed (n, dim) set (the memorisation study)."""
    return _Fixed(vectors)


def from_spec(spec: dict) -> Latent:
    kinds = {"fixed": lambda s: fixed(s["vectors"]),"normal": lambda s: normal(s["dim"], s.get("std", 1.0)),
             "uniform": lambda s: uniform(s["dim"], s.get("low", -1.0), s.get("high", 1.0))}
    if not isinstance(spec, dict) or spec.get("kind") not in kinds:
        raise ValueError(f"unknown latent spec {spec!r}; pass latent= explicitly")
    return kinds[spec["kind"]](spec)
