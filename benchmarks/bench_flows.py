"""One maximum-likelihood training step of the MNIST Real NVP: ganlib ``RealNVP.fit`` vs the same model
in PyTorch.

The model: ``gl.models.RealNVP((1, 28, 28))``, the image preset with ``couplings=3, width=32,
alpha=0.05``: 3 checkerboard affine couplings on (1, 28, 28), a squeeze to (4, 14, 14), 3 channel
couplings, 3 checkerboard couplings (parities alternating within each stage). Every coupling network
is Conv 3x3 (padding 1) -> ReLU -> Conv 1x1 -> ReLU -> Conv 3x3 (padding 1), width 32, giving the raw
scale and the shift; ``s = scale * tanh(raw)`` with a learnable per-channel ``scale``; checkerboard
couplings see the masked full input, channel couplings the conditioning half. Per step: a batch of
64 training images (pixels 0..255), uniform dequantisation ``v = x + u``, the logit transform
``logit(alpha + (1 - 2 alpha) v / 256)`` with its log-determinant, the flow, the standard normal
prior; loss = mean negative log-likelihood over the batch; one Adam(1e-3) step.

The PyTorch model (``torch_realnvp``) is built from the ganlib flow's layers and copies its weights,
so both start from the same point; ``tests/test_bench_flows_mirror.py`` checks that it computes the
same log-density, the same gradients and the same Adam step. ganlib runs ``nvp.fit(X, steps=n,
batch_size=64, log_every=n, progress=False)`` (the loop in C); PyTorch draws the same kind of batches
(a permutation per epoch, the partial last batch dropped), in the same process with the same thread
count. Each rate is the median of the timed runs, the two libraries' runs alternating (order flipped
each round) so that a slow spell of a shared machine falls on both alike.

Usage: python benchmarks/bench_flows.py [--quick] [--no-write]
"""
from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_autoencoders import torch_epochs  # noqa: E402
from bench_gan_toy import alternate  # noqa: E402
from common import write_section  # noqa: E402

import ganlib as gl  # noqa: E402

BATCH, LR, ALPHA, COUPLINGS, WIDTH = 64, 1e-3, 0.05, 3, 32
SHAPE = (1, 28, 28)
TARGET_1T = 1.5
SECTION = "Real NVP maximum-likelihood training step (MNIST)"


def ganlib_model(seed: int = 0) -> gl.models.RealNVP:
    """The benchmarked model (the MNIST preset with the sizes above)."""
    return gl.models.RealNVP(SHAPE, couplings=COUPLINGS, width=WIDTH, alpha=ALPHA, lr=LR, seed=seed)


def ganlib_stepper(X: np.ndarray, nvp: gl.models.RealNVP | None = None):
    """``run(n)``: n steps of ``RealNVP.fit`` (the loop in C)."""
    nvp = nvp if nvp is not None else ganlib_model()
    return lambda n: nvp.fit(X, steps=n, batch_size=BATCH, log_every=n, progress=False)


# ---------------------------------------------------------------------------- PyTorch

def _torch_net(torch, net):
    """A ganlib Sequential of Conv2d / ReLU as ``torch.nn.Sequential`` with the same weights (same indices)."""
    nn = torch.nn
    layers = []
    for spec, m in zip(net.spec()["layers"], net._children.values()):
        if spec["type"] == "ReLU":
            layers.append(nn.ReLU())
            continue
        assert spec["type"] == "Conv2d", spec
        conv = nn.Conv2d(spec["in"], spec["out"], tuple(spec["kernel"]), stride=spec["stride"],
                         padding=spec["padding"], bias=spec["bias"])
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(m.param("weight").copy()))
            if spec["bias"]:
                conv.bias.copy_(torch.from_numpy(m.param("bias").copy()))
        layers.append(conv)
    return nn.Sequential(*layers)


