"""gl.models: Autoencoder, VAE / ConditionalVAE and AAE — training, reading, likelihood, checkpoints, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ganlib as gl

from model_data import SHAPE, images, labels  # shared with the other model tests


def params(model: gl.Trainer) -> dict:
    return {n: m.buffer.data.copy() for n, m in model.modules.items()}


# ---------------------------------------------------------------------------------------- PCA
def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    s = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.arccos(np.clip(s, -1.0, 1.0))


def test_linear_autoencoder_learns_the_principal_subspace():
    rng = np.random.default_rng(0)
    n, d, k = 2000, 12, 3
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    scales = np.array([5.0, 4.0, 3.0] + [0.3] * (d - 3))
    X = ((rng.standard_normal((n, d)) * scales) @ basis.T + 2.0).astype(np.float32)
    ae = gl.models.Autoencoder((d,), k, E=gl.nn.Linear(d, k, seed=0), Dec=gl.nn.Linear(k, d, seed=1), lr=1e-2,
                               seed=0)
    ae.fit(X, steps=3000, batch_size=n, progress=False)
    for opt in ae.optimizers.values():
        opt.lr = 1e-3
    ae.fit(X, steps=1500, batch_size=n, progress=False)
    Xc = X.astype(np.float64) - X.mean(axis=0)
    top = np.linalg.svd(Xc, full_matrices=False)[2][:k].T          # (d, k): the top-k principal directions
    W = ae.Dec.param("weight").astype(np.float64)                    # (d, k): the decoder's column space
    W = W if W.shape == (d, k) else W.T
    angles = principal_angles(W, top)
    assert angles.max() <= 1e-2, angles


# ---------------------------------------------------------------------------------------- Autoencoder
@pytest.mark.parametrize("kw", [{}, {"code_dropout": 0.2}, {"noise": 0.3}, {"reconstruction": "bernoulli"},
                                {"preset": "conv"}])
def test_autoencoder_variants_train_and_read(kw):
    X = images(512) if kw.get("preset") != "conv" else np.zeros((64, 1, 28, 28), np.float32) + images(64)[:, :, :1, :1]
    shape = X.shape[1:]
    arch = {"width": 4} if kw.get("preset") == "conv" else {"hidden": [64]}   # each preset reads its own
    ae = gl.models.Autoencoder(shape, 4, seed=0, **arch, **kw)
    hist = ae.fit(X, steps=150, batch_size=32, progress=False)
    assert hist["recon"][-20:].mean() < hist["recon"][:5].mean()
    assert ae.encode(X[:5]).shape == (5, 4)
    rec = ae.reconstruct(X[:5])
    assert rec.shape == (5, *shape)
    if kw.get("reconstruction") == "bernoulli":
        assert rec.min() >= 0 and rec.max() <= 1
    assert ae.interpolate(X[:3], X[3:6], steps=7).shape == (3, 7, *shape)
    assert ae.sample(6, seed=1).shape == (6, *shape)
    np.testing.assert_array_equal(ae.sample(6, seed=1), ae.sample(6, seed=1))


def test_interpolation_ends_are_the_reconstructions():
    X = images(64)
    ae = gl.models.Autoencoder(SHAPE, 3, hidden=[32], seed=0)
    ae.fit(X, steps=20, batch_size=32, progress=False)
    strip = ae.interpolate(X[:4], X[4:8], steps=5)
    np.testing.assert_allclose(strip[:, 0], ae.reconstruct(X[:4]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(strip[:, -1], ae.reconstruct(X[4:8]), rtol=1e-5, atol=1e-5)


def test_flat_rows_are_accepted_and_reads_are_batched_consistently():
    X = images(2500)
    ae = gl.models.Autoencoder(SHAPE, 3, hidden=[16], seed=0)
    big = ae.encode(X)                 # three read chunks (1000, 1000, 500)
    np.testing.assert_allclose(big[1500:1510], ae.encode(X[1500:1510]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ae.encode(X[:7].reshape(7, -1)), ae.encode(X[:7]))


# ---------------------------------------------------------------------------------------- VAE
def test_vae_trains_and_logs_the_elbo_parts():
    X = images(512)
    vae = gl.models.VAE(SHAPE, 4, hidden=[64], seed=0)
    hist = vae.fit(X, steps=300, batch_size=64, progress=False)
    assert {"recon", "kl", "neg_elbo"} <= set(hist)
    np.testing.assert_allclose(hist["neg_elbo"], hist["recon"] + hist["kl"], rtol=1e-5)
    assert hist["neg_elbo"][-30:].mean() < 0.7 * hist["neg_elbo"][:5].mean()
    mu, logvar = vae.encode_distribution(X[:5])
    np.testing.assert_array_equal(mu, vae.encode(X[:5]))
    assert logvar.shape == (5, 4)
    s = vae.sample(8, seed=0)
    assert s.shape == (8, *SHAPE) and s.min() >= 0 and s.max() <= 1


def test_kl_warmup_grows_linearly_and_survives_a_checkpoint(tmp_path):
    X = images(256)
    kw = dict(hidden=[32], kl_warmup=10, beta=0.5, seed=3)
    whole = gl.models.VAE(SHAPE, 3, **kw)
    h = whole.fit(X, steps=16, batch_size=32, progress=False)
    np.testing.assert_allclose(h["kl_weight"], 0.5 * np.minimum(np.arange(16) / 10, 1.0), rtol=1e-6)
    half = gl.models.VAE(SHAPE, 3, **kw)
    half.fit(X, steps=6, batch_size=32, progress=False)
    half.save(str(tmp_path / "vae.safetensors"))
    again = gl.load(str(tmp_path / "vae.safetensors"))
    assert type(again) is gl.models.VAE
    h2 = again.fit(X, steps=10, batch_size=32, progress=False)
    np.testing.assert_array_equal(h2["kl_weight"], h["kl_weight"][6:])
    np.testing.assert_array_equal(h2["neg_elbo"], h["neg_elbo"][6:])
    np.testing.assert_array_equal(again.E.buffer.data, whole.E.buffer.data)


def exact_log_px(vae: gl.models.VAE, x: np.ndarray) -> np.ndarray:
    """log p(x) = log ∫ p(x|z) N(z; 0, 1) dz for a 1-D latent, by quadrature in float64."""
    z = np.linspace(-8, 8, 4001)
    logits = vae.Dec._read(z[:, None].astype(np.float32)).reshape(len(z), -1).astype(np.float64)
    flat = x.reshape(len(x), -1).astype(np.float64)
    log_px_z = flat @ logits.T - np.logaddexp(0.0, logits).sum(axis=1)[None, :]      # (n, grid)
    log_prior = -0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)
    a = log_px_z + log_prior[None, :]
    m = a.max(axis=1, keepdims=True)
    return (m[:, 0] + np.log(np.trapezoid(np.exp(a - m), z, axis=1)))


def test_importance_weighted_likelihood_matches_quadrature():
    X = (images(256) > 0.5).astype(np.float32)
    vae = gl.models.VAE(SHAPE, 1, hidden=[32], seed=0)
    vae.fit(X, steps=400, batch_size=64, progress=False)
    x = X[:6]
    exact = exact_log_px(vae, x)
    ll = vae.log_likelihood(x, k=6000, seed=1)     # two batches of samples per example
    assert ll.per_example.dtype == np.float64 and ll.per_example.shape == (6,)
    np.testing.assert_allclose(ll.per_example, exact, atol=0.05)
    # k = 1 is the ELBO, below log p(x) by KL(q(z|x) || p(z|x)): averaged over 2000 draws per example
    elbo = vae.log_likelihood(np.repeat(x, 2000, axis=0), k=1, seed=2).per_example.reshape(6, 2000).mean(axis=1)
    assert (elbo < exact).all(), (elbo, exact)
    assert ll.nll == pytest.approx(-ll.per_example.mean())
    assert ll.bits_per_dim == pytest.approx(ll.nll / (64 * math.log(2)))
    again = vae.log_likelihood(x, k=6000, seed=1)
    np.testing.assert_array_equal(again.per_example, ll.per_example)


def test_gaussian_decoder_likelihood_is_a_density():
    X = images(128)
    vae = gl.models.VAE(SHAPE, 2, hidden=[16], decoder="gaussian", variance=0.1, seed=0)
    vae.fit(X, steps=50, batch_size=32, progress=False)
    ll = vae.log_likelihood(X[:4], k=200)
    assert np.isfinite(ll.per_example).all()
    with pytest.raises(ValueError, match="binarize"):
        vae.log_likelihood(X[:4], k=10, binarize=True)


def test_conditional_vae_needs_and_uses_labels():
    X, y = images(256), labels(256)
    cvae = gl.models.ConditionalVAE(SHAPE, 2, hidden=[32], num_classes=4, seed=0)
    cvae.fit(X, y, steps=50, batch_size=32, progress=False)
    assert cvae.encode(X[:5], y[:5]).shape == (5, 2)
    s = cvae.sample(4, labels=np.arange(4), seed=0)
    assert s.shape == (4, *SHAPE)
    z = np.zeros((2, 2), np.float32)
    assert not np.allclose(cvae.decode(z, [0, 0]), cvae.decode(z, [1, 1]))
    assert np.isfinite(cvae.log_likelihood(X[:3], k=20, y=y[:3]).per_example).all()
    with pytest.raises(ValueError, match="needs class labels"):
        cvae.fit(X, steps=1, progress=False)
    with pytest.raises(ValueError, match="needs class labels"):
        cvae.encode(X[:2])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        cvae.fit(X, np.full(256, 4), steps=1, progress=False)
    with pytest.raises(ValueError, match="3 labels for 256 rows"):
        cvae.fit(X, y[:3], steps=1, progress=False)
    with pytest.raises(TypeError, match="integer"):
        cvae.fit(X, y.astype(np.float32), steps=1, progress=False)
    with pytest.raises(ValueError, match="conditional must be True"):
        gl.models.ConditionalVAE(SHAPE, 2, conditional=False)
    with pytest.raises(ValueError, match="conv preset.s encoder takes no labels"):
        gl.models.VAE((1, 28, 28), 2, preset="conv", conditional=True)


# ---------------------------------------------------------------------------------------- AAE
@pytest.mark.parametrize("kw", [dict(prior="gaussian", latent_dim=3), dict(prior="mixture"),
                                dict(prior="label_mixture"), dict(clusters=5, latent_dim=2),
                                dict(supervised=True, latent_dim=2)])
def test_aae_variants(kw):
    X = images(256)
    y = labels(256)
    classes = {} if kw.get("prior", "gaussian") == "gaussian" and not kw.get("supervised") else {"num_classes": 4}
    aae = gl.models.AAE(SHAPE, **{"latent_dim": 2, **kw}, **classes, hidden=[32], disc_hidden=[32], seed=0)
    needs = kw.get("prior") == "label_mixture" or kw.get("supervised")
    yy = None
    if needs:
        yy = y.copy()
        if kw.get("prior") == "label_mixture":
            yy[::3] = -1      # a third unlabelled
    hist = aae.fit(X, yy, steps=60, batch_size=32, progress=False)
    assert {"recon", "dz_loss", "gz_loss"} <= set(hist)
    assert np.isfinite(hist["recon"]).all()
    d = aae.latent_dim
    assert aae.encode(X[:5]).shape == (5, d)
    lab = np.arange(4) if kw.get("supervised") else None
    assert aae.sample(4, labels=lab, seed=0).shape == (4, *SHAPE)
    assert aae.reconstruct(X[:3], y[:3] if kw.get("supervised") else None).shape == (3, *SHAPE)
    if kw.get("clusters"):
        assert "dy_loss" in hist
        c = aae.cluster(X[:20])
        assert c.dtype == np.int64 and c.min() >= 0 and c.max() < 5
        np.testing.assert_allclose(aae.cluster_probabilities(X[:4]).sum(axis=1), 1.0, rtol=1e-5)
        assert aae.decode(np.zeros((3, 2), np.float32), clusters=[0, 1, 4]).shape == (3, *SHAPE)
    if kw.get("supervised"):
        with pytest.raises(ValueError, match="pass labels"):
            aae.sample(2)


def test_mixture_prior_samples_sit_on_their_components():
    aae = gl.models.AAE(SHAPE, 2, prior="label_mixture", num_classes=4, hidden=[8], disc_hidden=[8], radius=4.0,
                        radial_std=0.1, tangential_std=0.1)
    z = aae.prior_samples(4000, labels=np.repeat(np.arange(4), 1000), seed=0)
    angles = np.arctan2(z[:, 1], z[:, 0]) % (2 * np.pi)
    comp = np.round(angles / (np.pi / 2)).astype(int) % 4
    np.testing.assert_array_equal(comp, np.repeat(np.arange(4), 1000))
    np.testing.assert_allclose(np.linalg.norm(z, axis=1).mean(), 4.0, atol=0.05)


def test_aae_checkpoint_round_trip(tmp_path):
    X = images(128)
    aae = gl.models.AAE(SHAPE, 2, clusters=3, hidden=[16], disc_hidden=[16], seed=2)
    aae.fit(X, steps=10, batch_size=32, progress=False)
    path = str(tmp_path / "aae.safetensors")
    aae.save(path)
    again = gl.load(path)
    assert type(again) is gl.models.AAE and again.clusters == 3
    np.testing.assert_array_equal(again.encode(X[:5]), aae.encode(X[:5]))
    h1 = aae.fit(X, steps=5, batch_size=32, progress=False)
    h2 = again.fit(X, steps=5, batch_size=32, progress=False)
    np.testing.assert_array_equal(h1["recon"], h2["recon"])


def test_aae_encoder_has_its_own_adam_in_the_gen_phase():
    """As in the paper, the regularisation phase updates E with an optimizer of its own, at
    adversarial_lr; a user's optimizers= may replace it."""
    aae = gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], lr=1e-3, adversarial_lr=3e-4, seed=0)
    assert set(aae.optimizers) == {"E", "Dec", "Dz", "E@gen"}
    assert aae.optimizers["E@gen"].lr == 3e-4 and aae.optimizers["E"].lr == 1e-3
    aae.fit(images(64), steps=4, batch_size=32, progress=False)
    assert aae.optimizers["E"].t == 4 and aae.optimizers["E@gen"].t == 4
    sgd = gl.optim.SGD(0.01, momentum=0.9)
    custom = gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], optimizers={"E@gen": sgd})
    assert custom.optimizers["E@gen"] is sgd
    with pytest.raises(ValueError, match="adversarial_lr"):
        gl.models.AAE(SHAPE, 2, adversarial_lr=0.0)
    with pytest.raises(ValueError, match="'F@gen'"):
        gl.models.AAE(SHAPE, 2, optimizers={"F@gen": gl.optim.Adam(1e-3)})


