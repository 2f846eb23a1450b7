"""Train a GAN on the 8-mode ring and show its samples and mode coverage.

Run:  python examples/gan_ring.py [--steps 3000] [--loss nonsaturating]
The whole training loop runs in C; Python is called every 500 steps.
"""
import argparse
import time

import numpy as np

import ganlib as gl


def ascii_scatter(points: np.ndarray, size: int = 41, lim: float = 1.4) -> str:
    """A terminal picture of 2-D points: darker characters = more samples."""
    shades = " .:-=+*#%@"
    grid = np.zeros((size // 2, size))
    ij = np.floor((points + lim) / (2 * lim) * np.array([size, size // 2])).astype(int)
    ok = (ij >= 0).all(1) & (ij[:, 0] < size) & (ij[:, 1] < size // 2)
    np.add.at(grid, (size // 2 - 1 - ij[ok, 1], ij[ok, 0]), 1)
    levels = np.ceil(np.log1p(grid) / np.log1p(grid.max()) * (len(shades) - 1)).astype(int)
    return "\n".join("".join(shades[v] for v in row) for row in levels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--loss", default="nonsaturating")
    args = ap.parse_args()

    X = gl.datasets.ring(n=50_000, modes=8, radius=1.0, std=0.01, seed=0)
    G = gl.nn.mlp(2, [128, 128], 2, seed=0)
    D = gl.nn.mlp(2, [128, 128], 1, seed=1)
    gan = gl.GAN(G, D, latent=gl.latent.normal(2), loss=args.loss,
                 g_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.999)),
                 d_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.999)), seed=0)
    t0 = time.time()
    hist = gan.fit(X, steps=args.steps, batch_size=256, log_every=500, progress=False,
                   callbacks=[lambda g, step, logs: print(f"step {step:5d}  D loss {logs['d_loss']:.3f}  "
                                                           f"G loss {logs['g_loss']:.3f}")])
    seconds = time.time() - t0
    print(f"\n{len(hist['step'])} steps in {seconds:.1f} s ({len(hist['step']) / seconds:.0f} steps/s)\n")
    S = gan.sample(2500)
    print(ascii_scatter(S))
    print()
    print(gl.metrics.mode_coverage(S, gl.datasets.ring_centers(8, 1.0), std=0.01))


if __name__ == "__main__":
    main()
