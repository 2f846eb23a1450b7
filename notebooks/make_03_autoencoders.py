"""Build notebooks/03_autoencoders.ipynb (and optionally execute it).

The notebook is generated from this script so that it is reproducible:

    python notebooks/make_03_autoencoders.py             # write the notebook, no outputs
    python notebooks/make_03_autoencoders.py --execute   # write it and run it in place (full budget, ~30 min on 2 cores)
    GANLIB_SMOKE=1 python notebooks/make_03_autoencoders.py --execute   # tiny budgets (about a minute)

Executing needs ``nbformat``, ``nbclient``, ``ipykernel``, ``matplotlib`` and ``cloudpickle`` (part (d)'s
trial is defined in the notebook and shipped to ``gl.sweep``'s worker processes by value), an importable
``ganlib`` and the MNIST IDX files (``$GANLIB_DATA`` or ``../shared/data/mnist``). The full run
writes ``notebooks/results/03_autoencoders.json``; the smoke run never does.
"""
from __future__ import annotations

import os

from nbbuild import main  # the shared builder beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "03_autoencoders.ipynb")

CELLS: list[tuple[str, str]] = [
    ("code", '''import os
SMOKE = os.environ.get("GANLIB_SMOKE") == "1"   # GANLIB_SMOKE=1 shrinks every budget (CI runs it that way)'''),
    ("md", '''# Autoencoders, VAEs and adversarial autoencoders on MNIST

The lecture experiments on autoencoders (`002`: autoencoders, PCA, the VAE; `004`: adversarial
autoencoders with Gaussian, mixture and label-conditioned priors, unsupervised clustering;
`003`: class radius and ‖p‖₂²; `000`: the linear probe), reproduced with `gl.models` on MNIST.
Every model is a `gl.Trainer`: its phases (reconstruction; code discriminator; encoder as generator)
run in one C loop.

| part | what | published (paper / lecture) |
|---|---|---|
| (a) | PCA vs linear AE vs deep AE, 16-d codes | linear AE with squared error = PCA subspace (a theorem) |
| (b) | VAE vs AAE with a 2-D Gaussian prior | AAE lecture: the AAE fills the prior, the VAE leaves gaps |
| (c) | AAE with a 10-Gaussian mixture prior, and label-conditioned | AAE lecture figures |
| (d) | AAE unsupervised clustering, 16 clusters | 9.55 % test error (Makhzani et al. 2016) |
| (e) | VAE 784-500-500-50, dynamically binarised MNIST, test NLL (k = 5000) | 86.76 nats (Burda et al. 2016, thousands of epochs); ~89.8 in careful reimplementations |
| (f) | linear probe on the codes | ACAI lecture table, d_z = 32: AE 94.90, VAE 96.56, AAE 70.74 % |
| (g) | class radius and ‖p‖₂² of the VAE's decoder | `003`: the bound log(4π log(1/‖p‖²)) / √(2 log(1/‖p‖²)) |

With `SMOKE` set every budget is tiny: the cells run in about a minute and the numbers are meaningless.'''),
    ("code", '''import json
import tempfile
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
    train_limit=2000 if SMOKE else None,
    test_limit=500 if SMOKE else None,
    code=16,                                  # (a) code width
    ae_steps=60 if SMOKE else 6000,           # (a) steps, batch 100
    two_d_steps=300 if SMOKE else 8000,       # (b), (c) steps, batch 100
    cluster_steps=60 if SMOKE else 8000,      # (d) steps, batch 100
    cluster_tail=20 if SMOKE else 3000,       # (d) of which the last at learning rate 1e-4
    cluster_seeds=[0, 1] if SMOKE else [0, 1, 2, 3],   # (d) one gl.sweep trial each, two at a time
    vae_steps=500 if SMOKE else 30000,        # (e) steps, batch 100
    nll_images=4 if SMOKE else 1000,          # (e) test images for the k = 5000 estimate
    nll_k=50 if SMOKE else 5000,
    radius_n=100 if SMOKE else 2000,          # (g) latent draws
    hidden=[64] if SMOKE else [512, 512],
)
X, y = gl.datasets.mnist(DATA, "train", scale=(0, 1), limit=B["train_limit"])
Xt, yt = gl.datasets.mnist(DATA, "test", scale=(0, 1), limit=B["test_limit"])
clf = gl.metrics.default_mnist_classifier()
R, MINUTES = {}, {}
def took(part, t0):
    MINUTES[part] = (time.perf_counter() - t0) / 60
    print(f"({part}: {MINUTES[part] * 60:.0f} s)")
print("SMOKE" if SMOKE else "full budget", "| train", X.shape, "| test", Xt.shape, f"| pixels in [{X.min():.0f}, {X.max():.0f}]")
gl.show_config()'''),
    ("md", '''## (a) PCA, a linear autoencoder and a deep autoencoder

PCA keeps the top 16 principal directions of the centred training images (NumPy SVD). A **linear
autoencoder** (`Flatten → Linear(784, 16)` / `Linear(16, 784) → Reshape`) trained with squared error
learns the same subspace (Baldi & Hornik 1989), though not the same basis: we measure the principal
angles between its decoder's column space and PCA's. A **deep autoencoder** (MLP preset 784-512-512-16
and back, ReLU) reconstructs better with the same code width. Adam 1e-3, batch 100.'''),
    ("code", '''t0 = time.perf_counter()
k = B["code"]
flat, flat_t = X.reshape(len(X), -1).astype(np.float64), Xt.reshape(len(Xt), -1).astype(np.float64)
mean = flat.mean(axis=0)
_, _, Vt = np.linalg.svd(flat - mean, full_matrices=False)
P = Vt[:k].T                                                     # (784, k) principal directions
pca_codes, pca_codes_t = (flat - mean) @ P, (flat_t - mean) @ P
pca_rec = (pca_codes_t @ P.T + mean).reshape(Xt.shape)

lin = gl.models.Autoencoder((1, 28, 28), k, seed=0,
                            E=gl.nn.Sequential(gl.nn.Flatten(), gl.nn.Linear(784, k, seed=0)),
                            Dec=gl.nn.Sequential(gl.nn.Linear(k, 784, seed=1), gl.nn.Reshape(1, 28, 28)))
lin.fit(X, steps=B["ae_steps"], batch_size=100, progress=False)
deep = gl.models.Autoencoder((1, 28, 28), k, hidden=B["hidden"], seed=0)
deep.fit(X, steps=B["ae_steps"], batch_size=100, progress=False)

def angles(a, b):
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    return np.arccos(np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1, 1))
W = lin.Dec[0].param("weight").astype(np.float64)              # (784, k)
ang = angles(W, P)
mse = {"PCA": float(((pca_rec - Xt) ** 2).mean()), "linear AE": float(((lin.reconstruct(Xt) - Xt) ** 2).mean()),
       "deep AE": float(((deep.reconstruct(Xt) - Xt) ** 2).mean())}
print(f"test MSE per pixel: " + ", ".join(f"{n} {v:.5f}" for n, v in mse.items()))
print(f"principal angles linear AE vs PCA (rad): max {ang.max():.3f}, mean {ang.mean():.3f}")
R.update(pca_test_mse=mse["PCA"], linear_ae_test_mse=mse["linear AE"], deep_ae_test_mse=mse["deep AE"],
         linear_ae_max_principal_angle=float(ang.max()))
fig, axes = plt.subplots(1, 3, figsize=(12, 2.4))
for ax, (name, rec) in zip(axes, [("PCA", pca_rec), ("linear AE", lin.reconstruct(Xt)), ("deep AE", deep.reconstruct(Xt))]):
    gl.plot.reconstructions(Xt[:8], rec[:8], ax=ax, value_range=(0, 1), title=f"{name}: MSE {mse[name]:.4f}")
plt.tight_layout(); plt.show()
took("a", t0)'''),
    ("md", '''## (b) VAE vs AAE with a 2-D Gaussian prior

Both with 2-D codes, MLP 784-512-512-2 encoders and mirrored decoders, Bernoulli likelihood (the
AAE: binary cross-entropy reconstruction), Adam 1e-3, batch 100; as in the paper, the AAE's encoder
has an optimizer of its own for the regularisation (gen) phase (`"E@gen"`), so the reconstruction's
large gradients (a Bernoulli loss summed over pixels, ~100 nats) do not set the step sizes of the
prior's pull. The scatter plots show the test set's codes (the VAE's posterior means) coloured by
digit, as on the AAE slides, where the AAE's codes fill the prior's shape and the VAE's posterior
means cluster with gaps between classes. The cell prints how Gaussian the AAE's codes are: the
share within radius 2 (86.5 % for N(0, I)) and beyond radius 4 (0.03 %).'''),
    ("code", '''t0 = time.perf_counter()
vae2 = gl.models.VAE((1, 28, 28), 2, hidden=B["hidden"], seed=0)
vae2.fit(X, steps=B["two_d_steps"], batch_size=100, progress=False)
aae2 = gl.models.AAE((1, 28, 28), 2, prior="gaussian", hidden=B["hidden"], reconstruction="bernoulli", seed=0)
aae2.fit(X, steps=B["two_d_steps"], batch_size=100, progress=False)
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
gl.plot.latent_scatter(vae2.encode(Xt), yt, ax=axes[0], s=2, title="VAE (posterior means)")
gl.plot.latent_scatter(aae2.encode(Xt), yt, ax=axes[1], s=2, title="AAE, N(0, I) prior")
gl.plot.latent_scatter(aae2.prior_samples(len(Xt)), None, ax=axes[2], s=2, title="prior samples")
plt.tight_layout(); plt.show()
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
grid = np.stack(np.meshgrid(np.linspace(-2, 2, 12), np.linspace(2, -2, 12)), -1).reshape(-1, 2).astype(np.float32)
gl.plot.image_grid(vae2.decode(grid), nrow=12, value_range=(0, 1), ax=axes[0], title="VAE: decoded 2-D grid")
gl.plot.image_grid(aae2.decode(grid), nrow=12, value_range=(0, 1), ax=axes[1], title="AAE: decoded 2-D grid")
plt.tight_layout(); plt.show()
r = np.linalg.norm(aae2.encode(Xt), axis=1)
R.update(aae2_codes_within_2=float((r < 2).mean()), aae2_codes_beyond_4=float((r > 4).mean()))
print(f"AAE codes: {R['aae2_codes_within_2']:.1%} within radius 2 (N(0, I): 86.5 %), "
      f"{R['aae2_codes_beyond_4']:.2%} beyond radius 4 (N(0, I): 0.03 %)")
took("b", t0)'''),
    ("md", '''## (c) AAE with a mixture of 10 Gaussians, and with the label-conditioned mixture

The mixture prior puts 10 elongated 2-D Gaussians on a circle (radius 4, std 0.5 along the radius,
0.15 across). Unconditioned, the encoder maps the data onto the mixture but each component mixes
digits. **Label-conditioned**: 20 % of the training labels are given; the code discriminator sees
`(z, one-hot label)` (an 11th "no label" slot for the rest), and prior samples for a labelled example
come from its class's component — meant to push each digit to its own component (the lecture's
semi-supervised figure); the cell below measures how often a test digit lands in its own
class's component (nearest mean; 10 % by chance). Last, the **supervised** AAE of the slides: the label goes to the decoder,
so the code is left to learn style — a style × digit grid decodes each test digit's style with
every label.'''),
    ("code", '''t0 = time.perf_counter()
mix = gl.models.AAE((1, 28, 28), 2, prior="mixture", hidden=B["hidden"], reconstruction="bernoulli", seed=0)
mix.fit(X, steps=B["two_d_steps"], batch_size=100, progress=False)
partial = y.copy()
partial[np.random.default_rng(0).random(len(y)) >= 0.2] = -1          # 20 % labelled
lmix = gl.models.AAE((1, 28, 28), 2, prior="label_mixture", hidden=B["hidden"], reconstruction="bernoulli", seed=0)
lmix.fit(X, partial, steps=B["two_d_steps"], batch_size=100, progress=False)
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
gl.plot.latent_scatter(mix.prior_samples(len(Xt)), None, ax=axes[0], s=2, title="mixture prior")
gl.plot.latent_scatter(mix.encode(Xt), yt, ax=axes[1], s=2, title="AAE, mixture prior")
gl.plot.latent_scatter(lmix.encode(Xt), yt, ax=axes[2], s=2, title="AAE, label-conditioned (20 % labels)")
plt.tight_layout(); plt.show()
# the supervised AAE: the label goes to the decoder, the 2-d code learns style
sup = gl.models.AAE((1, 28, 28), 2, supervised=True, hidden=B["hidden"], reconstruction="bernoulli", seed=0)
sup.fit(X, y, steps=B["two_d_steps"], batch_size=100, progress=False)
styles = sup.encode(Xt[:8])                                 # the styles of 8 test digits
grid = sup.decode(np.repeat(styles, 10, axis=0), np.tile(np.arange(10), 8))
fig, ax = plt.subplots(figsize=(6, 5))
gl.plot.image_grid(grid, nrow=10, value_range=(0, 1), ax=ax, title="supervised AAE: one style per row (from a test digit), digits 0-9")
plt.tight_layout(); plt.show()
# how often a test digit lands in its own class's component (nearest mean)
comp = np.argmin(((lmix.encode(Xt)[:, None, :] - lmix._means[None]) ** 2).sum(-1), axis=1)
R["label_mixture_component_accuracy"] = float((comp == yt).mean())
print(f"label-conditioned AAE: {R['label_mixture_component_accuracy']:.1%} of test digits land in their class's component")
took("c", t0)'''),
    ("md", '''## (d) Unsupervised clustering with 16 clusters

Convolutional encoder and decoder (the conv preset: two stride-2 4 × 4 convolutions, width 32),
Bernoulli reconstruction. The encoder outputs 16 cluster logits (softmax) and a 4-d Gaussian style
code; the decoder reconstructs from both. One discriminator pushes the softmax towards one-hot vectors drawn
uniformly (a categorical prior), another pushes the style code towards N(0, I). The error is the
AAE paper's: each cluster is labelled with the majority digit of the training images it receives
(many-to-one, `gl.metrics.clustering_accuracy(mapping="many-to-one")`), then test images are
classified by their cluster.

One departure from the paper: our preset ends the encoder in a **batch norm** of its outputs.
Without it the cluster head put every input into one cluster within the first ~50 steps, and
never left (the softmax saturates, so its gradients vanish) — with any learning rate or weighting
of the adversarial loss we tried. Our MLP encoders plateaued near 33 % error and MSE reconstruction
near 28 %; the conv / Bernoulli pair is what brought it down. Adam 1e-3 (the encoder's gen-phase
Adam, its own as in (b), too), then 1e-4 for the last `cluster_tail` steps.

**Seeds.** The error varies a lot from seed to seed (which digits end up sharing a cluster is
decided early), far more than the optimizer settings we tried move it, so the cell trains
`cluster_seeds` independent models on `gl.sweep`'s two worker processes (one thread each, two at a
time) and reports the mean ± std; the sample grid and the probe row of (f) come from these runs.'''),
    ("code", '''def cluster_trial(seed, steps, tail, width, hidden, data, train_limit, test_limit):
    """Train one clustering AAE and score it (runs in a gl.sweep worker process, one thread)."""
    import time
    import numpy as np
    import ganlib as gl
    X, y = gl.datasets.mnist(data, "train", scale=(0, 1), limit=train_limit)
    Xt, yt = gl.datasets.mnist(data, "test", scale=(0, 1), limit=test_limit)
    t0 = time.perf_counter()
    m = gl.models.AAE((1, 28, 28), 4, clusters=16, preset="conv", width=width, disc_hidden=hidden,
                      reconstruction="bernoulli", seed=seed)
    m.fit(X, steps=steps - tail, batch_size=100, progress=False)
    for opt in m.optimizers.values():
        opt.lr = 1e-4
    m.fit(X, steps=tail, batch_size=100, progress=False)
    seconds = time.perf_counter() - t0
    c_train, c_test = m.cluster(X), m.cluster(Xt)
    majority = np.array([np.bincount(y[c_train == c], minlength=10).argmax() if (c_train == c).any() else -1
                         for c in range(16)])
    codes = lambda images: np.hstack([m.cluster_probabilities(images), m.encode(images)])
    out = {"error": float((majority[c_test] != yt).mean()),
           "many_to_one": gl.metrics.clustering_accuracy(c_test, yt, mapping="many-to-one"),
           "clusters_used": int(len(np.unique(c_test))), "majority": majority.tolist(),
           "probe": gl.metrics.linear_probe(codes(X), y, codes(Xt), yt), "train_seconds": seconds, "grid": None}
    if seed == 0:   # one row of samples per cluster (random style codes), for the figure
        rows = [m.decode(np.random.default_rng(c).standard_normal((10, 4)).astype(np.float32), clusters=np.full(10, c))
                for c in range(16)]
        out["grid"] = np.round(np.concatenate(rows), 3).tolist()
    return out


t0 = time.perf_counter()
GRID = [dict(seed=s, steps=B["cluster_steps"], tail=B["cluster_tail"], width=8 if SMOKE else 32, hidden=B["hidden"],
             data=os.path.abspath(DATA), train_limit=B["train_limit"], test_limit=B["test_limit"])
        for s in B["cluster_seeds"]]
OUT = os.path.join(tempfile.gettempdir(), f"ganlib-03-clusters-{'smoke' if SMOKE else 'full'}-{os.getpid()}")
res_clus = gl.sweep(cluster_trial, GRID, out=OUT, threads_per_trial=1, progress=False)
for r in res_clus.failed:
    print("FAILED seed", r["config"]["seed"], r["error"][-400:])
CL = {r["config"]["seed"]: r["result"] for r in res_clus if r["status"] == "done"}
errs = np.array([CL[s]["error"] for s in sorted(CL)])
R.update(aae_cluster16_error=float(errs.mean()), aae_cluster16_error_std=float(errs.std(ddof=1)) if len(errs) > 1 else float("nan"),
         aae_cluster16_seeds=len(errs), probe_acc_aae_clusters=float(np.mean([c["probe"] for c in CL.values()])))
for s in sorted(CL):
    R[f"aae_cluster16_error_seed{s}"] = CL[s]["error"]
display(Markdown("\\n".join(
    ["| seed | test error (training-set majority labels) | test-set many-to-one accuracy | clusters used | majority digit per cluster | train s |",
     "|---:|---:|---:|---:|---|---:|"]
    + [f"| {s} | {c['error']:.2%} | {c['many_to_one']:.2%} | {c['clusters_used']} / 16 | {' '.join(map(str, c['majority']))} | {c['train_seconds']:.0f} |"
       for s, c in sorted(CL.items())]
    + [f"| **mean ± std** | **{R['aae_cluster16_error']:.2%} ± {R['aae_cluster16_error_std']:.2%}** | | | paper: 9.55 % | |"])))
if CL.get(0) and CL[0]["grid"] is not None:
    fig, ax = plt.subplots(figsize=(6, 9.5))
    gl.plot.image_grid(np.asarray(CL[0]["grid"], np.float32), nrow=10, value_range=(0, 1), ax=ax,
                       title="seed 0: one row per cluster (random style codes); majority digit: " + " ".join(map(str, CL[0]["majority"])))
    plt.tight_layout(); plt.show()
print(f"{len(GRID)} seeds on gl.sweep's workers (one thread each): wall {res_clus.wall_seconds:.0f} s")
took("d", t0)'''),
    ("md", '''## (e) The VAE's test log-likelihood

The classic VAE: encoder 784-500-500-(μ, log σ²) of a 50-d Gaussian, decoder 50-500-500-784 Bernoulli
logits, ReLU, Adam 1e-3, batch 100, on **dynamically binarised** MNIST (every step draws
x ~ Bernoulli(pixel intensity) inside the C program, `VAE(binarize=True)`). The test negative
log-likelihood is the importance-weighted estimate with k = 5,000 samples per image (Burda et al.),
on a stochastically binarised test set (one draw, seed 0), in nats and bits/dim. The budget decides
how many of the 10,000 test images are scored (the cost is 5,000 decoder passes per image).'''),
    ("code", '''t0 = time.perf_counter()
vae = gl.models.VAE((1, 28, 28), 50, hidden=[64] if SMOKE else [500, 500], binarize=True, seed=0)
curve = []
chunk = max(1, B["vae_steps"] // 10)
while vae.step < B["vae_steps"]:
    h = vae.fit(X, steps=min(chunk, B["vae_steps"] - vae.step), batch_size=100, progress=False)
    curve.append((vae.step, float(h["neg_elbo"].mean())))
train_s = time.perf_counter() - t0
t1 = time.perf_counter()
ll = vae.log_likelihood(Xt[:B["nll_images"]], k=B["nll_k"], seed=0)
elbo = vae.log_likelihood(Xt[:B["nll_images"]], k=1, seed=1)
R.update(vae_test_nll_nats=ll.nll, vae_test_bits_per_dim=ll.bits_per_dim, vae_test_neg_elbo_k1=elbo.nll,
         vae_steps=vae.step, vae_nll_images=B["nll_images"])
print(f"{vae.step} steps ({vae.step * 100 / len(X):.0f} epochs) in {train_s:.0f} s; "
      f"test NLL (k = {B['nll_k']}, {B['nll_images']} images) {ll.nll:.2f} nats = {ll.bits_per_dim:.4f} bits/dim "
      f"(ELBO bound, k = 1: {elbo.nll:.2f}); scored in {time.perf_counter() - t1:.0f} s")
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
axes[0].plot(*zip(*curve), marker="o"); axes[0].set_xlabel("step"); axes[0].set_ylabel("training −ELBO (nats)")
axes[0].axhline(86.76, color="0.5", ls="--", lw=1); axes[0].text(0, 86.9, "Burda et al. VAE test NLL 86.76", fontsize=7)
gl.plot.image_grid(vae.sample(32, seed=0), nrow=8, value_range=(0, 1), ax=axes[1], title="VAE samples (means)")
plt.tight_layout(); plt.show()
took("e", t0)'''),
    ("md", '''## (f) Linear probe on the codes

A multinomial logistic regression trained in C on the frozen codes of the training set
(`gl.metrics.linear_probe`), scored on the test set. The lecture's table (ACAI paper, d_z = 32) is
beside ours; our code widths differ per model (stated in the table), so only the ordering is
comparable. The label-conditioned AAE saw 20 % of the labels during training, so its probe is not
unsupervised.'''),
    ("code", '''t0 = time.perf_counter()
codes = {
    "PCA": (pca_codes, pca_codes_t, k), "linear AE": (lin.encode(X), lin.encode(Xt), k),
    "deep AE": (deep.encode(X), deep.encode(Xt), k), "VAE (2-d)": (vae2.encode(X), vae2.encode(Xt), 2),
    "VAE (50-d)": (vae.encode(X), vae.encode(Xt), 50), "AAE (2-d)": (aae2.encode(X), aae2.encode(Xt), 2),
    "AAE mixture (2-d)": (mix.encode(X), mix.encode(Xt), 2),
    "AAE label mixture (2-d, 20 % labels)": (lmix.encode(X), lmix.encode(Xt), 2),
}
published = {"deep AE": "94.90 (AE, d_z 32)", "VAE (50-d)": "96.56 (VAE, d_z 32)", "AAE (2-d)": "70.74 (AAE, d_z 32)"}
probe = {name: gl.metrics.linear_probe(a, y, b, yt) for name, (a, b, _) in codes.items()}
rows = ["| codes | d | probe accuracy | published (ACAI table) |", "|---|---:|---:|---|"]
rows += [f"| {n} | {codes[n][2]} | {probe[n]:.2%} | {published.get(n, '')} |" for n in codes]
rows += [f"| AAE clusters (16 probs + 4 style), mean of {len(CL)} seeds from (d) | 20 | {R['probe_acc_aae_clusters']:.2%} | |"]
display(Markdown("\\n".join(rows)))
R.update(probe_acc_ae=probe["deep AE"], probe_acc_vae=probe["VAE (50-d)"], probe_acc_aae=probe["AAE (2-d)"],
         probe_acc_pca=probe["PCA"], probe_acc_vae2=probe["VAE (2-d)"])
took("f", t0)'''),
    ("md", '''## (g) Class radius and ‖p‖₂² of the VAE's decoder

`003` defines the class radius as the expected distance from z ~ N(0, I) to the nearest latent point
that decodes to another class (classes by the shipped MNIST classifier, on the decodes mapped from
[0, 1] to the [−1, 1] it was trained on). `gl.metrics.class_radius`
draws latents, finds each one's nearest draw of another class, and bisects along that segment to
the class boundary. ‖p‖₂² is the collision probability of the decoded classes, and the lecture's
bound log(4π log(1/‖p‖²)) / √(2 log(1/‖p‖²)) — the radius a generator with that class distribution
can at most keep on average, for a 1-Lipschitz map under the theorem's assumptions.'''),
    ("code", '''t0 = time.perf_counter()
classify = lambda images: clf(2 * images - 1)   # the VAE decodes to [0, 1]; the classifier reads [-1, 1]
rad = gl.metrics.class_radius(vae.decode, classify, 50, n=B["radius_n"], details=True, seed=0)
rad2 = gl.metrics.class_radius(vae2.decode, classify, 2, n=B["radius_n"], details=True, seed=0)
p_vae = np.array([rad["p"].get(c, 0.0) for c in range(10)])     # class frequencies of the decoded draws
coll = float((p_vae ** 2).sum())
R.update(class_radius_vae=rad["radius"], collision_prob_vae=coll, class_radius_bound_vae=rad["bound"],
         class_radius_vae2=rad2["radius"])
print(f"VAE (50-d): class radius {rad['radius']:.3f}, ||p||^2 {coll:.4f}, bound {rad['bound']:.3f}")
print(f"VAE (2-d):  class radius {rad2['radius']:.3f}, ||p||^2 {sum(v * v for v in rad2['p'].values()):.4f}, bound {rad2['bound']:.3f}")
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.bar(range(10), p_vae); ax.axhline(0.1, color="0.5", ls="--", lw=1)
ax.set_xlabel("decoded class"); ax.set_ylabel("fraction of z ~ N(0, I)"); ax.set_title("VAE (50-d): class distribution")
plt.tight_layout(); plt.show()
took("g", t0)'''),
    ("md", '''## Results beside the published numbers'''),
    ("code", '''total = (time.perf_counter() - T_START) / 60
R["minutes_total"] = total
for part, m in MINUTES.items():
    R[f"minutes_{part}"] = m
rows = ["| quantity | ours | published | setup |", "|---|---:|---:|---|",
        f"| VAE test NLL, k = 5000 (nats) | {R['vae_test_nll_nats']:.2f} | 86.76 (Burda et al.); ~89.8 (reimplementations) | 784-500-500-50, dyn. binarised, {R['vae_steps']} steps of 100, {R['vae_nll_images']} test images |",
        f"| AAE clustering error, 16 clusters | {R['aae_cluster16_error']:.2%} ± {R['aae_cluster16_error_std']:.2%} | 9.55 % (Makhzani et al.) | conv (16 + 4-d style), {B['cluster_steps']} steps of 100, mean ± std over {R['aae_cluster16_seeds']} seeds |",
        f"| probe: AE / VAE / AAE | {R['probe_acc_ae']:.2%} / {R['probe_acc_vae']:.2%} / {R['probe_acc_aae']:.2%} | 94.90 / 96.56 / 70.74 % (d_z 32) | d_z 16 / 50 / 2 |",
        f"| linear AE vs PCA, max principal angle | {R['linear_ae_max_principal_angle']:.3f} rad | 0 (theorem) | {B['ae_steps']} steps |",
        f"| VAE class radius / ‖p‖₂² / bound | {R['class_radius_vae']:.3f} / {R['collision_prob_vae']:.4f} / {R['class_radius_bound_vae']:.3f} | (no number in `003`) | {B['radius_n']} draws |"]
display(Markdown("\\n".join(rows)))
print("minutes per part:", {k: round(v, 1) for k, v in MINUTES.items()}, f"total {total:.1f}")
if not SMOKE:
    os.makedirs("results", exist_ok=True)
    with open(os.path.join("results", "03_autoencoders.json"), "w") as f:
        json.dump({k: float(v) for k, v in R.items()}, f, indent=1, sort_keys=True)
    print("wrote results/03_autoencoders.json")'''),
    ("md", '''## Conclusion'''),
    ("code", '''nll_ok, clus_ok = R["vae_test_nll_nats"] <= 91.0, R["aae_cluster16_error"] <= 0.15
display(Markdown(f"""
* **VAE likelihood**: {R['vae_test_nll_nats']:.2f} nats on {R['vae_nll_images']} test images (k = 5000) after
  {R['vae_steps']} steps — {"within" if nll_ok else "**not** within"} the 91-nat target; the published 86.76 took
  thousands of epochs, we trained {R['vae_steps'] * 100 / len(X):.0f}.
* **AAE clustering**: {R['aae_cluster16_error']:.2%} ± {R['aae_cluster16_error_std']:.2%} test error with 16 clusters, mean ± std
  over {R['aae_cluster16_seeds']} seeds (best {min(errs):.2%}, worst {max(errs):.2%}) — the mean is {"within" if clus_ok else "**not** within"}
  the 15 % target; the paper reports 9.55 % after far longer training, and without the batch norm we needed.
* **PCA**: the linear autoencoder's subspace is {R['linear_ae_max_principal_angle']:.3f} rad from PCA's at worst.
* **Probe**: AE {R['probe_acc_ae']:.1%}, VAE {R['probe_acc_vae']:.1%}, AAE (2-d) {R['probe_acc_aae']:.1%}; as in the
  lecture's table the 2-d AAE's codes are the least linearly separable.
* **Time**: {R['minutes_total']:.1f} minutes on two cores ({", ".join(f"{k} {v:.1f}" for k, v in MINUTES.items())}).
{"(SMOKE run: the numbers are meaningless.)" if SMOKE else ""}
"""))'''),
]


if __name__ == "__main__":
    raise SystemExit(main(CELLS, PATH, __doc__))