def test_aae_refuses_inconsistent_options():
    with pytest.raises(ValueError, match="is 2-D"):
        gl.models.AAE(SHAPE, 3, prior="mixture")
    with pytest.raises(ValueError, match="clusters="):
        gl.models.AAE(SHAPE, 2, prior="mixture", clusters=4)
    with pytest.raises(ValueError, match="prior must be one of|prior"):
        gl.models.AAE(SHAPE, 2, prior="laplace")
    aae = gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8])
    with pytest.raises(ValueError, match="takes no labels"):
        aae.fit(images(32), labels(32), steps=1, progress=False)
    with pytest.raises(ValueError, match="clusters"):
        aae.cluster(images(4))


# ---------------------------------------------------------------------------------------- bad input
def test_bad_data_changes_nothing():
    X = images(64)
    vae = gl.models.VAE(SHAPE, 2, hidden=[16], seed=0)
    before = params(vae)
    bad = X.copy()
    bad[5, 0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="row 5"):
        vae.fit(bad, steps=3, progress=False)
    with pytest.raises(ValueError, match=r"rows must have shape \(1, 8, 8\)"):
        vae.fit(np.zeros((10, 1, 28, 28), np.float32), steps=3, progress=False)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        vae.fit(X * 2 - 1, steps=3, progress=False)
    with pytest.raises(ValueError, match="empty"):
        vae.fit(np.zeros((0, 1, 8, 8), np.float32), steps=3, progress=False)
    with pytest.raises(TypeError, match="numeric"):
        vae.fit(np.array([["a"] * 64] * 2), steps=3, progress=False)
    with pytest.raises(ValueError, match="takes no labels"):
        vae.fit(X, labels(64), steps=1, progress=False)
    with pytest.raises(ValueError, match="k must be >= 1|k"):
        vae.log_likelihood(X[:2], k=0)
    with pytest.raises(ValueError, match=r"codes must have shape \(n, 2\)"):
        vae.decode(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        vae.decode(np.full((3, 2), np.nan, np.float32))
    for name, p in params(vae).items():
        np.testing.assert_array_equal(p, before[name])


def test_presets_validate_and_rebuild_from_spec():
    for net in (gl.nn.mlp_encoder((1, 28, 28), 10, hidden=[16], seed=0), gl.nn.mlp_decoder(10, (1, 28, 28), [16]),
                gl.nn.conv_encoder((3, 32, 32), 10, width=4, seed=0), gl.nn.conv_decoder(10, (3, 32, 32), width=4)):
        clone = gl.nn.from_spec(net.spec())
        clone.load_state_dict(net.state_dict())
        x = np.random.default_rng(0).standard_normal((2, *net_input(net))).astype(np.float32)
        np.testing.assert_array_equal(clone(x), net(x))
    with pytest.raises(ValueError, match=r"supported: \(C, 28, 28\), \(C, 32, 32\)"):
        gl.nn.conv_encoder((1, 64, 64), 10)
    with pytest.raises(ValueError, match="preset must be one of|preset"):
        gl.models.Autoencoder(SHAPE, 2, preset="resnet")


def net_input(net: gl.nn.Module) -> tuple:
    first = net[0]
    if isinstance(first, gl.nn.Linear):
        return (first.param("weight").shape[1],)
    if isinstance(first, gl.nn.Concat):
        return (net[1].param("weight").shape[1],)
    if isinstance(first, gl.nn.Flatten):
        return (1, 28, 28)
    return (first.param("weight").shape[1], 32, 32)


# ---------------------------------------------------------------------------------------- options no network reads
def mlp_pair(latent: int, enc_out: int | None = None) -> dict:
    """Your own E and Dec for SHAPE (no preset network is built)."""
    d = int(np.prod(SHAPE))
    return {"E": gl.nn.Sequential(gl.nn.Flatten(), gl.nn.Linear(d, enc_out or latent, seed=0)),
            "Dec": gl.nn.Sequential(gl.nn.Linear(latent, d, seed=1), gl.nn.Reshape(*SHAPE))}


def adams(*names: str) -> dict:
    return {"optimizers": {n: gl.optim.Adam(1e-3) for n in names}}


@pytest.mark.parametrize("cls, latent, enc_out", [(gl.models.Autoencoder, 2, 2), (gl.models.VAE, 2, 4),
                                                  (gl.models.AAE, 2, 2)])
def test_preset_options_are_refused_where_no_network_reads_them(cls, latent, enc_out):
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"{name}: width=4 would have no effect: .*preset='mlp' builds MLPs"):
        cls(SHAPE, latent, width=4)
    with pytest.raises(ValueError, match=rf"{name}: hidden=\[8\] would have no effect: hidden is for the mlp "
                                         r"preset; preset='conv' builds conv networks \(width=\)"):
        cls((1, 28, 28), latent, preset="conv", hidden=[8])
    for kw in ({"preset": "mlp"}, {"hidden": [8]}, {"width": 4}, {"preset": "conv", "width": 4}):
        with pytest.raises(ValueError, match=rf"{name}: {list(kw)[0]}=.* would have no effect: .*E and Dec are "
                                             "both given"):
            cls(SHAPE, latent, **mlp_pair(latent, enc_out), **kw)
    # one network given: the preset still builds the other, which reads hidden
    m = cls(SHAPE, latent, E=mlp_pair(latent, enc_out)["E"], hidden=[8])
    assert (m.preset, m.hidden, m.width) == ("mlp", [8], None)
    m = cls(SHAPE, latent, **mlp_pair(latent, enc_out))
    assert {k: m._options()[k] for k in ("preset", "hidden", "width")} == dict.fromkeys(("preset", "hidden",
                                                                                         "width"))
    # the defaults with no arguments are today's
    m = cls((1, 28, 28), latent, preset="conv")
    assert (m.preset, m.hidden, m.width) == ("conv", None, 32)


