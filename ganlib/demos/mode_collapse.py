"""Mode collapse across GAN objectives, with and without unrolling (TECHNIQUES.md §A, §B, §F).

For every (objective, data set, unroll) combination a fresh ``gl.GAN`` is
trained with the same architecture, optimiser and budget:

* ``G = mlp(2, [128, 128], 2)`` on ``z ~ N(0, I_2)``, ``D = mlp(2, [128, 128], 1)``
  (ReLU), Adam(lr, β = (0.5, 0.999)) for both, one D step per G step,
  alternating updates, each objective's own defaults (weight clipping 0.01
  for ``"wasserstein"``, λ = 10 gradient penalties for ``"wgan-gp"``,
  ``"dragan"``, ``"ns-gp"``);
* ``unroll=k``: G's loss is taken against D advanced ``k`` SGD steps
  (differentiating through them), the unrolled GAN.

It is then scored on 2,500 samples with :func:`ganlib.metrics.mode_coverage`
(PacGAN / VEEGAN protocol: a sample is high quality if it lies within 3 std of
its nearest mode; a mode is covered if it receives at least one high-quality
sample; reverse KL of the mode histogram):

* ``"ring"``: 8 modes on a circle of radius 1, std 0.01 (the primary setting of
  §F; ``ring_radius=2, ring_std=0.02`` gives the alternative one);
* ``"grid"``: 5 × 5 modes at ``{−4, −2, 0, 2, 4}²``, std 0.05.

The default objective list is every canonical name of
:func:`ganlib.losses.objective_names` (aliases excluded), i.e. ``minimax``,
``nonsaturating``, ``least_squares``, ``brier``, ``hinge``, ``wasserstein``,
``wgan-gp``, ``dragan``, ``ns-gp``, the five ``scoring-*`` rules and the six
``fgan-*`` divergences.  ``"mmd"`` (no discriminator) can be added explicitly;
its unrolled rows are reported as not applicable.

Examples
--------
>>> rows = mode_collapse_table(["nonsaturating"], datasets=("ring",), unroll=(0,), steps=50)
>>> sorted(rows[0])[:4]
['dataset', 'high_quality', 'modes', 'num_modes']
"""
from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

__all__ = ["mode_collapse_table", "default_objectives", "format_table", "DATASETS", "ROW_KEYS"]

DATASETS = ("ring", "grid")
ROW_KEYS = ("objective", "dataset", "unroll", "modes", "num_modes", "high_quality", "reverse_kl", "seconds",
            "status")


def default_objectives() -> List[str]:
    """Every canonical objective name of ``gl.losses`` (no aliases), in the library's order.

    Examples
    --------
    >>> "fgan-reverse-kl" in default_objectives()
    True
    """
    from ..losses import objective_names
    return list(objective_names())


def _dataset(name: str, n: int, seed: int, ring_radius: float, ring_std: float) -> tuple:
    from ..datasets import grid, grid_centers, ring, ring_centers
    if name == "ring":
        return ring(n, radius=ring_radius, std=ring_std, seed=seed), ring_centers(8, ring_radius), ring_std
    if name == "grid":
        return grid(n, seed=seed), grid_centers(), 0.05
    raise ValueError(f"mode_collapse_table: unknown data set {name!r}; choose from {DATASETS}")


