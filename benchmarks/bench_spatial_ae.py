"""Autoencoder and ACAI training steps with the ACAI paper's all-convolutional networks, on lines:
ganlib ``fit`` vs an idiomatic PyTorch loop, same CPU, same thread count, in one run.

The networks are ``gl.nn.spatial_encoder`` / ``spatial_decoder`` as notebook 04 uses them (its
``lib/layers.py``): 32 x 32 one-channel lines in [-1, 1], depth ``DEPTH`` (first-scale channels), four
scales of two 3x3 convolutions + LeakyReLU(0.2) + 2x2 average pooling, a 16 x 2 x 2 code, the decoder's
mirror with nearest upsampling. These stress what the MLP benchmarks do not: 3x3 stride-1 convolutions
on small channel counts (Winograd F(2x2, 3x3) in ganlib), pooling and upsampling.

* **AE**: ``gl.models.Autoencoder(E=..., Dec=...)``: one phase, mean squared error, Adam for E and Dec.
* **ACAI**: ``gl.models.ACAI(E=..., Dec=..., d=...)`` with the same encoder as critic: the AE phase
  (MSE + 0.5 mean d(Dec(alpha z + (1 - alpha) roll(z, 1)))^2; E, Dec) and the critic phase on the
  AE phase's kept mixes and blends (d), as ``benchmarks/bench_autoencoders.py`` describes.

PyTorch builds the same layers (``torch.nn.Conv2d(padding=1)``, ``AvgPool2d(2)``,
``Upsample(scale_factor=2)``) and steps the same losses with ``torch.optim.Adam``; ganlib runs
``model.fit(X, steps=n, batch_size=64, log_every=n)`` (the loop in C). Each rate is the median of
``rounds`` runs that alternate with the rival's (``bench_gan_toy.alternate``).

Usage:
    python benchmarks/bench_spatial_ae.py [--quick] [--no-write]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_autoencoders import torch_epochs  # noqa: E402
from bench_gan_toy import alternate  # noqa: E402
from common import write_section  # noqa: E402

import ganlib as gl  # noqa: E402

SECTION = "Autoencoder steps with the ACAI paper's convolutional networks (lines 32×32)"
BATCH, DEPTH, LATENT_CH, SIDE, SCALES, LR = 64, 8, 16, 2, 4, 1e-3
SHAPE = (1, 32, 32)
TARGET_1T = 1.0


def ganlib_stepper(kind: str, X: np.ndarray):
    """``run(n)``: n steps of ``Autoencoder.fit`` or ``ACAI.fit`` with the paper's networks."""
    E = gl.nn.spatial_encoder(SHAPE, LATENT_CH, SIDE, DEPTH, seed=0)
    Dec = gl.nn.spatial_decoder(LATENT_CH, SIDE, SHAPE, DEPTH, seed=1)
    latent = LATENT_CH * SIDE * SIDE
    if kind == "AE":
        m = gl.models.Autoencoder(SHAPE, latent, E=E, Dec=Dec, lr=LR, seed=0)
    else:
        m = gl.models.ACAI(SHAPE, latent, E=E, Dec=Dec, d=gl.nn.spatial_encoder(SHAPE, LATENT_CH, SIDE, DEPTH, seed=2),
                           lam=0.5, gamma=0.2, lr=LR, seed=0)
    run = lambda n: m.fit(X, steps=n, batch_size=BATCH, log_every=n, progress=False)  # noqa: E731
    run.model = m                   # for tests/test_bench_spatial_mirror.py
    return run


def torch_encoder(torch, colors: int, latent_ch: int, scales: int, width: int, out: int | None = None):
    """``gl.nn.spatial_encoder`` spelled in torch.nn, layer for layer (so its state dict loads; also the
    oracle of tests/test_spatial_presets.py); 32 x 32 input."""
    nn = torch.nn
    layers, ch = [nn.Conv2d(colors, width, 1)], width
    for k in range(scales):
        layers += [nn.Conv2d(ch, width << k, 3, padding=1), nn.LeakyReLU(0.2),
                   nn.Conv2d(width << k, width << k, 3, padding=1), nn.LeakyReLU(0.2), nn.AvgPool2d(2)]
        ch = width << k
    layers += [nn.Conv2d(ch, width << scales, 3, padding=1), nn.LeakyReLU(0.2),
               nn.Conv2d(width << scales, latent_ch, 3, padding=1), nn.Flatten()]
    if out is not None:
        side = 32 >> scales
        layers.append(nn.Linear(latent_ch * side * side, out))
    return nn.Sequential(*layers)