def test_default_preset_options_are_unchanged():
    assert gl.models.Autoencoder(SHAPE, 2).hidden == [512, 256]
    assert gl.models.VAE(SHAPE, 2).hidden == [500, 500]
    aae = gl.models.AAE(SHAPE, 2)
    assert aae.hidden == [512, 512] and aae.disc_hidden == [512, 512]
    assert (aae.lr, aae.disc_lr, aae.adversarial_lr, aae.num_classes, aae.components) == (1e-3, 1e-3, 1e-3, 10, 10)
    mix = gl.models.AAE(SHAPE, 2, prior="mixture", hidden=[8], disc_hidden=[8])
    assert (mix.radius, mix.radial_std, mix.tangential_std, mix.components) == (4.0, 0.5, 0.15, 10)
    vae = gl.models.VAE(SHAPE, 2, hidden=[8])
    assert (vae.variance, vae.num_classes, vae.lr) == (1.0, 10, 1e-3)


@pytest.mark.parametrize("cls, modules", [(gl.models.Autoencoder, ("E", "Dec")), (gl.models.VAE, ("E", "Dec"))])
def test_lr_is_refused_when_optimizers_gives_every_adam(cls, modules):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: lr=0.01 would have no effect: .*optimizers= gives"):
        cls(SHAPE, 2, hidden=[8], lr=1e-2, **adams(*modules))
    cls(SHAPE, 2, hidden=[8], lr=1e-2, **adams(modules[0]))      # the other module's Adam reads it
    cls(SHAPE, 2, hidden=[8], **adams(*modules))


