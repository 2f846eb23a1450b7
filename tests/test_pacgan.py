"""PacGAN packing in gl.GAN (``pack=m``): D judges m samples at once."""
import os

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops


def _gan(pack=2, loss="nonsaturating", hidden=(32,), seed=0, **kw):
    G = gl.nn.mlp(2, list(hidden), 2, seed=seed)
    D = gl.nn.mlp(2 * pack, list(hidden), 1, seed=seed + 1)
    return gl.GAN(G, D, latent=gl.latent.normal(2), loss=loss, pack=pack, seed=seed,
                  g_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.999)), d_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.999)), **kw)


# ---- what D sees -------------------------------------------------------------------------------------------------

def test_d_sees_batch_over_pack_inputs_in_training():
    seen = []

    def loss(real, fake):          # a user objective: records the logits' shapes while the phase is traced
        seen.append((tuple(real.shape), tuple(fake.shape)))
        return ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake)), ops.mean(ops.softplus(-fake))

    gan = _gan(pack=4, loss=loss)
    X = gl.datasets.ring(512, seed=0)
    hist = gan.fit(X, steps=3, batch_size=32, progress=False)
    assert seen and all(s == ((8, 1), (8, 1)) for s in seen)     # 32 samples -> 8 packed D inputs
    assert np.isfinite(hist["d_loss"]).all() and np.isfinite(hist["g_loss"]).all()


def test_packing_puts_consecutive_samples_side_by_side():
    gan = _gan(pack=2)
    x = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    manual = gan.D(np.hstack([x[0::2], x[1::2]]))        # row i = (x[2i], x[2i+1])
    np.testing.assert_allclose(gan.discriminate(x), manual, rtol=1e-6, atol=1e-6)
    assert gan.discriminate(x).shape == (3, 1)
    with pytest.raises(ValueError, match="groups of pack=2"):
        gan.discriminate(x[:5])


def test_images_are_packed_along_channels():
    G = gl.nn.Sequential(gl.nn.Linear(4, 16, seed=0), gl.nn.Reshape((1, 4, 4)))
    D = gl.nn.Sequential(gl.nn.Conv2d(3, 2, 3, seed=1), gl.nn.Flatten(), gl.nn.Linear(8, 1, seed=2))
    gan = gl.GAN(G, D, latent=gl.latent.normal(4), pack=3, seed=0)
    x = np.random.default_rng(1).standard_normal((6, 1, 4, 4)).astype(np.float32)
    manual = D(np.concatenate([x[0::3], x[1::3], x[2::3]], axis=1))     # (2, 3, 4, 4)
    np.testing.assert_allclose(gan.discriminate(x), manual, rtol=1e-5, atol=1e-6)
    hist = gan.fit(x, steps=2, batch_size=6, progress=False)
    assert np.isfinite(hist["d_loss"]).all()


@pytest.mark.parametrize("kw", [dict(loss="wgan-gp"), dict(unroll=2), dict(update="simultaneous"),
                                dict(feature_matching=True), dict(loss="least_squares"), dict(label_smoothing=0.1)])
def test_pack_composes_with_the_other_procedures(kw):
    gan = _gan(pack=2, **kw)
    hist = gan.fit(gl.datasets.ring(256, seed=0), steps=5, batch_size=16, progress=False)
    for k in ("d_loss", "g_loss"):
        assert np.isfinite(hist[k]).all(), (kw, k)
    if kw.get("loss") == "wgan-gp":
        assert (hist["penalty"] > 0).all()      # the penalty runs on packed interpolates


def test_pack_one_is_the_plain_gan_bit_for_bit():
    X = gl.datasets.ring(512, seed=0)
    a, b = _gan(pack=1), _gan(pack=1)
    G, D = gl.nn.mlp(2, [32], 2, seed=0), gl.nn.mlp(2, [32], 1, seed=1)
    c = gl.GAN(G, D, latent=gl.latent.normal(2), seed=0, g_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.999)),
               d_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.999)))            # no pack argument at all
    ha, hc = a.fit(X, steps=20, batch_size=32, progress=False), c.fit(X, steps=20, batch_size=32, progress=False)
    np.testing.assert_array_equal(ha["d_loss"], hc["d_loss"])
    np.testing.assert_array_equal(a.G.buffer.data, c.G.buffer.data)
    assert b.pack == 1


def test_packing_helps_on_the_ring():
    """Outcome: with the same networks, optimiser, budget and D batch (64 D inputs), PacGAN2 covers more
    ring modes and has a lower reverse KL over three seeds than the plain GAN, which partly collapses here."""
    X, centers = gl.datasets.ring(20_000, seed=0), gl.datasets.ring_centers()
    modes, rkl = {}, {}
    for pack in (1, 2):
        runs = []
        for seed in range(3):
            gan = _gan(pack=pack, hidden=(64, 64), seed=seed)
            gan.fit(X, steps=1500, batch_size=64 * pack, progress=False)
            runs.append(gl.metrics.mode_coverage(gan.sample(2500), centers, 0.01))
        modes[pack], rkl[pack] = sum(r.modes for r in runs), np.mean([r.reverse_kl for r in runs])
    assert modes[2] > modes[1], modes
    assert rkl[2] < rkl[1], rkl


# ---- checkpoints --------------------------------------------------------------------------------------------------

def test_save_load_keeps_pack(tmp_path):
    X = gl.datasets.ring(300, seed=0)
    gan = _gan(pack=3)
    gan.fit(X, steps=3, batch_size=12, progress=False)
    path = os.path.join(tmp_path, "pac.safetensors")
    gan.save(path)
    again = gl.load(path)
    assert again.pack == 3
    h1 = gan.fit(X, steps=3, batch_size=12, progress=False)
    h2 = again.fit(X, steps=3, batch_size=12, progress=False)
    np.testing.assert_array_equal(h1["d_loss"], h2["d_loss"])
    np.testing.assert_array_equal(gan.G.buffer.data, again.G.buffer.data)


def test_config_without_pack_loads_as_pack_one():
    cfg = _gan(pack=1)._config()
    del cfg["pack"]                                   # a checkpoint written before the option existed
    assert gl.GAN._from_config("old.safetensors", cfg).pack == 1


# ---- bad input -------------------------------------------------------------------------------------------------------

def test_bad_pack_values():
    G, D = gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(4, [8], 1, seed=1)
    with pytest.raises(ValueError, match="pack must be >= 1"):
        gl.GAN(G, D, pack=0)
    with pytest.raises(TypeError, match="pack must be an int"):
        gl.GAN(G, D, pack=2.0)
    with pytest.raises(TypeError, match="pack must be an int"):
        gl.GAN(G, D, pack=True)


def test_d_must_take_the_packed_width():
    G, D = gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(2, [8], 1, seed=1)
    with pytest.raises(ValueError, match=r"pack=2 feeds D inputs of shape \(4,\)"):
        gl.GAN(G, D, pack=2)


def test_mmd_has_no_discriminator_to_pack():
    with pytest.raises(ValueError, match="no discriminator"):
        gl.GAN(gl.nn.mlp(2, [8], 2, seed=0), None, loss="mmd", pack=2)


def test_batch_must_be_a_multiple_of_pack():
    gan = _gan(pack=3)
    with pytest.raises(ValueError, match=r"batch_size \(16\) must be a multiple of pack \(3\)"):
        gan.fit(gl.datasets.ring(100, seed=0), steps=1, batch_size=16, progress=False)
