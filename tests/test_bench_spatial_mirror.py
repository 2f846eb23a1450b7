"""The PyTorch loop of benchmarks/bench_spatial_ae.py computes what gl.models.Autoencoder computes with the
ACAI paper's networks: one step from the same weights on the same batch gives the same weights (so the
benchmark compares like with like)."""
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
bm = pytest.importorskip("bench_spatial_ae")


def test_torch_autoencoder_step_matches_ganlib():
    torch.set_num_threads(1)
    X = np.tanh(np.random.default_rng(0).standard_normal((bm.BATCH, *bm.SHAPE))).astype(np.float32)  # one batch
    mine, theirs = bm.ganlib_stepper("AE", X), bm.torch_stepper(torch, "AE", X)
    g = mine.model
    with torch.no_grad():
        for gm, tm in zip((g.E, g.Dec), theirs.nets):
            tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in gm.state_dict().items()})
    start = [np.array(v) for gm in (g.E, g.Dec) for v in gm.state_dict().values()]
    mine(1)
    theirs(1)
    got = [(name, np.array(a), b.numpy()) for gm, tm in zip((g.E, g.Dec), theirs.nets)
           for (name, a), b in zip(gm.state_dict().items(), tm.state_dict().values())]
    assert len(got) == len(start) == 2 * 11 + 2 * 10          # 11 encoder and 10 decoder convolutions
    # Adam's first step moves each weight by about lr whatever its gradient's size: every weight moved,
    # and ganlib's step agrees with PyTorch's to a small fraction of lr (a weight whose gradient is at
    # float noise may flip its step's sign: allow one in ten thousand)
    for (name, a, b), s0 in zip(got, start):
        assert np.abs(a - s0).max() > 0.5 * bm.LR, name
        off = np.abs(a - b) > 0.01 * bm.LR
        assert off.mean() <= 1e-4, f"{name}: {off.sum()} of {off.size} weights differ by more than lr / 100"