def test_vae_refuses_variance_and_num_classes_nothing_reads():
    with pytest.raises(ValueError, match="VAE: variance=0.5 would have no effect: .*decoder='bernoulli'"):
        gl.models.VAE(SHAPE, 2, hidden=[8], variance=0.5)
    assert gl.models.VAE(SHAPE, 2, hidden=[8], decoder="gaussian", variance=0.5).variance == 0.5
    with pytest.raises(ValueError, match=r"VAE: num_classes=4 would have no effect: .*conditional=True"):
        gl.models.VAE(SHAPE, 2, hidden=[8], num_classes=4)
    assert gl.models.ConditionalVAE(SHAPE, 2, hidden=[8], num_classes=4).num_classes == 4


@pytest.mark.parametrize("kw", [{"radius": 3.0}, {"radial_std": 0.2}, {"tangential_std": 0.2}, {"components": 4},
                                {"radius": 3.0, "clusters": 3}, {"components": 4, "clusters": 3}])
def test_aae_refuses_the_mixture_layout_without_a_mixture(kw):
    arg = next(k for k in kw if k != "clusters")
    with pytest.raises(ValueError, match=rf"AAE: {arg}=.* would have no effect: they lay out the mixture priors"):
        gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], **kw)
    gl.models.AAE(SHAPE, 2, prior="mixture", hidden=[8], disc_hidden=[8], **{k: v for k, v in kw.items()
                                                                              if k != "clusters"})


