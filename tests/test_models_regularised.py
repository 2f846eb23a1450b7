"""gl.models ACAI and the Lipschitz-encoding VAE: training, the exact losses of one step, reading, checkpoints
and bad options."""
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


# ---------------------------------------------------------------------------------------- ACAI
def test_acai_trains_and_reads():
    X = images(512)
    acai = gl.models.ACAI(SHAPE, 4, hidden=[64], seed=0)
    hist = acai.fit(X, steps=150, batch_size=32, progress=False)
    assert {"recon", "ae_critic", "critic_mix", "critic_real"} <= set(hist)
    assert falls(hist["recon"]) and falls(hist["critic_mix"])
    assert acai.encode(X[:5]).shape == (5, 4)
    assert acai.decode(np.zeros((3, 4), np.float32)).shape == (3, *SHAPE)
    assert acai.interpolate(X[:3], X[3:6], steps=7).shape == (3, 7, *SHAPE)
    assert acai.sample(4, seed=0).shape == (4, *SHAPE)
    assert acai.critique(X[:6]).shape == (6,)


def test_acai_one_step_is_the_papers_losses():
    X = images(128)
    acai = gl.models.ACAI(SHAPE, 3, hidden=[16], lam=0.7, gamma=0.3, seed=1)
    E0, Dec0, d0 = (m.clone() for m in (acai.E, acai.Dec, acai.critic))
    h = acai.fit(X, steps=1, batch_size=16, progress=False)
    x = acai.last_batch("data", "x")
    alpha = acai._kept["acai_alpha"]
    assert alpha.shape == (16,) and alpha.min() >= 0 and alpha.max() <= 0.5 and alpha.std() > 0
    z = E0(x)
    mix = Dec0(alpha[:, None] * z + (1 - alpha[:, None]) * np.roll(z, 1, axis=0))
    np.testing.assert_allclose(acai._kept["acai_mix"], mix, rtol=1e-5, atol=1e-6)
    rec = Dec0(z)
    d_mix = d0(mix)[:, 0]
    np.testing.assert_allclose(h["recon"][0], ((rec - x) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(h["ae_critic"][0], (d_mix ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(h["critic_mix"][0], ((d_mix - alpha) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(h["critic_real"][0], (d0(0.3 * x + 0.7 * rec)[:, 0] ** 2).mean(), rtol=1e-5)


def test_acai_conv_preset_and_checkpoint(tmp_path):
    X = np.random.default_rng(0).uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32)
    acai = gl.models.ACAI((1, 28, 28), 8, preset="conv", width=4, seed=2)
    acai.fit(X, steps=3, batch_size=16, progress=False)
    again = round_trip(acai, X, tmp_path, steps=3, batch=16)
    assert again.lam == 0.5 and again.gamma == 0.2 and again.preset == "conv"


def test_acai_refuses_bad_options():
    with pytest.raises(ValueError, match="gamma"):
        gl.models.ACAI(SHAPE, 2, gamma=1.5)
    with pytest.raises(ValueError, match="lam"):
        gl.models.ACAI(SHAPE, 2, lam=-1.0)
    with pytest.raises(ValueError, match="preset"):
        gl.models.ACAI(SHAPE, 2, preset="resnet")
    acai = gl.models.ACAI(SHAPE, 2, hidden=[8])
    with pytest.raises(ValueError, match="batch_size >= 2"):
        acai.fit(images(8), steps=1, batch_size=1, progress=False)


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
