"""Build notebooks/02_dcgan_mnist.ipynb (and optionally execute it).

The notebook is generated from this script so that it is reproducible:

    python notebooks/make_02_dcgan_mnist.py             # write the notebook, no outputs
    python notebooks/make_02_dcgan_mnist.py --execute   # write it and run it in place (full budget, ~10 min)
    GANLIB_SMOKE=1 python notebooks/make_02_dcgan_mnist.py --execute   # tiny budgets (seconds)

Executing needs ``nbformat``, ``nbclient``, ``ipykernel`` and ``matplotlib``, an
importable ``ganlib`` (built in place or installed; the repository root is put on
the kernel's PYTHONPATH) and the MNIST IDX files: in ``$GANLIB_DATA`` or else
``../shared/data/mnist`` relative to the repository root.
The full run also writes ``notebooks/dcgan_mnist_samples.png`` and its headline numbers to
``notebooks/results/02_dcgan_mnist.json`` (the smoke run writes neither).
"""
from __future__ import annotations

import os

from nbbuild import main  # the shared builder beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PATH = os.path.join(HERE, "02_dcgan_mnist.ipynb")

CELLS: list[tuple[str, str]] = [
    ("code", '''import os
SMOKE = os.environ.get("GANLIB_SMOKE") == "1"   # GANLIB_SMOKE=1 shrinks every budget (CI runs it that way)'''),
    ("md", '''# DCGAN on MNIST

A DCGAN (Radford, Metz & Chintala 2016) trained on MNIST with `gl.GAN` and the presets
`gl.nn.dcgan_generator` / `gl.nn.dcgan_discriminator`, on a CPU budget of about ten minutes
on two cores:

* **G**: `z ∈ R¹⁰⁰ → Linear → 128 × 7 × 7 → BN → ReLU → ConvT(4, s2) → 64 × 14 × 14 → BN → ReLU →
  ConvT(4, s2) → 1 × 28 × 28 → tanh` (width 64);
* **D**: `1 × 28 × 28 → Conv(4, s2) → 64 × 14 × 14 → LReLU(0.2) → Conv(4, s2) → 128 × 7 × 7 → BN →
  LReLU(0.2) → Linear → logit`;
* the standard DCGAN recipe: non-saturating loss, Adam(2e-4, β = (0.5, 0.999)) for both players,
  batch 64, N(0, 0.02) initialisation, one D step per G step.

The whole training loop runs in C (`GAN.fit`); Python is called back every `EVAL_EVERY` steps to
measure a **classifier FID**: the Fréchet distance between Gaussians fitted to the 128-d penultimate
features of `gl.metrics.default_mnist_classifier()` (a 99.1 % MNIST convnet) on 2,000 MNIST *test*
images and on 2,000 samples. It is not comparable to Inception-FID numbers from papers, only to itself.

With `SMOKE` set the network is tiny and trained for a few steps: the cells run in seconds and the
numbers are meaningless.'''),
    ("code", '''import json
import time
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import ganlib as gl
import ganlib.plot   # gl.plot (matplotlib helpers) is not imported by `import ganlib`

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "font.size": 9})
T_START = time.perf_counter()
gl.set_num_threads(2)
DATA = os.environ.get("GANLIB_DATA") or os.path.join("..", "..", "shared", "data", "mnist")
B = dict(
    width=8 if SMOKE else 64,          # DCGAN width (64 in the paper)
    latent=100, batch=64, lr=2e-4,
    train_limit=1000 if SMOKE else None,
    n_eval=200 if SMOKE else 2000,     # test images / samples for the FID
    train_seconds=3 if SMOKE else 470, # training-time budget: the number of steps is chosen from it
    n_evals=3 if SMOKE else 10,        # FID measurements during training
)
X, y = gl.datasets.mnist(DATA, "train", limit=B["train_limit"])
X_test, y_test = gl.datasets.mnist(DATA, "test", limit=B["n_eval"])
print("SMOKE" if SMOKE else "full budget", "| train", X.shape, X.dtype, f"[{X.min():.0f}, {X.max():.0f}]",
      "| test", X_test.shape)
gl.show_config()'''),
    ("md", '''## Model and step rate

Build the GAN, then time a few training steps to pick the number of steps that fits the budget.
The first `fit` call traces and compiles the D and G steps; the timed call runs the compiled loop.'''),
    ("code", '''G = gl.nn.dcgan_generator(latent=B["latent"], image_shape=(1, 28, 28), width=B["width"], seed=0)
D = gl.nn.dcgan_discriminator(image_shape=(1, 28, 28), width=B["width"], norm="batch", seed=1)
adam = lambda: gl.optim.Adam(B["lr"], betas=(0.5, 0.999))
gan = gl.GAN(G, D, latent=gl.latent.normal(B["latent"]), loss="nonsaturating", g_opt=adam(), d_opt=adam(), seed=0)
print(f"G: {G.num_parameters():,} parameters, D: {D.num_parameters():,} parameters")

t0 = time.perf_counter()
warm = gan.fit(X, steps=5, batch_size=B["batch"], log_every=5, progress=False)
t_compile = time.perf_counter() - t0
gan.fit(X, steps=5 if SMOKE else 20, batch_size=B["batch"], log_every=20, progress=False)  # warm caches
probe = 5 if SMOKE else 50
t0 = time.perf_counter()
warm2 = gan.fit(X, steps=probe, batch_size=B["batch"], log_every=probe, progress=False)
rate = probe / (time.perf_counter() - t0)
# steps that fit the budget, a multiple of the number of FID evaluations (so they are evenly spaced)
unit = B["n_evals"] * (1 if SMOKE else 10)
STEPS = max(unit, int(rate * B["train_seconds"]) // unit * unit)
EVAL_EVERY = STEPS // B["n_evals"]
print(f"compile + 5 steps {t_compile:.1f} s; {rate:.2f} steps/s ({rate * B['batch']:.0f} images/s) on 2 threads")
print(f"-> STEPS = {STEPS} ({STEPS * B['batch'] / len(X):.2f} epochs), FID every {EVAL_EVERY} steps")'''),
    ("md", '''## Training with a classifier-FID callback

`GAN.fit(..., log_every=EVAL_EVERY, callbacks=[cb])` runs `EVAL_EVERY` steps in C, then calls
`cb(gan, step, logs)`. The callback samples 2,000 images (`gan.sample`, G in training mode as during
training, so BatchNorm uses the statistics of the 2,000-sample batch), computes the FID against the
cached test-set features, and keeps a small grid of samples from a **fixed** latent batch at a few
points (`gan.generate(z_fixed)`) so that the grids are comparable. The real features are computed once.'''),
    ("code", '''clf = gl.metrics.default_mnist_classifier()
real_feats = clf.features(X_test)
z_fixed = np.random.default_rng(123).standard_normal((64, B["latent"])).astype(np.float32)
fid_real_split = gl.metrics.frechet_distance(real_feats[: len(real_feats) // 2], real_feats[len(real_feats) // 2:])

def fid_of(images):
    return gl.metrics.frechet_distance(real_feats, clf.features(images))

fids, grids, eval_seconds = [], {}, []
snap_steps = {EVAL_EVERY, STEPS // 2 - (STEPS // 2) % EVAL_EVERY or EVAL_EVERY, STEPS}
fid0 = fid_of(gan.sample(B["n_eval"]))   # after the warm-up steps
first_step = gan.step

def record(gan, step, logs):
    t = time.perf_counter()
    fids.append((step, fid_of(gan.sample(B["n_eval"]))))
    if step - first_step in snap_steps:
        grids[step] = gan.generate(z_fixed)
    eval_seconds.append(time.perf_counter() - t)
    print(f"step {step:5d}  d_loss {logs['d_loss']:.3f}  g_loss {logs['g_loss']:.3f}  FID {fids[-1][1]:8.2f}  "
          f"({time.perf_counter() - t_train:.0f} s)", flush=True)

t_train = time.perf_counter()
hist = gan.fit(X, steps=STEPS, batch_size=B["batch"], log_every=EVAL_EVERY, callbacks=[record], progress=False)
wall = time.perf_counter() - t_train
train_s = wall - sum(eval_seconds)
print(f"{STEPS} steps in {wall:.0f} s ({train_s:.0f} s training = {STEPS / train_s:.2f} steps/s, "
      f"{sum(eval_seconds):.0f} s evaluating); finite history: {bool(np.isfinite(hist['d_loss']).all())}")
print(f"FID of one half of the test images against the other: {fid_real_split:.2f}")'''),
    ("code", '''def smooth(v, k):
    k = max(1, min(k, len(v)))
    return np.convolve(v, np.ones(k) / k, mode="valid")

fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
steps_f = [first_step] + [s for s, _ in fids]
vals_f = [fid0] + [v for _, v in fids]
a1.plot(steps_f, vals_f, "o-")
a1.axhline(fid_real_split, color="0.5", ls="--", lw=1, label="test half vs test half")
a1.set_yscale("log"); a1.set_xlabel("step"); a1.set_ylabel("classifier FID (2,000 vs 2,000)")
a1.set_title("FID over training"); a1.legend(fontsize=8)
k = max(1, STEPS // 100)
a2.plot(hist["step"][k - 1:], smooth(hist["d_loss"], k), label="D loss")
a2.plot(hist["step"][k - 1:], smooth(hist["g_loss"], k), label="G loss")
a2.set_xlabel("step"); a2.set_title(f"losses (moving average of {k} steps)"); a2.legend(fontsize=8)
plt.tight_layout(); plt.show()'''),
    ("md", '''## Samples during training

The same 64 latent vectors after the first evaluation, half-way and at the end.'''),
    ("code", '''shown = sorted(grids)
fig, axes = plt.subplots(1, len(shown), figsize=(3.4 * len(shown), 3.6))
axes = np.atleast_1d(axes)
fid_at = dict(fids)
for ax, s in zip(axes, shown):
    gl.plot.image_grid(grids[s], nrow=8, ax=ax, title=f"step {s}, FID {fid_at[s]:.1f}")
plt.tight_layout(); plt.show()'''),
    ("md", '''## Final samples

64 samples of the trained generator (fresh latents), saved as `dcgan_mnist_samples.png`
next to this notebook (the full run only). Then 2,000 samples are classified by the same
classifier: class histogram, collision probability `‖p‖² = Σ p_k²` (0.1 for a uniform histogram
over 10 classes), Rényi entropies `H₁ ≥ H₂ ≥ H∞` (all `log 10 = 2.303` nats for uniform), and the
classifier score `exp(E KL(p(y|x) ‖ p(y)))` (the Inception-Score formula; 10 is the maximum).'''),
    ("code", '''final = gan.sample(64)
if not SMOKE:
    gl.io.save_png("dcgan_mnist_samples.png", final, nrow=8)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
gl.plot.image_grid(final, nrow=8, ax=ax, title=f"DCGAN, {gan.step} steps")
plt.tight_layout(); plt.show()

S = gan.sample(B["n_eval"])
print("samples", S.shape, f"range [{S.min():.3f}, {S.max():.3f}]")
fid_final = fid_of(S)
div = gl.metrics.class_diversity(S, classifier=clf)
cs_mean, cs_std = gl.metrics.classifier_score(S, classifier=clf)
ref_div = gl.metrics.class_diversity(X_test, classifier=clf)
ref_cs = gl.metrics.classifier_score(X_test, classifier=clf)
print(f"FID {fid_final:.2f}")
print(f"class histogram (samples): {div['counts'].tolist()}")
print(f"class histogram (test)   : {ref_div['counts'].tolist()}")
print(f"||p||^2 {div['collision_probability']:.4f} (test {ref_div['collision_probability']:.4f}, uniform 0.1)")
print(f"H1 {div['H1']:.3f}  H2 {div['H2']:.3f}  Hinf {div['Hinf']:.3f} nats "
      f"(test {ref_div['H1']:.3f} / {ref_div['H2']:.3f} / {ref_div['Hinf']:.3f}; log 10 = {np.log(10):.3f})")
print(f"classifier score {cs_mean:.3f} ± {cs_std:.3f} (test images {ref_cs[0]:.3f} ± {ref_cs[1]:.3f})")

fig, ax = plt.subplots(figsize=(6, 2.6))
ax.bar(np.arange(10) - 0.2, div["p"], 0.4, label="samples")
ax.bar(np.arange(10) + 0.2, ref_div["p"], 0.4, label="test images")
ax.axhline(0.1, color="0.5", ls="--", lw=1)
ax.set_xticks(range(10)); ax.set_xlabel("predicted class"); ax.set_ylabel("fraction"); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()'''),
    ("md", '''## Conclusion'''),
    ("code", '''total = time.perf_counter() - T_START
best_step, best_fid = min(fids, key=lambda t: t[1])
n = B["n_eval"]
if div["classes_present"] == 10 and div["H2"] > 0.95 * ref_div["H2"]:
    collapse = "no mode collapse: every digit is generated, about as evenly as in the test set"
elif div["classes_present"] == 10:
    collapse = ("no digit is dropped, but the histogram is less even than the test set's "
                f"(the most frequent class has {div['p'].max():.0%} of the samples, the rarest {div['p'].min():.1%})")
else:
    collapse = f"{10 - div['classes_present']} digit(s) are never generated (mode dropping)"
falls = vals_f[-1] < 0.5 * vals_f[0]
display(Markdown(f"""
* **Budget**: {STEPS} steps of batch {B['batch']} after {first_step} warm-up/timing steps
  ({gan.step * B['batch'] / len(X):.2f} epochs in all) at {STEPS / train_s:.2f} steps/s on 2 threads:
  {train_s:.0f} s of training, {sum(eval_seconds):.0f} s of FID evaluations; the whole notebook took {total:.0f} s.
* **Classifier FID** ({n:,} samples vs {n:,} test images): {vals_f[0]:.1f} after the warm-up steps →
  **{fid_final:.2f}** at the end (lowest during training {best_fid:.2f} at step {best_step}); two halves of the
  test images ({n // 2:,} each) are {fid_real_split:.2f} apart, a rough floor at this sample size.
* **Class diversity** of {n:,} samples: {div['classes_present']} / 10 classes present,
  ‖p‖² = {div['collision_probability']:.4f} (test images {ref_div['collision_probability']:.4f}, uniform 0.1),
  H₁ / H₂ / H∞ = {div['H1']:.3f} / {div['H2']:.3f} / {div['Hinf']:.3f} nats (test images {ref_div['H1']:.3f} /
  {ref_div['H2']:.3f} / {ref_div['Hinf']:.3f}; log 10 = 2.303): {collapse}.
* **Classifier score** {cs_mean:.2f} ± {cs_std:.2f} (real test images {ref_cs[0]:.2f} ± {ref_cs[1]:.2f}; maximum 10).
* The FID {"falls by " + f"{vals_f[0] / vals_f[-1]:.0f}× over training" if falls else "does not fall much in this budget"};
  the losses stay finite throughout ({bool(np.isfinite(hist['d_loss']).all() and np.isfinite(hist['g_loss']).all())}).
  {"(SMOKE run: the numbers are meaningless.)" if SMOKE else ""}
"""))
R = {"fid": fid_final, "fid_best": best_fid, "fid_best_step": best_step, "fid_test_halves": fid_real_split,
     "classes_present": div["classes_present"], "collision_samples": div["collision_probability"], "H2": div["H2"],
     "classifier_score": cs_mean, "steps": gan.step, "minutes_total": total / 60}
if not SMOKE:
    os.makedirs("results", exist_ok=True)
    with open(os.path.join("results", "02_dcgan_mnist.json"), "w") as f:
        json.dump({k: float(v) for k, v in sorted(R.items())}, f, indent=1, sort_keys=True)
        f.write("\\n")
    print(f"wrote results/02_dcgan_mnist.json ({len(R)} numbers)")'''),
]


if __name__ == "__main__":
    raise SystemExit(main(CELLS, PATH, __doc__))
