"""One MLP training step (forward, backward, Adam): ganlib vs PyTorch, same process, same threads.

Usage: python benchmarks/bench_mlp.py [--quick] [--no-write]
Writes the table into benchmarks/RESULTS.md (section "MLP training step").
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import time_per_call, write_section  # noqa: E402

import ganlib as gl  # noqa: E402
from ganlib import ops  # noqa: E402

CASES = [((2, [128, 128], 1), 64), ((2, [128, 128], 1), 512),
         ((784, [512, 256], 1), 64), ((784, [512, 256], 1), 512)]


def ganlib_step(arch, batch, rng):
    net = gl.nn.mlp(arch[0], arch[1], arch[2], seed=0)
    x = rng.standard_normal((batch, arch[0])).astype(np.float32)
    y = rng.standard_normal((batch, arch[2])).astype(np.float32)
    step = gl.compile_step(lambda a, b: ops.mean(ops.square(net(a) - b)), net, gl.optim.Adam(1e-4))
    return lambda: step(x, y)


def torch_step(torch, arch, batch, rng):
    sizes = [arch[0]] + list(arch[1]) + [arch[2]]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.from_numpy(rng.standard_normal((batch, arch[0])).astype(np.float32))
    y = torch.from_numpy(rng.standard_normal((batch, arch[2])).astype(np.float32))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="short timings (smoke run)")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = ap.parse_args()
    import torch

    min_time, repeats = (0.02, 3) if args.quick else (0.3, 7)
    rows = []
    for threads in (1, 2):
        gl.set_num_threads(threads)
        torch.set_num_threads(threads)
        for arch, batch in CASES:
            rng = np.random.default_rng(0)
            t_gl = time_per_call(ganlib_step(arch, batch, rng), min_time, repeats)
            t_pt = time_per_call(torch_step(torch, arch, batch, rng), min_time, repeats)
            name = f"{arch[0]}→{'→'.join(map(str, arch[1]))}→{arch[2]}"
            rows.append((name, batch, threads, 1 / t_gl, 1 / t_pt, t_pt / t_gl))
            print(f"{name:18s} batch {batch:4d} threads {threads}: ganlib {1/t_gl:9.0f} steps/s, "
                  f"torch {1/t_pt:9.0f} steps/s, ratio {t_pt/t_gl:5.2f}x", flush=True)
    body = ["One training step (forward, MSE loss, backward, Adam), median of 7 timed blocks. "
            f"PyTorch {torch.__version__} (CPU) in the same process with the same thread count.",
            "Targets: ≥ 5× on 2→128→128→1 at batch 64, ≥ 1× on 784→512→256→1.", "",
            "| MLP | batch | threads | ganlib steps/s | PyTorch steps/s | ganlib / PyTorch |",
            "|---|---:|---:|---:|---:|---:|"]
    body += [f"| {n} | {b} | {t} | {g:,.0f} | {p:,.0f} | **{r:.2f}×** |" for n, b, t, g, p, r in rows]
    if not args.no_write:
        write_section("MLP training step", "\n".join(body))


if __name__ == "__main__":
    main()
