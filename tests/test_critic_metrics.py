"""Critic-based evaluation (issue 18): critic_divergence (D_CNN and the overfitting gap), the
IndependentCritic callback, and the memorisation table, on toys whose answers are known."""
import numpy as np
import pytest

import ganlib as gl
from ganlib import metrics


def gauss(n, d=2, shift=0.0, seed=0, scale=1.0):
    x = np.random.default_rng(seed).normal(size=(n, d)) * scale
    x[:, 0] += shift
    return x.astype(np.float32)


# ----------------------------------------------------------------------------- critic_divergence

def test_ranks_shifted_gaussians_as_w1():
    # W1(N(0, I), N(0, I) shifted by s) = s: the WGAN-GP critic's estimate follows it
    test = gauss(2000, seed=1)
    values = [metrics.critic_divergence(None, test, gauss(2000, shift=s, seed=2), steps=600, seed=0).value
              for s in (0.0, 0.5, 1.0, 2.0)]
    assert abs(values[0]) < 0.1                     # the same distribution: the floor
    assert values[0] < values[1] < values[2] < values[3]
    assert 0.35 < values[1] < 0.65 and 0.8 < values[2] < 1.2 and 1.7 < values[3] < 2.3


def test_gap_near_zero_for_a_fresh_sample_and_large_for_copies_of_the_training_set():
    # in 32 dimensions the rows are far apart, so a critic can memorise individual rows
    train, test = gauss(1000, 32, seed=1), gauss(1000, 32, seed=2)
    fresh = metrics.critic_divergence(train, test, gauss(1000, 32, seed=3), steps=800, seed=0)
    copies = metrics.critic_divergence(train, test, train[np.random.default_rng(0).permutation(1000)],
                                       steps=800, seed=0)
    assert abs(fresh.gap) < 0.25 and abs(fresh.value) < 0.15
    # the critic against the training rows pushes down the copies it trains on as samples, which are
    # evaluation rows of the training data: a negative estimate, a large positive gap
    assert copies.train_value < -0.5
    assert copies.gap > 0.8 > 3 * abs(fresh.gap)


def test_a_memoriser_with_repeats_scores_worse_than_fresh_samples():
    # a memoriser of 200 training rows repeats its fit rows in its evaluation rows
    train, test = gauss(1000, 32, seed=1), gauss(1000, 32, seed=2)
    mem = train[np.random.default_rng(0).integers(0, 200, 1000)]
    fresh = metrics.critic_divergence(None, test, gauss(1000, 32, seed=3), steps=800, seed=0).value
    memo = metrics.critic_divergence(None, test, mem, steps=800, seed=0).value
    assert memo > fresh + 0.3


def test_history_value_and_repr():
    test, fake = gauss(400, seed=1), gauss(400, shift=1.0, seed=2)
    r = metrics.critic_divergence(gauss(900, seed=5), test, fake, steps=250, eval_every=100, average=2, seed=0)
    assert r.history[:, 0].tolist() == [100, 200, 250] and r.train_history[:, 0].tolist() == [100, 200, 250]
    assert r.value == pytest.approx(r.history[-2:, 1].mean())
    assert r.train_value == pytest.approx(r.train_history[-2:, 1].mean())
    assert r.gap == pytest.approx(r.value - r.train_value)
    text = repr(r)
    assert text.startswith("CriticDivergence(value=") and "gap=" in text and "last 2 of 3" in text
    alone = metrics.critic_divergence(None, test, fake, steps=50, eval_every=20, seed=0)
    assert alone.gap is None and alone.train_value is None and "gap" not in repr(alone)
    assert alone.history[:, 0].tolist() == [20, 40, 50]


def test_deterministic_with_a_seed():
    test, fake = gauss(300, seed=1), gauss(300, shift=0.7, seed=2)
    a = metrics.critic_divergence(gauss(300, seed=3), test, fake, steps=120, eval_every=40, seed=4)
    b = metrics.critic_divergence(gauss(300, seed=3), test, fake, steps=120, eval_every=40, seed=4)
    c = metrics.critic_divergence(gauss(300, seed=3), test, fake, steps=120, eval_every=40, seed=5)
    assert np.array_equal(a.history, b.history) and np.array_equal(a.train_history, b.train_history)
    assert a.value == b.value and a.gap == b.gap
    assert not np.array_equal(a.history, c.history)


