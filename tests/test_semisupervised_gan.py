"""gl.models.SemiSupervisedGAN, its losses, gl.models.balanced_subset, and the layers of its
preset (gl.nn.GaussianNoise, gl.nn.WeightNormLinear).

The toy: two concentric rings (radius 1: class 0, radius 2.5: class 1) with 2 labels per
class. The labelled points alone do not say the classes are rings (a classifier on them
is near chance); the unlabelled points do, so the check below fails for a model whose
unlabelled stream is ignored (the same model trained with the labelled points as its
unlabelled stream is the control).
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from ganlib.models.semisupervised_gan import labelled_loss, unlabelled_loss

torch = pytest.importorskip("torch")


def rings(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = rng.uniform(0, 2 * np.pi, n)
    r = np.where(y == 0, 1.0, 2.5) + 0.1 * rng.standard_normal(n)
    return np.stack([r * np.cos(a), r * np.sin(a)], 1).astype(np.float32), y.astype(np.int64)


def small(**kw):
    opts = dict(latent_dim=8, d_hidden=[64, 64], g_hidden=[64], g_output="linear", input_noise=0.05,
                hidden_noise=0.1, seed=0)
    opts.update(kw)
    return gl.models.SemiSupervisedGAN(2, 2, **opts)


def params(model):
    return {n: m.buffer.data.copy() for n, m in model.modules.items()}


# ---- losses against the definitions -----------------------------------------------------------------------
def reference_unlabelled(real, fake):
    """From the definition: D = Z / (Z + 1), Z = sum exp l, in float64 (moderate logits only)."""
    z_r, z_f = np.exp(real.astype(np.float64)).sum(1), np.exp(fake.astype(np.float64)).sum(1)
    return -np.mean(np.log(z_r / (z_r + 1))) - np.mean(np.log(1 - z_f / (z_f + 1)))


def torch_unlabelled(real, fake):
    """The stable forms in float64 PyTorch: -log D = softplus(lse) - lse, -log(1 - D) = softplus(lse)."""
    r, f = torch.tensor(real, dtype=torch.float64), torch.tensor(fake, dtype=torch.float64)
    lr, lf = torch.logsumexp(r, 1), torch.logsumexp(f, 1)
    return (torch.nn.functional.softplus(lr) - lr).mean() + torch.nn.functional.softplus(lf).mean()


def test_unlabelled_loss_equals_the_definition(rng):
    real, fake = rng.normal(0, 2, (16, 10)).astype(np.float32), rng.normal(-1, 2, (12, 10)).astype(np.float32)
    got = unlabelled_loss(real, fake)
    assert got == pytest.approx(reference_unlabelled(real, fake), rel=1e-5)
    assert got == pytest.approx(float(torch_unlabelled(real, fake)), rel=1e-5)


@pytest.mark.parametrize("scale", [30.0, 90.0, 1000.0])
def test_unlabelled_loss_is_stable_at_extreme_logits(rng, scale):
    # exp(90) overflows float32 and exp(-90) underflows: the naive Z / (Z + 1) gives inf or log 0
    real = (rng.choice([-1.0, 1.0], (8, 10)) * scale + rng.normal(0, 1, (8, 10))).astype(np.float32)
    fake = (rng.choice([-1.0, 1.0], (8, 10)) * scale + rng.normal(0, 1, (8, 10))).astype(np.float32)
    got = unlabelled_loss(real, fake)
    want = float(torch_unlabelled(real, fake))
    assert np.isfinite(got) and got == pytest.approx(want, rel=1e-5, abs=1e-6)
    # all logits very negative on real rows: D(x) ~ K e^-scale, -log D(x) ~ scale - log K, not inf
    low = np.full((4, 10), -scale, np.float32)
    assert unlabelled_loss(low, low) == pytest.approx(scale - np.log(10), rel=1e-5)


@pytest.mark.parametrize("scale", [1.0, 90.0])
def test_unlabelled_loss_gradient_equals_torch(rng, scale):
    real = (rng.normal(0, 1, (6, 5)) * scale).astype(np.float32)
    fake = (rng.normal(0, 1, (6, 5)) * scale).astype(np.float32)
    grads = ops.function(lambda r, f: ops.grad(unlabelled_loss(r, f), [r, f]))(real, fake)
    r = torch.tensor(real, dtype=torch.float64, requires_grad=True)
    f = torch.tensor(fake, dtype=torch.float64, requires_grad=True)
    torch_unlabelled_t = (torch.nn.functional.softplus(-torch.logsumexp(r, 1)).mean()
                          + torch.nn.functional.softplus(torch.logsumexp(f, 1)).mean())
    torch_unlabelled_t.backward()
    for g, want in zip(grads, (r.grad, f.grad)):
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g, want.numpy(), rtol=1e-4, atol=1e-7)


def test_labelled_loss_equals_torch_cross_entropy(rng):
    logits = rng.normal(0, 3, (20, 10)).astype(np.float32)
    logits[0] = 500.0 * np.eye(10)[3]                   # a saturated row stays finite
    y = rng.integers(0, 10, 20)
    want = torch.nn.functional.cross_entropy(torch.tensor(logits, dtype=torch.float64), torch.tensor(y))
    assert labelled_loss(logits, np.eye(10, dtype=np.float32)[y]) == pytest.approx(float(want), rel=1e-5)


# ---- the preset layers -----------------------------------------------------------------------------------
def test_weight_norm_linear_equals_torch_weight_norm(rng):
    lin = gl.nn.WeightNormLinear(6, 4, init_scale=1.5, seed=0)
    lin.param("bias")[:] = rng.normal(0, 1, 4)
    x = rng.normal(0, 1, (5, 6)).astype(np.float32)
    ref = torch.nn.Linear(6, 4).double()
    ref = torch.nn.utils.parametrizations.weight_norm(ref, dim=0)
    with torch.no_grad():
        ref.parametrizations.weight.original0.copy_(torch.tensor(lin.param("g")[:, None], dtype=torch.float64))
        ref.parametrizations.weight.original1.copy_(torch.tensor(lin.param("v"), dtype=torch.float64))
        ref.bias.copy_(torch.tensor(lin.param("bias"), dtype=torch.float64))
    xt = torch.tensor(x, dtype=torch.float64)
    out = ref(xt)
    np.testing.assert_allclose(lin(x), out.detach().numpy(), rtol=1e-5, atol=1e-6)
    # gradients of sum(y^2) with respect to v and g
    grads = ops.function(lambda t: ops.grad(ops.sum(ops.square(lin(t))), lin.param_tensors(ops.current_trace())))(x)
    (out ** 2).sum().backward()
    got = dict(zip(lin.parameters(), grads))
    np.testing.assert_allclose(got["v"], ref.parametrizations.weight.original1.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got["g"], ref.parametrizations.weight.original0.grad.numpy()[:, 0], rtol=1e-4,
                               atol=1e-5)
    twin = gl.nn.from_spec(lin.spec())
    twin.load_state_dict(lin.state_dict())
    np.testing.assert_array_equal(twin(x), lin(x))


def test_weight_norm_linear_with_a_fixed_scale(rng):
    """train_scale=False: g is a buffer (in the state dict, not a parameter, no gradient) and the
    layer still equals torch's weight norm with that g; the options survive the spec."""
    lin = gl.nn.WeightNormLinear(300, 4, train_scale=False, init_std=0.1, seed=0)
    assert set(lin.parameters()) == {"v", "bias"} and "g" in lin.state_dict()
    assert abs(lin.param("v").std() - 0.1) < 0.01
    lin.scale[:] = rng.uniform(0.5, 2.0, 4)
    np.testing.assert_array_equal(lin.state_dict()["g"], lin.scale)
    x = rng.normal(0, 1, (5, 300)).astype(np.float32)
    ref = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(300, 4).double(), dim=0)
    with torch.no_grad():
        ref.parametrizations.weight.original0.copy_(torch.tensor(lin.scale[:, None], dtype=torch.float64))
        ref.parametrizations.weight.original1.copy_(torch.tensor(lin.param("v"), dtype=torch.float64))
        ref.bias.zero_()
    out = ref(torch.tensor(x, dtype=torch.float64))
    np.testing.assert_allclose(lin(x), out.detach().numpy(), rtol=1e-5, atol=1e-6)
    grads = ops.function(lambda t: ops.grad(ops.sum(ops.square(lin(t))), lin.param_tensors(ops.current_trace())))(x)
    (out ** 2).sum().backward()
    np.testing.assert_allclose(dict(zip(lin.parameters(), grads))["v"],
                               ref.parametrizations.weight.original1.grad.numpy(), rtol=1e-4, atol=1e-5)
    twin = gl.nn.from_spec(lin.spec())
    assert not twin.train_scale and twin.init_std == 0.1 and "train_scale=False" in repr(twin)
    twin.load_state_dict(lin.state_dict())
    np.testing.assert_array_equal(twin(x), lin(x))


