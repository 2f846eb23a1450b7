"""Build notebooks/01_gan_objectives.ipynb (and optionally execute it).

The notebook is generated from this script so that it is reproducible:

    python notebooks/make_01_gan_objectives.py             # write the notebook, no outputs
    python notebooks/make_01_gan_objectives.py --execute   # write it and run it in place (full budgets)
    GANLIB_SMOKE=1 python notebooks/make_01_gan_objectives.py --execute   # tiny budgets

Executing needs ``nbformat``, ``nbclient``, ``ipykernel`` and ``matplotlib`` and an
importable ``ganlib`` (built in place or installed; the repository root is put
on the kernel's PYTHONPATH).
"""
from __future__ import annotations

import os

from nbbuild import main  # the shared builder beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PATH = os.path.join(HERE, "01_gan_objectives.ipynb")

CELLS: list[tuple[str, str]] = [
    ("code", '''import os
SMOKE = os.environ.get("GANLIB_SMOKE") == "1"   # GANLIB_SMOKE=1 shrinks every budget (CI runs it that way)'''),
    ("md", '''# GAN objectives: divergences, games, mode collapse and memorisation

This notebook reproduces four small experiments from the lectures with `ganlib`
(the functions live in `ganlib.demos`, so they are tested and reusable):

1. **Mode covering vs mode seeking** -- maximum likelihood (forward KL) versus a GAN
   that minimises the reverse KL, fitting one Gaussian to a mixture of two.
2. **The bilinear game** `min_x max_y x·y` -- simultaneous, alternating, unrolled and
   averaged gradient steps.
3. **Mode collapse** -- modes covered on the ring and grid mixtures for every GAN
   objective in `gl.losses`, with and without unrolling.
4. **Memorisation** -- a generator trained on a fixed set of `n` latent vectors.

With `SMOKE` set, every training budget is tiny: the cells run in seconds and the
numbers are meaningless.'''),
    ("code", '''import time
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import ganlib as gl
from ganlib import demos

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "font.size": 9})
T_START = time.perf_counter()
B = dict(
    gauss_steps=200 if SMOKE else 3000,
    mc_steps=30 if SMOKE else 4000,
    mc_objectives=["nonsaturating", "wgan-gp"] if SMOKE else demos.default_objectives(),
    mc_unrolled=["nonsaturating"] if SMOKE else ["minimax", "nonsaturating", "wgan-gp", "fgan-reverse-kl"],
    mem_steps=50 if SMOKE else 4000,
    mem_ns=(1, 16) if SMOKE else (1, 2, 4, 8, 16, 64, 256, 1024),
    seeds=(0,) if SMOKE else (0, 1, 2, 3, 4),
)
print("SMOKE" if SMOKE else "full budgets", B["gauss_steps"], B["mc_steps"], B["mem_steps"])
gl.show_config()'''),
    ("md", '''## 1. Maximum likelihood covers modes, reverse KL seeks one

Data: `½ N(−2, 0.5²) + ½ N(2, 0.5²)`; model: a single Gaussian `q = N(μ, σ²)`.

* **Maximum likelihood** minimises `KL(p ‖ q)`: a sample of `p` with low `q`-density costs
  `−log q → ∞`, so `q` stretches to cover both modes -- its mean sits between them, where
  the data have almost no mass. (Closed form: the mean and std of the data.)
* **Reverse KL** `KL(q ‖ p) = −H(q) − E_q log p` only asks that *samples of q* be likely
  under `p`: `q` picks one mode and fits it well. We cannot evaluate `p`, but a GAN with the
  f-GAN reverse-KL objective (`loss="fgan-reverse-kl"`; the lecture's
  `V = −exp(f(x)) + 1 + f(x̂)` written differently) minimises it from samples. The generator is
  `gl.nn.Linear(1, 1)` on `z ~ N(0, 1)`, so `q = N(bias, weight²)` exactly.'''),
    ("code", '''mle = demos.gaussian_fit("mle", seed=0)
rkl = demos.gaussian_fit("reverse_kl", steps=B["gauss_steps"], seed=0)
for r in (mle, rkl):
    print(f"{r['method']:>10s}: mean {r['mean']:+.3f}  std {r['std']:.3f}")

# several seeds: the reverse-KL GAN lands on one of the two modes every time
for s in B["seeds"][1:]:
    r = demos.gaussian_fit("reverse_kl", steps=B["gauss_steps"], seed=s)
    print(f"reverse_kl seed {s}: mean {r['mean']:+.3f}  std {r['std']:.3f}")

xs = np.linspace(-5, 5, 600)
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.hist(mle["data"], bins=120, density=True, color="0.8", label="data")
ax.plot(xs, demos.mixture_density(xs), "k--", lw=1, label="true mixture p")
ax.plot(xs, demos.normal_density(xs, mle["mean"], mle["std"]), lw=2,
        label=f"max. likelihood  N({mle['mean']:.2f}, {mle['std']:.2f}²)")
ax.plot(xs, demos.normal_density(xs, rkl["mean"], rkl["std"]), lw=2,
        label=f"reverse-KL GAN  N({rkl['mean']:.2f}, {rkl['std']:.2f}²)")
ax.hist(rkl["samples"], bins=120, density=True, histtype="step", color="C1", alpha=0.6)
ax.set_xlabel("x"); ax.set_ylabel("density"); ax.legend(fontsize=8, loc="upper left")
ax.set_title("mode covering (MLE) vs mode seeking (reverse KL)")
plt.tight_layout(); plt.show()'''),
    ("md", '''## 2. The bilinear game `min_x max_y x·y`

The only equilibrium is `(0, 0)`. With step `η`:

* **simultaneous** `x' = x − ηy, y' = y + ηx`: the update has eigenvalues `1 ± iη`, modulus
  `sqrt(1 + η²) > 1` -- the iterates spiral **outwards**.
* **alternating** (`y` answers the *new* `x`): determinant 1, the iterates **orbit** on a
  closed ellipse (`x² + y² − ηxy` is conserved) -- bounded but never converging.
* **unrolled**: `x` steps against `y` advanced `k` steps, `y_k(x) = y + kηx`; differentiating
  through the look-ahead gives the gradient `y + 2kηx`, determinant `1 − (2k − 1)η² < 1` -- the
  iterates spiral **inwards** to the equilibrium.
* **averaged**: the running mean of the simultaneous iterates; the rotation averages out and the
  mean approaches 0 (for horizons up to a few `1/η²` steps -- beyond that the exponentially growing
  iterates win and the average drifts out again; averaging *bounded* iterates always works).'''),
    ("code", '''steps, lr = 200, 0.1
trajs = {m: demos.bilinear_game(m, steps=steps, lr=lr, unroll=5) for m in demos.BILINEAR_METHODS}
fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
for m, t in trajs.items():
    a1.plot(t[:, 0], t[:, 1], lw=1.2, label=m)
    r = demos.radius(t)
    a2.plot(r, label=m)
    print(f"{m:>12s}: radius {r[0]:.3f} -> {r[-1]:.3f} (max {r.max():.3f})")
a1.plot([1], [1], "ko"); a1.plot([0], [0], "k*", ms=10)
a1.set_xlabel("x (min player)"); a1.set_ylabel("y (max player)"); a1.set_aspect("equal")
a1.set_title(f"trajectories, η = {lr}, {steps} steps"); a1.legend(fontsize=8)
a2.set_yscale("log"); a2.set_xlabel("step"); a2.set_ylabel("distance to (0, 0)"); a2.legend(fontsize=8)
plt.tight_layout(); plt.show()'''),
    ("md", '''## 3. Mode collapse across objectives

Every objective name in `gl.losses` (aliases excluded) trains the same `G = mlp(2, [128, 128], 2)`
(latent `N(0, I₂)`) against `D = mlp(2, [128, 128], 1)` with Adam(1e-3, β = (0.5, 0.999)),
batch 128, one D step per G step, each objective's own defaults (clipping 0.01 for
`wasserstein`, λ = 10 penalties for `wgan-gp`, `dragan`, `ns-gp`). Scoring (PacGAN/VEEGAN
protocol, `gl.metrics.mode_coverage`) on 2,500 samples: **ring** = 8 modes at radius 1, std 0.01;
**grid** = 5 × 5 modes at `{−4, …, 4}²`, std 0.05. A sample is *high quality* within 3 std of its
nearest mode; a mode is *covered* with ≥ 1 high-quality sample; reverse KL of the mode histogram
(0 is perfect, log 8 = 2.08 / log 25 = 3.22 is a single mode).

The unrolled GAN (`unroll=5`: G's loss against D advanced 5 SGD steps, differentiated through)
costs ~8× per step on this machine, so it is run for a subset of objectives only.
One seed per cell, a fixed budget: treat single cells as noisy. Caveats worth knowing when reading
the table: every objective gets the *same* single critic step per generator step, which handicaps
the Wasserstein-type critics (usually trained with `d_steps=5`); `fgan-js` and `fgan-gan` give
exactly the `nonsaturating` gradients (their losses differ by constants), so their cells are
identical, while `scoring-bernoulli` is `nonsaturating` with D's loss halved -- Adam is almost
scale-invariant, yet the tiny difference grows into a different run (a measure of the seed noise);
`fgan-reverse-kl`'s generator loss `E_q exp(−V)` overflows float32 once the critic is confident
(`V ≈ −67` on fakes), so `GAN.fit` stops with a `FloatingPointError` and the row (†) is scored with the
last finite parameters.'''),
    ("code", '''t0 = time.perf_counter()
rows = demos.mode_collapse_table(B["mc_objectives"], datasets=("ring", "grid"), unroll=(0,),
                                 steps=B["mc_steps"], return_samples=True)
rows += demos.mode_collapse_table(B["mc_unrolled"], datasets=("ring", "grid"), unroll=(5,),
                                  steps=B["mc_steps"], return_samples=True)
print(f"{len(rows)} runs, {B['mc_steps']} steps each, {time.perf_counter() - t0:.0f} s")
display(Markdown("Cells: modes covered · high-quality % · reverse KL (nats); † = training stopped on "
                 "a NaN/inf\\n\\n" + demos.format_table(rows)))
for r in rows:
    if r["status"] != "ok":
        print(f"† {r['objective']} / {r['dataset']} / unroll {r['unroll']}: {r['status']}")
print(f"training time: {sum(r['seconds'] for r in rows if r['unroll'] == 0):.0f} s without unrolling, "
      f"{sum(r['seconds'] for r in rows if r['unroll'] > 0):.0f} s unrolled")'''),
    ("code", '''def show(rows, objectives, unroll):
    pick = [r for o in objectives for d in ("ring", "grid") for r in rows
            if r["objective"] == o and r["dataset"] == d and r["unroll"] == unroll]
    if not pick:
        return
    ncol = len(pick) // 2
    fig, axes = plt.subplots(2, ncol, figsize=(2.3 * ncol, 4.6), squeeze=False)
    for j, o in enumerate(objectives[:ncol]):
        for i, d in enumerate(("ring", "grid")):
            ax = axes[i, j]
            r = next((r for r in pick if r["objective"] == o and r["dataset"] == d), None)
            if r is None:
                ax.axis("off"); continue
            c = gl.datasets.ring_centers(8, 1.0) if d == "ring" else gl.datasets.grid_centers()
            ax.scatter(c[:, 0], c[:, 1], s=25, c="r", marker="x", lw=1)
            ax.scatter(r["samples"][:, 0], r["samples"][:, 1], s=1, alpha=0.3)
            lim = 1.6 if d == "ring" else 5.5
            ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim); ax.set_aspect("equal")
            ax.set_xticks([]); ax.set_yticks([])
            ax.set_title(f"{o}\\n{d}: {r['modes']}/{r['num_modes']}, HQ {100 * r['high_quality']:.0f}%",
                         fontsize=7)
    fig.suptitle(f"2,500 samples, unroll = {unroll}", fontsize=9)
    plt.tight_layout(); plt.show()

few = [o for o in ["minimax", "nonsaturating", "least_squares", "hinge", "wasserstein", "wgan-gp",
                   "fgan-reverse-kl"] if o in B["mc_objectives"]]
show(rows, few, 0)
show(rows, B["mc_unrolled"], 5)'''),
    ("md", '''## 4. Memorisation with a fixed set of latent vectors

Data: the 7 points of `gl.datasets.circle_points(7)`. Before training we draw `n` latent vectors
`Z ~ N(0, I₂)` once; every minibatch draws its latents from that fixed set
(`latent=gl.latent.fixed(Z)`). We then look at **fresh** samples: `G` applied (`GAN.generate`) to
2,000 *new* draws `z ~ N(0, I₂)`, not the training latents, and count the fraction that lands within
0.1 of a training point (the points are 0.87 apart).

The lecture's claim (Nagarajan, Raffel & Goodfellow; a worst-case bound,
`Pr[x ∈ train] ≈ Ω(1 − 1/n)`): as `n` grows, whole regions of latent space get mapped onto training
points, so the fraction of fresh samples that *are* training points **grows towards 1**. With very
few latents `G` reproduces the training latents' images but is free elsewhere, so fresh samples
mostly land off the data.'''),
    ("code", '''mem = {s: demos.memorisation_curve(ns=B["mem_ns"], steps=B["mem_steps"], seed=s,
                                   return_samples=(s == 0)) for s in B["seeds"][:3]}
fr = np.array([[r["fraction"] for r in rows_s] for rows_s in mem.values()])
print("   n " + " ".join(f"{n:>6d}" for n in B["mem_ns"]))
for s, f in zip(mem, fr):
    print(f"seed {s} " + " ".join(f"{v:6.3f}" for v in f))
fig, axes = plt.subplots(1, 4, figsize=(11, 2.9), gridspec_kw={"width_ratios": [1.6, 1, 1, 1]})
ax = axes[0]
for s, f in zip(mem, fr):
    ax.plot(B["mem_ns"], f, "o-", alpha=0.5, lw=1, label=f"seed {s}")
ax.plot(B["mem_ns"], fr.mean(0), "k-", lw=2, label="mean")
ax.set_xscale("log"); ax.set_ylim(0, 1); ax.set_xlabel("n (fixed latent vectors)")
ax.set_ylabel("fresh samples on a training point"); ax.legend(fontsize=7)
circle = gl.datasets.circle_points(7)
shown = [B["mem_ns"][0], B["mem_ns"][len(B["mem_ns"]) // 2], B["mem_ns"][-1]]
for ax, n in zip(axes[1:], shown):
    r = next(r for r in mem[B["seeds"][0]] if r["n"] == n)
    ax.scatter(r["train_samples"][:, 0], r["train_samples"][:, 1], s=10, c="C1", label="G(training z)")
    ax.scatter(r["samples"][:, 0], r["samples"][:, 1], s=2, alpha=0.3, c="C0", label="G(fresh z)")
    ax.scatter(circle[:, 0], circle[:, 1], s=40, c="r", marker="x", label="data")
    ax.set_xlim(-2, 2); ax.set_ylim(-2, 2); ax.set_aspect("equal"); ax.set_xticks([]); ax.set_yticks([])
    ax.set_title(f"n = {n}: {100 * r['fraction']:.0f}% on data", fontsize=8)
axes[1].legend(fontsize=6, loc="lower left")
plt.tight_layout(); plt.show()
print(f"notebook total {time.perf_counter() - T_START:.0f} s")'''),
]


if __name__ == "__main__":
    raise SystemExit(main(CELLS, PATH, __doc__))
