"""gl.models: the Lipschitz-encoding VAE: the exact penalty of one step, clipping, checkpoints and bad options."""
from __future__ import annotations

import numpy as np
import pytest

import ganlib as gl

SHAPE = (1, 8, 8)


def images(n: int = 256, seed: int = 0) -> np.ndarray:
    """Small blob images in [0, 1]: a bright 3 x 3 square at a random place."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, *SHAPE), np.float32)
    for i in range(n):
        r, c = rng.integers(0, 5, size=2)
        x[i, 0, r:r + 3, c:c + 3] = 1.0
    return np.clip(x + 0.05 * rng.random(x.shape, dtype=np.float32), 0, 1)


def falls(h: np.ndarray, k: int = 10) -> bool:
    return bool(np.isfinite(h).all() and h[-k:].mean() < h[:k].mean())


def round_trip(model, X, tmp_path, steps=5, batch=32):
    """Save, load, and check that both copies continue identically."""
    path = str(tmp_path / "model.safetensors")
    model.save(path)
    again = gl.load(path)
    assert type(again) is type(model) and again._options() == model._options()
    h1 = model.fit(X, steps=steps, batch_size=batch, progress=False)
    h2 = again.fit(X, steps=steps, batch_size=batch, progress=False)
    assert set(h1) == set(h2)
    for k in h1:
        np.testing.assert_array_equal(h1[k], h2[k])
    for name, m in model.modules.items():
        np.testing.assert_array_equal(m.buffer.data, again.modules[name].buffer.data)
    return again


# ---------------------------------------------------------------------------------------- Lipschitz VAE
def lipschitz_sum(x: np.ndarray, mu: np.ndarray) -> float:
    h = x.shape[0] // 2
    fx, fm = x.reshape(len(x), -1).astype(np.float64), mu.astype(np.float64)
    num = ((fm[:h] - fm[h:2 * h]) ** 2).sum(axis=1)
    den = ((fx[:h] - fx[h:2 * h]) ** 2).sum(axis=1)
    return float((num / den).sum())


def test_lipschitz_penalty_is_the_definition():
    X = images(128)
    vae = gl.models.VAE(SHAPE, 3, hidden=[16], lipschitz=30.0, seed=0)
    E0 = vae.E.clone()
    h = vae.fit(X, steps=1, batch_size=31, progress=False)     # odd batch: 15 pairs (i, i + 15)
    x = vae.last_batch("data", "x")
    mu = E0(x)[:, :3]
    np.testing.assert_allclose(h["lipschitz"][0], lipschitz_sum(x, mu), rtol=1e-4)
    plain = gl.models.VAE(SHAPE, 3, hidden=[16], seed=0)
    h0 = plain.fit(X, steps=1, batch_size=31, progress=False)
    assert "lipschitz" not in h0
    np.testing.assert_allclose(h0["neg_elbo"], h["neg_elbo"], rtol=1e-6)      # same batch, same ELBO


def test_lipschitz_vae_clips_the_encoder_and_shrinks_the_ratio():
    X = images(512)
    reg = gl.models.VAE(SHAPE, 2, hidden=[32], lipschitz=30.0, encoder_clip=0.05, lr=1e-2, seed=0)
    plain = gl.models.VAE(SHAPE, 2, hidden=[32], lr=1e-2, seed=0)
    assert np.abs(reg.E.buffer.data).max() > 0.05
    reg.fit(X, steps=100, batch_size=64, progress=False)
    plain.fit(X, steps=100, batch_size=64, progress=False)
    off, size = reg.E.param_range()
    assert np.abs(reg.E.buffer.data[off:off + size]).max() <= 0.05
    off, size = reg.Dec.param_range()
    assert np.abs(reg.Dec.buffer.data[off:off + size]).max() > 0.05          # the decoder is not clipped
    ratio = [lipschitz_sum(X[:200], m.encode(X[:200])) for m in (reg, plain)]
    assert ratio[0] < 0.5 * ratio[1], ratio


def test_lipschitz_options_survive_a_checkpoint(tmp_path):
    X = images(128)
    vae = gl.models.VAE(SHAPE, 2, hidden=[16], lipschitz=5.0, encoder_clip=0.3, seed=5)
    vae.fit(X, steps=4, batch_size=32, progress=False)
    again = round_trip(vae, X, tmp_path, steps=4)
    assert (again.lipschitz, again.encoder_clip) == (5.0, 0.3)
    assert again._clip_of == {"E": 0.3}


def test_lipschitz_refuses_bad_options():
    with pytest.raises(ValueError, match="lipschitz"):
        gl.models.VAE(SHAPE, 2, lipschitz=-1.0)
    with pytest.raises(ValueError, match="encoder_clip"):
        gl.models.VAE(SHAPE, 2, encoder_clip=0.0)
    vae = gl.models.VAE(SHAPE, 2, hidden=[8], lipschitz=1.0)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        vae.fit(images(8), steps=1, batch_size=1, progress=False)
