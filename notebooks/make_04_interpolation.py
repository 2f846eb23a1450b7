"""Build notebooks/04_interpolation.ipynb (and optionally execute it).

The notebook is generated from this script so that it is reproducible:

    python notebooks/make_04_interpolation.py             # write the notebook, no outputs
    python notebooks/make_04_interpolation.py --execute   # write it and run it in place (full budget, ~28 min on 2 cores)
    GANLIB_SMOKE=1 python notebooks/make_04_interpolation.py --execute   # tiny budgets (about a minute)

Executing needs ``nbformat``, ``nbclient``, ``ipykernel``, ``matplotlib`` and ``cloudpickle`` (the
trials are defined in the notebook and shipped to ``gl.sweep``'s worker processes by value), an
importable ``ganlib`` and the MNIST IDX files (``$GANLIB_DATA`` or ``../shared/data/mnist``). The full
run writes ``notebooks/results/04_interpolation.json``; the smoke run never does.
"""
from __future__ import annotations

import os

from nbbuild import main  # the shared builder beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "04_interpolation.ipynb")

CELLS: list[tuple[str, str]] = [
    ("code", '''import os
SMOKE = os.environ.get("GANLIB_SMOKE") == "1"   # GANLIB_SMOKE=1 shrinks every budget (CI runs it that way)'''),
    ("md", '''# Interpolation and autoencoder regularisers: ACAI, VQ-VAE, α-GAN and the Lipschitz-encoding VAE

The lecture experiments of `000` (ACAI: the lines benchmark and the MNIST linear probe), `001` (α-GAN)
and `003` (the Lipschitz-encoding VAE, class radius and ‖p‖₂²), reproduced with `gl.models` on a
CPU budget of about half an hour on two cores.

| part | what | published (paper / lecture) |
|---|---|---|
| (a) | seven autoencoders on the **lines** benchmark, 3 seeds: Mean Distance and Smoothness of 16-step interpolations | ACAI paper, Table 1 (`000`): ACAI 0.24 × 10⁻³ / 0.10, baseline 6.88 × 10⁻³ / 0.44 |
| (b) | the same seven on **MNIST** at d_z = 32: linear probe on the codes; VQ-VAE codebook usage | ACAI paper (`000`): ACAI 98.25 %, baseline 94.90 % |
| (c) | **α-GAN** on MNIST: samples, classifier-FID, class diversity | against our VAE (part d) and the DCGAN of notebook 02 |
| (d) | VAE vs the **Lipschitz-encoding VAE** (λ = 30, encoder weights clipped to [−0.3, 0.3]): class radius, ‖p‖₂², the bound, samples | `003`: classes closer, less latent space covered, similar samples |

**Budget.** Every training run here is a small fraction of the papers' (the ACAI reference trains each
lines model on 2²⁴ images, 262,144 steps of 64). So that the notebook fits its half hour on any
machine, the number of steps of each part is **chosen at run time** from step rates measured at the
start (one thread, a few dozen steps per model) and a time budget per part; every model of a table
gets the same number of steps. The cells print the rates, the steps they imply and how long each
part took.

With `SMOKE` set every budget is tiny: the cells run in about a minute and the numbers are meaningless.'''),
    ("code", '''import json
import tempfile
import time

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import ganlib as gl
import ganlib.plot   # gl.plot (matplotlib helpers) is not imported by `import ganlib`
from ganlib.sweep import usable_cores

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "font.size": 9})
T_START = time.perf_counter()
gl.set_num_threads(1)       # the main process measures rates on one thread, as each sweep worker trains
DATA = os.path.abspath(os.environ.get("GANLIB_DATA") or os.path.join("..", "..", "shared", "data", "mnist"))
B = dict(
    # time budgets (seconds of wall time on 2 workers) from which the steps are chosen
    lines_seconds=None if SMOKE else 1200,    # (a) 7 models x 3 seeds
    probe_seconds=None if SMOKE else 230,     # (b) 7 models, one seed
    gen_seconds=None if SMOKE else 360,       # (c) + (d): alpha-GAN on one worker, the VAEs (3 seeds each) on the other
    safety=0.85,                              # share of a budget given to training steps
    # fixed seconds per trial besides training (data, compiling, scoring), from short measured runs
    overhead=dict(lines=6, probe=12, alphagan=10, vae=20),
    smoke_steps=20,                           # steps of every model with SMOKE
    lines_seeds=[0, 1] if SMOKE else [0, 1, 2],
    lines_train=2000 if SMOKE else 40_000,    # lines drawn per trial (its seed), 32 x 32 in [-1, 1]
    lines_latent=64, lines_side=2,            # the reference's lines code: 16 channels x 2 x 2
    lines_pairs=16 if SMOKE else 128,         # interpolations scored per trial
    ae_width=2 if SMOKE else 8,               # first-scale channels of the spatial networks in (a) and (b)
    lr=1e-3,                                  # Adam, every model of (a) and (b)
    gain=1.0,                                 # x the reference's initial conv weights (see "The models")
    probe_latent=32, probe_side=4,            # MNIST padded to 32 x 32, code 2 channels x 4 x 4 (the reference's)
    gen_width=8 if SMOKE else 16,             # (c), (d): dcgan / conv preset width
    train_limit=2000 if SMOKE else None,      # MNIST training images
    test_limit=500 if SMOKE else None,        # MNIST test images for the probe
    n_eval=200 if SMOKE else 2000,            # samples / test images for FID and class diversity
    radius_n=100 if SMOKE else 1000,          # latent draws of the class radius (per VAE and seed)
    vae_seeds=[0, 1] if SMOKE else [0, 1, 2], # (d) seeds of each VAE
    gen_latent=32,                            # alpha-GAN code width
    vae_latent=20,                            # (d) VAE code width (the PyTorch-examples VAE)
    vae_batch=128,                            # (d) batch (the PyTorch-examples VAE's)
)
WORKERS = min(2, usable_cores())
MINUTES = {}
R = {}


def took(part, t0):
    MINUTES[part] = (time.perf_counter() - t0) / 60
    print(f"({part}: {MINUTES[part] * 60:.0f} s)")


print("SMOKE" if SMOKE else "full budget", f"| {usable_cores()} cores -> {WORKERS} workers of 1 thread | MNIST in {DATA}")
gl.show_config()'''),
    ("md", '''## The models

Seven autoencoders, as in the ACAI paper's tables, each a `gl.models` class given **the paper's
networks**: `gl.nn.spatial_encoder` / `spatial_decoder` (its `lib/layers.py`: a 1×1 conv, then two
3×3 convs with LeakyReLU(0.2) and a 2×2 average pooling per scale, two more 3×3 convs to the code;
the decoder mirrors it with nearest upsampling; its initialisation `he_modified`). The **code is a
small feature map**: lines 16 channels × 2 × 2 = 64 (4 scales), MNIST 2 × 4 × 4 = 32 (3 scales, the
digits padded to 32 × 32 with background, as the reference's `mnist32`). Adam(1e-3), batch 64; the
convolutions start from the reference's initialisation (`gain=1.0`; see below for other scales).

| model | `gl.models` | as in the reference code (`brain-research/acai`) |
|---|---|---|
| Baseline | `Autoencoder` | squared error |
| Dropout | `Autoencoder(code_dropout=0.5)` | keep probability 0.5 on the code |
| Denoising | `Autoencoder(noise=1.0)` | Gaussian noise of std 1 on the [−1, 1] input |
| VAE | `VAE` (Bernoulli decoder on (x + 1)/2, read back as 2p − 1), encoder + a linear (μ, log σ²) head | the same (dense heads on the flattened map) |
| AAE | `AAE(prior="gaussian", disc_hidden=[100, 100], disc_lr=1e-4, adversarial_lr=1e-4)` | code discriminator 100-100, its `adversary_lr` 1e-4 |
| VQ-VAE | `VQVAE(num_codes=256, code_dim=8, ema=True, restart_dead=100)` | a 2¹⁴-code decomposed VQ; ours is van den Oord's, K = 256, β = 0.25 |
| ACAI | `ACAI(lam=0.5, gamma=0.2)`, critic = the same encoder, its code map averaged | the same λ, γ and critic |

Why these networks and not the conv presets of notebook 03: with a flat code (stride-2 convs and a
linear code layer) every model's lines interpolations jump from one end's angle to the other's
(Smoothness 0.72–0.80 after 5,200 steps, and no better after 20,000); with the paper's spatial code
a plain autoencoder already rotates the line (0.24) and ACAI reaches the paper's 0.10 within about
1,000 steps (probes on seed 0).

**Where we reduced** (to fit the budget): the reference's depth (first-scale channels) is 16, ours 8;
the reference trains with Adam(1e-4) for 262,144 steps of 64, we train each model for the steps the
budget below allows (under 1 % of that) with Adam(1e-3). These deep, unnormalised networks first sit
on the mean image; from the reference's initialisation ACAI leaves it after 600–1,000 steps. Larger
initial weights leave it sooner but interpolate less smoothly once trained: after 1,800 steps on seed 1,
ACAI from 1.2× the reference's weights 5.9 × 10⁻³ / 0.42 against 5.3 × 10⁻³ / 0.30 from 1.0×, the
baseline 9.2 × 10⁻³ / 0.45 against 8.7 × 10⁻³ / 0.16; from 1.41× (Kaiming's variance) ACAI stops
rotating (Smoothness 0.52 after 1,000 steps, seed 0). An earlier version of this notebook, with 800
steps per model, used 1.2× to leave the plateau in time. The MNIST probe uses one seed (the paper:
mean ± std over runs).

**The AAE's adversarial phases run at Adam(1e-4)**: its code discriminator and the encoder's own
Adam in the regularisation phase (the reference's `adversary_lr` is 1e-4 too), a tenth of its
reconstruction rate. At 1e-3 the discriminator kept the nearly constant codes of these networks
moving as one point, and all three seeds stayed on the mean image for 2,000 steps (the last run of
this notebook); with 1e-4 seed 1 leaves it after about 1,000 steps (10.4 × 10⁻³ / 0.17 after 2,000).
The reference's recipe as such (one Adam on reconstruction + adversarial loss, discriminator at
1e-4) also stayed there for 2,000 steps (seed 0). The code below keeps each choice in one place.'''),
    ("code", '''LINES = ["ae", "dropout_ae", "denoising_ae", "vae", "aae", "vqvae", "acai"]        # table order
LABELS = {"ae": "Baseline", "dropout_ae": "Dropout", "denoising_ae": "Denoising", "vae": "VAE", "aae": "AAE",
          "vqvae": "VQ-VAE", "acai": "ACAI"}
# ACAI paper (000): lines, mean ± std over runs; Mean Distance x 1e-3
PUB_LINES = {"ae": ((6.88, 0.21), (0.44, 0.04)), "dropout_ae": ((2.85, 0.54), (0.74, 0.02)),
             "denoising_ae": ((4.21, 0.32), (0.66, 0.02)), "vae": ((1.21, 0.17), (0.49, 0.13)),
             "aae": ((3.26, 0.19), (0.14, 0.02)), "vqvae": ((5.41, 0.49), (0.77, 0.02)),
             "acai": ((0.24, 0.01), (0.10, 0.01))}
# ACAI paper (000): MNIST linear probe at d_z = 32, %
PUB_PROBE = {"ae": (94.90, 0.14), "dropout_ae": (96.45, 0.42), "denoising_ae": (96.00, 0.27), "vae": (96.56, 0.31),
             "aae": (70.74, 3.27), "vqvae": (97.50, 0.18), "acai": (98.25, 0.11)}


def build(model, shape, latent, side, width, gain, seed, lr):
    """(model, unit): one of the seven autoencoders with the ACAI paper's networks (a code of
    latent / side² channels x side x side); unit = it trains on data in [0, 1] (the VAE)."""
    import ganlib as gl
    ch = latent // (side * side)

    def enc(out=None, k=0):        # out: the VAE's (mu, log sigma^2) heads, as the reference's dense layers
        return gl.nn.spatial_encoder(shape, ch, side, width, out_features=out, gain=gain, seed=10 * seed + k)

    kw = dict(Dec=gl.nn.spatial_decoder(ch, side, shape, width, gain=gain, seed=10 * seed + 1), lr=lr, seed=seed)
    if model == "ae":
        return gl.models.Autoencoder(shape, latent, E=enc(), **kw), False
    if model == "dropout_ae":
        return gl.models.Autoencoder(shape, latent, E=enc(), code_dropout=0.5, **kw), False
    if model == "denoising_ae":
        return gl.models.Autoencoder(shape, latent, E=enc(), noise=1.0, **kw), False
    if model == "vae":
        return gl.models.VAE(shape, latent, E=enc(2 * latent), decoder="bernoulli", **kw), True
    if model == "aae":
        return gl.models.AAE(shape, latent, E=enc(), prior="gaussian", disc_hidden=[100, 100], disc_lr=1e-4,
                             adversarial_lr=1e-4, **kw), False
    if model == "vqvae":
        return gl.models.VQVAE(shape, latent, E=enc(), num_codes=256, code_dim=8, ema=True, restart_dead=100,
                               **kw), False
    if model == "acai":
        return gl.models.ACAI(shape, latent, E=enc(), d=enc(k=2), lam=0.5, gamma=0.2, **kw), False
    raise ValueError(model)


def pad32(x):
    """MNIST 28 x 28 -> 32 x 32 with background (-1) borders, as the reference's mnist32."""
    return np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-1.0)


class PlusMinusOne:
    """A model trained on (x + 1) / 2 seen on the [-1, 1] scale: decodes read as 2p - 1 (the reference VAE's)."""

    def __init__(self, model):
        self.model = model

    def interpolate(self, x1, x2, steps=16):
        return self.model.interpolate((x1 + 1) / 2, (x2 + 1) / 2, steps=steps) * 2 - 1'''),
    ("md", '''## Step rates and the steps of each part

Each model is built, compiled by a few steps, then timed over a few dozen steps on one thread (as each
of the two sweep workers will train it). From the rates and the time budgets of `B`:

* (a) lines: `S = safety · (2 · T − 21 · overhead) / (3 · Σₘ 1/rateₘ)`: 21 trials on 2 workers;
* (b) MNIST probe: `S = safety · (2 · T − 7 · overhead) / Σₘ 1/rateₘ`;
* (c) α-GAN alone on one worker for `T`; (d) the two VAEs, 3 seeds each, one after the other on the other worker.

Steps are rounded down to a multiple of 100.'''),
    ("code", '''t0 = time.perf_counter()
Xl = gl.datasets.lines(512, seed=99)
Xm, _ = gl.datasets.mnist(DATA, "train", scale=(-1, 1), limit=2000)


def measure(m, data, n, batch=64):
    m.fit(data, steps=3, batch_size=batch, log_every=3, progress=False)          # compile + warm up
    t = time.perf_counter()
    m.fit(data, steps=n, batch_size=batch, log_every=n, progress=False)
    return n / (time.perf_counter() - t)


n_time = 5 if SMOKE else 20
RATE = {}
for name in LINES:
    m, unit = build(name, (1, 32, 32), B["lines_latent"], B["lines_side"], B["ae_width"], B["gain"], 0, B["lr"])
    RATE["lines", name] = measure(m, (Xl + 1) / 2 if unit else Xl, n_time)
    m, unit = build(name, (1, 32, 32), B["probe_latent"], B["probe_side"], B["ae_width"], B["gain"], 0, B["lr"])
    RATE["probe", name] = measure(m, (pad32(Xm) + 1) / 2 if unit else pad32(Xm), n_time)
ag = gl.models.AlphaGAN((1, 28, 28), B["gen_latent"], preset="dcgan", width=B["gen_width"], seed=0)
RATE["gen", "alphagan"] = measure(ag, Xm, max(5, n_time // 2))
for name, lip in (("vae", 0.0), ("vae_lipschitz", 30.0)):
    v = gl.models.VAE((1, 28, 28), B["vae_latent"], preset="conv", width=B["gen_width"], lipschitz=lip,
                      encoder_clip=0.3 if lip else None, seed=0)
    RATE["gen", name] = measure(v, (Xm + 1) / 2, n_time, batch=B["vae_batch"])
del m, ag, v


def hundreds(x):
    return max(100, int(x) // 100 * 100)


if SMOKE:
    STEPS = dict(lines=B["smoke_steps"], probe=B["smoke_steps"], alphagan=B["smoke_steps"], vae=B["smoke_steps"])
else:
    f, oh = B["safety"], B["overhead"]
    inv_l = sum(1 / RATE["lines", m] for m in LINES)
    inv_p = sum(1 / RATE["probe", m] for m in LINES)
    T1, T2, T3 = B["lines_seconds"], B["probe_seconds"], B["gen_seconds"]
    STEPS = dict(lines=hundreds(f * (WORKERS * T1 - 7 * len(B["lines_seeds"]) * oh["lines"]) / (len(B["lines_seeds"]) * inv_l)),
                 probe=hundreds(f * (WORKERS * T2 - 7 * oh["probe"]) / inv_p),
                 alphagan=hundreds(f * (T3 - oh["alphagan"]) * RATE["gen", "alphagan"]),
                 vae=hundreds(f * (T3 - 2 * len(B["vae_seeds"]) * oh["vae"])
                              / (len(B["vae_seeds"]) * (1 / RATE["gen", "vae"] + 1 / RATE["gen", "vae_lipschitz"]))))
rows = ["| model | lines 32×32, d_z 64 (steps/s) | MNIST 32×32 (padded), d_z 32 (steps/s) |", "|---|---:|---:|"]
rows += [f"| {LABELS[m]} | {RATE['lines', m]:.1f} | {RATE['probe', m]:.1f} |" for m in LINES]
rows += [f"| α-GAN (dcgan preset) | | {RATE['gen', 'alphagan']:.1f} |",
         f"| VAE / Lipschitz VAE (batch {B['vae_batch']}) | | {RATE['gen', 'vae']:.1f} / {RATE['gen', 'vae_lipschitz']:.1f} |"]
display(Markdown("\\n".join(rows)))
print("steps per model:", STEPS)
took("calibration", t0)'''),
    ("md", '''## (a) The lines benchmark

`gl.datasets.lines`: 32×32 images of one anti-aliased radius of a circle at a uniform angle, in
[−1, 1]. Each trial trains one model on 40,000 lines drawn with its seed, then
`gl.metrics.interpolation_scores` encodes 128 pairs of fresh lines, decodes 16 evenly spaced points
of the segment between their codes, and matches every decoded image to the nearest of 10,000 true
lines by cosine distance: **Mean Distance** is the mean of those distances (reported × 10⁻³),
**Smoothness** the largest angle step along the path over the total change minus 1/15 (0 for
evenly spaced angles). A model still on the mean image decodes one image all along a path, so both
ends match the same line and its Smoothness is **undefined**: the table then gives the mean over the
seeds where it is defined and says how many (none: "undefined"). 7 models × 3 seeds = 21 trials on
`gl.sweep`'s two worker processes, the slowest models first so that the two workers finish together.'''),
    ("code", '''def lines_trial(model, seed, steps, n_train, latent, side, width, gain, lr, n_pairs):
    """Train one autoencoder on lines and score its interpolations (runs in a worker process)."""
    import time
    import numpy as np
    import ganlib as gl
    X = gl.datasets.lines(n_train, seed=seed)
    m, unit = build(model, (1, 32, 32), latent, side, width, gain, seed, lr)
    t0 = time.perf_counter()
    hist = m.fit((X + 1) / 2 if unit else X, steps=steps, batch_size=64, log_every=max(1, steps // 10),
                 progress=False)
    seconds = time.perf_counter() - t0
    view = PlusMinusOne(m) if unit else m
    s = gl.metrics.interpolation_scores(view, n_pairs=n_pairs, seed=10_000 + seed)
    out = {"mean_distance": s["mean_distance"], "smoothness": s["smoothness"], "train_seconds": seconds,
           "final_recon": float(hist["recon"][-1]), "strip": None}
    if seed == 0:              # the same two pairs of lines for every model, as in the lecture's figure
        ends = gl.datasets.lines(4, seed=4242)
        out["strip"] = np.round(view.interpolate(ends[:2], ends[2:], steps=16), 3).tolist()
    return out


t0 = time.perf_counter()
order = sorted(LINES, key=lambda m: RATE["lines", m])                 # slowest first
GRID = [dict(model=m, seed=s, steps=STEPS["lines"], n_train=B["lines_train"], latent=B["lines_latent"],
             side=B["lines_side"], width=B["ae_width"], gain=B["gain"], lr=B["lr"], n_pairs=B["lines_pairs"])
        for m in order for s in B["lines_seeds"]]
OUT = os.path.join(tempfile.gettempdir(), f"ganlib-04-lines-{'smoke' if SMOKE else 'full'}-{os.getpid()}")
res_lines = gl.sweep(lines_trial, GRID, out=OUT, threads_per_trial=1, progress=False)
for r in res_lines.failed:
    print("FAILED", r["config"]["model"], r["config"]["seed"], r["error"][-400:])
LR_ = {m: [r["result"] for r in res_lines if r["status"] == "done" and r["config"]["model"] == m] for m in LINES}
busy = sum(r["seconds"] for r in res_lines if r["seconds"])
print(f"{len(res_lines)} trials of {STEPS['lines']} steps: wall {res_lines.wall_seconds:.0f} s, "
      f"trial time summed {busy:.0f} s ({busy / res_lines.wall_seconds:.2f} workers busy on average)")
print("training seconds per trial (mean over seeds):",
      ", ".join(f"{m} {np.mean([x['train_seconds'] for x in LR_[m]]):.0f}" for m in LINES if LR_[m]))
took("lines", t0)'''),
    ("code", '''def mean_std(vals):
    v = np.asarray(vals, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


LINE_STATS = {}
for m in LINES:
    md = mean_std([1e3 * x["mean_distance"] for x in LR_[m]])
    sm = mean_std([x["smoothness"] for x in LR_[m]])
    n_sm = sum(np.isfinite(x["smoothness"]) for x in LR_[m])   # seeds whose Smoothness is defined
    LINE_STATS[m] = (md, sm, n_sm)
    R[f"lines_mean_distance_{m}"], R[f"lines_mean_distance_std_{m}"] = md
    R[f"lines_smoothness_{m}"], R[f"lines_smoothness_std_{m}"] = sm
    R[f"lines_smoothness_seeds_{m}"] = n_sm


def worst_if_undefined(v):
    """A model whose Smoothness is undefined (it decodes one image along every path) ranks last."""
    return v if np.isfinite(v) else np.inf


best_md = min(LINES, key=lambda m: worst_if_undefined(LINE_STATS[m][0][0]))
best_sm = min(LINES, key=lambda m: worst_if_undefined(LINE_STATS[m][1][0]))


def pm(ms, digits, n=None):
    """mean ± std; for Smoothness (n = seeds where it is defined) also when it is undefined for some."""
    mean, std = ms
    if n == 0:
        return "undefined (on the mean image)"
    out = f"{mean:.{digits}f} ± {std:.{digits}f}" if np.isfinite(std) else f"{mean:.{digits}f}"
    return out if n in (None, len(B["lines_seeds"])) else f"{out} ({n} of {len(B['lines_seeds'])} seeds)"


def bold(s, yes):
    return f"**{s}**" if yes else s


rows = [f"| model | Mean Distance × 10⁻³: ours | published | Smoothness: ours | published |", "|---|---:|---:|---:|---:|"]
for m in LINES:
    (md, sm, n_sm), (pmd, psm) = LINE_STATS[m], PUB_LINES[m]
    rows.append(f"| {LABELS[m]} | {bold(pm(md, 2), m == best_md)} | {pmd[0]:.2f} ± {pmd[1]:.2f} "
                f"| {bold(pm(sm, 3, n_sm), m == best_sm)} | {psm[0]:.2f} ± {psm[1]:.2f} |")
display(Markdown(f"Mean ± std over {len(B['lines_seeds'])} seeds, {STEPS['lines']} steps of 64 per model "
                 f"(the reference: 262,144); lowest of ours in bold.\\n\\n" + "\\n".join(rows)))'''),
    ("code", '''fig, axes = plt.subplots(len(LINES), 1, figsize=(9, 1.45 * len(LINES)))
for ax, m in zip(axes, LINES):
    rec = next((x for x in LR_[m] if x["strip"] is not None), None)
    if rec is None:
        ax.set_axis_off(); continue
    strip = np.asarray(rec["strip"], np.float32)                 # (2 pairs, 16, 1, 32, 32)
    gl.plot.interpolation_strip(strip, ax=ax, value_range=(-1, 1), row_labels=["pair 1", "pair 2"],
                                title=f"{LABELS[m]} (seed 0): Mean Distance {1e3 * rec['mean_distance']:.2f}e-3, "
                                      f"Smoothness {rec['smoothness']:.2f}")
plt.tight_layout(); plt.show()'''),
    ("md", '''## (b) Linear probe on MNIST codes, d_z = 32

The same seven models (the paper's networks on the digits padded to 32×32, codes of 2 × 4 × 4 = 32
numbers) trained on the 60,000 MNIST training images in [−1, 1] (the VAE on [0, 1]), one seed. `gl.metrics.linear_probe` trains a
multinomial logistic regression on the frozen codes of the training set (the VAE's posterior means,
the VQ-VAE's quantised codes) and scores the 10,000 test images. The VQ-VAE's **codebook usage** is
the fraction of its 256 codes chosen at least once for the test set (4 positions of 8 numbers each).'''),
    ("code", '''def probe_trial(model, seed, steps, latent, side, width, gain, lr, data_dir, train_limit, test_limit):
    """Train one autoencoder on MNIST and probe its codes (runs in a worker process)."""
    import time
    import numpy as np
    import ganlib as gl
    X, y = gl.datasets.mnist(data_dir, "train", scale=(-1, 1), limit=train_limit)
    Xt, yt = gl.datasets.mnist(data_dir, "test", scale=(-1, 1), limit=test_limit)
    X, Xt = pad32(X), pad32(Xt)
    m, unit = build(model, (1, 32, 32), latent, side, width, gain, seed, lr)
    D, Dt = ((X + 1) / 2, (Xt + 1) / 2) if unit else (X, Xt)
    t0 = time.perf_counter()
    m.fit(D, steps=steps, batch_size=64, log_every=max(1, steps // 10), progress=False)
    seconds = time.perf_counter() - t0
    acc = gl.metrics.linear_probe(m.encode(D), y, m.encode(Dt), yt, seed=seed)
    rec = m.reconstruct(Dt[:1000])
    scale = 2.0 if unit else 1.0                      # squared error on the [-1, 1] scale
    out = {"probe": acc, "test_mse": float(((scale * (rec - Dt[:1000])) ** 2).mean()), "train_seconds": seconds}
    if model == "vqvae":
        out["codebook_usage"] = m.codebook_usage(Dt)
        out["codebook_usage_train"] = m.codebook_usage(D)
    return out


t0 = time.perf_counter()
order = sorted(LINES, key=lambda m: RATE["probe", m])
GRID = [dict(model=m, seed=0, steps=STEPS["probe"], latent=B["probe_latent"], side=B["probe_side"],
             width=B["ae_width"], gain=B["gain"], lr=B["lr"],
             data_dir=DATA, train_limit=B["train_limit"], test_limit=B["test_limit"]) for m in order]
OUT = os.path.join(tempfile.gettempdir(), f"ganlib-04-probe-{'smoke' if SMOKE else 'full'}-{os.getpid()}")
res_probe = gl.sweep(probe_trial, GRID, out=OUT, threads_per_trial=1, progress=False)
for r in res_probe.failed:
    print("FAILED", r["config"]["model"], r["error"][-400:])
PR = {r["config"]["model"]: r["result"] for r in res_probe if r["status"] == "done"}
for m in LINES:
    R[f"probe32_{m}"] = PR[m]["probe"] if m in PR else float("nan")
R["vqvae_codebook_usage"] = PR["vqvae"]["codebook_usage"] if "vqvae" in PR else float("nan")
R["vqvae_test_mse"] = PR["vqvae"]["test_mse"] if "vqvae" in PR else float("nan")
best_probe = max(PR, key=lambda m: PR[m]["probe"])
rows = ["| model | probe accuracy: ours | published (d_z 32) | test MSE ([−1, 1]) |", "|---|---:|---:|---:|"]
for m in LINES:
    if m in PR:
        acc = f"{100 * PR[m]['probe']:.2f} %"
        rows.append(f"| {LABELS[m]} | {bold(acc, m == best_probe)} | {PUB_PROBE[m][0]:.2f} ± {PUB_PROBE[m][1]:.2f} % "
                    f"| {PR[m]['test_mse']:.4f} |")
display(Markdown(f"One seed, {STEPS['probe']} steps of 64 per model (about {STEPS['probe'] * 64 / 60000:.1f} epochs); "
                 f"highest of ours in bold.\\n\\n" + "\\n".join(rows)))
if "vqvae" in PR:
    print(f"VQ-VAE codebook usage: {PR['vqvae']['codebook_usage']:.0%} of 256 codes on the test set, "
          f"{PR['vqvae']['codebook_usage_train']:.0%} on the training set")
print(f"wall {res_probe.wall_seconds:.0f} s; training seconds:",
      ", ".join(f"{m} {PR[m]['train_seconds']:.0f}" for m in LINES if m in PR))
took("probe", t0)'''),
    ("md", '''## (c) α-GAN and (d) the Lipschitz-encoding VAE

Seven trials on the two workers: the α-GAN on one; the plain and the regularised VAE, three seeds
each, one after the other on the other.

**α-GAN** (Rosca et al. 2017, `gl.models.AlphaGAN(preset="dcgan", width=16)`): a conv encoder to a
32-d code, the DCGAN generator and discriminator of notebook 02 at width 16, an MLP code
discriminator (750-750) in place of the KL, λ = 10 on the L1 reconstruction, the paper's
log-ratio adversarial terms, Adam(2e-4, β = (0.5, 0.999)), batch 64, data in [−1, 1].

**VAE vs Lipschitz-encoding VAE** (`003`): both `gl.models.VAE((1, 28, 28), 20, preset="conv",
width=16)` (DCGAN-like encoder and decoder, as the lecture's, with the PyTorch-examples VAE's 20-d code
and batch 128), Bernoulli decoder on [0, 1] images; the second adds `lipschitz=30` — the penalty
30 Σᵢ ‖f(lᵢ) − f(l_{i+b/2})‖² / ‖lᵢ − l_{i+b/2}‖² over the b/2 pairs of each batch, f the encoder's
mean — and `encoder_clip=0.3`. The lecture adds the penalty to the PyTorch-examples VAE's loss, which
is **summed** over the batch; `gl.models.VAE` minimises the batch mean, so it divides the penalty by b
(the same objective over b). An earlier version of this notebook added the sum to the mean, b = 128
times too strong: the regularised VAE then shrank its codes to std 0.03 and its samples to one
class (FID 913 against 213). Each VAE runs with three seeds (fewer steps each than that one-seed run:
the conclusions flipped between single runs); the table gives mean ± std and the conclusions are
read on the means, with the number of seeds on which each holds. For each VAE:

* **class radius** (`gl.metrics.class_radius`): mean distance from z ~ N(0, I) to the nearest latent
  whose decoded image the shipped MNIST classifier puts in another class (1,000 draws per seed, bisection);
* **‖p‖₂²**, the collision probability of the decoded classes, and the bound
  log(4π log(1/‖p‖₂²)) / √(2 log(1/‖p‖₂²)) on the radius;
* **how far apart the classes' codes lie**: the mean distance between the 10 class centroids of the
  encoded test images (posterior means);
* **coverage** of the latent space: the fraction of prior draws z ~ N(0, I) whose nearest encoded
  test image lies closer than the median nearest-neighbour distance between encoded test images —
  how much of the prior's mass sits where the data's codes are;
* **samples** (decoded prior draws) and their classifier-FID against 2,000 test images.

Classifier-FID everywhere (as in notebook 02): the Fréchet distance between Gaussians fitted to the
128-d penultimate features of `gl.metrics.default_mnist_classifier()` on 2,000 test images and on
2,000 samples, both in [−1, 1]. It is comparable only to itself.'''),
    ("code", '''def gen_trial(kind, seed, steps, latent, width, batch, data_dir, train_limit, n_eval, radius_n):
    """alpha-GAN ("alphagan") or a VAE ("vae" / "vae_lipschitz") on MNIST, scored (runs in a worker process)."""
    import time
    import numpy as np
    import ganlib as gl
    X, _ = gl.datasets.mnist(data_dir, "train", scale=(-1, 1), limit=train_limit)
    Xt, yt = gl.datasets.mnist(data_dir, "test", scale=(-1, 1), limit=n_eval)
    clf = gl.metrics.default_mnist_classifier()
    real = clf.features(Xt)
    t0 = time.perf_counter()
    if kind == "alphagan":
        m = gl.models.AlphaGAN((1, 28, 28), latent, preset="dcgan", width=width, seed=seed)
        m.fit(X, steps=steps, batch_size=batch, log_every=max(1, steps // 10), progress=False)
        seconds = time.perf_counter() - t0
        S = m.sample(n_eval, seed=1)
        rec = m.reconstruct(Xt)
        out = {"fid_reconstructions": gl.metrics.frechet_distance(real, clf.features(rec)),
               "recon_l1": float(np.abs(rec - Xt).mean())}
    else:
        lip = kind == "vae_lipschitz"
        m = gl.models.VAE((1, 28, 28), latent, preset="conv", width=width, lipschitz=30.0 if lip else 0.0,
                          encoder_clip=0.3 if lip else None, seed=seed)
        h = m.fit((X + 1) / 2, steps=steps, batch_size=batch, log_every=max(1, steps // 10), progress=False)
        seconds = time.perf_counter() - t0
        S = m.sample(n_eval, seed=1) * 2 - 1
        r = gl.metrics.class_radius(lambda z: m.decode(z) * 2 - 1, clf, latent, n=radius_n, details=True, seed=0)
        p = np.array([r["p"].get(c, 0.0) for c in range(10)])
        mu = m.encode((Xt + 1) / 2).astype(np.float64)
        cent = np.stack([mu[yt == c].mean(axis=0) for c in range(10) if (yt == c).any()])
        dc = np.sqrt(((cent[:, None] - cent[None]) ** 2).sum(-1))[np.triu_indices(len(cent), 1)]
        def sq_dist(a, b):                             # (len(a), len(b)) squared distances
            return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)
        d_mu = sq_dist(mu, mu)
        np.fill_diagonal(d_mu, np.inf)
        tau = float(np.sqrt(np.median(d_mu.min(axis=1))))
        z = np.random.default_rng(7).standard_normal((len(mu), latent))
        d_z = np.sqrt(sq_dist(z, mu).min(axis=1))
        out = {"class_radius": r["radius"], "collision": float((p ** 2).sum()), "bound": r["bound"],
               "p": p.tolist(), "centroid_distance": float(dc.mean()), "code_std": float(mu.std(axis=0).mean()),
               "coverage": float((d_z < tau).mean()), "neg_elbo": float(h["neg_elbo"][-1]),
               "lipschitz_sum": float(h["lipschitz"][-1]) if lip else None}
    div = gl.metrics.class_diversity(S, classifier=clf)
    out.update(fid=gl.metrics.frechet_distance(real, clf.features(S)), classes_present=int(div["classes_present"]),
               collision_samples=float(div["collision_probability"]), H1=float(div["H1"]), H2=float(div["H2"]),
               samples=np.round(S[:64], 3).tolist(), train_seconds=seconds, steps=steps)
    return out


t0 = time.perf_counter()
common = dict(width=B["gen_width"], data_dir=DATA, train_limit=B["train_limit"], n_eval=B["n_eval"],
              radius_n=B["radius_n"])
VAE_KINDS = ("vae", "vae_lipschitz")
GRID = [dict(kind="alphagan", seed=0, steps=STEPS["alphagan"], latent=B["gen_latent"], batch=64, **common)]
GRID += [dict(kind=k, seed=s, steps=STEPS["vae"], latent=B["vae_latent"], batch=B["vae_batch"], **common)
         for s in B["vae_seeds"] for k in VAE_KINDS]
OUT = os.path.join(tempfile.gettempdir(), f"ganlib-04-gen-{'smoke' if SMOKE else 'full'}-{os.getpid()}")
res_gen = gl.sweep(gen_trial, GRID, out=OUT, threads_per_trial=1, progress=False)
for r in res_gen.failed:
    print("FAILED", r["config"]["kind"], r["config"]["seed"], r["error"][-400:])
done = [r for r in res_gen if r["status"] == "done"]
GEN = {r["config"]["kind"]: r["result"] for r in done if r["config"]["seed"] == 0}      # samples and (c) use seed 0
# (d): the seeds on which both VAEs finished, in order, so that seed s of one is compared with seed s of the other
VAE_SEEDS = [s for s in B["vae_seeds"] if all(any(r["config"]["kind"] == k and r["config"]["seed"] == s for r in done)
                                             for k in VAE_KINDS)]
VS = {k: [next(r["result"] for r in done if r["config"]["kind"] == k and r["config"]["seed"] == s) for s in VAE_SEEDS]
      for k in VAE_KINDS}
print(f"wall {res_gen.wall_seconds:.0f} s; " + ", ".join(
    f"{r['config']['kind']} seed {r['config']['seed']}: {r['result']['steps']} steps, "
    f"{r['result']['train_seconds']:.0f} s training, {r['seconds']:.0f} s in all" for r in done))
took("alphagan_lipschitz", t0)'''),
    ("md", '''### (c) α-GAN: samples, classifier-FID and class diversity

Beside it: the plain VAE of part (d) (same data, same FID protocol, its samples are decoder means),
and, when their results files exist, the DCGAN of notebook 02 and the VAE of notebook 03. Two halves
of the test images give the FID's floor at this sample size.'''),
    ("code", '''clf = gl.metrics.default_mnist_classifier()
Xt_eval, _ = gl.datasets.mnist(DATA, "test", scale=(-1, 1), limit=B["n_eval"])
feats = clf.features(Xt_eval)
fid_floor = gl.metrics.frechet_distance(feats[: len(feats) // 2], feats[len(feats) // 2:])
test_div = gl.metrics.class_diversity(Xt_eval, classifier=clf)


def read_results(name):
    path = os.path.join("results", name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


rows = ["| model | classifier-FID | classes present | ‖p‖₂² of samples | H₂ (nats) | setup |", "|---|---:|---:|---:|---:|---|"]
for kind, label, setup in (("alphagan", "α-GAN", f"{STEPS['alphagan']} steps of 64, dcgan width {B['gen_width']}"),
                           ("vae", "VAE (part d, seed 0)", f"{STEPS['vae']} steps of {B['vae_batch']}, conv width {B['gen_width']}, d_z {B['vae_latent']}")):
    if kind in GEN:
        g = GEN[kind]
        rows.append(f"| {label} | {g['fid']:.2f} | {g['classes_present']} | {g['collision_samples']:.4f} | {g['H2']:.3f} | {setup} |")
rows.append(f"| test images (reference) | {fid_floor:.2f} (half vs half) | {test_div['classes_present']} "
            f"| {test_div['collision_probability']:.4f} | {test_div['H2']:.3f} | {len(Xt_eval)} images |")
notes = []
for name, label, key in (("02_dcgan_mnist.json", "DCGAN (notebook 02)", "fid"),
                         ("03_autoencoders.json", "VAE (notebook 03)", "vae_fid")):
    prev = read_results(name)
    if prev is None:
        notes.append(f"* {label}: `notebooks/results/{name}` does not exist, so there is no number to compare with.")
    elif key not in prev:
        notes.append(f"* {label}: `results/{name}` records no classifier-FID (`{key}`), so there is no number to "
                     "compare with.")
    else:
        extra = " | ".join(f"{prev[k]:{fmt}}" if k in prev else "" for k, fmt in
                           (("classes_present", ".0f"), ("collision_samples", ".4f"), ("H2", ".3f")))
        steps = f"{prev['steps']:.0f} steps, " if "steps" in prev else ""
        rows.append(f"| {label} | {prev[key]:.2f} | {extra} | {steps}from `results/{name}` |")
display(Markdown("\\n".join(rows) + ("\\n\\n" + "\\n".join(notes) if notes else "")))
if "alphagan" in GEN:
    R["alphagan_fid"] = GEN["alphagan"]["fid"]
    R["alphagan_fid_reconstructions"] = GEN["alphagan"]["fid_reconstructions"]
    R["alphagan_classes_present"] = GEN["alphagan"]["classes_present"]
    R["alphagan_collision_samples"] = GEN["alphagan"]["collision_samples"]
    print(f"alpha-GAN reconstructions: classifier-FID {GEN['alphagan']['fid_reconstructions']:.2f}, "
          f"mean |x - G(E(x))| {GEN['alphagan']['recon_l1']:.3f} on [-1, 1]")
R["fid_test_halves"] = fid_floor
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
for ax, (kind, label) in zip(axes, (("alphagan", "α-GAN samples"), ("vae", "VAE samples (means)"))):
    if kind in GEN:
        gl.plot.image_grid(np.asarray(GEN[kind]["samples"], np.float32), nrow=8, ax=ax, value_range=(-1, 1),
                           title=f"{label}, FID {GEN[kind]['fid']:.1f}")
plt.tight_layout(); plt.show()'''),
    ("md", '''### (d) VAE vs the Lipschitz-encoding VAE'''),
    ("code", '''D_ROWS = (("class_radius", "class radius (decoder, z ~ N(0, I))", 3),
          ("collision", "‖p‖₂² of the decoded classes", 4),
          ("bound", "bound on the class radius from ‖p‖₂²", 3),
          ("centroid_distance", "mean distance between class centroids of the codes", 3),
          ("code_std", "std of the codes per dimension (prior: 1)", 3),
          ("coverage", "coverage of the prior by the codes (%)", 1),
          ("fid", "classifier-FID of samples", 1),
          ("classes_present", "classes among the samples", 1),
          ("neg_elbo", "training −ELBO, last step (nats)", 1))


def across(kind, key):
    """(mean, std) over the seeds of one VAE; coverage in %."""
    v = np.array([x[key] for x in VS[kind]], float) * (100 if key == "coverage" else 1)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


def verdicts(a, b):
    """The lecture's three conclusions for one (VAE, Lipschitz VAE) pair of results."""
    return {"closer": b["class_radius"] < a["class_radius"] and b["centroid_distance"] < a["centroid_distance"],
            "less": b["coverage"] < a["coverage"],
            "similar": abs(b["fid"] - a["fid"]) <= 0.25 * a["fid"]}


have = len(VAE_SEEDS) > 0
if have:
    rows = [f"| mean ± std over {len(VAE_SEEDS)} seeds | VAE | Lipschitz VAE (λ 30, clip 0.3) |", "|---|---:|---:|"]
    for key, label, d in D_ROWS:
        rows.append(f"| {label} | {pm(across('vae', key), d)} | {pm(across('vae_lipschitz', key), d)} |")
    display(Markdown("\\n".join(rows)))
    A = {key: across("vae", key)[0] for key, _, _ in D_ROWS}          # the means, as one result each
    Bl = {key: across("vae_lipschitz", key)[0] for key, _, _ in D_ROWS}
    A["coverage"], Bl["coverage"] = A["coverage"] / 100, Bl["coverage"] / 100
    PER_SEED = [verdicts(a, b) for a, b in zip(VS["vae"], VS["vae_lipschitz"])]
    ON_MEANS = verdicts(A, Bl)
    for key, _, _ in D_ROWS:
        R[f"vae_{key}"], R[f"lipschitz_vae_{key}"] = A[key], Bl[key]
    for c in ON_MEANS:
        R[f"lipschitz_{c}_seeds"] = sum(v[c] for v in PER_SEED)
    print("per seed (closer, less covered, similar samples):",
          "; ".join(f"seed {s}: " + ", ".join("yes" if v[c] else "no" for c in ON_MEANS) for s, v in zip(VAE_SEEDS, PER_SEED)))
    a, b = GEN.get("vae"), GEN.get("vae_lipschitz")
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
    for ax, g, label in ((axes[0], a, "VAE samples (seed 0)"), (axes[1], b, "Lipschitz-encoding VAE samples (seed 0)")):
        if g is not None:
            gl.plot.image_grid(np.asarray(g["samples"], np.float32), nrow=8, ax=ax, value_range=(-1, 1), title=label)
    p_mean = {k: np.mean([x["p"] for x in VS[k]], axis=0) for k in VAE_KINDS}
    axes[2].bar(np.arange(10) - 0.2, p_mean["vae"], 0.4, label="VAE")
    axes[2].bar(np.arange(10) + 0.2, p_mean["vae_lipschitz"], 0.4, label="Lipschitz VAE")
    axes[2].axhline(0.1, color="0.5", ls="--", lw=1)
    axes[2].set_xticks(range(10)); axes[2].set_xlabel("decoded class of z ~ N(0, I), mean over seeds")
    axes[2].set_ylabel("fraction"); axes[2].legend(fontsize=8)
    plt.tight_layout(); plt.show()
else:
    print("no seed on which both VAE trials finished; no comparison")'''),
    ("md", '''## Results beside the published numbers'''),
    ("code", '''total = (time.perf_counter() - T_START) / 60
R["minutes_total"] = total
for part, m in MINUTES.items():
    R[f"minutes_{part}"] = m
R["steps_lines"], R["steps_probe"], R["steps_alphagan"], R["steps_vae"] = (STEPS["lines"], STEPS["probe"],
                                                                            STEPS["alphagan"], STEPS["vae"])
rows = ["| model | lines MD × 10⁻³ (ours / paper) | lines smoothness (ours / paper) | MNIST probe d_z 32 (ours / paper) |",
        "|---|---:|---:|---:|"]
for m in LINES:
    rows.append(f"| {LABELS[m]} | {R[f'lines_mean_distance_{m}']:.2f} / {PUB_LINES[m][0][0]:.2f} "
                f"| {pm((R[f'lines_smoothness_{m}'], np.nan), 3, R[f'lines_smoothness_seeds_{m}'])} / {PUB_LINES[m][1][0]:.2f} "
                f"| {100 * R[f'probe32_{m}']:.2f} / {PUB_PROBE[m][0]:.2f} % |")
display(Markdown("\\n".join(rows)))
print("minutes per part:", {k: round(v, 1) for k, v in MINUTES.items()}, f"total {total:.1f}")
if not SMOKE:
    os.makedirs("results", exist_ok=True)
    with open(os.path.join("results", "04_interpolation.json"), "w") as f:
        kept = {k: float(v) for k, v in sorted(R.items()) if np.isfinite(v)}     # undefined scores are left out
        json.dump(kept, f, indent=1, sort_keys=True)
        f.write("\\n")
    print(f"wrote results/04_interpolation.json ({len(kept)} numbers)")'''),
    ("md", '''## Conclusion'''),
    ("code", '''def yes(ok):
    return "**met**" if ok else "**not met**"


acai_md, acai_sm = R["lines_mean_distance_acai"], R["lines_smoothness_acai"]
others = [m for m in LINES if m != "acai"]
best_both = all(acai_md < R[f"lines_mean_distance_{m}"] and acai_sm < worst_if_undefined(R[f"lines_smoothness_{m}"])
                for m in others)
t1 = best_both and acai_md <= 1.0 and acai_sm <= 0.2
t2 = R["probe32_acai"] >= 0.97 and R["probe32_acai"] > R["probe32_ae"]
t3 = R["vqvae_codebook_usage"] >= 0.5
t4 = R["minutes_total"] <= 30
lip = ""
if have:
    a, b, n = A, Bl, len(VAE_SEEDS)
    closer, less, similar = ON_MEANS["closer"], ON_MEANS["less"], ON_MEANS["similar"]
    held = {c: sum(v[c] for v in PER_SEED) for c in ON_MEANS}
    lip = (f"* **Lipschitz-encoding VAE** (`003`, read on the means over {n} seeds; 'k of {n}': the seeds on which it holds): classes closer — "
           f"{'yes' if closer else 'no'} ({held['closer']} of {n}; class radius {a['class_radius']:.3f} → "
           f"{b['class_radius']:.3f}, class centroids of the codes {a['centroid_distance']:.2f} → "
           f"{b['centroid_distance']:.2f} apart); less of the latent space covered — {'yes' if less else 'no'} "
           f"({held['less']} of {n}; coverage {a['coverage']:.1%} → {b['coverage']:.1%}, code std {a['code_std']:.2f} → "
           f"{b['code_std']:.2f}); similar sample quality — {'yes' if similar else 'no'} ({held['similar']} of {n}; FID "
           f"{a['fid']:.1f} → {b['fid']:.1f}; 'similar' = within 25 %). The lecture's conclusions hold on the means for "
           f"{sum([closer, less, similar])} of 3. ‖p‖₂² {a['collision']:.3f} → {b['collision']:.3f}; the radius bound "
           f"{a['bound']:.2f} → {b['bound']:.2f} ({'above' if a['class_radius'] <= a['bound'] else 'below'} / "
           f"{'above' if b['class_radius'] <= b['bound'] else 'below'} our radius estimates).")
ranks_md = sorted(LINES, key=lambda m: R[f"lines_mean_distance_{m}"])
ranks_sm = sorted(LINES, key=lambda m: worst_if_undefined(R[f"lines_smoothness_{m}"]))
display(Markdown(f"""
* **Lines, ACAI best on both metrics with MD ≤ 1.0 × 10⁻³ and smoothness ≤ 0.2**: {yes(t1)}. ACAI
  {acai_md:.2f} × 10⁻³ / {acai_sm:.3f} (published 0.24 / 0.10); it ranks {ranks_md.index('acai') + 1} of 7 on Mean
  Distance and {ranks_sm.index('acai') + 1} of 7 on Smoothness. Baseline {R['lines_mean_distance_ae']:.2f} × 10⁻³ /
  {R['lines_smoothness_ae']:.3f} (published 6.88 / 0.44). Order by Mean Distance: {", ".join(LABELS[m] for m in ranks_md)};
  by Smoothness: {", ".join(LABELS[m] for m in ranks_sm)}. {STEPS['lines']} steps per model, {100 * STEPS['lines'] / 262144:.1f} %
  of the reference's.
* **MNIST probe, ACAI ≥ 97 % and above the baseline**: {yes(t2)} (ACAI {100 * R['probe32_acai']:.2f} %, baseline
  {100 * R['probe32_ae']:.2f} %; published 98.25 / 94.90 %; best of ours: {LABELS[best_probe]}).
* **VQ-VAE codebook usage ≥ 50 %**: {yes(t3)} ({R['vqvae_codebook_usage']:.0%} of 256 codes on the MNIST test set;
  test squared error {R['vqvae_test_mse']:.4f} on [−1, 1]).
* **α-GAN**: classifier-FID {R.get('alphagan_fid', float('nan')):.2f} after {STEPS['alphagan']} steps (VAE of part d, mean over seeds:
  {R.get('vae_fid', float('nan')):.2f}; two halves of the test set: {fid_floor:.2f}); {R.get('alphagan_classes_present', 0)} of 10
  classes among its samples.
{lip}
* **Time**: {R['minutes_total']:.1f} minutes on {WORKERS} workers ({", ".join(f"{k} {v:.1f}" for k, v in MINUTES.items())}):
  the 30-minute target {yes(t4)}.
{"(SMOKE run: the numbers are meaningless.)" if SMOKE else ""}
"""))'''),
    ("md", '''**What decides Smoothness, and why Mean Distance stays above the target.** Probes outside this
notebook (seed 0, one run each, lines as in part a):

* **The code's shape, not the budget, decides Smoothness.** With the flat-code conv presets every model
  stayed at 0.72–0.80 (baseline 0.724 / 0.742 / 0.759 after 5,200 / 10,000 / 20,000 steps; ACAI 0.709 /
  0.708 after 5,200 / 10,000): its decoded midpoints were real lines, but the angle jumped once from one
  end to the other. With the paper's networks the baseline reaches 0.24 (4,500 steps, Adam 3e-4) and
  ACAI 0.10 after about 1,000 steps (Adam 1e-3), the paper's value.
* **So does the initialisation.** ACAI with Adam(1e-3) from the reference's initialisation (this
  notebook): Smoothness 0.58 / 0.10 / 0.11 / 0.10 after 750 / 1,000 / 1,250 / 1,500 steps on seed 0;
  after 1,800 steps 0.30 on seed 1 and 0.21 on seed 2 (Mean Distance 5.3 / 4.8 × 10⁻³). From 1.2× its
  weights it leaves the mean image sooner (0.18 after 750 steps, seed 0) but stays near 0.25–0.31
  from 1,000 to 7,000 steps (seed 0) and reaches 0.42 after 1,800 on seed 1; from 1.41× (Kaiming's
  variance) 0.52 after 1,000 steps although it reconstructs soonest (7.7 × 10⁻³). The baseline after
  1,800 steps on seed 1: 0.16 from 1.0×, 0.45 from 1.2× (the paper's 0.44).
* **Mean Distance falls with training and is far from converged here.** ACAI (Adam 1e-3, seed 0): 14.4 /
  6.8 / 6.2 / 6.5 / 5.0 × 10⁻³ after 1,000 / 1,250 / 1,500 / 1,750 / 2,000 steps. A long run (Adam 3e-4,
  the reference's initialisation, seed 0): 8.8 / 5.4 / 3.4 / 2.1 / 1.6 × 10⁻³ after 2,000 / 3,000 / 5,000 /
  8,000 / 12,000 steps, Smoothness 0.17 / 0.15 / 0.14 / 0.12 / 0.11; still above 1 × 10⁻³ after 12,000
  steps, over 20 minutes of one core for one trial. The paper's 0.24 × 10⁻³ comes after 262,144 steps at
  twice our width: we do not reach ≤ 1 × 10⁻³ for 21 trials on two cores in half an hour.
* **Neither a schedule, a higher rate nor narrower networks buy that training.** ACAI, seed 0, 2,000
  steps: Adam(1e-3) 7.0 × 10⁻³ / 0.25; a cosine decay from 1e-3 to 0 leaves the mean image later
  (14.9 / 0.26); 2e-3 7.5 / 0.36; 3e-3 decaying to 3e-4 reconstructs soonest (8.0 × 10⁻³ after 500
  steps, 5.1 after 1,500) but its Smoothness stays at 0.39–0.50. Width 4 instead of 8 runs about 1.6×
  the steps per second: ACAI 8.7 / 0.17 (seed 0) and 5.7 / 0.22 (seed 1) after 3,000 steps, about
  this notebook's time per trial, and 4.7 / 0.15 and 4.5 / 0.17 after 5,000; but the baseline at width
  4 is 14.3 / 0.39 after 3,500 steps (seed 0), so the table keeps width 8.'''),
]


if __name__ == "__main__":
    raise SystemExit(main(CELLS, PATH, __doc__))