def test_preset_fixes_the_hidden_scales_and_learns_the_output_scale():
    X, y = rings(400, 0)
    ss = small()
    dense = [m for m in ss.D._children.values() if isinstance(m, gl.nn.WeightNormLinear)]
    assert [m.train_scale for m in dense] == [False, False, True] and {m.init_std for m in dense} == {0.1}
    idx = gl.models.balanced_subset(y, 5, seed=0)
    ss.fit(X[idx], y[idx], X, steps=1, batch_size=50, progress=False)     # data init, one step
    scales = [m.scale.copy() for m in dense]
    assert not np.allclose(scales[0], 1.0)                                 # set by the data init
    ss.fit(X[idx], y[idx], X, steps=20, batch_size=50, progress=False)
    np.testing.assert_array_equal(dense[0].scale, scales[0])               # then fixed
    assert not np.array_equal(dense[2].scale, scales[2])                   # the output layer's is learned


def test_ema_classifies_with_the_averaged_discriminator(tmp_path):
    X, y = rings(600, 0)
    idx = gl.models.balanced_subset(y, 5, seed=0)
    a, plain = small(ema=0.9), small()
    ha = a.fit(X[idx], y[idx], X, steps=30, batch_size=50, progress=False)
    hp = plain.fit(X[idx], y[idx], X, steps=30, batch_size=50, progress=False)
    np.testing.assert_array_equal(ha["lab_loss"], hp["lab_loss"])          # the average does not train
    np.testing.assert_array_equal(a.D.buffer.data, plain.D.buffer.data)
    avg = a.averaged("D")
    assert not np.array_equal(avg.buffer.data, a.D.buffer.data)
    ref = gl.function(lambda t: avg.eval()(t))(X)                           # the average's own eval read
    avg.train()
    np.testing.assert_allclose(a.logits(X), ref, rtol=1e-6, atol=1e-6)
    assert not np.allclose(a.logits(X), plain.logits(X))                  # not the trained D's
    a.save(str(tmp_path / "ema.safetensors"))
    b = gl.load(str(tmp_path / "ema.safetensors"))
    assert b.ema == 0.9
    np.testing.assert_array_equal(b.logits(X), a.logits(X))
    np.testing.assert_array_equal(b.fit(X[idx], y[idx], X, steps=5, batch_size=50, progress=False)["lab_loss"],
                                  a.fit(X[idx], y[idx], X, steps=5, batch_size=50, progress=False)["lab_loss"])
    np.testing.assert_array_equal(b.logits(X), a.logits(X))


