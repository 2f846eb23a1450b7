"""CycleGAN's image history pool (Shrivastava et al. 2017), traced into the C training loop.

The discriminators see generated images drawn from a pool of earlier fakes, so they do
not forget what the generators produced a while ago. For each new fake, in batch order:
while the pool holds fewer than ``size`` images the fake is stored and returned;
afterwards, with probability 1/2 a uniformly drawn stored image is returned and the fake
takes its place, otherwise the fake itself is returned.

The pool is trainer state (``b.state``): a ``(size, C*H*W)`` buffer and a fill count,
kept by the phase that reads it, saved in checkpoints. Its random draws are the phase's
own seeded RNG, so a resumed fit continues identically.

One difference from the paper's per-image Python loop: the stored images swapped out for
a batch are at consecutive slots ``(r, r+1, ...) mod size`` from one uniform offset r, so
the images of one batch never swap the same slot (each image's slot is still uniform).
With batch size 1, the paper's setting, the two are the same.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops

__all__ = ["history_pool"]


def _eq0(d: ops.Tensor) -> ops.Tensor:
    """1 where an integer-valued d is 0, else 0."""
    return ops.scale(ops.clip(ops.abs(d), 0.0, 1.0), -1.0, 1.0)


def history_pool(b: Any, name: str, fake: ops.Tensor, size: int) -> tuple[ops.Tensor, dict[str, ops.Tensor]]:
    """Pass a batch of fakes through the pool ``name``; return what D sees and the pool's new state.

    Parameters
    ----------
    b : the phase function's batch
        Its ``b.state`` holds the pool between steps.
    name : str
        The pool's state names: ``name`` (the images) and ``name + "_count"``.
    fake : Tensor (B, ...)
        This step's generated images; no gradient flows through the pool.
    size : int
        Images the pool holds (B <= size).

    Returns
    -------
    images : Tensor, the shape of ``fake``
    keep : dict
        Pass it in the phase's ``Step(keep=...)`` so the pool persists.

    Examples
    --------
    >>> def disc(b):                                              # doctest: +SKIP
    ...     seen, keep = history_pool(b, "pool_B", b.kept.fake_B, 50)
    ...     loss = ls.d_loss(DB(b.B.x), DB(seen))
    ...     return gl.Step(minimize={"DB": loss}, keep=keep)
    """
    n = fake.shape[0]
    dim = int(np.prod(fake.shape[1:]))
    if n > size:
        raise ValueError(f"history pool '{name}': a batch of {n} images does not fit a pool of {size}; use a "
                         f"batch size <= {size}")
    x = ops.reshape(ops.stop_gradient(fake), (n, dim))
    pool = b.state(name, (size, dim))
    count = b.state(name + "_count", (1, 1))
    # fill: image i goes to slot count + i while that is < size
    slot_minus_row = np.arange(size, dtype=np.float32)[None, :] - np.arange(n, dtype=np.float32)[:, None]
    fill = _eq0(ops.sub(ops.constant(slot_minus_row), count))                    # (n, size) one-hot or 0
    filled = ops.sum(fill, axis=1, keepdims=True)                                # (n, 1)
    pool = ops.add(_keep_rows(pool, fill), ops.matmul(fill, x, trans_a=True))
    # swap: with probability 1/2 an image not stored by the fill takes a random slot's image
    coin = ops.clip(ops.sign(ops.scale(ops.rand((n, 1)), -1.0, 0.5)), 0.0, 1.0)     # 1 with probability 1/2
    swap = ops.mul(coin, ops.scale(filled, -1.0, 1.0))                           # (n, 1)
    shifts = np.zeros((size, n * size), np.float32)   # one-hot slot r -> rows of slots (r + i) mod size
    for i in range(n):
        shifts[np.arange(size), i * size + (np.arange(size) + i) % size] = 1.0
    slots = ops.reshape(ops.matmul(ops.rand_onehot(1, size), ops.constant(shifts)), (n, size))
    slots = ops.mul(slots, swap)                                                 # (n, size)
    out = ops.add(ops.mul(x, ops.scale(swap, -1.0, 1.0)), ops.matmul(slots, pool))
    pool = ops.add(_keep_rows(pool, slots), ops.matmul(slots, x, trans_a=True))
    new_count = ops.clip(ops.scale(count, 1.0, float(n)), 0.0, float(size))
    return ops.reshape(out, fake.shape), {name: pool, name + "_count": new_count}


def _keep_rows(pool: ops.Tensor, onehot: ops.Tensor) -> ops.Tensor:
    """The pool with the rows that ``onehot`` (rows x slots) writes zeroed."""
    written = ops.sum(onehot, axis=0, keepdims=True)                             # (1, size)
    return ops.mul(pool, ops.reshape(ops.scale(written, -1.0, 1.0), (pool.shape[0], 1)))
