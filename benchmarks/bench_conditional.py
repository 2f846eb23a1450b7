"""One training step of the semi-supervised GAN and of CycleGAN on MNIST: ganlib ``fit`` vs the same
PyTorch loop (same layers, same weights at the start), 1 and 2 threads, alternating rounds.

Semi-supervised GAN (Salimans et al. 2016): ``gl.models.SemiSupervisedGAN(784, num_classes=10)``
with its presets, as notebook 05 trains it: D = noise(0.3), then per hidden width in
1000-500-250-250-250 a weight-normalised Linear (its scale fixed, as the authors' code), ReLU,
noise(0.5), and a weight-normalised Linear (scale learned) to the 10 logits; G = 100-500-500-784 (Linear without bias, batch norm, softplus; weight-normalised
Linear, sigmoid); z ~ U[0, 1). Per step, over one labelled batch of 100 (the 100 balanced labels)
and unlabelled batches of 100:

* D phase: ``CE(D(x_l), y) + [softplus(-lse D(x_u)) + softplus(lse D(sg G(z)))]`` (means over
  rows), three passes of D, each with its own noise; D's Adam(3e-3, betas (0.5, 0.999)) steps;
* G phase, on a fresh unlabelled batch: feature matching ``||mean f(x_u) - mean f(G(z))||^2`` with
  f = D's last hidden ReLU (the real features under stop-gradient); G's Adam steps.

Like any plain PyTorch loop, the PyTorch G phase lets autograd compute D's (unused) weight
gradients; ganlib computes only what G's update needs.

CycleGAN (Zhu et al. 2017): ``gl.models.CycleGAN((1, 28, 28), identity_weight=0)``, as notebook 05:
ResNet generators G (A -> B) and F (B -> A) (7x7 stem, two stride-2 3x3 convolutions, three residual
blocks of two 3x3 stride-1 convolutions, two stride-2 transposed convolutions, 7x7 to one channel,
tanh; instance norm and ReLU inside; width 16), PatchGAN discriminators DA, DB (4x4 convolutions,
width 16, instance norm, LeakyReLU(0.2), 25 patch logits). Batches of 16 from each domain (MNIST and
inverted MNIST halves). Per step:

* G phase: ``mean (DB(G(a)) - 1)^2 + mean (DA(F(b)) - 1)^2 + 10 (mean|F(G(a)) - a| + mean|G(F(b)) - b|)``;
  G and F each have an Adam(2e-4, betas (0.5, 0.999)) on that loss;
* D phase: the fakes pass through a history pool of 50 per domain (fill, then each image swapped with
  probability 1/2 for a stored one), ``1/2 mean (D(real) - 1)^2 + 1/2 mean D(pooled)^2`` for DA and DB.

Both PyTorch networks are built from the ganlib ones layer by layer (:func:`to_torch`) and start from
the same weights; ``tests/test_bench_conditional_mirror.py`` checks that the two loops compute the
same losses and updates. ganlib runs ``model.fit(..., steps=n, log_every=n, progress=False)`` (the loop
in C); PyTorch draws the same kind of batches (a permutation per epoch, the partial last batch
dropped). Each rate is the median of ``rounds`` runs that alternate with the rival's, so a slow spell
of a shared machine falls on both.

Usage: python benchmarks/bench_conditional.py [--quick] [--no-write] [--models "semi-supervised GAN,CycleGAN"]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gan_toy import alternate  # noqa: E402
from common import write_section  # noqa: E402

import ganlib as gl  # noqa: E402

SS_BATCH, SS_LABELS_PER_CLASS, SS_LR = 100, 10, 3e-3
CYC_BATCH, CYC_LR, CYC_LAMBDA, CYC_POOL = 16, 2e-4, 10.0, 50
TARGET_1T = 1.5
SECTION = "Label and domain training steps (semi-supervised GAN and CycleGAN on MNIST)"


# ---------------------------------------------------------------------------- ganlib -> PyTorch

def to_torch(torch, module):
    """A PyTorch module computing what the ganlib ``module`` computes, with a copy of its weights."""
    nn = torch.nn
    kind = type(module).__name__

    def t(a):
        return torch.from_numpy(np.array(a, np.float32))
    if kind == "Sequential":
        return nn.Sequential(*[to_torch(torch, module[i]) for i in range(len(module))])
    if kind == "Linear":
        lin = nn.Linear(module.in_features, module.out_features, bias=module.has_bias)
        with torch.no_grad():
            lin.weight.copy_(t(module.param("weight")))
            if module.has_bias:
                lin.bias.copy_(t(module.param("bias")))
        return lin
    if kind == "WeightNormLinear":
        lin = nn.Linear(module.in_features, module.out_features, bias=module.has_bias)
        lin = nn.utils.parametrizations.weight_norm(lin, dim=0)       # w = g v / ||v|| per output row
        with torch.no_grad():
            lin.parametrizations.weight.original0.copy_(t(module.scale)[:, None])
            lin.parametrizations.weight.original1.copy_(t(module.param("v")))
            if module.has_bias:
                lin.bias.copy_(t(module.param("bias")))
        lin.parametrizations.weight.original0.requires_grad_(module.train_scale)   # a fixed g is no parameter
        return lin
    if kind == "GaussianNoise":
        return _Noise(torch, module.std)
    if kind == "BatchNorm":
        bn = nn.BatchNorm1d(module.num_features, eps=module.eps, momentum=module.momentum)
        with torch.no_grad():
            bn.weight.copy_(t(module.param("weight")))
            bn.bias.copy_(t(module.param("bias")))
        return bn
    if kind in ("Conv2d", "ConvTranspose2d"):
        kw = dict(stride=module.stride, padding=module.padding, bias=module.has_bias)
        if kind == "Conv2d":
            conv = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, **kw)
        else:
            conv = nn.ConvTranspose2d(module.in_channels, module.out_channels, module.kernel_size,
                                      output_padding=tuple(module.output_padding), **kw)
        with torch.no_grad():
            conv.weight.copy_(t(module.param("weight")))               # the same layouts as PyTorch's
            if module.has_bias:
                conv.bias.copy_(t(module.param("bias")))
        return conv
    if kind == "InstanceNorm2d":
        if module.affine:
            raise NotImplementedError("InstanceNorm2d(affine=True) is not used by these presets")
        return nn.InstanceNorm2d(module.num_features, eps=module.eps)
    if kind == "ResidualBlock":
        return _Residual(torch, to_torch(torch, module._children["body"]))
    if kind == "LeakyReLU":
        return nn.LeakyReLU(module.slope)
    simple = {"ReLU": nn.ReLU, "Softplus": nn.Softplus, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "Flatten": nn.Flatten}
    if kind in simple:
        return simple[kind]()
    raise NotImplementedError(f"to_torch: no PyTorch counterpart for ganlib {kind}")


def _Noise(torch, std):
    class Noise(torch.nn.Module):
        """x + N(0, std^2) noise while training (ganlib's GaussianNoise)."""

        def forward(self, x):
            return x + torch.randn_like(x) * std if self.training else x
    return Noise()


def _Residual(torch, body):
    class Residual(torch.nn.Module):
        """x + body(x) (ganlib's ResidualBlock)."""

        def __init__(self):
            super().__init__()
            self.body = body

        def forward(self, x):
            return x + self.body(x)
    return Residual()


def weight_pairs(torch, tmod, gmod) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs (ganlib parameter, PyTorch parameter as NumPy) of modules built by :func:`to_torch`, for checks."""
    kind = type(gmod).__name__
    if kind == "Sequential":
        return [p for i in range(len(gmod)) for p in weight_pairs(torch, tmod[i], gmod[i])]
    if kind == "ResidualBlock":
        return weight_pairs(torch, tmod.body, gmod._children["body"])
    if kind == "WeightNormLinear":
        pw = tmod.parametrizations.weight
        out = [(gmod.scale, pw.original0.detach().numpy()[:, 0]), (gmod.param("v"), pw.original1.detach().numpy())]
        return out + ([(gmod.param("bias"), tmod.bias.detach().numpy())] if gmod.has_bias else [])
    out = []
    for name in ("weight", "bias"):
        tp = getattr(tmod, name, None)
        if tp is not None and isinstance(tp, torch.nn.Parameter):
            out.append((gmod.param(name), tp.detach().numpy()))
    return out


def torch_optimizer(torch, params, opt):
    """The PyTorch optimizer of a ganlib Adam (what the models use) or plain SGD (the mirror test's)."""
    c = opt.config
    if c.get("weight_decay") or c.get("amsgrad") or c.get("momentum") or c.get("nesterov"):
        raise NotImplementedError(f"only plain Adam and plain SGD are mirrored, got {opt.kind} {c}")
    if opt.kind == "adam":
        return torch.optim.Adam(params, lr=opt.lr, betas=tuple(c["betas"]), eps=c["eps"])
    if opt.kind == "sgd":
        return torch.optim.SGD(params, lr=opt.lr)
    raise NotImplementedError(f"only plain Adam and plain SGD are mirrored, got {opt.kind}")


def torch_epochs(torch, n_rows: int, batch: int):
    """``next_rows()``: index batches of a permutation per epoch, the partial last batch dropped."""
    state = {"perm": torch.randperm(n_rows), "i": 0}
    per_epoch = n_rows // batch

    def next_rows():
        if state["i"] == per_epoch:
            state["perm"], state["i"] = torch.randperm(n_rows), 0
        i = state["i"]
        state["i"] = i + 1
        return state["perm"][i * batch:(i + 1) * batch]
    return next_rows


# ---------------------------------------------------------------------------- semi-supervised GAN

def semisup_data(X: np.ndarray, y: np.ndarray):
    """(x_labelled, y_labelled, x_unlabelled): 10 balanced labels per digit (seed 0), rows in [0, 1]."""
    flat = ((X.reshape(len(X), -1) + 1) / 2).astype(np.float32)
    idx = gl.models.balanced_subset(y, per_class=SS_LABELS_PER_CLASS, seed=0)
    return flat[idx], y[idx], flat


def ganlib_semisup(seed: int = 0, **kw):
    return gl.models.SemiSupervisedGAN(784, num_classes=10, seed=seed, **kw)


def ganlib_semisup_stepper(X, y):
    """``run(n)``: n steps of ``SemiSupervisedGAN.fit`` (the loop in C)."""
    xl, yl, xu = semisup_data(X, y)
    m = ganlib_semisup()
    return lambda n: m.fit(xl, yl, xu, steps=n, batch_size=SS_BATCH, log_every=n, progress=False)


class TorchSemisup:
    """The same semi-supervised GAN step in PyTorch, on networks copied from a ganlib model."""

    def __init__(self, torch, model, dtype=None):
        self.torch, self.F = torch, torch.nn.functional
        # dtype=torch.float64: the mirror test's reference (the benchmark runs float32)
        self.D, self.G = to_torch(torch, model.D).to(dtype), to_torch(torch, model.G).to(dtype)
        self.features, self.latent_dim, self.w = model.features, model.latent_dim, model.unlabelled_weight
        opt = model.optimizers["D"]
        self.od = torch_optimizer(torch, self.D.parameters(), opt)
        opt = model.optimizers["G"]
        self.og = torch_optimizer(torch, self.G.parameters(), opt)

    def feats(self, x):
        return self.D[:self.features](x)                       # D's first `features` layers

    def step(self, xl, yl, xu, xu2, z_d, z_g):
        """One D step then one G step; returns (lab_loss, unl_loss, g_loss) as floats."""
        torch, F = self.torch, self.F
        lab = F.cross_entropy(self.D(xl), yl)
        with torch.no_grad():
            fake = self.G(z_d)
        unl = F.softplus(-torch.logsumexp(self.D(xu), 1)).mean() + F.softplus(torch.logsumexp(self.D(fake), 1)).mean()
        self.od.zero_grad(set_to_none=True)
        (lab + unl * self.w).backward()
        self.od.step()
        with torch.no_grad():
            f_real = self.feats(xu2)
        fm = (f_real.mean(0) - self.feats(self.G(z_g)).mean(0)).square().sum()
        self.og.zero_grad(set_to_none=True)
        fm.backward()
        self.og.step()
        return lab.item(), unl.item(), fm.item()


def torch_semisup_stepper(torch, X, y):
    """``run(n)``: n PyTorch steps of the same semi-supervised GAN (fresh z and batches each step)."""
    xl, yl, xu = semisup_data(X, y)
    tl, tyl, tu = torch.from_numpy(xl), torch.from_numpy(yl.astype(np.int64)), torch.from_numpy(xu)
    mirror = TorchSemisup(torch, ganlib_semisup())
    lab_rows, unl_rows = torch_epochs(torch, len(xl), SS_BATCH), torch_epochs(torch, len(xu), SS_BATCH)
    d = mirror.latent_dim

    def run(n):
        for _ in range(n):
            li = lab_rows()
            mirror.step(tl[li], tyl[li], tu[unl_rows()], tu[unl_rows()], torch.rand(SS_BATCH, d), torch.rand(SS_BATCH, d))
    return run


# ---------------------------------------------------------------------------- CycleGAN

def cyclegan_data(limit: int | None = None):
    XA, _, XB, _ = gl.datasets.mnist_domains("invert", seed=0, limit=limit)
    return XA, XB


def ganlib_cyclegan(**kw):
    return gl.models.CycleGAN((1, 28, 28), identity_weight=0.0, seed=0, **kw)


def ganlib_cyclegan_stepper(XA, XB):
    m = ganlib_cyclegan()
    return lambda n: m.fit(XA, XB, steps=n, batch_size=CYC_BATCH, log_every=n, progress=False)


class TorchCycleGAN:
    """The same CycleGAN step in PyTorch (least squares, cycle λ = 10, no identity term, history pools)."""

    def __init__(self, torch, model, dtype=None):
        self.torch = torch
        self.nets = {k: to_torch(torch, model.modules[k]).to(dtype) for k in ("G", "F", "DA", "DB")}
        self.opts = {}
        for k, net in self.nets.items():
            o = model.optimizers[k]
            self.opts[k] = torch_optimizer(torch, net.parameters(), o)
        self.lam, self.pool_size = model.cycle_weight, model.pool_size
        self.pools = {"A": [], "B": []}

    def pool(self, domain, fake):
        """The history pool: store while filling; then each fake, with probability 1/2, is swapped
        for a uniformly drawn stored image (which it replaces)."""
        torch = self.torch
        if not self.pool_size:
            return fake
        stored, out = self.pools[domain], []
        for img in fake:
            if len(stored) < self.pool_size:
                stored.append(img)
                out.append(img)
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.pool_size, ()))
                out.append(stored[j])
                stored[j] = img
            else:
                out.append(img)
        return torch.stack(out)

    def step(self, a, b):
        """One G phase then one D phase; returns (g_adv, cycle, d_a, d_b) as floats."""
        G, F, DA, DB = (self.nets[k] for k in ("G", "F", "DA", "DB"))
        fake_b, fake_a = G(a), F(b)
        adv = (DB(fake_b) - 1).square().mean() + (DA(fake_a) - 1).square().mean()
        cycle = (F(fake_b) - a).abs().mean() + (G(fake_a) - b).abs().mean()
        for k in ("G", "F"):
            self.opts[k].zero_grad(set_to_none=True)
        (adv + cycle * self.lam).backward()
        self.opts["G"].step()
        self.opts["F"].step()
        pa, pb = self.pool("A", fake_a.detach()), self.pool("B", fake_b.detach())
        d_a = 0.5 * (DA(a) - 1).square().mean() + 0.5 * DA(pa).square().mean()
        d_b = 0.5 * (DB(b) - 1).square().mean() + 0.5 * DB(pb).square().mean()
        self.opts["DA"].zero_grad(set_to_none=True)
        self.opts["DB"].zero_grad(set_to_none=True)
        (d_a + d_b).backward()
        self.opts["DA"].step()
        self.opts["DB"].step()
        return adv.item(), cycle.item(), d_a.item(), d_b.item()