def test_gaussian_noise_adds_noise_of_its_std_only_in_training():
    noise = gl.nn.GaussianNoise(0.3)
    out = noise(np.zeros((2000, 50), np.float32))
    assert abs(out.std() - 0.3) < 0.01 and abs(out.mean()) < 0.01
    assert not np.array_equal(noise(np.zeros((2, 3), np.float32)), noise(np.zeros((2, 3), np.float32)))
    np.testing.assert_array_equal(noise.eval()(np.ones((2, 3), np.float32)), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError):
        gl.nn.GaussianNoise(0.0)


def test_mlp_preset_is_the_papers_network():
    ss = gl.models.SemiSupervisedGAN(784, 10, seed=0)
    dense = [m for m in ss.D._children.values() if isinstance(m, gl.nn.WeightNormLinear)]
    assert [(m.in_features, m.out_features) for m in dense] == [(784, 1000), (1000, 500), (500, 250), (250, 250),
                                                                (250, 250), (250, 10)]
    assert ss.unlabelled_weight == 0.5 and ss.ema is None      # the authors weigh both GAN terms by 0.5
    stds = [m.std for m in ss.D._children.values() if isinstance(m, gl.nn.GaussianNoise)]
    assert stds == [0.3] + [0.5] * 5
    assert isinstance(ss.D[ss.features - 1], gl.nn.ReLU) and ss.D[ss.features - 2].out_features == 250
    assert isinstance(ss.D[ss.features], gl.nn.GaussianNoise)       # features taken before the noise
    s = ss.sample(5)
    assert s.shape == (5, 784) and s.min() >= 0 and s.max() <= 1