def test_aae_refuses_num_classes_nothing_reads():
    for kw in ({}, {"clusters": 3}, {"prior": "mixture", "components": 5}):
        with pytest.raises(ValueError, match="AAE: num_classes=4 would have no effect"):
            gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], num_classes=4, **kw)
    for kw in ({"prior": "mixture"}, {"prior": "label_mixture"}, {"supervised": True}):
        assert gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], num_classes=4, **kw).num_classes == 4
    assert gl.models.AAE(SHAPE, 2, prior="mixture", hidden=[8], disc_hidden=[8], num_classes=4).components == 4


def test_aae_refuses_disc_hidden_and_rates_nothing_reads():
    dz, dy = gl.nn.mlp(2, [4], 1, seed=0), gl.nn.mlp(3, [4], 1, seed=1)
    with pytest.raises(ValueError, match="AAE: disc_hidden=\\[4\\] would have no effect: .*Dz is given"):
        gl.models.AAE(SHAPE, 2, hidden=[8], Dz=dz, disc_hidden=[4])
    with pytest.raises(ValueError, match="Dz and Dy are both given"):
        gl.models.AAE(SHAPE, 2, clusters=3, hidden=[8], Dz=dz, Dy=dy, disc_hidden=[4])
    gl.models.AAE(SHAPE, 2, clusters=3, hidden=[8], Dz=dz, disc_hidden=[4])     # Dy is built from it
    with pytest.raises(ValueError, match="AAE: disc_lr=0.01 would have no effect: .*'Dz'"):
        gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], disc_lr=1e-2, **adams("Dz"))
    with pytest.raises(ValueError, match="AAE: adversarial_lr=0.01 would have no effect: .*'E@gen'"):
        gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], adversarial_lr=1e-2, **adams("E@gen"))
    with pytest.raises(ValueError, match="AAE: lr=0.01 would have no effect: .*'E', 'Dec'"):
        gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], lr=1e-2, adversarial_lr=1e-3, **adams("E", "Dec"))
    # lr also sets the encoder's gen-phase Adam when adversarial_lr and "E@gen" are not given
    aae = gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8], lr=1e-2, **adams("E", "Dec"))
    assert aae.optimizers["E@gen"].lr == 1e-2


