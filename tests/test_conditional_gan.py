"""gl.models.ConditionalGAN / ACGAN and the class-conditional presets.

The toy: K classes, class k a Gaussian at angle 2πk/K on a circle of radius 2 (std 0.1),
modes 2 apart. A generator that ignored its label would put about 1/K of each class's
samples at that class's mode, so the checks below (most samples of class k at mode k)
fail for it.
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

K = 6
RADIUS = 2.0


def centre(k):
    return RADIUS * np.array([np.cos(2 * np.pi * k / K), np.sin(2 * np.pi * k / K)])


def toy(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    x = np.stack([centre(k) for k in y]) + 0.1 * rng.standard_normal((n, 2))
    return x.astype(np.float32), y


def at_mode(model, k, n=300):
    """Fraction of n samples of class k within 0.5 of mode k."""
    s = model.sample(n, labels=k)
    return float(np.mean(np.linalg.norm(s - centre(k), axis=1) < 0.5))


def small(**kw):
    return gl.models.ConditionalGAN((2,), num_classes=K, latent_dim=8, hidden=[64, 64], seed=0, **kw)


# ---- presets ------------------------------------------------------------------------------------------

def _moments(m):
    d = m.buffer.data.astype(np.float64)
    return d.sum(), (d * d).sum(), d.size


def test_presets_without_num_classes_are_unchanged():
    """The same parameters, draw for draw, as before the presets took num_classes (values from that version)."""
    np.testing.assert_allclose(_moments(gl.nn.mlp(2, [8, 8], 1, seed=3)), (1.95156470494112, 7.677248163429911, 105),
                               rtol=1e-12)
    np.testing.assert_allclose(_moments(gl.nn.dcgan_generator(16, (1, 28, 28), width=8, seed=1)),
                               (21.759678193980022, 29.963994592348268, 14769), rtol=1e-12)
    np.testing.assert_allclose(_moments(gl.nn.dcgan_discriminator((3, 32, 32), width=8, norm="layer", seed=2)),
                               (1536.9356539881276, 1540.430098553452, 14217), rtol=1e-12)
    assert type(gl.nn.mlp(2, [8], 1)) is gl.nn.Sequential


@pytest.mark.parametrize("conditioning", ["concat", "projection", "classifier"])
@pytest.mark.parametrize("preset", ["mlp", "dcgan"])
def test_conditional_presets_shapes_and_specs(preset, conditioning):
    k, n = 10, 3
    y = np.eye(k, dtype=np.float32)[[1, 4, 9]]
    if preset == "mlp":
        x = np.random.default_rng(0).standard_normal((n, 5)).astype(np.float32)
        D = gl.nn.mlp(5, [16, 8], 1, num_classes=k, conditioning=conditioning, seed=0)
        G = gl.nn.mlp(4, [16], 5, num_classes=k, embed_dim=3, seed=0)
    else:
        x = np.random.default_rng(0).standard_normal((n, 1, 28, 28)).astype(np.float32)
        D = gl.nn.dcgan_discriminator(width=8, num_classes=k, conditioning=conditioning, seed=0)
        G = gl.nn.dcgan_generator(4, width=8, num_classes=k, embed_dim=3, seed=0)
    out = D(x) if conditioning == "classifier" else D(x, y)
    assert out.shape == ((n, 1 + k) if conditioning == "classifier" else (n, 1))
    assert G(np.zeros((n, 4), np.float32), y).shape == (n, *x.shape[1:])
    for net in (G, D):
        twin = gl.nn.from_spec(net.spec())
        twin.load_state_dict(net.state_dict())
        args = (x,) if net is D and conditioning == "classifier" else ((x, y) if net is D else
                                                                        (np.ones((n, 4), np.float32), y))
        np.testing.assert_array_equal(twin(*args), net(*args))


def test_label_changes_the_output():
    G = gl.nn.mlp(2, [16], 2, num_classes=3, seed=0)
    z = np.ones((3, 2), np.float32)
    out = G(z, np.eye(3, dtype=np.float32))
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])


def test_projection_discriminator_formula(rng):
    body = gl.nn.Sequential(gl.nn.Linear(3, 4, seed=0), gl.nn.Tanh())
    D = gl.nn.ProjectionDiscriminator(body, 4, num_classes=5, seed=1)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    yi = np.array([0, 1, 2, 3, 4, 2])
    p = D.parameters()
    h = np.tanh(x @ p["body.0.weight"].T + p["body.0.bias"])
    want = h @ p["head.weight"].T + p["head.bias"] + np.sum(h * p["embed.weight"].T[yi], axis=1, keepdims=True)
    np.testing.assert_allclose(D(x, np.eye(5, dtype=np.float32)[yi]), want, rtol=1e-5, atol=1e-6)


def test_conditional_embedding_matches_torch(rng):
    """A learned label embedding joined to z: values and gradients equal a PyTorch nn.Embedding version."""
    torch = pytest.importorskip("torch")
    G = gl.nn.mlp(3, [8], 2, num_classes=4, embed_dim=5, seed=0)
    z = rng.standard_normal((7, 3)).astype(np.float32)
    yi = np.array([0, 1, 2, 3, 3, 1, 0])
    P = G.parameters()

    @gl.function
    def f(zt, yt):
        out = G(zt, yt)
        return out, gl.grad(ops.sum(ops.square(out)), G.param_tensors(zt.trace))

    out, grads = f(z, np.eye(4, dtype=np.float32)[yi])
    names = list(P)
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in P.items()}
    emb = torch.nn.functional.embedding(torch.from_numpy(yi), t["embed.weight"].T)
    hcat = torch.cat([torch.from_numpy(z).double(), emb], 1)
    hh = torch.relu(hcat @ t["net.0.weight"].T + t["net.0.bias"])
    tout = hh @ t["net.2.weight"].T + t["net.2.bias"]
    tg = torch.autograd.grad((tout ** 2).sum(), [t[k] for k in names])
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    for k, g, want in zip(names, grads, tg):
        np.testing.assert_allclose(g, want.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


# ---- learning the toy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"embed_dim": 8}, {"projection": True}], ids=["onehot", "embedding", "projection"])
def test_conditional_gan_puts_each_class_at_its_mode(kw):
    X, y = toy()
    cgan = small(**kw)
    hist = cgan.fit(X, y, steps=3000, batch_size=128, progress=False)
    assert np.isfinite(hist["d_loss"]).all() and len(hist["step"]) == 3000
    for k in range(K):
        assert at_mode(cgan, k) >= 0.9, (k, at_mode(cgan, k))
    # the label, not chance, decides where a sample goes: the nearest mode is its class's
    s = cgan.sample(600)                       # classes in turn: 0, 1, ..., K-1, 0, ...
    nearest = np.argmin([np.linalg.norm(s - centre(j), axis=1) for j in range(K)], axis=0)
    assert np.mean(nearest == np.arange(600) % K) >= 0.97


def test_acgan_classifier_head_and_modes():
    X, y = toy()
    acgan = gl.models.ACGAN((2,), num_classes=K, latent_dim=8, hidden=[64, 64], seed=0)
    assert acgan.acgan and isinstance(acgan, gl.models.ConditionalGAN)
    hist = acgan.fit(X, y, steps=3000, batch_size=128, progress=False)
    assert {"d_class", "g_class"} <= set(hist)
    Xt, yt = toy(1000, seed=1)
    assert np.mean(acgan.classify(Xt) == yt) >= 0.95
    assert hist["g_class"][-100:].mean() < 0.2   # D names the class of G's samples of that class
    for k in range(K):
        assert at_mode(acgan, k) >= 0.9, (k, at_mode(acgan, k))


def test_untrained_model_fails_the_mode_check():
    """The mode check can fail: an untrained generator is not at the modes."""
    assert max(at_mode(small(), k) for k in range(K)) < 0.5


@pytest.mark.parametrize("acgan", [False, True])
def test_dcgan_preset_trains_on_images(acgan):
    rng = np.random.default_rng(0)
    X = np.tanh(rng.standard_normal((64, 1, 28, 28))).astype(np.float32)
    y = np.arange(64) % 3
    m = gl.models.ConditionalGAN((1, 28, 28), num_classes=3, latent_dim=8, width=8, acgan=acgan, seed=0)
    before = m.G.state_dict()
    hist = m.fit(X, y, steps=3, batch_size=16, progress=False)
    assert np.isfinite(hist["g_loss"]).all()
    assert any(not np.array_equal(v, m.G.state_dict()[k]) for k, v in before.items())
    assert m.sample(4, labels=[0, 1, 2, 0]).shape == (4, 1, 28, 28)


# ---- checkpoints -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"acgan": True}, {"projection": True, "embed_dim": 4}, "ACGAN"],
                         ids=["concat", "acgan", "projection", "ACGAN-class"])
def test_checkpoint_round_trip_continues_identically(tmp_path, kw):
    X, y = toy(600)
    if kw == "ACGAN":
        a = gl.models.ACGAN((2,), K, latent_dim=8, hidden=[64, 64], loss="hinge", d_steps=2, seed=0)
    else:
        a = small(loss="hinge", d_steps=2, **kw)
    a.fit(X, y, steps=30, batch_size=64, progress=False)
    path = str(tmp_path / "cgan.safetensors")
    a.save(path)
    b = gl.load(path)
    assert type(b) is type(a) and b.acgan == a.acgan and b.d_steps == 2
    ha = a.fit(X, y, steps=20, batch_size=64, progress=False)
    hb = b.fit(X, y, steps=20, batch_size=64, progress=False)
    for c in ha:
        np.testing.assert_array_equal(ha[c], hb[c], err_msg=c)
    for k, v in a.G.state_dict().items():
        np.testing.assert_array_equal(v, b.G.state_dict()[k])
    for k, v in a.D.state_dict().items():
        np.testing.assert_array_equal(v, b.D.state_dict()[k])
    np.testing.assert_array_equal(a.sample(10, labels=2), b.sample(10, labels=2))


# ---- using the model ---------------------------------------------------------------------------------------

def test_sample_labels_forms():
    m = small()
    assert m.sample(7).shape == (7, 2)
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_array_equal(m.generate(z, 3), m.generate(z, np.array([3, 3, 3, 3])))
    assert not np.allclose(m.generate(z, 0), m.generate(z, 1))
    for bad, err in [(K, ValueError), (-1, ValueError), (1.5, TypeError), ([0, 1], ValueError),
                     (np.zeros((4, 1), int), ValueError)]:
        with pytest.raises(err, match="label"):
            m.sample(4, labels=bad)
    with pytest.raises(ValueError, match="only an AC-GAN"):
        m.classify(np.zeros((2, 2), np.float32))
    assert m.discriminate(np.zeros((2, 2), np.float32), [0, 1]).shape == (2, 1)


# ---- bad input ------------------------------------------------------------------------------------------------

def _snapshot(m):
    return {**{"G." + k: v for k, v in m.G.state_dict().items()}, **{"D." + k: v for k, v in m.D.state_dict().items()}}


@pytest.mark.parametrize("labels,err,match", [
    (None, ValueError, "labels are required"),
    ("float", TypeError, "integers, got dtype float"),
    ("2d", ValueError, "1-D"),
    ("short", ValueError, "labels for 600 rows"),
    ("range", ValueError, r"lie in \[0, 6\), got 6"),
    ("negative", ValueError, r"got -1"),
    ("absent", ValueError, r"class\(es\) \[4\]"),
], ids=["missing", "float", "2d", "length", "range", "negative", "absent"])
def test_bad_labels_are_refused_without_training(labels, err, match):
    X, y = toy(600)
    bad = {None: None, "float": y.astype(np.float64), "2d": np.eye(K, dtype=int)[y], "short": y[:-1],
           "range": np.where(y == 5, 6, y), "negative": np.where(y == 0, -1, y),
           "absent": np.where(y == 4, 3, y)}[labels]
    m = small()
    before = _snapshot(m)
    with pytest.raises(err, match=match):
        m.fit(X, bad, steps=5, batch_size=64, progress=False)
    after = _snapshot(m)
    assert m.step == 0 and all(np.array_equal(v, after[k]) for k, v in before.items())


def test_bad_data_and_options():
    X, y = toy(100)
    m = small()
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        m.fit(X[:, :1], y, steps=1, progress=False)
    with pytest.raises(TypeError, match="numeric"):
        m.fit(X.astype(str), y, steps=1, progress=False)
    with pytest.raises(ValueError, match="choose one"):
        small(acgan=True, projection=True)
    with pytest.raises(ValueError, match="aux_weight"):
        small(aux_weight=2.0)
    with pytest.raises(ValueError, match="gradient penalty"):
        small(loss="wgan-gp")
    G, D = gl.nn.mlp(8, [16], 2, num_classes=K, seed=0), gl.nn.mlp(2, [16], 1, num_classes=K, seed=1)
    with pytest.raises(ValueError, match="describe the preset networks"):
        gl.models.ConditionalGAN((2,), K, latent_dim=8, hidden=[8], G=G, D=D)
    with pytest.raises(ValueError, match="embed_dim shapes how the preset networks"):
        gl.models.ACGAN((2,), K, latent_dim=8, G=G, embed_dim=4)
    with pytest.raises(ValueError, match=r"D must return shape \(N, 7\)"):
        gl.models.ConditionalGAN((2,), K, latent_dim=8, G=G, D=gl.nn.mlp(2, [16], 1, seed=1), acgan=True)
    with pytest.raises(ValueError, match="G produces rows of shape"):
        gl.models.ConditionalGAN((3,), K, latent_dim=8, G=G, D=D)
    with pytest.raises(ValueError, match="preset 'mlp' takes rows"):
        gl.models.ConditionalGAN((1, 28, 28), K, preset="mlp")
    with pytest.raises(TypeError, match="acgan=True is implied"):
        gl.models.ACGAN((2,), K, acgan=False)


def test_custom_networks_train_and_load_with_specs(tmp_path):
    X, y = toy(600)
    G = gl.nn.mlp(8, [32], 2, num_classes=K, embed_dim=4, seed=5)
    D = gl.nn.Sequential(gl.nn.Linear(2, 16, seed=1), gl.nn.LeakyReLU(0.2),
                         gl.nn.MinibatchDiscrimination(16, 8, 3, seed=2), gl.nn.Linear(24, 1 + K, seed=3))
    m = gl.models.ACGAN((2,), K, latent_dim=8, G=G, D=D, seed=1)
    m.fit(X, y, steps=10, batch_size=32, progress=False)
    path = str(tmp_path / "custom.safetensors")
    m.save(path)
    again = gl.load(path)
    assert type(again) is gl.models.ACGAN
    np.testing.assert_array_equal(again.sample(5, labels=1), m.sample(5, labels=1))
