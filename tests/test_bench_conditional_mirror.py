"""The PyTorch loops of benchmarks/bench_conditional.py compute what gl.models.SemiSupervisedGAN and
gl.models.CycleGAN compute: from the same weights and batches, two training steps give the same logged
losses (the second step's losses depend on the first step's updates), with the models' Adam and with
plain SGD; with SGD the weights after the steps agree as well (each moved by lr x its gradient; Adam's
first steps move a weight by about lr x the sign of its gradient, which rounding flips where a
gradient is nearly zero, so its weights are not compared). The PyTorch side runs in float64: in
float32 its CycleGAN generator gradients are ~1 % off the float64 ones (ganlib's float32 agree to ~1e-5).
A ReLU gate within ~1e-6 of zero (the CycleGAN nets have ~400,000) that float32 rounding puts on the
other side moves its layer's weight gradient by ~1 % at 14x14 with 4 images: an FMA build of the AVX2
GEMM kernel flips one gate of F on these data (csrc/ops/gl_k_panel_gemm.c). The tolerances absorb
that one; many such flips would not pass, nor would a wrong term or weight (errors of order 1).

What cannot be shared is made deterministic: the semi-supervised GAN's noise layers are off and its
latents fixed; CycleGAN runs without its history pool (whose draws are random). Every batch is the
whole (small) data set, so ganlib's shuffled batch order does not matter (the losses are means)."""
import os
import sys

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
bm = pytest.importorskip("bench_conditional")


class FixedLatent:
    """Stands in for a model's latent distribution: every draw is the same z."""

    def __init__(self, z):
        self.z = z

    def sample(self, n):
        assert n == self.z.shape[0]
        return ops.constant(self.z)


def assert_same_weights(pairs, starts):
    """ganlib's and PyTorch's parameters after the same SGD steps agree, relative to how far they moved."""
    assert pairs
    moved = max(float(np.abs(g - s).max()) for (g, _), s in zip(pairs, starts))
    assert moved > 1e-3                                             # the steps changed the weights
    for (g, t), s in zip(pairs, starts):
        np.testing.assert_allclose(g, t.reshape(g.shape), atol=1e-6 + 1e-3 * moved, rtol=0)


def test_to_torch_noise_layer_adds_noise_of_its_std():
    torch.manual_seed(0)
    noise = bm.to_torch(torch, gl.nn.GaussianNoise(0.5))
    out = noise(torch.zeros(20000))
    assert abs(float(out.std()) - 0.5) < 0.02
    noise.eval()
    assert float(noise(torch.zeros(5)).abs().max()) == 0.0    # no noise outside training


def sgd():
    return gl.optim.SGD(0.05)


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_torch_semisup_steps_match_ganlib(opt):
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    xl = rng.random((100, 784)).astype(np.float32)                  # 10 labelled rows per class
    yl = np.repeat(np.arange(10), 10).astype(np.int64)
    xu = rng.random((100, 784)).astype(np.float32)
    z = rng.random((100, 100)).astype(np.float32)
    kw = {} if opt == "adam" else {"g_opt": sgd(), "d_opt": sgd()}   # adam: the models' own optimizers
    m = bm.ganlib_semisup(input_noise=0.0, hidden_noise=0.0, data_init=False, **kw)
    m.latent = FixedLatent(z)
    mirror = bm.TorchSemisup(torch, m, dtype=torch.float64)        # copies the starting weights
    pairs = lambda: bm.weight_pairs(torch, mirror.D, m.D) + bm.weight_pairs(torch, mirror.G, m.G)
    starts = [g.copy() for g, _ in pairs()]
    hist = m.fit(xl, yl, xu, steps=2, batch_size=100, log_every=1, progress=False)
    tx = [torch.from_numpy(a.astype(np.float64) if a.dtype == np.float32 else a) for a in (xl, yl, xu, z)]
    want = np.array([mirror.step(tx[0], tx[1], tx[2], tx[2], tx[3], tx[3]) for _ in range(2)])
    got = np.stack([hist["lab_loss"], hist["unl_loss"], hist["g_loss"]], axis=1)
    assert got.shape == (2, 3)
    # float32 against float64: Adam's first steps move every weight by about lr whatever the gradient's size,
    # so float32 rounding in near-zero gradients reaches the second step's feature-matching loss (a difference
    # of two batch means) at a few 1e-4 relative
    np.testing.assert_allclose(got, want, rtol=5e-4 if opt == "adam" else 2e-4, atol=1e-6)
    if opt == "sgd":    # SGD moves each weight by lr x its gradient: the gradients agree too
        assert_same_weights(pairs(), starts)


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_torch_cyclegan_steps_match_ganlib(opt):
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    xa = np.tanh(rng.standard_normal((4, 1, 28, 28))).astype(np.float32)
    xb = np.tanh(rng.standard_normal((4, 1, 28, 28))).astype(np.float32)
    kw = {} if opt == "adam" else {"optimizers": {k: sgd() for k in ("G", "F", "DA", "DB")}}
    m = bm.ganlib_cyclegan(pool_size=0, **kw)
    mirror = bm.TorchCycleGAN(torch, m, dtype=torch.float64)
    pairs = lambda: [p for k in ("G", "F", "DA", "DB") for p in bm.weight_pairs(torch, mirror.nets[k], m.modules[k])]
    starts = [g.copy() for g, _ in pairs()]
    hist = m.fit(xa, xb, steps=2, batch_size=4, log_every=1, progress=False)
    ta, tb = torch.from_numpy(xa).double(), torch.from_numpy(xb).double()
    want = np.array([mirror.step(ta, tb) for _ in range(2)])
    got = np.stack([hist["g_adv"], hist["cycle"], hist["d_a"], hist["d_b"]], axis=1)
    assert got.shape == (2, 4)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-6)
    if opt == "sgd":
        assert_same_weights(pairs(), starts)


def test_torch_history_pool_fills_then_swaps():
    torch.manual_seed(0)
    mirror = bm.TorchCycleGAN(torch, bm.ganlib_cyclegan(width=4, n_blocks=1, d_width=4))
    first = torch.arange(50, dtype=torch.float32).reshape(50, 1, 1, 1)
    assert torch.equal(mirror.pool("A", first), first)              # while filling, the fakes themselves
    new = -1.0 - torch.arange(400, dtype=torch.float32).reshape(400, 1, 1, 1)
    out = mirror.pool("A", new)
    swapped = float((out != new).float().mean())                    # a stored image handed out instead
    assert 0.4 < swapped < 0.6 and len(mirror.pools["A"]) == 50
    stored = torch.stack(mirror.pools["A"]).flatten()
    assert int((stored >= 0).sum()) < 5                             # the old images were swapped out
