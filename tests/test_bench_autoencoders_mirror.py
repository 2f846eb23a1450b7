"""The PyTorch VQ-VAE loops of benchmarks/bench_autoencoders.py compute what gl.models.VQVAE computes:
one step from the same weights and codebook gives the same weights, codebook and EMA state."""
import os
import sys

import numpy as np
import pytest

import ganlib as gl

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
bm = pytest.importorskip("bench_autoencoders")


def linears(module):
    return [m for m in module._children.values() if type(m).__name__ == "Linear"]


@pytest.mark.parametrize("ema", [False, True])
def test_torch_vqvae_step_matches_ganlib(ema):
    torch.set_num_threads(1)
    X = np.random.default_rng(0).random((100, 1, 28, 28)).astype(np.float32)   # one batch: every row
    g = gl.models.VQVAE((1, 28, 28), latent_dim=bm.VQ_LATENT, num_codes=bm.VQ_CODES, code_dim=bm.VQ_DIM,
                        hidden=bm.VQ_HIDDEN, beta=bm.VQ_BETA, ema=bm.VQ_DECAY if ema else False,
                        restart_dead=bm.VQ_RESTART if ema else 0, lr=bm.LR, seed=0)
    run = bm.torch_vq_stepper(torch, X, ema=ema)
    start = g.codebook
    with torch.no_grad():
        for gm, tm in zip((g.E, g.Dec), run.nets):
            tl = [m for m in tm if isinstance(m, torch.nn.Linear)]
            assert len(tl) == len(linears(gm))
            for a, b in zip(linears(gm), tl):
                b.weight.copy_(torch.from_numpy(a.param("weight").copy()))
                b.bias.copy_(torch.from_numpy(a.param("bias").copy()))
        if ema:
            run.state["codes"], run.state["sum"] = torch.from_numpy(start.copy()), torch.from_numpy(start.copy())
        else:
            run.codebook.copy_(torch.from_numpy(start))
    g.fit(X, steps=1, batch_size=100, progress=False)
    run(1)
    with torch.no_grad():
        for gm, tm in zip((g.E, g.Dec), run.nets):
            tl = [m for m in tm if isinstance(m, torch.nn.Linear)]
            for a, b in zip(linears(gm), tl):
                np.testing.assert_allclose(a.param("weight"), b.weight.numpy(), atol=1e-5)
                np.testing.assert_allclose(a.param("bias"), b.bias.numpy(), atol=1e-5)
        cb = run.state["codes"].numpy() if ema else run.codebook.detach().numpy()
        assert np.abs(g.codebook - start).max() > 1e-4                  # the step moved the codebook
        np.testing.assert_allclose(g.codebook, cb, atol=1e-6)
        if ema:
            np.testing.assert_allclose(g._kept["vq_count"], run.state["count"].numpy(), atol=1e-6)
            np.testing.assert_allclose(g._kept["vq_sum"], run.state["sum"].numpy(), atol=1e-6)
            np.testing.assert_array_equal(g._kept["vq_idle"], run.state["idle"].numpy())
