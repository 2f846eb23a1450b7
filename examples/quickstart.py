"""Quickstart: fit an MLP regressor with a compiled C training step.

Run:  python examples/quickstart.py
"""
import numpy as np

import ganlib as gl
from ganlib import ops

gl.show_config()
rng = np.random.default_rng(0)
x = rng.uniform(-3, 3, size=(512, 1)).astype(np.float32)
y = (np.sin(x) + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)

net = gl.nn.mlp(1, [64, 64], 1, act="tanh", seed=0)
step = gl.compile_step(lambda a, b: ops.mean(ops.square(net(a) - b)), net, gl.optim.Adam(3e-3))

for i in range(1, 2001):
    loss = step(x, y)          # forward, backward and Adam: one C call, no Python per op
    if i in (1, 10, 50, 100, 250, 500, 1000, 2000):
        print(f"step {i:5d}  mse {loss:.5f}")

grid = np.linspace(-3, 3, 7, dtype=np.float32)[:, None]
print("x      :", np.round(grid.ravel(), 2))
print("sin(x) :", np.round(np.sin(grid).ravel(), 3))
print("net(x) :", np.round(net(grid).ravel(), 3))