def mode_collapse_table(objectives: Optional[Sequence[str]] = None, datasets: Sequence[str] = DATASETS,
                        unroll: Sequence[int] = (0, 5), steps: int = 4000, batch_size: int = 128,
                        seed: int = 0, lr: float = 1e-3, num_samples: int = 2500, n_data: int = 20_000,
                        ring_radius: float = 1.0, ring_std: float = 0.01, return_samples: bool = False,
                        verbose: bool = False) -> List[Dict[str, Any]]:
    """Train one GAN per (objective, data set, unroll) and score its mode coverage.

    Parameters
    ----------
    objectives : sequence of str, optional
        Objective names; default :func:`default_objectives` (all 20 canonical names).
    datasets : sequence of {"ring", "grid"}
    unroll : sequence of int
        Unrolling depths; 0 is the plain (alternating) GAN.
    steps : int
        Generator steps per run.
    batch_size : int
    seed : int
        Seeds the data, the initialisation (identical for every objective) and training.
    lr : float
        Adam learning rate of both players; also the SGD step of the unrolled D.
    num_samples : int
        Samples scored by ``mode_coverage`` (2,500 in the protocol).
    n_data : int
        Size of the training set drawn from the mixture.
    ring_radius, ring_std : float
        Ring geometry (1 / 0.01 by default; 2 / 0.02 is the alternative).
    return_samples : bool
        Add each run's ``samples`` ((num_samples, 2) array) to its row.
    verbose : bool
        Print each row as it is finished.

    Returns
    -------
    list of dict
        One row per run with :data:`ROW_KEYS`: ``objective``, ``dataset``,
        ``unroll``, ``modes`` (covered), ``num_modes``, ``high_quality``
        (fraction), ``reverse_kl`` (nats), ``seconds`` (training wall time) and
        ``status`` (``"ok"``; ``"diverged (<message>)"`` when ``GAN.fit`` stopped on a
        NaN/inf, e.g. ``"diverged (step 1201: G gradient norm is inf)"``, scored with the
        last finite parameters; ``"n/a"`` for
        combinations the library rejects, e.g. unrolling ``"mmd"``, with NaN metrics).

    Examples
    --------
    >>> rows = mode_collapse_table(["hinge", "wgan-gp"], datasets=("grid",), unroll=(0,), steps=20)
    >>> [(r["objective"], r["num_modes"]) for r in rows]
    [('hinge', 25), ('wgan-gp', 25)]
    """
    from ..gan import GAN
    from ..latent import normal
    from ..metrics import mode_coverage
    from ..nn import mlp
    from ..optim import Adam

    objectives = default_objectives() if objectives is None else list(objectives)
    for name in datasets:
        if name not in DATASETS:
            raise ValueError(f"mode_collapse_table: unknown data set {name!r}; choose from {DATASETS}")
    rows: List[Dict[str, Any]] = []
    for ds in datasets:
        X, centers, std = _dataset(ds, n_data, seed, ring_radius, ring_std)
        for k in unroll:
            for obj in objectives:
                row: Dict[str, Any] = {"objective": obj, "dataset": ds, "unroll": int(k),
                                       "num_modes": int(centers.shape[0])}
                G = mlp(2, [128, 128], 2, seed=seed)
                is_mmd = obj.strip().lower() == "mmd"
                D = None if is_mmd else mlp(2, [128, 128], 1, seed=seed + 1)
                try:
                    gan = GAN(G, D, latent=normal(2), loss=obj, unroll=int(k), seed=seed,
                              g_opt=Adam(lr, betas=(0.5, 0.999)),
                              d_opt=None if is_mmd else Adam(lr, betas=(0.5, 0.999)))
                except ValueError as e:
                    row.update(modes=0, high_quality=math.nan, reverse_kl=math.nan, seconds=0.0,
                               status=f"n/a ({e})")
                    rows.append(row)
                    if verbose:
                        print(f"{obj:>20s} {ds:>5s} unroll={k}: n/a", flush=True)
                    continue
                t0 = time.perf_counter()
                status = "ok"
                try:
                    gan.fit(X, steps=int(steps), batch_size=int(batch_size), log_every=max(1, int(steps)),
                            progress=False)
                except FloatingPointError as e:
                    status = f"diverged ({e})"
                seconds = time.perf_counter() - t0
                S = gan.sample(int(num_samples))
                if not np.isfinite(S).all():
                    row.update(modes=0, high_quality=0.0, reverse_kl=math.log(centers.shape[0]),
                               seconds=seconds, status=status + " (non-finite samples)")
                else:
                    r = mode_coverage(S, centers, std)
                    row.update(modes=int(r.modes), high_quality=float(r.high_quality),
                               reverse_kl=float(r.reverse_kl), seconds=seconds, status=status)
                if return_samples:
                    row["samples"] = S
                rows.append(row)
                if verbose:
                    print(f"{obj:>20s} {ds:>5s} unroll={k}: modes {row['modes']}/{row['num_modes']}, "
                          f"high quality {row['high_quality']:.3f}, reverse KL {row['reverse_kl']:.3f}, "
                          f"{seconds:.1f} s{'' if status == 'ok' else ', ' + status}", flush=True)
    return rows


def format_table(rows: Sequence[Dict[str, Any]], wide: bool = True) -> str:
    """A Markdown table of :func:`mode_collapse_table` rows.

    Parameters
    ----------
    rows : sequence of dict
    wide : bool
        True: one line per objective, one column group per (data set, unroll)
        showing ``modes/K, HQ%, rKL``.  False: one line per row.

    Returns
    -------
    str

    Examples
    --------
    >>> rows = [{"objective": "hinge", "dataset": "ring", "unroll": 0, "modes": 8, "num_modes": 8,
    ...          "high_quality": 0.9, "reverse_kl": 0.01, "seconds": 1.0, "status": "ok"}]
    >>> print(format_table(rows))
    | objective | ring, unroll 0 |
    |---|---|
    | hinge | 8/8 · 90.0% · 0.01 |
    """
    def cell(r: Dict[str, Any]) -> str:
        if str(r.get("status", "ok")).startswith("n/a"):
            return "n/a"
        hq, kl = r["high_quality"], r["reverse_kl"]
        s = f"{r['modes']}/{r['num_modes']} · {100 * hq:.1f}% · {kl:.2f}"
        return s + (" †" if r.get("status", "ok") != "ok" else "")

    if not wide:
        lines = ["| objective | data | unroll | modes | high quality | reverse KL | seconds | status |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['objective']} | {r['dataset']} | {r['unroll']} | {r['modes']}/{r['num_modes']} | "
                         f"{100 * r['high_quality']:.1f}% | {r['reverse_kl']:.2f} | {r['seconds']:.1f} | "
                         f"{r.get('status', 'ok')} |")
        return "\n".join(lines)
    groups: List[tuple] = []
    objs: List[str] = []
    for r in rows:
        g = (r["dataset"], r["unroll"])
        if g not in groups:
            groups.append(g)
        if r["objective"] not in objs:
            objs.append(r["objective"])
    table = {(r["objective"], r["dataset"], r["unroll"]): r for r in rows}
    lines = ["| objective | " + " | ".join(f"{d}, unroll {k}" for d, k in groups) + " |",
             "|---|" + "---|" * len(groups)]
    for o in objs:
        cells = [cell(table[(o, d, k)]) if (o, d, k) in table else "" for d, k in groups]
        lines.append(f"| {o} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