# ---- learning from the unlabelled stream -------------------------------------------------------------------
def test_unlabelled_stream_is_what_makes_the_rings_learnable():
    X, y = rings(4000, 0)
    Xt, yt = rings(2000, 1)
    idx = gl.models.balanced_subset(y, 2, seed=3)
    semi, control = small(), small()
    semi.fit(X[idx], y[idx], X, steps=1500, batch_size=100, progress=False)
    control.fit(X[idx], y[idx], X[idx], steps=1500, batch_size=len(idx), progress=False)
    acc_semi, acc_control = semi.accuracy(Xt, yt), control.accuracy(Xt, yt)
    assert acc_semi >= 0.95, acc_semi
    assert acc_control <= 0.8, acc_control


def test_options_reach_the_training_program():
    X, y = rings(400, 0)
    idx = gl.models.balanced_subset(y, 5, seed=0)

    def run(**kw):
        return small(**kw).fit(X[idx], y[idx], X, steps=5, batch_size=50, progress=False)
    base = run()
    assert not np.array_equal(base["g_loss"], run(features=2)["g_loss"])     # another feature layer
    assert not np.array_equal(base["D_grad_norm"], run(unlabelled_weight=1.0)["D_grad_norm"])
    np.testing.assert_array_equal(base["lab_loss"], run()["lab_loss"])       # and the run is reproducible


def test_predict_is_an_eval_mode_read():
    X, y = rings(400, 0)
    ss = small(input_noise=0.5, hidden_noise=0.5)
    idx = gl.models.balanced_subset(y, 5, seed=0)
    ss.fit(X[idx], y[idx], X, steps=20, batch_size=50, progress=False)
    before = params(ss)
    np.testing.assert_array_equal(ss.logits(X), ss.logits(X))              # no noise in eval mode
    np.testing.assert_array_equal(ss.predict(X), np.argmax(ss.logits(X), 1))
    assert ss.accuracy(X, y) == np.mean(ss.predict(X) == y)
    for n, p in params(ss).items():
        np.testing.assert_array_equal(p, before[n])


def test_data_init_standardises_the_weight_norm_layers_before_the_first_step():
    X, y = rings(2000, 0)
    idx = gl.models.balanced_subset(y, 5, seed=0)
    ss = small(input_noise=0.0, d_hidden=[32, 32])
    assert ss.data_init
    ss.fit(X[idx], y[idx], X, steps=0, progress=False)
    h = X
    for i in range(len(ss.D)):
        h = ss.D[i]._read(h)
        if isinstance(ss.D[i], gl.nn.WeightNormLinear):      # its outputs: mean 0, std 1 (500 rows drawn)
            assert np.abs(h.mean(0)).max() < 0.15 and np.abs(h.std(0) - 1).max() < 0.15, i
    off = small(data_init=False)
    before = params(off)
    off.fit(X[idx], y[idx], X, steps=0, progress=False)
    for n, p in params(off).items():
        np.testing.assert_array_equal(p, before[n])
    D = gl.nn.Sequential(gl.nn.Linear(2, 8), gl.nn.ReLU(), gl.nn.Linear(8, 2))
    with pytest.raises(ValueError, match="data_init=True .* D has none"):
        gl.models.SemiSupervisedGAN(2, 2, D=D, g_output="linear", data_init=True)


