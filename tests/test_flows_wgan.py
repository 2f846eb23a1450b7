"""Real NVP trained as a WGAN-GP generator (``RealNVP.fit(objective="wgan-gp")``): samples move toward
the data, the density stays normalised, the likelihood is worse than maximum likelihood's (Danihelka
et al.), the generator's gradient through the inverse, the critic's space for images, checkpoints,
and bad options."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from ganlib.models.realnvp import conv_critic, mlp_critic, mlp_flow

from flow_checks import assert_normalised_on_grid  # shared with the other flow tests


def energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (Székely): 0 only for equal distributions, no critic."""
    def mean_dist(p, q):
        return float(np.sqrt(((p[:, None, :].astype(np.float64) - q[None, :, :]) ** 2).sum(-1)).mean())
    return 2 * mean_dist(a, b) - mean_dist(a, a) - mean_dist(b, b)


def ring(n: int, seed: int) -> np.ndarray:
    # radius 2: far enough from the untrained flow's N(0, I) that training has to move the samples
    return gl.datasets.ring(n=n, radius=2.0, std=0.1, seed=seed)


def mnist_pixels(n: int) -> np.ndarray:
    try:
        x, _ = gl.datasets.mnist(split="train", scale=None, limit=n)
    except FileNotFoundError:
        pytest.skip("MNIST files not found (set GANLIB_DATA)")
    return x


@pytest.fixture(scope="module")
def trained_pair():
    """The same flow (preset, seed) trained 600 steps of 100 by MLE and by WGAN-GP, defaults otherwise."""
    X = ring(4000, 0)
    held = ring(1000, 1)
    out = {"X": X, "held": held}
    for objective in ("mle", "wgan-gp"):
        nvp = gl.models.RealNVP((2,), couplings=4, hidden=[32], seed=0)
        out[objective + "_untrained"] = energy_distance(nvp.sample(1000, seed=1), held)
        out[objective + "_hist"] = nvp.fit(X, steps=600, batch_size=100, objective=objective, progress=False)
        out[objective] = nvp
    return out


# ---------------------------------------------------------------------------------------- training
def test_wgan_samples_move_toward_the_data(trained_pair):
    held, wg = trained_pair["held"], trained_pair["wgan-gp"]
    before = trained_pair["wgan-gp_untrained"]
    after = energy_distance(wg.sample(1000, seed=1), held)
    assert after < 0.5 * before, (before, after)       # measured: 0.243 -> 0.096
    hist = trained_pair["wgan-gp_hist"]
    assert set(hist) == {"step", "critic_loss", "penalty", "critic_grad_norm", "gen_loss", "nll",
                         "bits_per_dim", "flow_grad_norm"}
    assert all(np.isfinite(v).all() for v in hist.values())
    np.testing.assert_allclose(hist["bits_per_dim"], hist["nll"] / (2 * math.log(2)), rtol=1e-5)
    # the critic separates real from generated data: its loss E C(fake) - E C(real) is negative
    assert hist["critic_loss"][-100:].mean() < 0
    assert type(wg.critic).__name__ == "Sequential" and wg.wgan == {"n_critic": 5, "gp_weight": 10.0}
    assert wg.optimizers["critic"].lr == wg.optimizers["flow"].lr == 1e-3     # critic_lr: the flow's by default


def test_wgan_heldout_likelihood_is_worse_than_mle(trained_pair):
    """Danihelka et al.: adversarial training gives good samples but far worse log-likelihoods."""
    held = trained_pair["held"]
    mle = trained_pair["mle"].log_prob(held).mean()
    wgan = trained_pair["wgan-gp"].log_prob(held).mean()
    assert wgan < mle - 0.5, (mle, wgan)                # measured: -1.95 (MLE) vs -3.33 nats (WGAN-GP)
    assert abs(trained_pair["wgan-gp"].bits_per_dim(held) + wgan / (2 * math.log(2))) < 1e-4


def test_wgan_flow_log_prob_integrates_to_one_on_a_grid(trained_pair):
    nvp = trained_pair["wgan-gp"]
    assert_normalised_on_grid(nvp)


def test_n_critic_repeats_the_critic_phase_with_fresh_batches():
    """n_critic critic updates per step (its Adam counter), one flow update."""
    X = ring(1000, 0)
    nvp = gl.models.RealNVP((2,), couplings=2, hidden=[8], seed=0)
    nvp.fit(X, steps=7, batch_size=50, objective="wgan-gp", n_critic=3, progress=False)
    assert nvp.optimizers["critic"].t == 21 and nvp.optimizers["flow"].t == 7


