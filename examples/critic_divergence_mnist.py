"""D_CNN on MNIST (issue 18): the training set, uniform noise and a test half, each against test images.

Usage: python examples/critic_divergence_mnist.py [--steps 800] [--rows 5000] [--out result.json]

The held-out real data is a random half of the MNIST test set; every "model" gives as
many samples: training images (a seeded subset), uniform noise in [-1, 1] (the pixel
range), and the other random half of the test set (the floor: the same distribution).
The halves are random, not the file's first and last 5000: those come from different
writers (NIST SD-3 and SD-1) and differ measurably.
Also: the overfitting gap of samples that copy training images, measured against those
training images (memorisation detected) and of the test half (no memorisation).

Measured (defaults: 5000 rows each, 800 critic steps, batch 64, the default conv critic, seed 0;
49 min on two shared cores under nice 19, 4-6 min per critic):
  dcnn_test_halves 0.140, dcnn_train_set 0.426, dcnn_noise 67.3;
  gap of copies of the training rows +1.00 (train_value -0.556, value 0.443),
  gap of the other test half -0.097 (train_value 0.237, value 0.140).
The file's first and last 5000 test images (not random halves) give 4.9: a real shift of writers.
"""
import argparse
import json
import time

import numpy as np

import ganlib as gl

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=800)
p.add_argument("--rows", type=int, default=5000)
p.add_argument("--out", default=None)
a = p.parse_args()

test, _ = gl.datasets.mnist(split="test")
train, _ = gl.datasets.mnist(split="train")
rng = np.random.default_rng(0)
n = a.rows
perm = rng.permutation(len(test))
heldout, test_half = test[perm[:n]], test[perm[n:2 * n]]
train_rows = train[rng.choice(len(train), n, replace=False)]
noise = rng.uniform(-1.0, 1.0, size=(n, 1, 28, 28)).astype(np.float32)
kw = dict(steps=a.steps, eval_every=100, average=4, seed=0)
out = {}
t0 = time.time()
for name, samples in (("dcnn_test_halves", test_half), ("dcnn_train_set", train_rows), ("dcnn_noise", noise)):
    t = time.time()
    r = gl.metrics.critic_divergence(None, heldout, samples, **kw)
    out[name] = r.value
    print(f"{name:18s} {r}  history {np.round(r.history[:, 1], 3).tolist()}  {time.time() - t:.0f}s", flush=True)
# the gap: samples that copy the training rows they are compared with, vs an independent test half
for name, samples in (("gap_copies_of_train", train_rows[rng.permutation(n)]), ("gap_test_half", test_half)):
    t = time.time()
    r = gl.metrics.critic_divergence(train_rows, heldout, samples, **kw)
    out[name] = r.gap
    out[name + "_train_value"] = r.train_value
    out[name + "_value"] = r.value
    print(f"{name:18s} {r}  {time.time() - t:.0f}s", flush=True)
out["minutes_total"] = (time.time() - t0) / 60
print(json.dumps(out, indent=1))
if a.out:
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