# ---- checkpoints -----------------------------------------------------------------------------------------------
def test_checkpoint_round_trip_continues_identically(tmp_path):
    X, y = rings(600, 0)
    idx = gl.models.balanced_subset(y, 5, seed=0)
    a = small()
    a.fit(X[idx], y[idx], X, steps=30, batch_size=50, progress=False)
    a.save(str(tmp_path / "ss.safetensors"))
    ha = a.fit(X[idx], y[idx], X, steps=30, batch_size=50, progress=False)
    b = gl.load(str(tmp_path / "ss.safetensors"))
    assert type(b) is gl.models.SemiSupervisedGAN and b.step == 30 and b.features == a.features
    hb = b.fit(X[idx], y[idx], X, steps=30, batch_size=50, progress=False)
    for k in ha:
        np.testing.assert_array_equal(ha[k], hb[k])
    for n, p in params(a).items():
        np.testing.assert_array_equal(p, params(b)[n])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):       # the preset G's range survives the load
        c = gl.models.SemiSupervisedGAN(2, 2, latent_dim=4, d_hidden=[8, 8], g_hidden=[8], seed=0)
        c.save(str(tmp_path / "c.safetensors"))
        gl.load(str(tmp_path / "c.safetensors")).fit(X[idx], y[idx], X, steps=1, progress=False)


# ---- the balanced subset ------------------------------------------------------------------------------------------
def test_balanced_subset_is_balanced_and_seeded():
    y = np.random.default_rng(0).integers(0, 10, 5000)
    idx = gl.models.balanced_subset(y, 10, seed=0)
    assert idx.shape == (100,) and len(set(idx.tolist())) == 100
    assert np.bincount(y[idx], minlength=10).tolist() == [10] * 10
    np.testing.assert_array_equal(idx, gl.models.balanced_subset(y, 10, seed=0))
    assert not np.array_equal(idx, gl.models.balanced_subset(y, 10, seed=1))
    with pytest.raises(ValueError, match=r"class\(es\) \[2\] have fewer than 3"):
        gl.models.balanced_subset(np.array([0, 0, 0, 1, 1, 1, 2, 2]), 3)
    with pytest.raises(TypeError, match="integers"):
        gl.models.balanced_subset(np.zeros(10), 1, num_classes=2)


# ---- bad input ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, err, match", [
    (None, ValueError, "y_labelled is required"),
    ("float", TypeError, "labels must be integers"),
    ("2d", ValueError, "1-D"),
    ("short", ValueError, "labels for 10 rows"),
    ("range", ValueError, r"labels must lie in \[0, 2\)"),
    ("absent", ValueError, r"class\(es\) \[1\]"),
])
def test_bad_labels_are_refused_before_training(bad, err, match):
    X, y = rings(400, 0)
    ss = small()
    xl, yl = X[:10], np.array([0, 1] * 5)
    labels = {None: None, "float": yl.astype(float), "2d": np.eye(2, dtype=np.int64)[yl], "short": yl[:9],
              "range": np.where(np.arange(10) == 3, 2, yl), "absent": np.zeros(10, np.int64)}[bad]
    before = params(ss)
    with pytest.raises(err, match=match):
        ss.fit(xl, labels, X, steps=5, batch_size=50, progress=False)
    assert ss.step == 0
    for n, p in params(ss).items():
        np.testing.assert_array_equal(p, before[n])