def test_a_given_critic_is_cloned_not_trained():
    D = gl.nn.mlp(2, [64], 1, act="leaky_relu", seed=3)
    before = {k: v.copy() for k, v in D.state_dict().items()}
    test, fake = gauss(300, seed=1), gauss(300, shift=1.0, seed=2)
    r = metrics.critic_divergence(None, test, fake, critic=D, steps=300, seed=0)
    assert r.value > 0.5
    assert all(np.array_equal(before[k], v) for k, v in D.state_dict().items())


def test_other_objectives():
    test = gauss(600, seed=1)
    same = metrics.critic_divergence(None, test, gauss(600, seed=2), steps=300, objective="nonsaturating", seed=0)
    far = metrics.critic_divergence(None, test, gauss(600, shift=3.0, seed=2), steps=300, objective="nonsaturating",
                                    seed=0)
    # 2 log 2 - L(f) estimates 2 JSD, at most 2 log 2
    assert abs(same.value) < 0.1 and 0.8 < far.value <= 2 * np.log(2) + 1e-6
    assert same.objective == "nonsaturating"
    clipped = metrics.critic_divergence(None, test, gauss(600, shift=3.0, seed=2), steps=200, objective="wasserstein",
                                        seed=0)
    assert clipped.value > 0.0 and clipped.objective == "wasserstein"


def test_default_critics():
    C = metrics.default_critic((1, 28, 28), seed=0)
    assert C(np.zeros((3, 1, 28, 28), np.float32)).shape == (3, 1)
    assert metrics.default_critic((5,), seed=0)(np.zeros((3, 5), np.float32)).shape == (3, 1)
    assert metrics.default_critic((2, 5, 5), seed=0)(np.zeros((3, 2, 5, 5), np.float32)).shape == (3, 1)
    # the conv critic runs through critic_divergence on MNIST-shaped rows: brighter "images" are found
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 0, size=(80, 1, 28, 28)).astype(np.float32)
    b = rng.uniform(0, 1, size=(80, 1, 28, 28)).astype(np.float32)
    r = metrics.critic_divergence(None, a, b, steps=20, batch_size=16, eval_every=10, average=1, seed=0)
    assert np.isfinite(r.value) and abs(r.value) > 1.0


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(samples=gauss(50, 3)), ValueError, "same row shape"),
    (dict(train_real=gauss(50, 3)), ValueError, "same row shape"),
    (dict(samples=np.where(np.arange(100)[:, None] == 7, np.nan, gauss(100))), ValueError, "NaN"),
    (dict(heldout_real=np.zeros((0, 2))), ValueError, "at least 2"),
    (dict(samples=np.zeros((1, 2))), ValueError, "at least 2"),
    (dict(samples=np.zeros(10)), ValueError, "shape"),
    (dict(samples=np.array([["a", "b"]] * 5)), TypeError, "numeric"),
    (dict(steps=0), ValueError, "steps must be >= 1"),
    (dict(steps=2.0), TypeError, "steps must be an int"),
    (dict(batch_size=200), ValueError, "batch_size=200"),
    (dict(eval_fraction=1.0), ValueError, "eval_fraction"),
    (dict(eval_every=0), ValueError, "eval_every"),
    (dict(critic="mlp"), TypeError, "Module"),
    (dict(critic=gl.nn.mlp(2, [8], 3, seed=0)), ValueError, "one value per row"),
    (dict(critic=gl.nn.mlp(5, [8], 1, seed=0)), ValueError, "does not take rows"),
    (dict(critic=gl.nn.Sequential(gl.nn.Linear(2, 8), gl.nn.BatchNorm(8), gl.nn.Linear(8, 1))), ValueError,
     "batch norm"),
    (dict(objective="nonsaturating", penalty_weight=5.0), ValueError, "no gradient penalty"),
    (dict(objective="no-such-loss"), ValueError, "no-such-loss"),
])
def test_bad_input(kwargs, err, match):
    args = dict(train_real=gauss(100, seed=3), heldout_real=gauss(100, seed=1), samples=gauss(100, seed=2), steps=5)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        metrics.critic_divergence(**args)


# ----------------------------------------------------------------------------- IndependentCritic

def _toy_gan():
    G, D = gl.nn.mlp(2, [32], 2, seed=0), gl.nn.mlp(2, [64, 64], 1, seed=1)
    return gl.GAN(G, D, loss="wgan-gp", d_steps=5, g_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.9)),
                  d_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.9)), seed=0)


