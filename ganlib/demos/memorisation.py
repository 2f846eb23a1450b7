"""Memorisation with a fixed set of ``n`` latent vectors (TECHNIQUES.md §F).

The lecture's toy study (Nagarajan, Raffel & Goodfellow, "Theoretical insights
into memorization in GANs"): the data set is 7 points on a circle
(:func:`ganlib.datasets.circle_points`); *before* training, ``n`` latent
vectors ``Z = {z_1, ..., z_n}`` are drawn from ``N(0, I)`` once, and every
generator / discriminator minibatch draws its latents uniformly from that fixed
set (``gl.latent.fixed(Z)``).  After training, the generator is evaluated on
**fresh** latents: 2,000 new draws ``z ~ N(0, I)`` from an independent random
stream, *not* the training set ``Z`` ("the plots show generated samples for
latent vectors sampled at random, not just those used to train the model"),
pushed through ``G`` with ``GAN.generate``.  The score is the fraction of
those samples within ``radius`` of one of the 7 training points.

The lecture's claim (a worst-case bound, ``Pr[x ∈ train] ≈ Ω(1 − 1/n)``) is
that this fraction *grows* towards 1 as ``n`` grows: with few latents the rest
of latent space is free to map anywhere, with many latents whole regions of
latent space are mapped onto training points.  Measured with the defaults
(``steps=4000``, seeds 0-2): ``n = 1-8``: 0.01-0.16; ``n = 16``: 0.13-0.19;
``n = 64``: 0.46-0.48; ``n = 256``: 0.69-0.79; ``n = 1024``: 0.65-0.87.  By contrast
the images of the *training* latents (``train_fraction``) are on the data for
all ``n <= 64`` (>= 0.98 in those runs; 0.67-0.95 for ``n >= 256``): small ``n``
memorises its own latents perfectly, it is the rest of latent space that is
free.  With short training (``steps`` ≲ 1,500) a generator with 1-2 latents
is still being chased between points by D and even ``train_fraction`` is
unreliable.

Examples
--------
>>> rows = memorisation_curve(ns=(1, 64), steps=200)
>>> [r["n"] for r in rows]
[1, 64]
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence

import numpy as np

__all__ = ["memorisation_curve"]


def memorisation_curve(ns: Sequence[int] = (1, 2, 4, 8, 16, 64), steps: int = 4000, seed: int = 0,
                       points: int = 7, radius: float = 0.1, num_fresh: int = 2000, latent_dim: int = 2,
                       batch_size: int = 64, lr: float = 1e-3, loss: str = "nonsaturating",
                       return_samples: bool = False) -> List[Dict[str, Any]]:
    """Fraction of fresh samples that land on a training point, for G trained on ``n`` fixed latents.

    Parameters
    ----------
    ns : sequence of int
        Sizes ``n`` of the fixed latent set, one GAN per value.
    steps : int
        Training steps of each GAN.
    seed : int
        Seeds the fixed latents, the networks, training and the fresh latents.
        For a given seed, the fixed set of size ``n`` is the first ``n`` rows of
        one ``(max(ns), latent_dim)`` draw (the sets are nested), and every ``n``
        uses the same network initialisation and the same fresh latents.
    points : int
        Number of training points on the unit circle (7 in the lecture).
    radius : float
        A sample "lands on" a training point if its distance to the nearest one
        is ``<= radius`` (neighbouring points are ``2 sin(π/7) ≈ 0.87`` apart).
    num_fresh : int
        Number of fresh latents ``z ~ N(0, I)`` used for the score.
    latent_dim : int
        Dimension of the latent space.
    batch_size : int
        Minibatch size; the data array is the 7 points repeated to
        ``max(batch_size, points) * points`` rows so batches are balanced.
    lr : float
        Adam learning rate of both players (β = (0.5, 0.999)).
    loss : str
        GAN objective (any name from ``gl.losses``).
    return_samples : bool
        Also return the fresh samples and G on the training latents per row.

    Returns
    -------
    list of dict
        One row per ``n``: ``n``, ``fraction`` (of fresh samples within
        ``radius`` of a training point), ``train_fraction`` (the same score for
        ``G(Z)`` on the ``n`` training latents themselves), ``points_hit``
        (how many of the training points receive at least one fresh sample) and
        ``seconds``; with ``return_samples`` also ``samples`` (``(num_fresh, 2)``)
        and ``train_samples`` (``(n, 2)``).

    Examples
    --------
    >>> rows = memorisation_curve(ns=(4,), steps=100)
    >>> sorted(rows[0])
    ['fraction', 'n', 'points_hit', 'seconds', 'train_fraction']
    """
    from ..datasets import circle_points
    from ..gan import GAN
    from ..latent import fixed
    from ..nn import mlp
    from ..optim import Adam

    ns = [int(n) for n in ns]
    if not ns or min(ns) < 1:
        raise ValueError(f"memorisation_curve: ns must be a non-empty list of ints >= 1, got {ns!r}")
    if not radius > 0:
        raise ValueError(f"memorisation_curve: radius must be > 0, got {radius!r}")
    targets = circle_points(points).astype(np.float64)
    data = np.tile(circle_points(points), (max(batch_size, points), 1))
    rng = np.random.default_rng([seed, 7])
    Z_all = rng.standard_normal((max(ns), latent_dim)).astype(np.float32)
    fresh = np.random.default_rng([seed, 8]).standard_normal((num_fresh, latent_dim)).astype(np.float32)

    def score(x: np.ndarray) -> tuple[float, np.ndarray]:
        d = np.sqrt(((x.astype(np.float64)[:, None, :] - targets[None]) ** 2).sum(-1))
        near = d.min(1) <= radius
        return float(near.mean()), np.unique(d.argmin(1)[near])

    rows: List[Dict[str, Any]] = []
    for n in ns:
        t0 = time.perf_counter()
        Z = Z_all[:n]
        G = mlp(latent_dim, [128, 128], 2, seed=seed)
        D = mlp(2, [128, 128], 1, seed=seed + 1)
        gan = GAN(G, D, latent=fixed(Z), loss=loss, seed=seed,
                  g_opt=Adam(lr, betas=(0.5, 0.999)), d_opt=Adam(lr, betas=(0.5, 0.999)))
        gan.fit(data, steps=int(steps), batch_size=int(batch_size), log_every=max(1, int(steps)),
                progress=False)
        samples = gan.generate(fresh)
        train_samples = gan.generate(Z)
        frac, hit = score(samples)
        row: Dict[str, Any] = {"n": n, "fraction": frac, "train_fraction": score(train_samples)[0],
                               "points_hit": int(hit.size), "seconds": time.perf_counter() - t0}
        if return_samples:
            row["samples"], row["train_samples"] = samples, train_samples
        rows.append(row)
    return rows