def test_labels_are_refused_where_nothing_reads_them():
    X, y = images(64), labels(64)
    ae = gl.models.Autoencoder(SHAPE, 2, hidden=[8])
    for call in (lambda: ae.encode(X[:4], y[:4]), lambda: ae.reconstruct(X[:4], y[:4]),
                 lambda: ae.interpolate(X[:2], X[2:4], y1=y[:2]), lambda: ae.interpolate(X[:2], X[2:4], y2=y[:2])):
        with pytest.raises(ValueError, match="takes? no labels"):
            call()
    with pytest.raises(ValueError, match="samples without labels"):
        ae.sample(4, labels=y[:4])
    vae = gl.models.VAE(SHAPE, 2, hidden=[8])
    with pytest.raises(ValueError, match="encoder takes no labels"):
        vae.log_likelihood(X[:4], k=2, y=y[:4])
    # a supervised AAE: the decoder reads y (reconstruct, sample, interpolate's y1), the encoder does not
    sup = gl.models.AAE(SHAPE, 2, supervised=True, num_classes=4, hidden=[8], disc_hidden=[8])
    assert sup.reconstruct(X[:4], y[:4]).shape == (4, *SHAPE)
    assert sup.interpolate(X[:2], X[2:4], steps=3, y1=y[:2]).shape == (2, 3, *SHAPE)
    with pytest.raises(ValueError, match="encoder takes no labels"):
        sup.encode(X[:4], y[:4])
    with pytest.raises(ValueError, match="reads y1 only"):
        sup.interpolate(X[:2], X[2:4], y1=y[:2], y2=y[2:4])
    # label_mixture: the labels pick the prior's components
    lmix = gl.models.AAE(SHAPE, 2, prior="label_mixture", num_classes=4, hidden=[8], disc_hidden=[8])
    assert lmix.sample(4, labels=np.arange(4), seed=0).shape == (4, *SHAPE)
    clus = gl.models.AAE(SHAPE, 2, clusters=3, hidden=[8], disc_hidden=[8])
    with pytest.raises(ValueError, match="clustering AAE reads no labels"):
        clus.reconstruct(X[:4], y[:4])
    with pytest.raises(ValueError, match="no labels; drop y="):
        clus.decode(np.zeros((2, 2), np.float32), y[:2], clusters=[0, 1])