def test_independent_critic_follows_a_training_gan():
    data = gauss(4000, seed=0, scale=0.5) + 2.0
    watch = metrics.IndependentCritic(gauss(1000, seed=1, scale=0.5) + 2.0, every=200, steps=100, seed=0)
    gan = _toy_gan()
    watch(gan, 0, {})                               # the untrained model: G(z) near 0, data near (2, 2)
    gan.fit(data, steps=800, batch_size=128, log_every=100, callbacks=[watch], progress=False)
    steps = [s for s, _ in watch.history]
    values = np.array([v for _, v in watch.history])
    assert steps == [0, 200, 400, 600, 800]
    assert np.all(np.isfinite(values))
    assert values[0] > 2.0                          # W1 >= |E x - E G(z)| ≈ 2.8
    assert np.all(values[1:] < values[0] / 2)       # the estimate falls as the GAN trains
    assert "5 evaluations" in repr(watch)


def test_independent_critic_schedule_when_log_every_does_not_divide_every():
    gan = _toy_gan()
    watch = metrics.IndependentCritic(gauss(200, seed=1), every=100, steps=5, seed=0)
    gan.fit(gauss(1000), steps=250, batch_size=32, log_every=30, callbacks=[watch], progress=False)
    # callbacks at 30, 60, ..., 240, 250: the first at or after each multiple of 100
    assert [s for s, _ in watch.history] == [120, 210]
    watch(gan, 210, {})                             # the same step again is not evaluated twice
    assert len(watch.history) == 2


def test_independent_critic_with_sample_fn_on_a_plain_trainer_and_restart():
    shifted = lambda n: gauss(n, shift=2.0, seed=n)   # noqa: E731 - a fixed "model" 2 away
    E = gl.nn.mlp(2, [8], 2, seed=0)

    def recon(b):
        l = gl.ops.mean(gl.ops.square(E(b.data.x) - b.data.x))
        return gl.Step(minimize={"E": l}, log={"recon": l})
    tr = gl.Trainer({"E": E}, {"E": gl.optim.Adam(1e-3)}, [gl.Phase("recon", recon)], seed=0)
    with pytest.raises(TypeError, match="sample_fn"):   # raised at step 10: the trainer stands at 10
        tr.fit({"data": gl.Data(x=gauss(200))}, steps=10, log_every=10, progress=False,
               callbacks=[metrics.IndependentCritic(gauss(200, seed=1), every=10, steps=2)])
    warm = metrics.IndependentCritic(gauss(600, seed=1), every=10, steps=5, sample_fn=shifted, seed=0)
    fresh = metrics.IndependentCritic(gauss(600, seed=1), every=10, steps=5, sample_fn=shifted, restart=True, seed=0)
    tr.fit({"data": gl.Data(x=gauss(200))}, steps=200, log_every=10, progress=False, callbacks=[warm, fresh])
    assert [s for s, _ in warm.history] == [s for s, _ in fresh.history] == list(range(20, 220, 10))
    # 5 critic steps per evaluation: the warm critic accumulates 100 and reaches W1 = 2 (GP critics
    # overshoot a little on 150 evaluation rows); a restarted one never gets past its first 5 steps
    w, f = np.array([v for _, v in warm.history]), np.array([v for _, v in fresh.history])
    assert w[0] == f[0]                              # the same first critic
    assert np.all((w[-5:] > 1.7) & (w[-5:] < 2.8))
    assert np.all(f < 1.0)


def test_independent_critic_bad_input():
    with pytest.raises(ValueError, match="every must be >= 1"):
        metrics.IndependentCritic(gauss(100), every=0)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        metrics.IndependentCritic(gauss(100), steps=0)
    with pytest.raises(ValueError, match="NaN"):
        metrics.IndependentCritic(np.full((100, 2), np.nan))
    with pytest.raises(TypeError, match="sample_fn"):
        metrics.IndependentCritic(gauss(100), sample_fn=3)
    with pytest.raises(ValueError, match="batch_size"):
        metrics.IndependentCritic(gauss(100), batch_size=90)
    watch = metrics.IndependentCritic(gauss(100), every=10, steps=2, sample_fn=lambda n: gauss(n, 3))
    with pytest.raises(ValueError, match="shape"):
        watch(None, 10, {})