def torch_decoder(torch, colors: int, latent_ch: int, side: int, scales: int, width: int):
    """``gl.nn.spatial_decoder`` spelled in torch.nn, layer for layer."""
    nn = torch.nn
    layers, ch = [nn.Unflatten(1, (latent_ch, side, side))], latent_ch
    for k in range(scales - 1, -1, -1):
        layers += [nn.Conv2d(ch, width << k, 3, padding=1), nn.LeakyReLU(0.2),
                   nn.Conv2d(width << k, width << k, 3, padding=1), nn.LeakyReLU(0.2),
                   nn.Upsample(scale_factor=2, mode="nearest")]
        ch = width << k
    layers += [nn.Conv2d(ch, width, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(width, colors, 3, padding=1)]
    return nn.Sequential(*layers)


def torch_stepper(torch, kind: str, X: np.ndarray):
    """``run(n)``: n PyTorch steps of the same model on shuffled batches (``torch_epochs``: a permutation
    per epoch, as the C loop draws them)."""
    def encoder():
        return torch_encoder(torch, 1, LATENT_CH, SCALES, DEPTH)

    E, Dec = encoder(), torch_decoder(torch, 1, LATENT_CH, SIDE, SCALES, DEPTH)
    oe, odec = torch.optim.Adam(E.parameters(), lr=LR), torch.optim.Adam(Dec.parameters(), lr=LR)
    d = encoder() if kind == "ACAI" else None
    od = torch.optim.Adam(d.parameters(), lr=LR) if d is not None else None
    data = torch.from_numpy(X)

    def step(x):
        b = len(x)
        z = E(x)
        rec = Dec(z)
        loss = (rec - x).square().mean()
        if d is not None:
            alpha = 0.5 - (torch.rand(b, 1) - 0.5).abs()
            mix = Dec(alpha * z + (1 - alpha) * torch.roll(z, 1, 0))
            loss = loss + 0.5 * d(mix).mean(1).square().mean()
        oe.zero_grad(set_to_none=True)
        odec.zero_grad(set_to_none=True)
        loss.backward()
        oe.step()
        odec.step()
        if d is not None:
            blend = (x * 0.2 + rec * 0.8).detach()
            on_mix = (d(mix.detach()).mean(1) - alpha.view(b)).square().mean()
            on_real = d(blend).mean(1).square().mean()
            od.zero_grad(set_to_none=True)
            (on_mix + on_real).backward()
            od.step()

    run = torch_epochs(torch, data, step, BATCH)
    run.nets = (E, Dec, d)          # for tests/test_bench_spatial_mirror.py
    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few steps (a smoke run; numbers are noisy)")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = ap.parse_args(argv)
    import torch

    X = gl.datasets.lines(4096, seed=0)
    steps, rounds, warmup = (3, 3, 2) if args.quick else (20, 7, 10)
    rows = []
    for threads in (1, 2):
        gl.set_num_threads(threads)
        torch.set_num_threads(threads)
        for kind in ("AE", "ACAI"):
            g, p = alternate([ganlib_stepper(kind, X), torch_stepper(torch, kind, X)], [steps, steps], rounds,
                             warmup=warmup)
            rows.append((kind, threads, g, p))
            print(f"{kind} threads {threads}: ganlib {g:6.2f} steps/s  torch {p:6.2f} steps/s  ratio {g / p:.2f}x",
                  flush=True)
    lines = [
        f"One training step at batch {BATCH} on 32×32 lines in [−1, 1], Adam({LR}), with the ACAI paper's "
        f"networks at depth {DEPTH} (`gl.nn.spatial_encoder((1, 32, 32), {LATENT_CH}, {SIDE}, {DEPTH})` / "
        f"`spatial_decoder`: four scales of two 3×3 convolutions + LeakyReLU(0.2), 2×2 average pooling / "
        f"nearest upsampling, a {LATENT_CH}×{SIDE}×{SIDE} code), as notebook 04 trains them. **AE**: "
        "`gl.models.Autoencoder`, mean squared error. **ACAI**: `gl.models.ACAI(lam=0.5, gamma=0.2)`, the "
        "critic the same encoder; two phases. ganlib `model.fit(X, steps=n, batch_size=64, log_every=n)` "
        f"(loop in C) vs an idiomatic PyTorch {torch.__version__} loop of the same layers and losses in the "
        f"same process, same thread count; each rate the median of {rounds} runs of {steps} steps that "
        "alternate with the rival's.",
        "",
        f"Target: not slower than PyTorch (≥ {TARGET_1T}×) on one and two threads.",
        "",
        "| model | threads | ganlib steps/s | PyTorch steps/s | ganlib / PyTorch |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, t, g, p in rows:
        lines.append(f"| {kind} | {t} | {g:.2f} | {p:.2f} | **{g / p:.2f}×** |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write and not args.quick:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
