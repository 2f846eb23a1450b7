"""gl.models ACAI, VQVAE, AlphaGAN and the Lipschitz-encoding VAE: training, the exact losses of one
step, reading, checkpoints and bad options."""
from __future__ import annotations

import numpy as np
import pytest

import ganlib as gl
from ganlib.models.vqvae import Codebook, nearest_rows

from model_data import SHAPE, images  # shared with the other model tests


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


def test_acai_runs_a_batch_coupled_decoder_on_each_batch_apart():
    """Reconstruction and mix go through the decoder as one batch of 2n only when no output row depends on
    the others; a decoder with batch norm (training mode) normalises each batch with its own statistics."""
    X = images(64)
    E = gl.nn.Sequential(gl.nn.Flatten(), gl.nn.Linear(64, 3, seed=0))
    Dec = gl.nn.Sequential(gl.nn.Linear(3, 16, seed=1), gl.nn.BatchNorm(16), gl.nn.ReLU(), gl.nn.Linear(16, 64, seed=2),
                           gl.nn.Reshape(SHAPE))
    assert Dec.mixes_rows() and not E.mixes_rows() and not Dec.clone().eval().mixes_rows()
    acai = gl.models.ACAI(SHAPE, 3, E=E, Dec=Dec, hidden=[8], seed=3)
    E0, Dec0 = E.clone(), Dec.clone()
    h = acai.fit(X, steps=1, batch_size=16, progress=False)
    x, alpha = acai.last_batch("data", "x"), acai._kept["acai_alpha"][:, None]
    z = E0(x)
    np.testing.assert_allclose(h["recon"][0], ((Dec0(z) - x) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(acai._kept["acai_mix"], Dec0(alpha * z + (1 - alpha) * np.roll(z, 1, axis=0)),
                               rtol=1e-5, atol=1e-6)


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


# ---------------------------------------------------------------------------------------- VQ-VAE
@pytest.mark.parametrize("kw", [{}, {"ema": True}, {"ema": 0.9, "restart_dead": 20}, {"reconstruction": "bernoulli"}])
def test_vqvae_variants_train_and_read(kw):
    X = images(512)
    vq = gl.models.VQVAE(SHAPE, 8, num_codes=32, code_dim=2, hidden=[64], seed=0, **kw)
    hist = vq.fit(X, steps=200, batch_size=64, progress=False)
    assert falls(hist["recon"])
    assert ("codebook" in hist) == (not kw.get("ema")) and ("restarted" in hist) == bool(kw.get("restart_dead"))
    assert ((hist["batch_usage"] > 0) & (hist["batch_usage"] <= 1)).all()
    usage = vq.codebook_usage(X)
    assert 0.0 < usage <= 1.0
    idx = vq.code_indices(X[:10])
    assert idx.shape == (10, 4) and idx.dtype == np.int64 and idx.min() >= 0 and idx.max() < 32
    assert np.unique(vq.code_indices(X)).size == round(usage * 32)
    z = vq.encode(X[:10])
    np.testing.assert_array_equal(z, vq.codebook[idx].reshape(10, 8))           # quantised vectors, flattened
    raw = vq.encode(X[:10], quantized=False)
    assert raw.shape == (10, 8) and not np.array_equal(raw, z)
    np.testing.assert_array_equal(vq.decode(raw), vq.decode(z))                 # decode quantises first
    assert vq.reconstruct(X[:4]).shape == (4, *SHAPE)
    assert vq.interpolate(X[:2], X[2:4], steps=5).shape == (2, 5, *SHAPE)
    s = vq.sample(5, seed=0)
    assert s.shape == (5, *SHAPE) and np.isfinite(s).all()


def test_vqvae_straight_through_and_codebook_gradients():
    """Linear encoder and decoder: the encoder's gradient is the decoder's input gradient passed
    straight through, plus β times the commitment gradient; the codebook's is its own loss's."""
    P, L, D, K, n, beta = 12, 4, 2, 6, 16, 0.25
    X = np.random.default_rng(0).standard_normal((64, P)).astype(np.float32)
    E, Dec = gl.nn.Linear(P, L, bias=False, seed=0), gl.nn.Linear(L, P, seed=1)
    vq = gl.models.VQVAE((P,), L, num_codes=K, code_dim=D, E=E, Dec=Dec, beta=beta, seed=0)
    W, V, c = E.param("weight").copy(), Dec.param("weight").copy(), Dec.param("bias").copy()
    C = vq.codebook
    vq.fit(X, steps=1, batch_size=n, progress=False)
    x = vq.last_batch("data", "x").astype(np.float64)
    z = x @ W.T                                                # (n, L)
    rows = z.reshape(-1, D)
    idx = nearest_rows(rows, C)
    q = C[idx].astype(np.float64)
    zq = q.reshape(n, L)
    g_dec_in = 2.0 / (n * P) * (zq @ V.T + c - x) @ V          # dL_recon / d(decoder input)
    g_commit = beta * 2.0 / (n * L) * (rows - q).reshape(n, L)
    np.testing.assert_allclose(E.named_grads()["weight"], (g_dec_in + g_commit).T @ x, rtol=1e-4, atol=1e-6)
    onehot = np.eye(K)[idx]
    g_cb = onehot.T @ (2.0 / (n * L) * (q - rows))
    np.testing.assert_allclose(vq.modules["codebook"].named_grads()["weight"], g_cb, rtol=1e-4, atol=1e-7)
    # β = 0: what reaches the encoder is the decoder's gradient alone
    vq0 = gl.models.VQVAE((P,), L, num_codes=K, code_dim=D, E=gl.nn.Linear(P, L, bias=False, seed=0),
                          Dec=gl.nn.Linear(L, P, seed=1), beta=0.0, seed=0)
    vq0.fit(X, steps=1, batch_size=n, progress=False)
    np.testing.assert_allclose(vq0.E.named_grads()["weight"], g_dec_in.T @ x, rtol=1e-4, atol=1e-6)
    assert np.abs(g_dec_in).max() > 1e-3


def test_vqvae_ema_update_and_dead_code_restart():
    X = images(256)
    K, D = 16, 2
    vq = gl.models.VQVAE(SHAPE, 4, num_codes=K, code_dim=D, hidden=[16], ema=0.8, restart_dead=1, seed=3)
    E0, C0 = vq.E.clone(), vq.codebook
    h = vq.fit(X, steps=1, batch_size=32, progress=False)
    x = vq.last_batch("data", "x")
    rows = E0(x).reshape(-1, D).astype(np.float64)
    onehot = np.eye(K)[nearest_rows(rows, C0)]
    counts = onehot.sum(axis=0)
    N = 0.8 * 1.0 + 0.2 * counts
    M = 0.8 * C0 + 0.2 * onehot.T @ rows
    tot = N.sum()
    codes = M / ((N + 1e-5) / (tot + K * 1e-5) * tot)[:, None]
    used = counts > 0
    assert h["restarted"][0] == (~used).sum() > 0
    np.testing.assert_allclose(vq._kept["vq_count"][used], N[used], rtol=1e-5)
    np.testing.assert_allclose(vq._kept["vq_sum"][used], M[used], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vq.codebook[used], codes[used], rtol=1e-4, atol=1e-6)
    # every unused code moved onto an encoder output of the batch, its count reset to 1
    np.testing.assert_array_equal(vq._kept["vq_count"][~used], 1.0)
    for k in np.flatnonzero(~used):
        assert np.abs(rows - vq.codebook[k]).max(axis=1).min() < 1e-5
    np.testing.assert_array_equal(vq._kept["vq_idle"], 0.0)
    # without restarts an unused code keeps its place
    plain = gl.models.VQVAE(SHAPE, 4, num_codes=K, code_dim=D, hidden=[16], ema=0.8, seed=3)
    plain.fit(X, steps=1, batch_size=32, progress=False)
    np.testing.assert_allclose(plain.codebook[~used], C0[~used] * (0.8 / (0.8 + 1e-5) * (tot + K * 1e-5) / tot),
                               rtol=1e-5)


@pytest.mark.parametrize("kw", [{}, {"ema": True, "restart_dead": 3}])
def test_vqvae_checkpoint(tmp_path, kw):
    X = images(128)
    vq = gl.models.VQVAE(SHAPE, 8, num_codes=16, code_dim=4, hidden=[16], seed=4, **kw)
    vq.fit(X, steps=8, batch_size=32, progress=False)
    again = round_trip(vq, X, tmp_path, steps=6)
    np.testing.assert_array_equal(again.codebook, vq.codebook)
    np.testing.assert_array_equal(again.encode(X[:5]), vq.encode(X[:5]))


def test_vqvae_refuses_bad_options():
    with pytest.raises(ValueError, match="multiple of code_dim"):
        gl.models.VQVAE(SHAPE, 6, code_dim=4)
    with pytest.raises(ValueError, match="restart_dead= needs ema=True"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, restart_dead=10)
    with pytest.raises(ValueError, match="pass codebook= only with ema=False"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, ema=True, codebook=Codebook(256, 2))
    with pytest.raises(ValueError, match=r"Codebook\(256, 2\)"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, codebook=Codebook(10, 2))
    with pytest.raises(ValueError, match="decay in"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, ema=1.5)
    with pytest.raises((TypeError, ValueError), match="ema"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, ema="yes")
    with pytest.raises(ValueError, match="beta"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, beta=-0.1)


# ---------------------------------------------------------------------------------------- α-GAN
def test_alphagan_trains_and_reads():
    X = images(512) * 2 - 1
    ag = gl.models.AlphaGAN(SHAPE, 4, preset="mlp", hidden=[64], code_hidden=[32], lr=1e-3, seed=0)
    hist = ag.fit(X, steps=150, batch_size=32, progress=False)
    assert {"recon", "d_loss", "c_loss", "e_adversarial", "g_adversarial"} <= set(hist)
    assert falls(hist["recon"]) and all(np.isfinite(hist[k]).all() for k in hist)
    assert ag.encode(X[:5]).shape == (5, 4)
    s = ag.sample(6, seed=0)
    assert s.shape == (6, *SHAPE) and s.min() >= -1 and s.max() <= 1
    assert ag.reconstruct(X[:3]).shape == (3, *SHAPE)
    assert ag.discriminate(X[:4]).shape == (4,)


@pytest.mark.parametrize("adversarial", ["ratio", "nonsaturating"])
def test_alphagan_generator_phase_losses(adversarial):
    X = images(128) * 2 - 1
    ag = gl.models.AlphaGAN(SHAPE, 3, preset="mlp", hidden=[16], code_hidden=[16], lam=3.0,
                            adversarial=adversarial, seed=1)
    E0, G0 = ag.modules["E"].clone(), ag.G.clone()
    h = ag.fit(X, steps=1, batch_size=16, progress=False)
    x = ag.last_batch("data", "x")
    z = E0(x)
    np.testing.assert_allclose(h["recon"][0], np.abs(x - G0(z)).mean(), rtol=1e-5)
    logits = ag.modules["C"](z)[:, 0]              # C was updated by the disc phase before "gen" ran
    want = -logits.mean() if adversarial == "ratio" else np.logaddexp(0, -logits).mean()
    np.testing.assert_allclose(h["e_adversarial"][0], want, rtol=1e-5)


def test_alphagan_dcgan_preset_and_checkpoint(tmp_path):
    X = np.clip(np.random.default_rng(0).normal(0, 0.5, (64, 1, 28, 28)), -1, 1).astype(np.float32)
    ag = gl.models.AlphaGAN((1, 28, 28), 8, width=4, code_hidden=[16], seed=2)
    ag.fit(X, steps=2, batch_size=16, progress=False)
    assert ag.sample(2, seed=0).shape == (2, 1, 28, 28)
    round_trip(ag, X, tmp_path, steps=2, batch=16)


def test_alphagan_refuses_bad_options():
    with pytest.raises(ValueError, match="adversarial"):
        gl.models.AlphaGAN(SHAPE, 2, preset="mlp", adversarial="wgan")
    with pytest.raises(ValueError, match="preset"):
        gl.models.AlphaGAN(SHAPE, 2, preset="resnet")
    with pytest.raises(ValueError, match="supported"):
        gl.models.AlphaGAN(SHAPE, 2)                      # the dcgan preset needs 28, 32 or 64 px
    ag = gl.models.AlphaGAN(SHAPE, 2, preset="mlp", hidden=[8], code_hidden=[8])
    with pytest.raises(ValueError, match=r"data must lie in \[-1, 1\]"):
        ag.fit(images(16) * 3, steps=1, progress=False)


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


def test_lipschitz_penalty_weighs_as_the_lectures_batch_summed_objective():
    """The lecture minimises sum_batch(-ELBO) + lam * sum_pairs omega; ours the batch mean, so one SGD step
    with lam moves the encoder by lr * lam / b * grad(sum omega) more than the same step without it."""
    torch = pytest.importorskip("torch")
    X, lam, lr, b = images(64), 30.0, 1e-2, 20
    runs = {}
    for weight in (0.0, lam):
        vae = gl.models.VAE(SHAPE, 3, hidden=[16], lipschitz=weight, seed=3,
                            optimizers={"E": gl.optim.SGD(lr), "Dec": gl.optim.SGD(lr)})
        before = {k: v.copy() for k, v in vae.E.state_dict().items()}
        dec_before = {k: v.copy() for k, v in vae.Dec.state_dict().items()}
        vae.fit(X, steps=1, batch_size=b, progress=False)
        runs[weight] = (before, vae.E.state_dict(), dec_before, vae.Dec.state_dict(), vae.last_batch("data", "x"))
    (w0, w_plain, d0, d_plain, x), (_, w_reg, _, d_reg, x_reg) = runs[0.0], runs[lam]
    np.testing.assert_array_equal(x, x_reg)                           # same seed: the same batch (and noise)
    # the oracle: d/dW of sum_pairs omega for the same encoder (Flatten, Linear, ReLU, Linear -> mu | log var)
    enc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(np.prod(SHAPE)), 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 6)).double()
    enc.load_state_dict({k: torch.from_numpy(v.astype(np.float64)) for k, v in w0.items()})
    xt = torch.from_numpy(x.astype(np.float64))
    mu, h = enc(xt)[:, :3], b // 2
    omega = ((mu[:h] - mu[h:2 * h]) ** 2).sum(1) / ((xt[:h] - xt[h:2 * h]).flatten(1) ** 2).sum(1)
    omega.sum().backward()
    grads = dict(zip(w0, (p.grad.numpy() for p in enc.parameters())))
    for k in w0:
        extra = (w_reg[k] - w0[k]) - (w_plain[k] - w0[k])               # the penalty's share of the step
        np.testing.assert_allclose(extra, -lr * lam / b * grads[k], rtol=2e-3, atol=1e-7, err_msg=k)
    for k in d0:                                                       # the decoder does not see the penalty
        np.testing.assert_allclose(d_reg[k], d_plain[k], rtol=1e-6, atol=1e-7, err_msg=k)


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