def test_bad_data_and_options_are_refused():
    X, y = rings(100, 0)
    ss = small()
    yl = np.array([0, 1] * 5)
    with pytest.raises(ValueError, match="rows of 2 values"):
        ss.fit(X[:10], yl, np.zeros((50, 3), np.float32), steps=1, progress=False)
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ss.fit(X[:10], yl, bad, steps=1, progress=False)
    before = params(ss)
    with pytest.raises(ValueError, match="batch_size 200 is larger than the 100 rows"):
        ss.fit(X[:10], yl, X, steps=1, batch_size=200, progress=False)
    with pytest.raises(ValueError, match="labelled_batch_size 11 is larger than the 10 rows"):
        ss.fit(X[:10], yl, X, steps=1, labelled_batch_size=11, progress=False)
    for n, p in params(ss).items():        # data_init did not run either
        np.testing.assert_array_equal(p, before[n])
    with pytest.raises(ValueError, match=r"accuracy: 3 labels for 4 rows"):
        ss.accuracy(X[:4], yl[:3])
    assert ss.step == 0
    D = gl.nn.Sequential(gl.nn.Linear(2, 8), gl.nn.ReLU(), gl.nn.Linear(8, 2))
    with pytest.raises(ValueError, match="describe the preset D"):
        gl.models.SemiSupervisedGAN(2, 2, D=D, d_hidden=[4])
    with pytest.raises(ValueError, match="K = 3 logits"):
        gl.models.SemiSupervisedGAN(2, 3, D=D, g_output="linear")
    with pytest.raises(TypeError, match="Sequential"):
        gl.models.SemiSupervisedGAN(2, 2, D=gl.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="features=3 must leave"):
        gl.models.SemiSupervisedGAN(2, 2, D=D, features=3)
    with pytest.raises(ValueError, match="g_output must be one of"):
        gl.models.SemiSupervisedGAN(2, 2, g_output="relu")
    custom = gl.models.SemiSupervisedGAN(2, 2, D=D, latent_dim=4, g_hidden=[8], g_output="linear")
    assert custom.features == 2          # default for a given D: the layers before its last dense layer


def test_a_given_discriminator_with_minibatch_discrimination_trains():
    X, y = rings(400, 0)
    idx = gl.models.balanced_subset(y, 5, seed=0)
    D = gl.nn.Sequential(gl.nn.Linear(2, 16, seed=0), gl.nn.LeakyReLU(),
                         gl.nn.MinibatchDiscrimination(16, 8, 3, seed=1), gl.nn.Linear(24, 2, seed=2))
    ss = gl.models.SemiSupervisedGAN(2, 2, D=D, latent_dim=4, g_hidden=[16], g_output="linear", seed=0)
    assert ss.features == 3                 # f(x) = the features with the minibatch features appended
    before = params(ss)
    hist = ss.fit(X[idx], y[idx], X, steps=10, batch_size=40, progress=False)
    assert np.isfinite(hist["g_loss"]).all() and not np.array_equal(params(ss)["D"], before["D"])


def test_a_row_coupling_discriminator_classifies_in_batches_of_the_training_size(tmp_path):
    """Minibatch features sum over the batch: logits read 1000 rows at once would be on another
    scale than training's; they are read in batches of fit's batch_size, so a row's logits depend
    only on its own batch of that size."""
    X, y = rings(400, 0)
    idx = gl.models.balanced_subset(y, 5, seed=0)
    D = gl.nn.Sequential(gl.nn.Linear(2, 16, seed=0), gl.nn.LeakyReLU(),
                         gl.nn.MinibatchDiscrimination(16, 8, 3, seed=1), gl.nn.Linear(24, 2, seed=2))
    ss = gl.models.SemiSupervisedGAN(2, 2, D=D, latent_dim=4, g_hidden=[16], g_output="linear", seed=0)
    ss.fit(X[idx], y[idx], X, steps=5, batch_size=40, progress=False)
    full = ss.logits(X[:400])
    np.testing.assert_array_equal(full[:40], ss.logits(X[:40]))
    np.testing.assert_array_equal(full[80:120], ss.logits(X[80:120]))
    assert not np.allclose(full[:20], ss.logits(X[:20]))          # in a batch of 20 they differ: the batch matters
    ss.save(str(tmp_path / "mbd.safetensors"))
    np.testing.assert_array_equal(gl.load(str(tmp_path / "mbd.safetensors")).logits(X[:400]), full)