def test_clustering_aae_reconstructs_from_its_cluster_probabilities():
    X = images(64)
    clus = gl.models.AAE(SHAPE, 2, clusters=3, hidden=[8], disc_hidden=[8])
    clus.fit(X, steps=3, batch_size=32, progress=False)
    want = clus._decode_rows_pair(clus.cluster_probabilities(X[:5]), clus.encode(X[:5]))
    np.testing.assert_array_equal(clus.reconstruct(X[:5]), want)


@pytest.mark.parametrize("build", [
    lambda: gl.models.Autoencoder(SHAPE, 2, **mlp_pair(2), seed=1),
    lambda: gl.models.Autoencoder((1, 28, 28), 3, preset="conv", width=4, seed=1),
    lambda: gl.models.VAE((1, 28, 28), 2, preset="conv", width=4, seed=1),
    lambda: gl.models.VAE((1, 28, 28), 2, preset="conv", width=np.int64(4), lr=np.float64(2e-3), seed=1),   # JSON
    lambda: gl.models.AAE(SHAPE, 2, **mlp_pair(2), Dz=gl.nn.mlp(2, [4], 1, seed=3), lr=2e-3, seed=1),
    lambda: gl.models.AAE(SHAPE, 2, prior="mixture", num_classes=4, radius=3.0, hidden=[8], disc_hidden=[8]),
])
def test_checkpoints_keep_options_as_given(tmp_path, build):
    model = build()
    X = images(64) if model.input_shape == SHAPE else np.zeros((64, 1, 28, 28), np.float32) + 0.5
    model.fit(X, steps=2, batch_size=16, progress=False)
    path = str(tmp_path / "m.safetensors")
    model.save(path)
    again = gl.load(path)
    assert type(again) is type(model) and again._options() == model._options()
    assert (again.preset, again.hidden, again.width) == (model.preset, model.hidden, model.width)
    np.testing.assert_array_equal(again.reconstruct(X[:4]), model.reconstruct(X[:4]))


def test_older_checkpoint_options_still_load():
    """Checkpoints written before the refusals stored every default, read or not."""
    ae = gl.models.Autoencoder(SHAPE, 2, **mlp_pair(2))
    config = ae._config()
    config["options"].update(preset="mlp", hidden=[512, 256], width=32, lr=1e-3)
    again = gl.models.Autoencoder._from_config("old.safetensors", config)
    assert again.lr == 1e-3
    aae = gl.models.AAE(SHAPE, 2, hidden=[8], disc_hidden=[8])
    config = aae._config()
    config["options"].update(components=10, radius=4.0, radial_std=0.5, tangential_std=0.15, num_classes=10,
                             width=32, lr=1e-3, disc_lr=1e-3, adversarial_lr=1e-3)
    gl.models.AAE._from_config("old.safetensors", config)
    with pytest.raises(ValueError, match="width=32 would have no effect"):   # outside gl.load, refused again
        gl.models.Autoencoder(SHAPE, 2, width=32)