def torch_cyclegan_stepper(torch, XA, XB):
    ta, tb = torch.from_numpy(XA), torch.from_numpy(XB)
    mirror = TorchCycleGAN(torch, ganlib_cyclegan())
    rows_a, rows_b = torch_epochs(torch, len(XA), CYC_BATCH), torch_epochs(torch, len(XB), CYC_BATCH)

    def run(n):
        for _ in range(n):
            mirror.step(ta[rows_a()], tb[rows_b()])
    return run


# ---------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few steps (a smoke run; numbers are noisy)")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    ap.add_argument("--models", default="semi-supervised GAN,CycleGAN",
                    help="comma-separated subset of: semi-supervised GAN, CycleGAN (RESULTS.md is only written for both)")
    args = ap.parse_args(argv)
    import torch

    every = ["semi-supervised GAN", "CycleGAN"]
    wanted = [w.strip() for w in args.models.split(",") if w.strip()]
    unknown = sorted(set(wanted) - set(every))
    if unknown:
        ap.error(f"--models: unknown {unknown}; choose from {every}")
    X, y = gl.datasets.mnist(split="train", limit=10_000 if args.quick else None)
    XA, XB = cyclegan_data(limit=10_000 if args.quick else None)
    # steps per timed run and rounds: CycleGAN's step is ~4x the semi-supervised one's
    plan = {"semi-supervised GAN": ((10, 3) if args.quick else (60, 7)),
            "CycleGAN": ((3, 3) if args.quick else (15, 7))}
    build = {"semi-supervised GAN": (lambda: ganlib_semisup_stepper(X, y), lambda: torch_semisup_stepper(torch, X, y)),
             "CycleGAN": (lambda: ganlib_cyclegan_stepper(XA, XB), lambda: torch_cyclegan_stepper(torch, XA, XB))}
    rows = []
    for threads in (1, 2):
        gl.set_num_threads(threads)
        torch.set_num_threads(threads)
        for name in wanted:
            steps, rounds = plan[name]
            mine, theirs = build[name]
            g, p = alternate([mine(), theirs()], [steps, steps], rounds)
            rows.append((name, threads, g, p))
            print(f"{name} threads {threads}: ganlib {g:7.2f} steps/s  torch {p:7.2f} steps/s  ratio {g / p:5.2f}x",
                  flush=True)

    lines = [
        f"One training step on MNIST. **Semi-supervised GAN** (`gl.models.SemiSupervisedGAN(784, num_classes=10)`, "
        f"the presets of Salimans et al.: D 784→1000→500→250→250→250→10 weight-normalised (hidden scales fixed) "
        f"with Gaussian noise, "
        f"G 100→500→500→784 with batch norm): a D phase on a labelled batch of {SS_BATCH} (the 100 balanced labels), "
        f"an unlabelled batch of {SS_BATCH} and {SS_BATCH} fakes, then a feature-matching G phase on a fresh "
        f"unlabelled batch; Adam({SS_LR}). **CycleGAN** (`gl.models.CycleGAN((1, 28, 28), identity_weight=0)`: "
        f"ResNet generators of width 16 with three residual blocks of 3×3 stride-1 convolutions, PatchGAN "
        f"discriminators of width 16, instance norm, history pools of {CYC_POOL}), batches of {CYC_BATCH} MNIST and "
        f"{CYC_BATCH} inverted MNIST images; a generator phase (least squares + {CYC_LAMBDA:g}·cycle L1) and a "
        f"discriminator phase. ganlib `model.fit(..., steps=n, log_every=n)` (loop in C) vs a PyTorch "
        f"{torch.__version__} loop over the same layers built from the ganlib networks (same starting weights; "
        f"`tests/test_bench_conditional_mirror.py` checks the two compute the same losses and updates), same "
        f"process, same thread count; each rate the median of the runs that alternate with the rival's "
        f"({', '.join(f'{n}: {plan[n][1]} runs of {plan[n][0]} steps' for n in wanted)}).",
        "",
        f"Targets: ≥ {TARGET_1T}× PyTorch on one thread and not slower anywhere.",
        "",
        "| model | threads | ganlib steps/s | PyTorch steps/s | ganlib / PyTorch |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, t, g, p in rows:
        lines.append(f"| {name} | {t} | {g:,.2f} | {p:,.2f} | **{g / p:.2f}×** |")
    lines.append("")
    for name in wanted:
        r = {t: g / p for n, t, g, p in rows if n == name}
        one = "met" if r[1] >= TARGET_1T else "not met"
        anywhere = "met" if min(r.values()) >= 1.0 else "not met"
        lines.append(f"- {name}: ≥ {TARGET_1T}× on one thread **{one}** ({r[1]:.2f}×); not slower anywhere "
                     f"**{anywhere}** ({', '.join(f'{v:.2f}× on {t}' for t, v in sorted(r.items()))}).")
    body = "\n".join(lines)
    print(body)
    if not args.no_write and not args.quick and wanted == every:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