def test_generator_gradient_through_the_inverse_matches_torch():
    """-E C(inverse(z)): its gradient with respect to every flow parameter, against PyTorch in float64."""
    torch = pytest.importorskip("torch")
    flow = mlp_flow(3, couplings=2, hidden=[8], seed=0)
    rng = np.random.default_rng(6)
    flow.buffer.data[:] += (0.3 * rng.standard_normal(flow.buffer.size)).astype(np.float32)
    critic = gl.nn.mlp(3, [8], 1, act="tanh", seed=1)
    z = rng.standard_normal((7, 3)).astype(np.float32)

    def gen(zt):
        loss = -ops.mean(critic(flow.inverse(zt)))
        return loss, gl.grad(loss, flow)

    loss, grads = gl.function(gen, training=False)(z)
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in flow.parameters().items()}
    cp = {k: torch.tensor(v, dtype=torch.float64) for k, v in critic.parameters().items()}
    h = torch.tensor(z, dtype=torch.float64)
    for i in reversed(range(2)):
        m = torch.tensor(((np.arange(3) + i % 2) % 2 == 0).astype(np.float64))[None]
        kept = h * m
        a = torch.relu(kept @ tp[f"{i}.net.0.weight"].T + tp[f"{i}.net.0.bias"])
        out = a @ tp[f"{i}.net.2.weight"].T + tp[f"{i}.net.2.bias"]
        s, t = torch.tanh(out[:, :3]) * tp[f"{i}.scale"], out[:, 3:]
        h = kept + ((h - t * (1 - m)) * torch.exp(-s * (1 - m))) * (1 - m)
    c = torch.tanh(h @ cp["0.weight"].T + cp["0.bias"]) @ cp["2.weight"].T + cp["2.bias"]
    ref = -c.mean()
    ref.backward()
    np.testing.assert_allclose(loss, ref.item(), rtol=1e-5)
    for name, g in zip(flow.parameters(), grads):
        assert np.abs(tp[name].grad.numpy()).max() > 0 or name.endswith("scale")
        np.testing.assert_allclose(g, tp[name].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_image_critic_space_is_dequantised_pixels_over_256():
    """Real images reach the critic as (x + u) / 256 and generated ones as inverse(z) / 256: the
    generator's output is a point of the density's own space, scaled like the data."""
    nvp = gl.models.RealNVP((1, 4, 4), couplings=1, width=4, alpha=0.05, seed=0)
    nvp.flow.buffer.data[:] += (0.1 * np.random.default_rng(0).standard_normal(nvp.flow.buffer.size)
                                ).astype(np.float32)
    x = np.random.default_rng(1).integers(0, 256, (64, 1, 4, 4)).astype(np.float32)
    real = gl.function(lambda t: nvp._critic_real(t), training=False)(x)
    np.testing.assert_array_equal(np.floor(real * 256), x)       # x <= 256 c < x + 1
    assert np.ptp(real * 256 - x) > 0.9                          # and the noise covers [0, 1)
    z = np.random.default_rng(2).standard_normal((5, 16)).astype(np.float32)
    fake = gl.function(lambda t: nvp._critic_fake(t), training=False)(z)
    np.testing.assert_allclose(fake, nvp.inverse(z) / 256, rtol=1e-6, atol=1e-7)


def test_mnist_wgan_smoke_gives_finite_values():
    X = mnist_pixels(256)
    nvp = gl.models.RealNVP((1, 28, 28), couplings=1, width=8, seed=0)
    hist = nvp.fit(X, steps=3, batch_size=16, objective="wgan-gp", n_critic=2, progress=False)
    assert all(np.isfinite(v).all() for v in hist.values())
    assert math.isfinite(nvp.bits_per_dim(X[:32]))
    assert [type(m).__name__ for m in nvp.critic._children.values()] == [
        "Conv2d", "LeakyReLU", "Conv2d", "LeakyReLU", "Flatten", "Linear"]


def test_critic_presets():
    assert mlp_critic(3, hidden=[16])(np.zeros((2, 3), np.float32)).shape == (2, 1)
    for shape in [(1, 28, 28), (3, 32, 32), (2, 6, 4), (1, 2, 2), (1, 1, 8)]:
        assert conv_critic(shape, width=4)(np.zeros((2, *shape), np.float32)).shape == (2, 1), shape


# ---------------------------------------------------------------------------------------- the objective is the model's
def test_objective_is_fixed_by_the_first_fit():
    X = ring(500, 0)
    mle = gl.models.RealNVP((2,), couplings=2, hidden=[8], seed=0)
    mle.fit(X, steps=5, batch_size=50, progress=False)
    before = mle.flow.buffer.data.copy()
    with pytest.raises(ValueError, match=r"trained by objective='mle'.*flow=model.flow.clone\(\)"):
        mle.fit(X, steps=5, batch_size=50, objective="wgan-gp")
    assert mle.critic is None and list(mle.modules) == ["flow"] and mle.step == 5
    np.testing.assert_array_equal(mle.flow.buffer.data, before)
    # the way to train an MLE-trained flow adversarially: a new model on a copy of it
    tuned = gl.models.RealNVP((2,), flow=mle.flow.clone(), seed=0)
    tuned.fit(X, steps=5, batch_size=50, objective="wgan-gp", progress=False)
    np.testing.assert_array_equal(mle.flow.buffer.data, before)
    assert not np.array_equal(tuned.flow.buffer.data, before)

    critic = gl.nn.mlp(2, [16], 1, seed=3)
    wg = gl.models.RealNVP((2,), couplings=2, hidden=[8], seed=0)
    wg.fit(X, steps=5, batch_size=50, objective="wgan-gp", critic=critic, n_critic=2, gp_weight=5, critic_lr=1e-4,
           progress=False)
    assert wg.critic is critic
    state = (wg.flow.buffer.data.copy(), critic.buffer.data.copy())
    with pytest.raises(ValueError, match="trained by objective='wgan-gp'"):
        wg.fit(X, steps=5, batch_size=50)
    for kw, msg in [({"n_critic": 3}, "n_critic=2; got n_critic=3"), ({"gp_weight": 10}, "gp_weight=5.0"),
                    ({"critic_lr": 1e-3}, "critic_lr=0.0001"),
                    ({"critic": gl.nn.mlp(2, [16], 1, seed=3)}, "its own critic; got another critic")]:
        with pytest.raises(ValueError, match=msg):
            wg.fit(X, steps=5, batch_size=50, objective="wgan-gp", **kw)
    np.testing.assert_array_equal(wg.flow.buffer.data, state[0])
    np.testing.assert_array_equal(critic.buffer.data, state[1])
    # the model's own settings, or none, go on training
    wg.fit(X, steps=2, batch_size=50, objective="wgan-gp", critic=critic, n_critic=2, gp_weight=5.0, progress=False)
    wg.fit(X, steps=2, batch_size=50, objective="wgan-gp", progress=False)
    assert wg.step == 9 and wg.optimizers["critic"].t == 18


# ---------------------------------------------------------------------------------------- bad options
class BatchNormCritic(gl.nn.Module):
    """A critic with a BatchNorm in training mode (refused: the penalty needs second derivatives)."""

    def __init__(self):
        super().__init__()
        self.add_child("lin", gl.nn.Linear(2, 4, seed=0))
        self.add_child("bn", gl.nn.BatchNorm(4))
        self.add_child("out", gl.nn.Linear(4, 1, seed=1))
        self._adopt_children()

    def forward(self, x):
        return self._children["out"](self._children["bn"](self._children["lin"](x)))


def test_bad_wgan_options_raise_and_change_nothing():
    X = ring(500, 0)
    nvp = gl.models.RealNVP((2,), couplings=2, hidden=[8], seed=0)
    before = nvp.flow.buffer.data.copy()
    fit = lambda **kw: nvp.fit(X, steps=3, batch_size=50, progress=False, **kw)  # noqa: E731
    cases = [
        ({"objective": "wgan"}, ValueError, r"objective 'wgan' is not implemented; supported objectives: "
                                            r"\['mle', 'wgan-gp'\]"),
        ({"n_critic": 5}, ValueError, "n_critic is an option of objective='wgan-gp'; maximum likelihood takes none"),
        ({"critic": gl.nn.mlp(2, [4], 1), "gp_weight": 1.0}, ValueError, "critic, gp_weight are options of"),
        ({"objective": "wgan-gp", "n_critic": 0}, ValueError, "n_critic.*>= ?1"),
        ({"objective": "wgan-gp", "n_critic": 2.5}, TypeError, "n_critic must be an int"),
        ({"objective": "wgan-gp", "gp_weight": 0.0}, ValueError, "gp_weight"),
        ({"objective": "wgan-gp", "gp_weight": float("nan")}, ValueError, "gp_weight"),
        ({"objective": "wgan-gp", "critic_lr": -1e-4}, ValueError, "critic_lr"),
        ({"objective": "wgan-gp", "critic": gl.nn.mlp(2, [4], 2)}, ValueError,
         r"one value per row, shape \(N, 1\); for rows of shape \(2,\) it returns \(N, 2\)"),
        ({"objective": "wgan-gp", "critic": gl.nn.mlp(3, [4], 1)}, ValueError, r"must take rows of shape \(2,\)"),
        ({"objective": "wgan-gp", "critic": lambda x: x}, TypeError, "critic must be a ganlib Module"),
        ({"objective": "wgan-gp", "critic": nvp.flow}, ValueError, "shares the flow's parameter buffer"),
        ({"objective": "wgan-gp", "critic": gl.nn.Flatten()}, ValueError, "no parameters"),
        ({"objective": "wgan-gp", "critic": BatchNormCritic()}, ValueError, "batch norm"),
    ]
    for kw, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fit(**kw)
        assert nvp.objective is None and nvp.critic is None and nvp.wgan is None, kw
        assert list(nvp.modules) == ["flow"] and list(nvp.optimizers) == ["flow"] and nvp.step == 0, kw
    with pytest.raises(ValueError, match="rows must have shape"):      # bad data: nothing attached either
        nvp.fit(np.zeros((4, 3), np.float32), steps=1, objective="wgan-gp")
    assert nvp.objective is None and nvp.critic is None
    np.testing.assert_array_equal(nvp.flow.buffer.data, before)
    fit(objective="wgan-gp")                                           # and it still trains
    assert nvp.objective == "wgan-gp" and nvp.step == 3


# ---------------------------------------------------------------------------------------- checkpoints
class Custom(gl.nn.Module):
    """A critic without a spec: gl.load needs it passed."""

    def __init__(self, seed: int):
        super().__init__()
        self.add_child("net", gl.nn.mlp(2, [8], 1, seed=seed))
        self._adopt_children()

    def forward(self, x):
        return self._children["net"](x)


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)])
def test_wgan_checkpoint_round_trip_continues_bit_for_bit(shape, tmp_path):
    rng = np.random.default_rng(7)
    if shape == (2,):
        nvp, X = gl.models.RealNVP(shape, couplings=3, hidden=[16], seed=0), ring(500, 0)
        pts = X[:50]
    else:
        nvp = gl.models.RealNVP(shape, couplings=1, width=4, alpha=0.01, seed=0)
        X = rng.integers(0, 256, (200, *shape)).astype(np.float32)
        pts = (X[:50] + rng.random(X[:50].shape)).astype(np.float32)
    nvp.fit(X, steps=20, batch_size=50, objective="wgan-gp", n_critic=3, gp_weight=4.0, critic_lr=2e-4,
            progress=False)
    path = str(tmp_path / "nvp.safetensors")
    nvp.save(path)
    again = gl.load(path)
    assert type(again) is gl.models.RealNVP and again.objective == "wgan-gp"
    assert again.wgan == {"n_critic": 3, "gp_weight": 4.0} and again.optimizers["critic"].lr == 2e-4
    assert again.optimizers["critic"].t == 60
    np.testing.assert_array_equal(again.critic.buffer.data, nvp.critic.buffer.data)
    np.testing.assert_array_equal(again.log_prob(pts), nvp.log_prob(pts))
    np.testing.assert_array_equal(again.sample(4, seed=3), nvp.sample(4, seed=3))
    h1 = nvp.fit(X, steps=5, batch_size=50, objective="wgan-gp", progress=False)
    h2 = again.fit(X, steps=5, batch_size=50, objective="wgan-gp", progress=False)
    for k in h1:
        np.testing.assert_array_equal(h1[k], h2[k], err_msg=k)
    np.testing.assert_array_equal(again.flow.buffer.data, nvp.flow.buffer.data)
    np.testing.assert_array_equal(again.critic.buffer.data, nvp.critic.buffer.data)
    with pytest.raises(ValueError, match="trained by objective='wgan-gp'"):
        again.fit(X, steps=1, batch_size=50)


def test_checkpoint_of_a_custom_critic_needs_it_passed(tmp_path):
    X = ring(500, 0)
    nvp = gl.models.RealNVP((2,), couplings=2, hidden=[8], seed=0)
    nvp.fit(X, steps=4, batch_size=50, objective="wgan-gp", critic=Custom(1), progress=False)
    path = str(tmp_path / "custom.safetensors")
    nvp.save(path)
    with pytest.raises(ValueError, match="custom critic.*pass critic="):
        gl.load(path)
    again = gl.load(path, critic=Custom(2))                 # its weights come from the file
    np.testing.assert_array_equal(again.critic.buffer.data, nvp.critic.buffer.data)
    mle = gl.models.RealNVP((2,), couplings=2, hidden=[8], seed=0)
    mle.fit(X, steps=2, batch_size=50, progress=False)
    mle.save(path)
    with pytest.raises(TypeError, match="critic= is for adversarially trained ones"):
        gl.load(path, critic=Custom(2))
    assert gl.load(path).objective == "mle"
