"""Build notebooks/06_flows_and_evaluation.ipynb (and optionally execute it).

The notebook is generated from this script so that it is reproducible:

    python notebooks/make_06_flows_and_evaluation.py             # write the notebook, no outputs
    python notebooks/make_06_flows_and_evaluation.py --execute   # write it and run it in place (full budget, ~40 min on 2 cores)
    GANLIB_SMOKE=1 python notebooks/make_06_flows_and_evaluation.py --execute   # tiny budgets (a minute or two)

Executing needs ``nbformat``, ``nbclient``, ``ipykernel`` and ``matplotlib``, an importable ``ganlib``
and the MNIST IDX files (``$GANLIB_DATA`` or ``../shared/data/mnist``). The full run writes
``notebooks/results/06_flows_and_evaluation.json``; the smoke run never does.
"""
from __future__ import annotations

import os

from nbbuild import main  # the shared builder beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "06_flows_and_evaluation.ipynb")

CELLS: list[tuple[str, str]] = [
    ("code", '''import os
SMOKE = os.environ.get("GANLIB_SMOKE") == "1"   # GANLIB_SMOKE=1 shrinks every budget (CI runs it that way)'''),
    ("md", '''# Real NVP by maximum likelihood and as a WGAN generator; critic-based evaluation

The experiments of `001` (Danihelka et al. 2017: the same Real NVP trained by maximum likelihood and
as the generator of a Wasserstein GAN, judged by likelihood and by sample quality; independent
critics) and of `000` (D_CNN, the overfitting of a GAN, the memorisation test), with `gl.models.RealNVP`
and `gl.metrics`.

| part | what | published (lecture / paper) |
|---|---|---|
| (a) | 2-D flows (ring, swiss roll): densities of the MLE-trained and the WGAN-trained flow | `001`: adversarial training gives sharp samples and poor likelihoods |
| (b) | MNIST Real NVP by **maximum likelihood**: test bits/dim, classifier-FID, samples | flows reach ~1.0–1.1 bits/dim with far longer training; target here ≤ 1.6 in 20 min |
| (c) | the same Real NVP as a **WGAN-GP generator**: bits/dim and FID | Danihelka et al., Grover et al. (Flow-GAN): very poor likelihoods, better samples |
| (d) | a DCGAN followed by **independent critics** during training: the overfitting curve | `000`: the critic against training data falls below the one against held-out data |
| (e) | **D_CNN** (a fresh critic per model): test halves, training set, DCGAN, both flows, noise | `000`: training set < GAN < noise; two test halves at the floor |
| (f) | the **memorisation test**: the smallest memoriser that beats the DCGAN under each metric | `000`: a few hundred memorised images beat GANs under sample-quality scores, not under D_CNN |

**Budget.** The MNIST flows and the DCGAN are trained for a wall-time budget each (the number of steps
is chosen from the step rate measured at the start of each fit); the critics have fixed step counts.
The cells print how long each part took. With `SMOKE` set every budget is tiny: the cells run in
about a minute and the numbers are meaningless.

**Checkpoints of notebooks 02–05.** Those notebooks do not save their models, so the D_CNN table scores
the models trained here (a DCGAN like notebook 02's, at width 32, and the two flows).'''),
    ("code", '''import json
import time

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import ganlib as gl
import ganlib.plot   # gl.plot (matplotlib helpers) is not imported by `import ganlib`

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "font.size": 9})
T_START = time.perf_counter()
gl.set_num_threads(2)
DATA = os.environ.get("GANLIB_DATA") or os.path.join("..", "..", "shared", "data", "mnist")
B = dict(
    toy_n=2000 if SMOKE else 20_000,          # (a) points per 2-D data set
    toy_steps=30 if SMOKE else 3000,          # (a) steps of each 2-D flow, batch 256
    mle_seconds=4 if SMOKE else 1200,         # (b) wall-time budget of the MNIST MLE flow (the issue's 20 min)
    mle_decay_at=0.8,                         # (b) the last 20 % of its steps at learning rate 1e-4
    wgan_seconds=4 if SMOKE else 300,         # (c) the MNIST WGAN-GP flow
    dcgan_seconds=4 if SMOKE else 240,        # (d) the DCGAN
    dcgan_width=8 if SMOKE else 32,
    watch_evals=3 if SMOKE else 8,            # (d) independent-critic evaluations during the DCGAN's training
    watch_steps=20 if SMOKE else 150,         # (d) critic steps per evaluation (warm-started)
    n_eval=200 if SMOKE else 2000,            # samples / test images for FID and class diversity
    dcnn_rows=300 if SMOKE else 5000,         # (e) rows of each side of a D_CNN
    dcnn_steps=30 if SMOKE else 800,          # (e) critic steps of each D_CNN
    mem_grid=(10, 100) if SMOKE else (10, 100, 1000, 10000),   # (f) memorised set sizes
    mem_critic_steps=30 if SMOKE else 400,    # (f) D_CNN steps inside the memorisation table
    train_limit=3000 if SMOKE else None,
)
Xpix, y = gl.datasets.mnist(DATA, "train", scale=None, limit=B["train_limit"])   # 8-bit pixels for the flows
Xtpix, yt = gl.datasets.mnist(DATA, "test", scale=None)
X, Xt = Xpix / 127.5 - 1, Xtpix / 127.5 - 1                                        # [-1, 1] for the GAN and metrics
rng = np.random.default_rng(0)
perm = rng.permutation(len(Xt))
n_rows = B["dcnn_rows"]
HELDOUT, TEST_HALF = Xt[perm[:n_rows]], Xt[perm[n_rows:2 * n_rows]]   # random halves (the file's halves differ: writers)
TRAIN_ROWS = X[rng.choice(len(X), n_rows, replace=False)]
clf = gl.metrics.default_mnist_classifier()
REAL_FEATS = clf.features(Xt[:B["n_eval"]])
R, MINUTES = {}, {}
def took(part, t0):
    MINUTES[part] = (time.perf_counter() - t0) / 60
    print(f"({part}: {MINUTES[part] * 60:.0f} s)")
def to_unit(pixels):   # flow samples (dequantised pixels in (0, 256)) -> [-1, 1]
    return np.clip(np.asarray(pixels, np.float32) / 128.0 - 1.0, -1.0, 1.0)
def quality(images):   # classifier-FID against test images, and the class distribution of the samples
    div = gl.metrics.class_diversity(images, classifier=clf)
    return gl.metrics.frechet_distance(REAL_FEATS, clf.features(images)), div
def fit_for(model, seconds, data, batch, **kw):
    """Fit in chunks until `seconds` of wall time have passed (the first chunk measures the rate)."""
    t0, hist, chunk, done = time.perf_counter(), [], 10, 0
    while True:
        h = model.fit(data, steps=chunk, batch_size=batch, log_every=max(1, chunk // 20), progress=False, **kw)
        hist.append(h)
        done += chunk
        spent = time.perf_counter() - t0
        if spent >= seconds:
            return hist, spent
        rate = done / spent
        chunk = int(max(1, min((seconds - spent) * rate, max(10, 60 * rate))))   # about a minute per chunk
print("SMOKE" if SMOKE else "full budget", "| train", Xpix.shape, "| test", Xtpix.shape)
gl.show_config()'''),
    ("md", '''## (a) 2-D flows: maximum likelihood vs WGAN-GP

Two data sets of 2-D points: a ring of 8 Gaussians (radius 1, σ = 0.05) and a swiss roll. On each, the
same Real NVP (6 affine couplings with alternating masks, coupling networks 2-64-64-(s, t), scale through
tanh) is trained twice, from the same starting weights: by **maximum likelihood** (Adam 1e-3) and as the
**generator of a WGAN-GP** (critic MLP 128-128, 5 critic steps per generator step, λ = 10,
Adam(1e-4, β = (0.5, 0.9)) for both), batch 256. Both are flows, so both have an exact density: the
plots show exp(log p) on a grid, and the table the held-out negative log-likelihood (nats per point,
10,000 fresh points).'''),
    ("code", '''t0 = time.perf_counter()
TOY = {"ring": lambda n, s: gl.datasets.ring(n=n, modes=8, radius=1.0, std=0.05, seed=s),
       "swiss roll": lambda n, s: gl.datasets.swiss_roll(n=n, noise=0.05, seed=s)}
toy_rows = []
fig, axes = plt.subplots(2, 3, figsize=(9, 6))
for r, (name, draw) in enumerate(TOY.items()):
    P, P_test = draw(B["toy_n"], 0), draw(10_000 if not SMOKE else 1000, 1)
    mle = gl.models.RealNVP((2,), couplings=6, hidden=(64, 64), lr=1e-3, seed=0)
    mle.fit(P, steps=B["toy_steps"], batch_size=256, log_every=B["toy_steps"], progress=False)
    wg = gl.models.RealNVP((2,), couplings=6, hidden=(64, 64), seed=0,
                           optimizers={"flow": gl.optim.Adam(1e-4, betas=(0.5, 0.9))})
    wg.fit(P, steps=B["toy_steps"], batch_size=256, log_every=B["toy_steps"], progress=False,
           objective="wgan-gp", n_critic=5)
    nll = {k: float(-m.log_prob(P_test).mean()) for k, m in (("mle", mle), ("wgan", wg))}
    R[f"toy_{name.replace(' ', '_')}_nll_mle"], R[f"toy_{name.replace(' ', '_')}_nll_wgan"] = nll["mle"], nll["wgan"]
    toy_rows.append(f"| {name} | {nll['mle']:.3f} | {nll['wgan']:.3f} |")
    lo, hi = np.percentile(P, 0.5, axis=0) - 0.3, np.percentile(P, 99.5, axis=0) + 0.3
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 160), np.linspace(lo[1], hi[1], 160))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    axes[r, 0].scatter(P[:2000, 0], P[:2000, 1], s=1, alpha=0.4); axes[r, 0].set_title(f"{name}: data")
    for c, (k, m) in enumerate((("maximum likelihood", mle), ("WGAN-GP", wg)), start=1):
        dens = np.exp(m.log_prob(grid)).reshape(gx.shape)
        axes[r, c].imshow(dens, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="viridis", aspect="auto")
        axes[r, c].set_title(f"{name}: {k} density")
    for a in axes[r]:
        a.set_xlim(lo[0], hi[0]); a.set_ylim(lo[1], hi[1])
plt.tight_layout(); plt.show()
display(Markdown("\\n".join(["| data | held-out NLL, MLE flow (nats) | held-out NLL, WGAN-GP flow (nats) |", "|---|---:|---:|"]
                           + toy_rows)))
took("a", t0)'''),
    ("md", '''## (b) MNIST Real NVP by maximum likelihood

`gl.models.RealNVP((1, 28, 28))`, the conv preset: 3 checkerboard couplings, a squeeze, 3 channel
couplings, 3 checkerboard couplings; each coupling network Conv3×3 → ReLU → Conv1×1 → ReLU → Conv3×3
of width 32; uniform dequantisation drawn in C every step, the logit transform with α = 0.05 (both
log-determinants counted), standard normal prior. Adam 1e-3, batch 64, for a 20-minute budget on two
threads, the last 20 % of its steps at 1e-4. **Bits/dim** on the 10,000 test images (one dequantisation
draw, seed 0): the number the literature reports. Samples at temperature 1.'''),
    ("code", '''t0 = time.perf_counter()
nvp = gl.models.RealNVP((1, 28, 28), lr=1e-3, seed=0)
hist, s1 = fit_for(nvp, B["mle_seconds"] * B["mle_decay_at"], Xpix, 64)
nvp.optimizers["flow"].lr = 1e-4
hist2, s2 = fit_for(nvp, B["mle_seconds"] * (1 - B["mle_decay_at"]), Xpix, 64)
train_s = s1 + s2
R["realnvp_mle_steps"], R["realnvp_mle_train_minutes"] = nvp.step, train_s / 60
R["realnvp_mle_test_bpd"] = nvp.bits_per_dim(Xtpix, seed=0)
R["realnvp_mle_train_bpd"] = nvp.bits_per_dim(Xpix[:10_000], seed=0)
S_mle = to_unit(nvp.sample(B["n_eval"], seed=0))
R["realnvp_mle_fid"], div_mle = quality(S_mle)
R["realnvp_mle_classes_present"] = float(div_mle["classes_present"])
print(f"{nvp.step} steps of 64 ({nvp.step * 64 / len(Xpix):.1f} epochs) in {train_s / 60:.1f} min; "
      f"test {R['realnvp_mle_test_bpd']:.3f} bits/dim, train {R['realnvp_mle_train_bpd']:.3f}; "
      f"FID {R['realnvp_mle_fid']:.1f}, classes present {div_mle['classes_present']}")
curve = np.concatenate([h["bits_per_dim"] for h in hist + hist2])
steps_ = np.concatenate([h["step"] for h in hist + hist2])
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
axes[0].plot(steps_, curve); axes[0].set_xlabel("step"); axes[0].set_ylabel("training bits/dim (batch)")
axes[0].set_ylim(max(0.5, curve.min() - 0.2), min(curve.max(), curve.min() + 2.0)); axes[0].set_title("MLE training")
gl.plot.image_grid(S_mle[:40], nrow=10, ax=axes[1], title="MLE Real NVP samples (T = 1)")
plt.tight_layout(); plt.show()
took("b", t0)'''),
    ("md", '''## (c) The same Real NVP as a WGAN-GP generator

The same flow (same starting weights) as the generator z ~ N(0, I) → inverse → image of a WGAN-GP:
the conv critic preset (two stride-2 4 × 4 convolutions of width 32, leaky ReLU, no batch norm),
5 critic steps per flow step, λ = 10, Adam(1e-4, β = (0.5, 0.9)) for flow and critic, batch 64, for
its budget. The critic sees dequantised pixels scaled to [0, 1). The likelihood is never used in
training, but the model is still a flow: its test bits/dim are exact.'''),
    ("code", '''t0 = time.perf_counter()
wnvp = gl.models.RealNVP((1, 28, 28), seed=0, optimizers={"flow": gl.optim.Adam(1e-4, betas=(0.5, 0.9))})
whist, ws = fit_for(wnvp, B["wgan_seconds"], Xpix, 64, objective="wgan-gp", n_critic=5)
R["realnvp_wgan_steps"] = wnvp.step
R["realnvp_wgan_test_bpd"] = wnvp.bits_per_dim(Xtpix, seed=0)
S_wgan = to_unit(wnvp.sample(B["n_eval"], seed=0))
R["realnvp_wgan_fid"], div_wgan = quality(S_wgan)
R["realnvp_wgan_classes_present"] = float(div_wgan["classes_present"])
print(f"{wnvp.step} generator steps in {ws / 60:.1f} min; test {R['realnvp_wgan_test_bpd']:.3f} bits/dim; "
      f"FID {R['realnvp_wgan_fid']:.1f}, classes present {div_wgan['classes_present']}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
w_est = -np.concatenate([h["critic_loss"] for h in whist])
axes[0].plot(np.concatenate([h["step"] for h in whist]), w_est)
axes[0].set_xlabel("generator step"); axes[0].set_ylabel("critic's Wasserstein estimate"); axes[0].set_title("WGAN-GP training")
gl.plot.image_grid(S_wgan[:40], nrow=10, ax=axes[1], title="WGAN-GP Real NVP samples")
plt.tight_layout(); plt.show()
display(Markdown("\\n".join([
    "| Real NVP trained by | test bits/dim | classifier-FID | classes present | steps |", "|---|---:|---:|---:|---:|",
    f"| maximum likelihood | {R['realnvp_mle_test_bpd']:.3f} | {R['realnvp_mle_fid']:.1f} | {div_mle['classes_present']} | {nvp.step} |",
    f"| WGAN-GP | {R['realnvp_wgan_test_bpd']:.3f} | {R['realnvp_wgan_fid']:.1f} | {div_wgan['classes_present']} | {wnvp.step} |"])))
took("c", t0)'''),
    ("md", '''## (d) A DCGAN watched by independent critics: the overfitting curve

A DCGAN like notebook 02's (width 32, batch norm in D, non-saturating loss, Adam 2e-4 β₁ = 0.5, batch 64)
trained for its budget. Two `gl.metrics.IndependentCritic` callbacks follow it, each a WGAN-GP critic
of its own that never trains the GAN, warm-started between evaluations: one separates the GAN's samples
from **held-out** test images, the other from **training** images the GAN learns from. A model that
memorises would look closer to its training data than to held-out data: the curve against the
training data below the held-out one.'''),
    ("code", '''t0 = time.perf_counter()
G = gl.nn.dcgan_generator(latent=100, image_shape=(1, 28, 28), width=B["dcgan_width"], seed=0)
D = gl.nn.dcgan_discriminator(image_shape=(1, 28, 28), width=B["dcgan_width"], norm="batch", seed=1)
adam = lambda: gl.optim.Adam(2e-4, betas=(0.5, 0.999))
gan = gl.GAN(G, D, latent=gl.latent.normal(100), loss="nonsaturating", g_opt=adam(), d_opt=adam(), seed=0)
gan.fit(X, steps=20, batch_size=64, log_every=20, progress=False)            # compile, warm up
t1 = time.perf_counter(); gan.fit(X, steps=20, batch_size=64, log_every=20, progress=False)
rate = 20 / (time.perf_counter() - t1)
every = max(1, int(rate * B["dcgan_seconds"]) // B["watch_evals"])
n_watch = min(2000, n_rows)
watch_held = gl.metrics.IndependentCritic(HELDOUT[:n_watch], every=every, steps=B["watch_steps"], seed=0)
watch_train = gl.metrics.IndependentCritic(TRAIN_ROWS[:n_watch], every=every, steps=B["watch_steps"], seed=0)
gan.fit(X, steps=every * B["watch_evals"], batch_size=64, log_every=every, callbacks=[watch_held, watch_train],
        progress=False)
R["dcgan_steps"] = gan.step
hs, hv = np.array(watch_held.history), np.array(watch_train.history)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(hs[:, 0], hs[:, 1], "o-", label="against held-out test images")
ax.plot(hv[:, 0], hv[:, 1], "s-", label="against training images")
ax.set_xlabel("DCGAN step"); ax.set_ylabel("independent critic's estimate"); ax.legend(); ax.set_title("DCGAN overfitting curve")
plt.tight_layout(); plt.show()
R["dcgan_watch_heldout_final"], R["dcgan_watch_train_final"] = float(hs[-1, 1]), float(hv[-1, 1])
print(f"{gan.step} steps ({rate:.1f} steps/s); final estimate held-out {hs[-1, 1]:.3f}, training {hv[-1, 1]:.3f}")
S_gan = gan.sample(max(B["n_eval"], n_rows))
R["dcgan_fid"], div_gan = quality(S_gan[:B["n_eval"]])
took("d", t0)'''),
    ("md", '''## (e) D_CNN: a fresh critic per model

`gl.metrics.critic_divergence`: a fresh WGAN-GP critic (the default small conv net) trained to
separate held-out real images (a random half of the test set) from a model's samples; the value is its
converged estimate E_real f − E_samples f on rows it did not train on (mean of the last evaluations).
Lower is closer; a model indistinguishable from the held-out data sits at the floor, ≈ 0. For the
models, a second critic with the same starting weights is trained against training images, and the
**gap** (held-out minus training estimate) measures overfitting: a model that copies its training set
has a positive gap. Every row has the same number of rows on each side.'''),
    ("code", '''t0 = time.perf_counter()
noise = np.random.default_rng(1).uniform(-1, 1, size=(n_rows, 1, 28, 28)).astype(np.float32)
mle_more = to_unit(nvp.sample(n_rows, seed=1))
wgan_more = to_unit(wnvp.sample(n_rows, seed=1))
ROWS = [("test half (the floor)", TEST_HALF, False), ("training set", TRAIN_ROWS, False),
        ("DCGAN", S_gan[:n_rows], True), ("Real NVP, MLE", mle_more, True), ("Real NVP, WGAN-GP", wgan_more, True),
        ("uniform noise", noise, False)]
DC = {}
for name, samples, gap in ROWS:
    t1 = time.perf_counter()
    r = gl.metrics.critic_divergence(TRAIN_ROWS if gap else None, HELDOUT, samples, steps=B["dcnn_steps"],
                                     eval_every=max(1, B["dcnn_steps"] // 8), average=4, seed=0)
    DC[name] = (r, time.perf_counter() - t1)
R.update(dcnn_test_halves=DC["test half (the floor)"][0].value, dcnn_train_set=DC["training set"][0].value,
         dcnn_dcgan=DC["DCGAN"][0].value, dcnn_realnvp_mle=DC["Real NVP, MLE"][0].value,
         dcnn_realnvp_wgan=DC["Real NVP, WGAN-GP"][0].value, dcnn_noise=DC["uniform noise"][0].value,
         dcnn_gap_dcgan=DC["DCGAN"][0].gap)
fmt = lambda v: "" if v is None else f"{v:+.3f}"
display(Markdown("\\n".join(["| samples | D_CNN (against held-out) | overfitting gap | seconds |", "|---|---:|---:|---:|"]
                           + [f"| {n} | {r.value:.3f} | {fmt(r.gap)} | {s:.0f} |" for n, (r, s) in DC.items()])))
took("e", t0)'''),
    ("md", '''## (f) The memorisation test

`gl.metrics.memorisation_table`: for each n of the grid, the "model" that memorises n training images
(it samples them uniformly with replacement), scored like the DCGAN of (d) by each metric — the
shipped classifier's score (higher is better), the Fréchet distance on its features and D_CNN (lower is
better) — against the held-out images. **n to win** is the smallest memoriser that beats the DCGAN: a
small n means the metric cannot tell a model that generalises from a lookup table.'''),
    ("code", '''t0 = time.perf_counter()
metrics = gl.metrics.default_memorisation_metrics((1, 28, 28), critic_steps=B["mem_critic_steps"])
tab = gl.metrics.memorisation_table(X, HELDOUT, S_gan[:n_rows], metrics=metrics, grid=B["mem_grid"], seed=0)
print(tab)
for name, n in tab.n_to_win.items():
    R[f"memorisation_n_to_win_{name}"] = float(n) if n is not None else float("inf")
took("f", t0)'''),
    ("md", '''## Results'''),
    ("code", '''total = (time.perf_counter() - T_START) / 60
R["minutes_total"] = total
for part, m in MINUTES.items():
    R[f"minutes_{part}"] = m
win = lambda n: "> " + str(B["mem_grid"][-1]) if n is None else str(n)
rows = ["| quantity | ours | published / expected | setup |", "|---|---:|---|---|",
        f"| MLE Real NVP, test bits/dim | {R['realnvp_mle_test_bpd']:.3f} | ≤ 1.6 (target); ~1.0–1.1 (long training) | {int(R['realnvp_mle_steps'])} steps of 64, {R['realnvp_mle_train_minutes']:.1f} min, 2 threads |",
        f"| WGAN-GP Real NVP, test bits/dim | {R['realnvp_wgan_test_bpd']:.3f} | much worse than MLE (Danihelka et al.; Grover et al.) | {int(R['realnvp_wgan_steps'])} generator steps |",
        f"| classifier-FID: MLE flow / WGAN flow / DCGAN | {R['realnvp_mle_fid']:.1f} / {R['realnvp_wgan_fid']:.1f} / {R['dcgan_fid']:.1f} | WGAN samples better than MLE samples | {B['n_eval']} samples vs test images |",
        f"| D_CNN: test halves / training set / DCGAN / noise | {R['dcnn_test_halves']:.3f} / {R['dcnn_train_set']:.3f} / {R['dcnn_dcgan']:.3f} / {R['dcnn_noise']:.1f} | floor ≈ 0; training set < GAN < noise | {n_rows} rows, {B['dcnn_steps']} critic steps |",
        f"| memorisation n to win (score / FD / D_CNN) | {win(tab.n_to_win.get('classifier_score'))} / {win(tab.n_to_win.get('frechet'))} / {win(tab.n_to_win.get('dcnn'))} | small for sample-quality scores, large for D_CNN | grid {B['mem_grid']} |"]
display(Markdown("\\n".join(rows)))
print("minutes per part:", {k: round(v, 1) for k, v in MINUTES.items()}, f"total {total:.1f}")
if not SMOKE:
    os.makedirs("results", exist_ok=True)
    with open(os.path.join("results", "06_flows_and_evaluation.json"), "w") as f:
        json.dump({k: float(v) for k, v in R.items()}, f, indent=1, sort_keys=True)
    print("wrote results/06_flows_and_evaluation.json")'''),
    ("md", '''## Conclusion'''),
    ("code", '''bpd_ok = R["realnvp_mle_test_bpd"] <= 1.6
rank_ok = R["dcnn_train_set"] < R["dcnn_dcgan"] < R["dcnn_noise"]
floor_ok = abs(R["dcnn_test_halves"]) <= abs(R["dcnn_train_set"])
display(Markdown(f"""
* **Likelihood**: the MLE-trained Real NVP reaches {R['realnvp_mle_test_bpd']:.3f} test bits/dim in
  {R['realnvp_mle_train_minutes']:.1f} minutes — {"within" if bpd_ok else "**not** within"} the 1.6 target. The same flow trained
  as a WGAN-GP generator: {R['realnvp_wgan_test_bpd']:.2f} bits/dim
  ({"far worse, as Danihelka et al. and Grover et al. report" if R['realnvp_wgan_test_bpd'] > R['realnvp_mle_test_bpd'] + 0.5 else "not far worse than MLE here, unlike the papers"}).
* **Samples**: classifier-FID {R['realnvp_mle_fid']:.1f} (MLE) vs {R['realnvp_wgan_fid']:.1f} (WGAN-GP)
  ({"the adversarial flow's samples score better, as in the paper" if R['realnvp_wgan_fid'] < R['realnvp_mle_fid'] else "the adversarial flow's samples do **not** score better here, unlike the paper"}); the DCGAN {R['dcgan_fid']:.1f}.
* **D_CNN** ranks training set ({R['dcnn_train_set']:.3f}) {"<" if R['dcnn_train_set'] < R['dcnn_dcgan'] else "**≥**"} DCGAN ({R['dcnn_dcgan']:.3f})
  {"<" if R['dcnn_dcgan'] < R['dcnn_noise'] else "**≥**"} noise ({R['dcnn_noise']:.1f}) — {"the lecture's order" if rank_ok else "**not** the lecture's order"};
  two halves of the test set give {R['dcnn_test_halves']:.3f} ({"at the floor: no larger than the training set's" if floor_ok else "**above** the training set's value"}).
* **Memorisation**: memorising {win(tab.n_to_win.get('classifier_score'))} / {win(tab.n_to_win.get('frechet'))} / {win(tab.n_to_win.get('dcnn'))} training images beats the DCGAN
  under classifier score / Fréchet distance / D_CNN.
* **Time**: {R['minutes_total']:.1f} minutes on two cores ({", ".join(f"{k} {v:.1f}" for k, v in MINUTES.items())}).
{"(SMOKE run: the numbers are meaningless.)" if SMOKE else ""}
"""))'''),
]


if __name__ == "__main__":
    raise SystemExit(main(CELLS, PATH, __doc__))
