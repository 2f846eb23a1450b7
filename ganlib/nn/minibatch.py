"""Minibatch discrimination (Salimans et al. 2016, "Improved techniques for training GANs", §3.2).

A discriminator layer that lets D look at a whole batch: each sample gets B features
measuring how close it is to the other samples of its batch, so a generator that
collapses onto a few points is easy to spot.

The pairwise L1 distances are composed from traced ops (broadcast subtraction, abs,
sum, exp): the (N, N, B, C) difference tensor is an intermediate of the program,
allocated once per program like every other intermediate, not per step. At the paper's
sizes (N = 100, B = 100, C = 5, A = 256) a forward and backward program's arena is
64 MB, and it grows as N²: a fused kernel that never stores the differences would
keep it O(N² B) (not written yet; on one thread the composed layer ran its forward
and backward in 53 ms against 67 ms for the same PyTorch code).
"""
from __future__ import annotations

from .. import ops
from .._checks import check_int, check_real
from . import init as _init
from .layers import _rng, register_spec
from .module import Module

__all__ = ["MinibatchDiscrimination"]


class MinibatchDiscrimination(Module):
    """Append B minibatch features to each row: (N, A) -> (N, A + B).

    With M = f(x) T reshaped to (N, B, C) (T is a learned tensor of shape (A, B, C)),
    ``c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1)`` and
    ``o(x_i)_b = sum_{j != i} c_b(x_i, x_j)``; the output is ``concat(f(x), o(x))``.

    Parameters
    ----------
    in_features : int
        A, the width of the features f(x) this layer takes.
    B : int
        Number of minibatch kernels (features appended).
    C : int
        Dimension of each kernel's projection.
    std : float
        Standard deviation of T's normal initialisation (0.05 as in the authors' code).
    seed : int, optional
        Seed of the initialisation (else the generator set by ``gl.manual_seed``).

    Notes
    -----
    The features of a row depend on the other rows of its batch: D judges real and
    generated batches separately, as in the paper. A batch of one row gets zeros.

    Examples
    --------
    >>> mbd = gl.nn.MinibatchDiscrimination(8, B=16, C=4, seed=0)
    >>> mbd(np.zeros((5, 8), np.float32)).shape
    (5, 24)
    >>> D = gl.nn.Sequential(gl.nn.Linear(2, 8), gl.nn.LeakyReLU(),
    ...                      gl.nn.MinibatchDiscrimination(8, 16, 4), gl.nn.Linear(24, 1))
    """

    def _couples_rows(self) -> bool:
        return True                # o(x_i) sums over the other rows of the batch

    def __init__(self, in_features: int, B: int, C: int, std: float = 0.05, seed: int | None = None) -> None:
        super().__init__()
        what = "MinibatchDiscrimination"
        self.in_features = check_int(f"{what}: in_features", in_features, 1)
        self.B = check_int(f"{what}: B", B, 1)
        self.C = check_int(f"{what}: C", C, 1)
        self.std = check_real(f"{what}: std", std, positive=True)
        rng = _rng(seed, f"{what}: seed")
        # stored as (A, B*C): one matmul gives M for every kernel at once
        self.add_param("T", (self.in_features, self.B * self.C), _init.normal, rng, std=self.std)

    @property
    def out_features(self) -> int:
        return self.in_features + self.B

    def spec(self) -> dict:
        return {"type": "MinibatchDiscrimination", "in": self.in_features, "B": self.B, "C": self.C,
                "std": self.std}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MinibatchDiscrimination({self.in_features}, {self.B}, {self.C}): expected input of "
                             f"shape (batch, {self.in_features}), got {x.shape} (flatten image features first)")
        n, b, c = x.shape[0], self.B, self.C
        m = ops.matmul(x, self.p("T"))
        diff = ops.reshape(m, (n, 1, b, c)) - ops.reshape(m, (1, n, b, c))   # (N, N, B, C)
        close = ops.exp(-ops.sum(ops.abs(diff), axis=3))                    # (N, N, B)
        # the sum over all j includes j = i, whose term is exp(0) = 1 exactly
        o = ops.sum(close, axis=1) - 1.0
        return ops.concat([x, o], axis=1)

    def __repr__(self) -> str:
        return f"MinibatchDiscrimination({self.in_features}, B={self.B}, C={self.C})"


register_spec("MinibatchDiscrimination",
              lambda d: MinibatchDiscrimination(d["in"], d["B"], d["C"], std=d.get("std", 0.05), seed=0))
