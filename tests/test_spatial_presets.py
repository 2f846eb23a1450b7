"""gl.nn.spatial_encoder / spatial_decoder (the ACAI paper's all-convolutional networks) and the
``he_modified`` initialisation: shapes, the layer sequence against the same layers in torch.nn (the
torch spelling benchmarks/bench_spatial_ae.py races, so both are pinned to ganlib's) loaded with the same
state dict, rebuilding from spec, and bad arguments."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import ganlib as gl

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
bm = pytest.importorskip("bench_spatial_ae")     # torch_encoder / torch_decoder: the same layers in torch.nn


def load(tm: "torch.nn.Module", m: gl.nn.Module) -> None:
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})


@pytest.mark.parametrize("c, lat, side, scales, out", [(1, 16, 2, 4, None), (3, 2, 4, 3, None), (1, 16, 2, 4, 128)])
def test_spatial_networks_match_torch(c, lat, side, scales, out):
    rng = np.random.default_rng(0)
    E = gl.nn.spatial_encoder((c, 32, 32), lat, side, width=4, out_features=out, seed=0)
    Dec = gl.nn.spatial_decoder(lat, side, (c, 32, 32), width=4, seed=1)
    tE, tD = bm.torch_encoder(torch, c, lat, scales, 4, out), bm.torch_decoder(torch, c, lat, side, scales, 4)
    load(tE, E)
    load(tD, Dec)
    x = rng.standard_normal((3, c, 32, 32)).astype(np.float32)
    z = E(x)
    assert z.shape == (3, out or lat * side * side)
    with torch.no_grad():
        np.testing.assert_allclose(z, tE(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)
        code = rng.standard_normal((3, lat * side * side)).astype(np.float32)
        np.testing.assert_allclose(Dec(code), tD(torch.from_numpy(code)).numpy(), rtol=1e-4, atol=1e-5)
    for net in (E, Dec):                       # registered layers: a spec rebuilds the same network
        clone = gl.nn.from_spec(net.spec())
        clone.load_state_dict(net.state_dict())
        inp = x if net is E else code
        np.testing.assert_array_equal(clone(inp), net(inp))


def test_he_modified_init_scale():
    E = gl.nn.spatial_encoder((1, 32, 32), 16, 2, width=16, seed=3)
    for name, w in E.named_parameters():
        if name.endswith("bias"):
            assert not np.any(w), name                      # biases start at zero
        elif w.size >= 2000:
            fan_in = int(np.prod(w.shape[1:]))
            assert abs(w.std() * np.sqrt(1.04 * fan_in) - 1.0) < 0.06, name
    w = np.empty((64, 32, 3, 3), np.float32)
    gl.nn.init.he_modified(w, np.random.default_rng(0))
    assert abs(w.std() - 1 / np.sqrt(1.04 * 288)) < 0.003
    assert gl.nn.Conv2d(4, 8, 3, init="he_modified", seed=0).param("bias").tolist() == [0.0] * 8


def test_spatial_networks_train_in_a_model():
    X = gl.datasets.lines(128, seed=0)
    m = gl.models.ACAI((1, 32, 32), 64, E=gl.nn.spatial_encoder((1, 32, 32), 16, 2, width=2, seed=0),
                       Dec=gl.nn.spatial_decoder(16, 2, (1, 32, 32), width=2, seed=1),
                       d=gl.nn.spatial_encoder((1, 32, 32), 16, 2, width=2, seed=2), seed=0)
    hist = m.fit(X, steps=4, batch_size=16, progress=False)
    assert np.all(np.isfinite(hist["recon"]))
    assert m.interpolate(X[:2], X[2:4], steps=3).shape == (2, 3, 1, 32, 32)


def test_spatial_networks_refuse_bad_shapes():
    with pytest.raises(ValueError, match=r"image side 32 must be latent_side \(3\) times a power of two"):
        gl.nn.spatial_encoder((1, 32, 32), 16, 3)
    with pytest.raises(ValueError, match=r"image side 32 must be latent_side \(32\)"):
        gl.nn.spatial_decoder(16, 32, (1, 32, 32))
    with pytest.raises(ValueError, match=r"square image shape"):
        gl.nn.spatial_encoder((1, 32, 16), 16, 2)
    with pytest.raises(ValueError, match="latent_channels"):
        gl.nn.spatial_decoder(0, 2, (1, 32, 32))
    with pytest.raises(ValueError, match="unknown init"):
        gl.nn.Conv2d(1, 1, 3, init="he")
    assert gl.nn.spatial_encoder((1, 28, 28), 2, 7, width=2)(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 98)


def test_gain_scales_the_starting_convolutions():
    base = gl.nn.spatial_encoder((1, 32, 32), 16, 2, width=4, out_features=8, seed=5)
    big = gl.nn.spatial_encoder((1, 32, 32), 16, 2, width=4, out_features=8, gain=1.2, seed=5)
    for (name, a), (_, b) in zip(base.named_parameters(), big.named_parameters()):
        conv_weight = name.endswith("weight") and np.ndim(a) == 4
        np.testing.assert_allclose(b, a * (1.2 if conv_weight else 1.0), rtol=1e-6, err_msg=name)  # not the head
    dec, dec2 = (gl.nn.spatial_decoder(16, 2, (1, 32, 32), width=4, gain=g, seed=1) for g in (1.0, 0.5))
    weights = lambda net: np.concatenate([np.ravel(v) for k, v in net.named_parameters() if k.endswith("weight")])
    np.testing.assert_allclose(weights(dec2), 0.5 * weights(dec), rtol=1e-6)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="gain"):
            gl.nn.spatial_decoder(16, 2, (1, 32, 32), gain=bad)
