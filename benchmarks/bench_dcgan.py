"""One DCGAN training step on 28x28 images: ganlib ``GAN.fit`` vs an idiomatic PyTorch loop,
and the GFLOP/s of the ganlib step against OpenBLAS sgemm measured in the same run.

Networks (the ``gl.nn.dcgan_generator`` / ``dcgan_discriminator`` presets, width 64, and the
same layers written with ``torch.nn``):

    G: z(100) -> Linear(100, 6272, no bias) -> (128, 7, 7) -> BN -> ReLU
              -> ConvT(128, 64, 4, s2, p1, no bias) -> BN -> ReLU -> ConvT(64, 1, 4, s2, p1) -> tanh
    D: (1, 28, 28) -> Conv(1, 64, 4, s2, p1) -> LReLU(0.2) -> Conv(64, 128, 4, s2, p1, no bias) -> BN
              -> LReLU(0.2) -> Flatten -> Linear(6272, 1)

A step = one D step (G forward on fresh z; D forward on the real batch and on the fake batch,
separately, as in the DCGAN reference; backward; Adam) and one G step (fresh z; G and D forward;
backward through D into G; Adam). Non-saturating loss, Adam(2e-4, betas (0.5, 0.999)), batch 64,
MNIST training images. The PyTorch loop is the reference DCGAN example's, except that its G step
draws fresh z (as ganlib does) instead of reusing the D step's fake batch; like that example it
lets autograd compute D's (unused) weight gradients in the G step.

FLOP count (``step_flops``): only convolutions and matmuls, 2 FLOPs per multiply-add. With M(layer)
the multiply-adds of a layer's forward pass per sample (conv: Cout*Cin*k*k*Hout*Wout; transposed conv:
Cin*Cout*k*k*Hin*Win; linear: in*out), its backward costs M for the weight gradient plus M for the
input gradient, the latter only where one is needed:

    D step per sample: G fwd + 2 x D fwd + 2 x [D weight grads + D input grads except the first conv's]
    G step per sample: G fwd + D fwd + D input grads (all layers; no D weight grads)
                       + G weight grads + G input grads except the first Linear's (z needs none)

i.e. 81.0 M multiply-adds per sample, 10.4 GFLOP per step at batch 64 (BatchNorm, activations, loss
and Adam are not counted: they are O(activations + parameters), a few percent). These are the
direct-convolution FLOPs; ganlib runs the large 4x4 stride-2 layers through Winograd F(4x4, 2x2)
(csrc/ops/gl_k_winograd.c), which executes about half their multiply-adds, so its GFLOP/s is an
effective rate (the work of a direct convolution per second), as is usual for fast algorithms. GFLOP/s =
step_flops x steps/s, compared with a 1024 x 1024 x 1024 float32 matmul run through ganlib
(``gl.function(lambda a, b: gl.ops.matmul(a, b))``, i.e. the same OpenBLAS sgemm ganlib links).

Usage: python benchmarks/bench_dcgan.py [--quick] [--no-write]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import time_per_call, write_section  # noqa: E402

import ganlib as gl  # noqa: E402

BATCH, LATENT, WIDTH, SIDE = 64, 100, 64, 28
LR, BETAS = 2e-4, (0.5, 0.999)
TARGET_TORCH, TARGET_SGEMM = 1.5, 0.5


# ---------------------------------------------------------------------------- FLOP count

def layer_macs(width: int = WIDTH, latent: int = LATENT) -> dict[str, list[tuple[str, int]]]:
    """Multiply-adds per sample of each conv / matmul layer of the 28 x 28 DCGAN pair."""
    w = width
    G = [("linear", latent * 2 * w * 7 * 7),
         ("convT 7->14", 2 * w * w * 16 * 7 * 7),
         ("convT 14->28", w * 1 * 16 * 14 * 14)]
    D = [("conv 28->14", 1 * w * 16 * 14 * 14),
         ("conv 14->7", w * 2 * w * 16 * 7 * 7),
         ("linear", 2 * w * 7 * 7 * 1)]
    return {"G": G, "D": D}


def step_flops(batch: int = BATCH, width: int = WIDTH, latent: int = LATENT) -> float:
    """FLOPs of one D step + one G step (see the module docstring)."""
    L = layer_macs(width, latent)
    g = sum(m for _, m in L["G"])
    d = sum(m for _, m in L["D"])
    g_first, d_first = L["G"][0][1], L["D"][0][1]
    d_step = g + 2 * d + 2 * (d + (d - d_first))
    g_step = g + d + d + g + (g - g_first)
    return 2.0 * batch * (d_step + g_step)


# ---------------------------------------------------------------------------- ganlib

def ganlib_runner(data: np.ndarray, steps: int, lib=gl):
    """A warmed-up ganlib DCGAN; calling the result times ``steps`` training steps (steps/s).
    ``lib``: the ganlib module to build it with (ab_builds.py passes a second build)."""
    G = lib.nn.dcgan_generator(LATENT, (1, SIDE, SIDE), width=WIDTH, seed=0)
    D = lib.nn.dcgan_discriminator((1, SIDE, SIDE), width=WIDTH, norm="batch", seed=1)
    gan = lib.GAN(G, D, latent=lib.latent.normal(LATENT), loss="nonsaturating",
                  g_opt=lib.optim.Adam(LR, betas=BETAS), d_opt=lib.optim.Adam(LR, betas=BETAS), seed=0)
    gan.fit(data, steps=5, batch_size=BATCH, log_every=5, progress=False)  # trace, compile, warm up

    def run() -> float:
        t0 = time.perf_counter()
        h = gan.fit(data, steps=steps, batch_size=BATCH, log_every=steps, progress=False)
        rate = steps / (time.perf_counter() - t0)
        assert np.isfinite(h["d_loss"]).all()
        return rate
    return run


def sgemm_gflops(n: int = 1024) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    f = gl.function(lambda x, y: gl.ops.matmul(x, y))
    out = np.asarray(f(a, b))
    np.testing.assert_allclose(out[:4, :4], (a[:4].astype(np.float64) @ b[:, :4].astype(np.float64)),
                               rtol=1e-3, atol=1e-2)
    return 2.0 * n ** 3 / time_per_call(lambda: f(a, b), min_time=0.3, repeats=5) / 1e9


# ---------------------------------------------------------------------------- PyTorch

def torch_models(torch):
    nn = torch.nn
    w = WIDTH

    class Reshape(nn.Module):
        def forward(self, x):
            return x.view(x.shape[0], 2 * w, 7, 7)

    G = nn.Sequential(nn.Linear(LATENT, 2 * w * 49, bias=False), Reshape(), nn.BatchNorm2d(2 * w), nn.ReLU(),
                      nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                      nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),
                      nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.Linear(2 * w * 49, 1))

    def init(m):  # the DCGAN example's weights_init
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    G.apply(init)
    D.apply(init)
    return G, D


def torch_runner(torch, data: np.ndarray, steps: int):
    """The same DCGAN in PyTorch, warmed up; calling the result times ``steps`` steps (steps/s)."""
    torch.manual_seed(0)
    G, D = torch_models(torch)
    og = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    od = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    F = torch.nn.functional
    X = torch.from_numpy(data)
    per_epoch = len(data) // BATCH
    state = {"perm": torch.randperm(len(data)), "i": 0}

    def step():
        if state["i"] == per_epoch:
            state["perm"], state["i"] = torch.randperm(len(data)), 0
        i = state["i"]
        state["i"] += 1
        x = X[state["perm"][i * BATCH:(i + 1) * BATCH]]
        fake = G(torch.randn(BATCH, LATENT))
        d_loss = F.softplus(-D(x)).mean() + F.softplus(D(fake.detach())).mean()
        od.zero_grad(set_to_none=True)
        d_loss.backward()
        od.step()
        g_loss = F.softplus(-D(G(torch.randn(BATCH, LATENT)))).mean()
        og.zero_grad(set_to_none=True)
        g_loss.backward()
        og.step()
        return d_loss

    for _ in range(5):
        step()

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            d = step()
        rate = steps / (time.perf_counter() - t0)
        assert torch.isfinite(d).item()
        return rate
    return run


def interleaved_rates(runners: list, repeats: int) -> list[float]:
    """Median steps/s of each runner over ``repeats`` rounds; within a round every runner runs
    once, in an order that alternates between rounds, so a slow spell of a shared machine
    falls on all of them alike instead of on whichever happened to run then."""
    rates = [[] for _ in runners]
    for r in range(repeats):
        order = range(len(runners)) if r % 2 == 0 else reversed(range(len(runners)))
        for k in order:
            rates[k].append(runners[k]())
    return [float(np.median(v)) for v in rates]


# ---------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few steps (a smoke run; numbers are noisy)")
    p.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    p.add_argument("--data", default=None, help="MNIST directory (default: $GANLIB_DATA or ../shared/data/mnist)")
    a = p.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data_dir = a.data or os.environ.get("GANLIB_DATA") or os.path.join(root, "..", "shared", "data", "mnist")
    X, _ = gl.datasets.mnist(data_dir, "train", limit=10_000)
    steps, repeats = (5, 1) if a.quick else (20, 9)
    try:
        import torch
    except ImportError:
        torch = None
    flops = step_flops()
    L = layer_macs()
    print(f"step: {flops / 1e9:.2f} GFLOP (G {sum(m for _, m in L['G']) / 1e6:.2f} M, "
          f"D {sum(m for _, m in L['D']) / 1e6:.2f} M multiply-adds per sample forward)")
    rows = []
    for threads in (1, 2):
        gl.set_num_threads(threads)
        sg = sgemm_gflops()
        runners = [ganlib_runner(X, steps)]
        if torch is not None:
            torch.set_num_threads(threads)
            runners.append(torch_runner(torch, X, steps))
        rates = interleaved_rates(runners, repeats)
        r_gl, r_t = rates[0], (rates[1] if torch is not None else None)
        rows.append((threads, r_gl, r_t, flops * r_gl / 1e9, sg))
        print(f"threads {threads}: ganlib {r_gl:.2f} steps/s, torch {r_t if r_t is None else round(r_t, 2)} "
              f"steps/s, ganlib {flops * r_gl / 1e9:.1f} GFLOP/s, sgemm {sg:.1f} GFLOP/s", flush=True)

    tv = f"PyTorch {torch.__version__}" if torch is not None else "PyTorch (not installed)"
    lines = [
        f"One DCGAN training step (one D step + one G step) on 28×28 MNIST, batch {BATCH}, width {WIDTH} "
        f"(G: Linear 100→128·7·7, ConvT 128→64, ConvT 64→1; D: Conv 1→64, Conv 64→128, Linear 6272→1; BatchNorm, "
        f"ReLU / LeakyReLU(0.2), tanh), non-saturating loss, Adam({LR}, β=(0.5, 0.999)); ganlib `GAN.fit` "
        f"(loop in C, `log_every=steps`) vs an idiomatic {tv} loop with the same layers in the same process, "
        f"same thread count; median of {repeats} runs of {steps} steps each, the two libraries' runs "
        f"alternating.",
        "",
        f"GFLOP/s counts only the step's convolutions and matmuls analytically: 2·MACs of each forward, plus "
        f"2·MACs for each weight gradient and for each input gradient that is needed "
        f"({flops / 1e9:.2f} GFLOP per step; see the docstring of `benchmarks/bench_dcgan.py`). "
        f"These are direct-convolution FLOPs: ganlib runs the 64↔128-channel 4×4 stride-2 layers through "
        f"Winograd F(4×4, 2×2) with about half their multiply-adds, so its GFLOP/s is an effective rate. "
        f"sgemm: 1024³ float32 matmul through ganlib (`gl.function(lambda a, b: gl.ops.matmul(a, b))`, "
        f"the OpenBLAS ganlib links), measured in the same run.",
        "",
        f"Targets: ≥ {TARGET_TORCH}× PyTorch's step rate; ≥ {TARGET_SGEMM:.0%} of the sgemm rate.",
        "",
        "| threads | ganlib steps/s | PyTorch steps/s | ganlib / PyTorch | ganlib GFLOP/s | sgemm GFLOP/s | % of sgemm |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for threads, r_gl, r_t, gf, sg in rows:
        ratio = f"**{r_gl / r_t:.2f}×**" if r_t else "–"
        lines.append(f"| {threads} | {r_gl:.2f} | {r_t:.2f} | {ratio} | {gf:.1f} | {sg:.1f} | **{100 * gf / sg:.0f} %** |"
                     if r_t else f"| {threads} | {r_gl:.2f} | – | – | {gf:.1f} | {sg:.1f} | **{100 * gf / sg:.0f} %** |")
    lines.append("")
    for threads, r_gl, r_t, gf, sg in rows:
        met_t = "n/a" if not r_t else ("met" if r_gl / r_t >= TARGET_TORCH else "not met")
        met_s = "met" if gf / sg >= TARGET_SGEMM else "not met"
        lines.append(f"- {threads} thread{'s' if threads > 1 else ''}: ≥ {TARGET_TORCH}× PyTorch **{met_t}**"
                     f"{'' if not r_t else f' ({r_gl / r_t:.2f}×)'}; ≥ {TARGET_SGEMM:.0%} of sgemm **{met_s}** "
                     f"({100 * gf / sg:.0f} %).")
    lines += [
        "",
        "Where the time goes (per-op timers, one thread, 2026-11-22; ~96 ms per step):",
        "",
        "- **Winograd convolutions, ~73 %.** The three 64↔128-channel 4×4 stride-2 layers (per step: "
        "transposed conv 5×, conv 4×, weight gradient 3×, ~5–6 ms each inside the step) run as F(4×4, 2×2) "
        "over the four input phases. The transposed conv runs as the adjoint of the conv (it is the conv's "
        "input gradient), so all three tile a 7×7 grid whose last tiles are short F(3, 2) ones: their GEMMs do "
        "81 % of a padded 8×8 grid's products. The 25 GEMMs of each op (~2.2–2.8 ms) run on ganlib's register "
        "kernel (`csrc/ops/gl_k_panel_gemm.c`, ~163 GFLOP/s on cache-hot operands against a measured one-core "
        "FMA peak of ~177). The transforms stream the rest; each task range fills, transforms and empties its "
        "channels' phase planes one channel at a time in a slot of its own, so those planes stay in cache, and "
        "the batch goes through in chunks of 32 images, so V and M (~2.7 and ~1.3 MB per conv) are nearer L2 "
        "size.",
        "- **One-channel layers, ~9 %** (D's first conv, its weight gradient, G's last transposed conv): one "
        "register-kernel GEMM per image. D's first conv applies its bias and leaky ReLU as it writes each image "
        "(the program fuses the ADD and the activation into the conv).",
        "- **Batch norm, ~8 %**: three sweeps per channel block of ≤ 1 MB, so the second and third find it in "
        "L2; the ReLU / leaky ReLU after it is applied in its output sweep (fused), and dx, dgamma and dbeta come "
        "from one pass.",
        "- **Linear layers, ~5 %** (sgemm; the 64×100×6272 latent layer reads its 2.5 MB weight cold every step), "
        "**elementwise ops, ~5 %** (gradient masks, the bias gradient's per-channel sums), Adam the rest; "
        "reshapes are views.",
        "- **Two threads**: a step runs ~85 parallel loops; the pool's idle threads poll for 0.3 ms before "
        "sleeping, since waking a sleeping vCPU cost tens of µs per loop. The memory-bound transforms and "
        "batch-norm sweeps share one L3 between the two cores.",
        "- **Tried and not kept**: software prefetch of the register kernel's next B strip into L2 (paired A/B "
        "1.00); transforming the conv's weights in a different loop order (no change); reading the input "
        "straight from NCHW inside the input transform with no X planes at all (cost as much as it saved); chunks "
        "of 16 images instead of 32 (no clear gain; 32 instead of 64 was +3 % / +5 % on 1 / 2 threads); the weight "
        "gradient with channels instead of images in the transform lanes (wrote V^T a row per image, slower); the register "
        "kernel for the shallow latent-layer matmul (no faster than sgemm timed in C).",
        "",
        "The step rates on this 2-core VM vary by ±10–15 % from run to run for both libraries (other tenants; the "
        "FMA rate alone moves between ~143 and ~172 GFLOP/s), so a single run's ratio moves by about as much; "
        "the runs alternate, in 9 rounds, to keep a slow spell from favouring either. "
        "`benchmarks/ab_builds.py` compares two builds of ganlib in one process (paired, alternating runs).",
    ]
    body = "\n".join(lines)
    print(body)
    if not a.no_write and not a.quick:
        write_section("DCGAN training step (28×28 MNIST)", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