def torch_realnvp(torch, nvp: gl.models.RealNVP):
    """The same Real NVP in PyTorch, from ``nvp``'s layers and current weights.

    Returns a ``torch.nn.Module`` with ``log_prob(v)`` over dequantised pixels ``v`` in [0, 256);
    ``layers.<i>.net.<j>.weight`` / ``layers.<i>.scale`` mirror ganlib's ``<i>.net.<j>.weight`` /
    ``<i>.scale``.
    """
    nn, F = torch.nn, torch.nn.functional

    class Coupling(nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.kind, self.parity, self.k = layer.mask, layer.parity, layer.k
            self.net = _torch_net(torch, layer.children_net)
            self.scale = nn.Parameter(torch.from_numpy(layer.param("scale").copy()))
            if self.kind != "channel":
                self.register_buffer("mask", torch.from_numpy(layer._mask.copy()))

        def forward(self, x):
            k = self.k
            if self.kind == "channel":
                a, b = x[:, :k], x[:, k:]
                cond, moved = (a, b) if self.parity == 0 else (b, a)
                h = self.net(cond)
                s, t = torch.tanh(h[:, :k]) * self.scale, h[:, k:]
                moved = moved * torch.exp(s) + t
                y = torch.cat([cond, moved] if self.parity == 0 else [moved, cond], 1)
                return y, s.flatten(1).sum(1)
            m = self.mask
            free = 1 - m
            kept = x * m
            h = self.net(kept)
            s, t = torch.tanh(h[:, :k]) * self.scale * free, h[:, k:] * free
            return kept + (x * torch.exp(s) + t) * free, s.flatten(1).sum(1)

    class Squeeze(nn.Module):
        def forward(self, x):
            return F.pixel_unshuffle(x, 2), x.new_zeros(x.shape[0])

    class RealNVP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(Coupling(m) if type(m).__name__ == "AffineCoupling" else Squeeze()
                                        for m in nvp.flow._children.values())
            self.alpha, self.dims = nvp.alpha, nvp.dims

        def log_prob(self, v):
            a = self.alpha
            y = v * ((1 - 2 * a) / 256) + a
            log_y, log_1my = torch.log(y), torch.log(1 - y)
            jac = (-(log_y + log_1my) + (math.log(1 - 2 * a) - math.log(256))).flatten(1).sum(1)
            h, logdet = log_y - log_1my, jac
            for layer in self.layers:
                h, ld = layer(h)
                logdet = logdet + ld
            z = h.flatten(1)
            return -0.5 * z.square().sum(1) - 0.5 * self.dims * math.log(2 * math.pi) + logdet

    return RealNVP()


def torch_step(model, opt, v) -> float:
    """One MLE step on a dequantised batch ``v``: the mean NLL, backward, Adam."""
    loss = -model.log_prob(v).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def torch_stepper(torch, X: np.ndarray, nvp: gl.models.RealNVP):
    """``run(n)``: n PyTorch steps of the same model (weights copied from ``nvp``), dequantised afresh."""
    model = torch_realnvp(torch, nvp)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    run = torch_epochs(torch, torch.from_numpy(X), lambda x: torch_step(model, opt, x + torch.rand_like(x)),
                       batch=BATCH)
    run.model = model
    return run


def check_same_nll(torch, X: np.ndarray, nvp: gl.models.RealNVP) -> tuple[float, float]:
    """Mean NLL of one dequantised batch under both models (same weights): a sanity check of the setup."""
    v = (X[:BATCH] + np.random.default_rng(0).random(X[:BATCH].shape)).astype(np.float32)
    with torch.no_grad():
        theirs = -float(torch_realnvp(torch, nvp).log_prob(torch.from_numpy(v)).mean())
    return -float(nvp.log_prob(v).mean()), theirs


# ---------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few steps (a smoke run; numbers are noisy)")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = ap.parse_args(argv)
    import torch

    X, _ = gl.datasets.mnist(split="train", scale=None)
    steps, rounds, warmup = (2, 2, 1) if args.quick else (10, 7, 5)
    mine, theirs = check_same_nll(torch, X, ganlib_model())
    print(f"mean NLL of one batch, same weights: ganlib {mine:.4f}  torch {theirs:.4f} nats")
    assert abs(mine - theirs) <= 1e-4 * abs(theirs), (mine, theirs)
    rows = []
    for threads in (1, 2):
        gl.set_num_threads(threads)
        torch.set_num_threads(threads)
        nvp = ganlib_model()
        runs = [ganlib_stepper(X, nvp), torch_stepper(torch, X, nvp)]   # torch copies the untrained weights
        g, p = alternate(runs, [steps, steps], rounds, warmup=warmup)
        rows.append((threads, g, p))
        print(f"threads {threads}: ganlib {g:6.2f} steps/s ({1e3 / g:6.1f} ms)  torch {p:6.2f} steps/s "
              f"({1e3 / p:6.1f} ms)  ratio {g / p:5.2f}x", flush=True)

    lines = [
        f"One maximum-likelihood training step of the MNIST Real NVP at batch {BATCH}: "
        f"`gl.models.RealNVP((1, 28, 28), couplings={COUPLINGS}, width={WIDTH}, alpha={ALPHA})` — "
        f"{COUPLINGS} checkerboard couplings, squeeze, {COUPLINGS} channel couplings, {COUPLINGS} checkerboard "
        f"couplings; each coupling network Conv3×3 → ReLU → Conv1×1 → ReLU → Conv3×3, width {WIDTH}, scale "
        f"through tanh with a learnable factor; uniform dequantisation and the logit transform with their "
        f"log-determinants, standard normal prior, mean NLL, Adam({LR}). ganlib `nvp.fit(X, steps=n, "
        f"batch_size={BATCH}, log_every=n)` (loop in C) vs the same model in PyTorch {torch.__version__} "
        f"(same couplings, masks, networks and starting weights; `tests/test_bench_flows_mirror.py` checks "
        f"the same log-density, gradients and Adam step) in the same process, same thread count; each rate "
        f"the median of {rounds} runs of {steps} steps that alternate with the rival's.",
        "",
        f"Target: ≥ {TARGET_1T}× PyTorch on one thread and not slower anywhere.",
        "",
        "| threads | ganlib steps/s | PyTorch steps/s | ganlib ms/step | PyTorch ms/step | ganlib / PyTorch |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for t, g, p in rows:
        lines.append(f"| {t} | {g:.2f} | {p:.2f} | {1e3 / g:.0f} | {1e3 / p:.0f} | **{g / p:.2f}×** |")
    r = {t: g / p for t, g, p in rows}
    lines += ["", f"- ≥ {TARGET_1T}× on one thread **{'met' if r[1] >= TARGET_1T else 'not met'}** ({r[1]:.2f}×); "
              f"not slower anywhere **{'met' if min(r.values()) >= 1.0 else 'not met'}** "
              f"({', '.join(f'{v:.2f}× on {t}' for t, v in sorted(r.items()))})."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write and not args.quick:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