# ---------------------------------------------------------------------------------------- options no network reads
def own(shape=SHAPE, latent=4, out=1):
    d = int(np.prod(shape))
    return (gl.nn.Sequential(gl.nn.Flatten(), gl.nn.Linear(d, latent, seed=0)),
            gl.nn.Sequential(gl.nn.Linear(latent, d, seed=1), gl.nn.Reshape(*shape)),
            gl.nn.Sequential(gl.nn.Flatten(), gl.nn.Linear(d, out, seed=2)))


def adams(*names):
    return {"optimizers": {n: gl.optim.Adam(1e-3) for n in names}}


@pytest.mark.parametrize("cls, kw", [(gl.models.ACAI, {}), (gl.models.VQVAE, {"code_dim": 2})])
def test_preset_options_are_refused_where_no_network_reads_them(cls, kw):
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"{name}: width=4 would have no effect: .*preset='mlp' builds MLPs"):
        cls(SHAPE, 4, width=4, **kw)
    with pytest.raises(ValueError, match=rf"{name}: hidden=\[8\] would have no effect: hidden is for the mlp preset"):
        cls((1, 28, 28), 4, preset="conv", hidden=[8], **kw)
    assert cls((1, 28, 28), 4, preset="conv", **kw).width == 32


def test_acai_preset_options_count_the_critic():
    E, Dec, d = own()
    with pytest.raises(ValueError, match=r"ACAI: hidden=\[8\] would have no effect: .*E, Dec and d are all given"):
        gl.models.ACAI(SHAPE, 4, E=E, Dec=Dec, d=d, hidden=[8])
    with pytest.raises(ValueError, match="ACAI: preset='conv' would have no effect"):
        gl.models.ACAI(SHAPE, 4, E=E, Dec=Dec, d=d, preset="conv")
    acai = gl.models.ACAI(SHAPE, 4, E=E, Dec=Dec, hidden=[8])          # the preset critic reads hidden
    assert acai.hidden == [8]
    with pytest.raises(ValueError, match="ACAI: lr=0.01 would have no effect: .*'E', 'Dec', 'd'"):
        gl.models.ACAI(SHAPE, 4, hidden=[8], lr=1e-2, **adams("E", "Dec", "d"))
    gl.models.ACAI(SHAPE, 4, hidden=[8], lr=1e-2, **adams("E", "Dec"))