# ----------------------------------------------------------------------------- memorisation_table

def distinct(samples, heldout):
    return float(len(np.unique(samples[:, 0])))


def test_memorisation_table_logic_on_a_synthetic_metric():
    train = np.arange(5000, dtype=np.float32)[:, None]
    model = np.repeat(np.arange(50, dtype=np.float32), 20)[:, None]      # 1000 samples, 50 distinct
    t = metrics.memorisation_table(train, train, model, grid=(10, 100, 1000), metrics={
        "distinct": metrics.Metric(distinct, "higher"),
        "fewness": (lambda s, h: -distinct(s, h), "lower"),
        "never": (lambda s, h: 0.0, "lower")}, seed=0)
    # memorisers of n >= 100 show more distinct samples than the model's 50
    assert t.n_to_win == {"distinct": 100, "fewness": 100, "never": None}
    assert t.model["distinct"] == 50.0
    assert t.memorisers["distinct"][0] <= 10 and t.memorisers["distinct"][1] > 50
    assert t.beats("distinct").tolist() == [False, True, True]
    text = repr(t)
    assert "n to win" in text and "> 1000" in text and "higher" in text


def test_memorisers_copy_nested_training_rows():
    seen = []

    def record(s, h):
        seen.append(s[:, 0].copy())
        return 0.0
    train = np.arange(300, dtype=np.float32)[:, None] + 0.5
    metrics.memorisation_table(train, train, train[:64], {"r": (record, "lower")}, grid=(5, 50), seed=1)
    model, m5, m50 = seen
    assert len(m5) == len(m50) == 64
    assert set(m5) <= set(train[:, 0]) and len(set(m5)) <= 5
    assert set(m5) <= set(m50) and len(set(m50)) <= 50    # the memorised sets are nested


def test_memorisation_table_defaults_on_vectors_and_determinism():
    train, test = gauss(2000, seed=1), gauss(1000, seed=2)
    model = gauss(1000, seed=3)                     # a perfect model
    a = metrics.memorisation_table(train, test, model, grid=(10, 100), seed=0)
    assert set(a.model) == {"frechet", "dcnn"} and a.better == {"frechet": "lower", "dcnn": "lower"}
    assert np.all(np.isfinite(a.memorisers["dcnn"]))
    assert not a.beats("dcnn")[0] and not a.beats("frechet")[0]   # 10 points lose to the true distribution
    b = metrics.memorisation_table(train, test, model, metrics={"dcnn": metrics.dcnn_metric(steps=100)},
                                   grid=(10, 100), seed=0)
    c = metrics.memorisation_table(train, test, model, metrics={"dcnn": metrics.dcnn_metric(steps=100)},
                                   grid=(10, 100), seed=0)
    assert np.array_equal(b.memorisers["dcnn"], c.memorisers["dcnn"]) and b.model == c.model


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(grid=()), ValueError, "non-empty"),
    (dict(grid=(100, 10)), ValueError, "increasing"),
    (dict(grid=(10, 1000)), ValueError, "<= 500"),
    (dict(grid=(0,)), ValueError, ">= 1"),
    (dict(model_samples=gauss(50, 3)), ValueError, "same row shape"),
    (dict(heldout=np.full((10, 2), np.inf)), ValueError, "NaN or inf"),
    (dict(train=np.zeros((0, 2))), ValueError, "at least 1"),
    (dict(metrics={"m": (distinct, "bigger")}), ValueError, "'lower' or 'higher'"),
    (dict(metrics={"m": distinct}), TypeError, "Metric"),
    (dict(metrics={"m": (lambda s, h: float("nan"), "lower")}), ValueError, "returned nan"),
    (dict(metrics={"m": (lambda s, h: "x", "lower")}), TypeError, "return a number"),
    (dict(metrics={}), TypeError, "non-empty"),
])
def test_memorisation_table_bad_input(kwargs, err, match):
    args = dict(train=gauss(500), heldout=gauss(100, seed=1), model_samples=gauss(100, seed=2),
                metrics={"m": (distinct, "higher")}, grid=(10, 100))
    args.update(kwargs)
    with pytest.raises(err, match=match):
        metrics.memorisation_table(**args)


def test_dcnn_metric_refuses_train_real():
    with pytest.raises(TypeError, match="train_real"):
        metrics.dcnn_metric(train_real=gauss(10))