# ---- argument policy (as tests/test_argument_policy.py) ---------------------------------------------------------
def _int_bads(name, low=1):
    return [(2.5, TypeError, f"{name} must be an int, got float"),
            (True, TypeError, f"{name} must be an int, got bool"),
            ("3", TypeError, f"{name} must be an int, got str"), (low - 1, ValueError, f"{name}.*>= ?{low}")]


def _real_bads(name):
    return [(float("nan"), ValueError, f"{name}.*finite"), (float("inf"), ValueError, f"{name}.*finite"),
            ("1", TypeError, f"{name} must be a real number"), (True, TypeError, f"{name} must be a real number")]


def _build(**kw):
    return gl.models.SemiSupervisedGAN(**{"data_dim": 2, "num_classes": 2, "latent_dim": 4, "d_hidden": [8, 8],
                                          "g_hidden": [8], "g_output": "linear", **kw})


def _fit(**kw):
    X, y = rings(60, 0)
    return _build().fit(**{"x_labelled": X[:10], "y_labelled": np.array([0, 1] * 5), "x_unlabelled": X,
                           "steps": 1, "batch_size": 20, "progress": False, **kw})


POLICY = ([(_build, a, np.int64(3), _int_bads(a, low)) for a, low in
           (("data_dim", 1), ("num_classes", 2), ("latent_dim", 1), ("seed", 0))]
          + [(_build, "features", np.int64(2), _int_bads("features"))]
          + [(_build, a, np.float32(0.5), _real_bads(a)) for a in ("input_noise", "hidden_noise", "unlabelled_weight")]
          + [(_build, "weight_norm", np.bool_(False), [("yes", TypeError, "weight_norm")]),
             (_build, "data_init", np.bool_(False), [("yes", TypeError, "data_init")]),
             (_build, "ema", np.float64(0.99), _real_bads("ema") + [(1.0, ValueError, r"ema \(a decay\) must be in \(0, 1\)"),
                                                                   (0.0, ValueError, "ema")]),
             (_build, "d_opt", gl.optim.Adam(1e-3), [("adam", TypeError, "d_opt")])]
          + [(_fit, a, np.int64(5), _int_bads(a, low)) for a, low in
             (("steps", 0), ("batch_size", 1), ("labelled_batch_size", 1))]
          + [(lambda **kw: gl.models.balanced_subset(**{"y": np.repeat(np.arange(3), 4), "per_class": 2, **kw}),
              a, np.int64(1), _int_bads(a, low)) for a, low in (("per_class", 1), ("seed", 0))]
          + [(lambda **kw: gl.nn.WeightNormLinear(**{"in_features": 2, "out_features": 2, **kw}), "init_scale",
              np.float64(2.0), _real_bads("init_scale")),
             (lambda **kw: gl.nn.WeightNormLinear(**{"in_features": 2, "out_features": 2, **kw}), "init_std",
              np.float32(0.1), _real_bads("init_std") + [(0.0, ValueError, "init_std")]),
             (lambda **kw: gl.nn.WeightNormLinear(**{"in_features": 2, "out_features": 2, **kw}), "train_scale",
              np.bool_(False), [("no", TypeError, "train_scale")]),
             (lambda **kw: gl.nn.GaussianNoise(**kw), "std", np.float32(0.1), _real_bads("std"))])


@pytest.mark.parametrize("call, arg, good, bads", POLICY, ids=[f"{c.__name__}-{a}" for c, a, _, _ in POLICY])
def test_argument_policy(call, arg, good, bads):
    call(**{arg: good})
    for value, err, match in bads:
        with pytest.raises(err, match=match):
            call(**{arg: value})