def test_vqvae_refuses_options_no_network_reads():
    E, Dec, _ = own(latent=8)
    with pytest.raises(ValueError, match=r"VQVAE: width=4 would have no effect: .*E and Dec are both given"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, E=E, Dec=Dec, width=4)
    with pytest.raises(ValueError, match="VQVAE: lr=0.01 would have no effect: .*'codebook'"):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, hidden=[8], lr=1e-2, **adams("E", "Dec", "codebook"))
    with pytest.raises(ValueError, match="VQVAE: lr=0.01 would have no effect"):      # the EMA codebook has no Adam
        gl.models.VQVAE(SHAPE, 8, code_dim=2, hidden=[8], ema=True, lr=1e-2, **adams("E", "Dec"))
    gl.models.VQVAE(SHAPE, 8, code_dim=2, hidden=[8], lr=1e-2, **adams("E", "Dec"))   # the codebook's reads it
    with pytest.raises(ValueError, match="take no labels; drop y1="):
        gl.models.VQVAE(SHAPE, 8, code_dim=2, hidden=[8]).interpolate(images(2), images(2, seed=1),
                                                                       y1=np.arange(2))


def test_alphagan_refuses_options_no_network_reads():
    with pytest.raises(ValueError, match=r"AlphaGAN: hidden=\[8\] would have no effect: .*preset='dcgan' builds "
                                         r"conv networks \(width=\)"):
        gl.models.AlphaGAN((1, 28, 28), 4, hidden=[8])
    with pytest.raises(ValueError, match="AlphaGAN: hidden=\\[8\\] would have no effect: .*preset='conv'"):
        gl.models.AlphaGAN((1, 28, 28), 4, preset="conv", hidden=[8])
    with pytest.raises(ValueError, match="AlphaGAN: width=4 would have no effect: .*preset='mlp'"):
        gl.models.AlphaGAN(SHAPE, 4, preset="mlp", width=4)
    E, G, D = own()
    G = gl.nn.Sequential(G, gl.nn.Tanh())
    for kw in ({"preset": "mlp"}, {"hidden": [8]}, {"width": 8}):
        with pytest.raises(ValueError, match=f"AlphaGAN: {list(kw)[0]}=.* would have no effect: .*E, G and D are all "
                                             "given"):
            gl.models.AlphaGAN(SHAPE, 4, E=E, G=G, D=D, code_hidden=[8], **kw)
    C = gl.nn.mlp(4, [8], 1, seed=3)
    with pytest.raises(ValueError, match=r"AlphaGAN: code_hidden=\[8\] would have no effect: .*C is given"):
        gl.models.AlphaGAN(SHAPE, 4, preset="mlp", hidden=[8], C=C, code_hidden=[8])
    with pytest.raises(ValueError, match="AlphaGAN: lr=0.001 would have no effect: .*'E', 'G', 'D', 'C'"):
        gl.models.AlphaGAN(SHAPE, 4, preset="mlp", hidden=[8], code_hidden=[8], lr=1e-3,
                           **adams("E", "G", "D", "C"))
    ag = gl.models.AlphaGAN(SHAPE, 4, E=E, G=G, D=D, C=C)
    assert ag.lr == 2e-4 and ag.code_hidden == [750, 750] and ag._options()["preset"] is None
    with pytest.raises(ValueError, match="samples without labels"):
        ag.sample(2, labels=[0, 1])


def test_checkpoints_of_given_networks_keep_options_as_given(tmp_path):
    X = np.random.default_rng(0).uniform(-1, 1, (64, *SHAPE)).astype(np.float32)
    E, Dec, d = own()
    acai = gl.models.ACAI(SHAPE, 4, E=E, Dec=Dec, d=d, lr=2e-3, seed=1)
    again = round_trip(acai, X, tmp_path, steps=3, batch=16)
    assert again._options()["preset"] is None and again.lr == 2e-3
    E, G, D = own()
    ag = gl.models.AlphaGAN(SHAPE, 4, E=E, G=gl.nn.Sequential(G, gl.nn.Tanh()), D=D, code_hidden=[8], seed=1)
    again = round_trip(ag, X, tmp_path, steps=3, batch=16)
    assert again.code_hidden == [8] and again._options()["hidden"] is None
    E, Dec, _ = own(latent=8)
    vq = gl.models.VQVAE(SHAPE, 8, code_dim=2, E=E, Dec=Dec, ema=True, seed=1)
    round_trip(vq, X, tmp_path, steps=3, batch=16)
