"""gl.Trainer: several networks, phases and data streams in one C loop; checkpoints and bad input."""
import os

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

HERE = os.path.dirname(os.path.abspath(__file__))
NS = gl.losses.get_objective("nonsaturating")


def mmd2(a, b, s=1.0):
    """Biased squared MMD with a Gaussian kernel, in NumPy (float64)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    k = lambda x, y: np.exp(-((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) / (2 * s * s))
    return k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()


# ---- an adversarial autoencoder: three networks, three phases ---------------------------------------
def aae_phases():
    def recon(b):
        m = b.modules
        l = ops.mean(ops.square(m.Dec(m.E(b.data.x)) - b.data.x))
        return gl.Step(minimize={"E": l, "Dec": l}, log={"recon": l})

    def disc(b):
        m = b.modules
        z = ops.randn((b.data.x.shape[0], 2))
        l = NS.d_loss(m.Dz(z), m.Dz(ops.stop_gradient(m.E(b.data.x))))
        return gl.Step(minimize={"Dz": l}, log={"d_loss": l})

    def gen(b):
        m = b.modules
        l = NS.g_loss(m.Dz(m.E(b.data.x)))
        return gl.Step(minimize={"E": l}, log={"g_loss": l})
    return [gl.Phase("recon", recon), gl.Phase("disc", disc), gl.Phase("gen", gen)]


def make_aae(seed=0, **kw):
    mods = dict(E=gl.nn.mlp(2, [64, 64], 2, seed=seed), Dec=gl.nn.mlp(2, [64, 64], 2, seed=seed + 1),
                Dz=gl.nn.mlp(2, [64, 64], 1, seed=seed + 2))
    opts = dict(E=gl.optim.Adam(1e-3), Dec=gl.optim.Adam(1e-3), Dz=gl.optim.Adam(2e-4, betas=(0.5, 0.999)))
    return gl.Trainer(mods, opts, aae_phases(), seed=seed, **kw)


def test_adversarial_autoencoder_reconstructs_and_codes_move_to_the_prior():
    """Four clusters encoded to 2-D codes: the adversarial phases pull the codes' distribution to the
    N(0, I) prior (MMD to prior samples falls, and ends far below a plain autoencoder's)."""
    X = gl.datasets.gaussian_mixture(n=8000, centers=[[-2, -2], [2, 2], [-2, 2], [2, -2]], std=0.2, seed=0)
    prior = np.random.default_rng(1).normal(size=(500, 2))
    aae = make_aae()
    start = mmd2(aae.modules["E"](X[:500]), prior)
    recon, mmds = [], []
    for _ in range(6):
        h = aae.fit({"data": gl.Data(x=X)}, steps=500, batch_size=128, progress=False, log_every=500)
        recon.append(h["recon"])
        mmds.append(mmd2(aae.modules["E"](X[:500]), prior))
    assert set(h) >= {"step", "recon", "d_loss", "g_loss", "Dec_grad_norm", "Dz_grad_norm",
                      "E_grad_norm.recon", "E_grad_norm.gen"}
    assert recon[-1][-100:].mean() < 0.2 * recon[0][:10].mean()
    assert aae.optimizers["E"].t == 6000 and aae.optimizers["Dec"].t == 3000 and aae.optimizers["Dz"].t == 3000
    plain = gl.Trainer({"E": gl.nn.mlp(2, [64, 64], 2, seed=0), "Dec": gl.nn.mlp(2, [64, 64], 2, seed=1)},
                       {"E": gl.optim.Adam(1e-3), "Dec": gl.optim.Adam(1e-3)}, aae_phases()[:1])
    plain.fit({"data": gl.Data(x=X)}, steps=3000, batch_size=128, progress=False, log_every=3000)
    control = mmd2(plain.modules["E"](X[:500]), prior)
    adversarial = float(np.median(mmds[-3:]))   # the adversarial game oscillates: judge the last three
    assert adversarial < 0.5 * start and adversarial < 0.5 * control, (start, mmds, control)


# ---- data streams ----------------------------------------------------------------------------------------
def test_labels_travel_with_their_images_across_epochs():
    n, k = 37, 5
    rows = np.arange(n)
    x = np.stack([rows % k, rows], axis=1).astype(np.float32)     # column 0 is the row's class
    classes = np.arange(k, dtype=np.float32)[:, None]

    def check(b):
        x, y = b.data.x, b.data.y                                   # y: one-hot (batch, k)
        mismatch = ops.sum(ops.square(ops.slice(x, 0, 1) - ops.matmul(y, ops.constant(classes))))
        w = b.modules.net(x)
        return gl.Step(minimize={"net": ops.mean(ops.square(w))}, log={"mismatch": mismatch,
                                                                     "ids": ops.sum(ops.slice(x, 1, 2))})
    net = gl.nn.mlp(2, [4], 1, seed=0)
    tr = gl.Trainer({"net": net}, {"net": gl.optim.SGD(1e-3)}, [gl.Phase("check", check)], grad_norms=False)
    h = tr.fit({"data": gl.Data(x=x, y=rows % k)}, steps=40, batch_size=8, progress=False)   # ~9 epochs
    assert np.all(h["mismatch"] == 0)
    assert tr.last_batch("data", "y").shape == (8, k)
    np.testing.assert_array_equal(tr.last_batch("data", "y").argmax(1), tr.last_batch("data", "x")[:, 0])


def test_two_streams_shuffle_independently_and_cover_their_rows_once_per_epoch():
    na, nb = 12, 10
    A, B = np.arange(na, dtype=np.float32)[:, None], 100 + np.arange(nb, dtype=np.float32)[:, None]

    def both(b):
        sa, sb = ops.sum(b.A.x), ops.sum(b.B.x)
        w = b.modules.net(b.A.x)
        return gl.Step(minimize={"net": ops.mean(ops.square(w))}, log={"sum_a": sa, "sum_b": sb})
    net = gl.nn.mlp(1, [4], 1, seed=0)
    tr = gl.Trainer({"net": net}, {"net": gl.optim.SGD(1e-3)}, [gl.Phase("both", both)], grad_norms=False)
    data = {"A": gl.Data(x=A, batch_size=4), "B": gl.Data(x=B, batch_size=5)}
    seen_a, seen_b = [], []
    for _ in range(30):
        h = tr.fit(data, steps=1, progress=False)
        a, b = tr.last_batch("A", "x")[:, 0], tr.last_batch("B", "x")[:, 0]
        assert h["sum_a"][0] == a.sum() and h["sum_b"][0] == b.sum()   # what the phase saw
        seen_a.append(a), seen_b.append(b)
    ea = np.concatenate(seen_a).reshape(-1, na)       # 3 batches of 4 per epoch of A
    eb = np.concatenate(seen_b).reshape(-1, nb)       # 2 batches of 5 per epoch of B
    for e in ea:
        np.testing.assert_array_equal(np.sort(e), np.arange(na))
    for e in eb:
        np.testing.assert_array_equal(np.sort(e), 100 + np.arange(nb))
    assert len({tuple(e) for e in ea}) > 1 and len({tuple(e) for e in eb}) > 1   # reshuffled each epoch
    # independent generators: A's order does not depend on B being there
    solo = gl.Trainer({"net": gl.nn.mlp(1, [4], 1, seed=0)}, {"net": gl.optim.SGD(1e-3)},
                      [gl.Phase("a", lambda b: gl.Step(minimize={"net": ops.mean(ops.square(b.modules.net(b.A.x)))}))],
                      grad_norms=False)
    got = []
    for _ in range(6):
        solo.fit({"A": gl.Data(x=A, batch_size=4)}, steps=1, progress=False)
        got.append(solo.last_batch("A", "x")[:, 0])
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(seen_a[:6]))


def test_redraw_gives_each_repeat_a_fresh_batch_and_later_phases_reuse_it():
    X = np.arange(40, dtype=np.float32)[:, None]

    def crit(b):
        return gl.Step(minimize={"net": ops.mean(ops.square(b.modules.net(b.data.x)))},
                       log={"crit_sum": ops.sum(b.data.x)})

    def after(b):
        return gl.Step(minimize={"net": ops.mean(ops.square(b.modules.net(b.data.x)))},
                       log={"after_sum": ops.sum(b.data.x)})
    tr = gl.Trainer({"net": gl.nn.mlp(1, [4], 1, seed=0)}, {"net": gl.optim.SGD(1e-4)},
                    [gl.Phase("crit", crit, repeats=3, redraw=True), gl.Phase("after", after)], grad_norms=False)
    h = tr.fit(gl.Data(x=X), steps=3, batch_size=4, progress=False)
    np.testing.assert_array_equal(h["crit_sum"], h["after_sum"])      # the last critic batch is reused
    assert tr.last_batch("data", "x").shape == (4, 1)
    # 3 steps x 3 draws of 4 rows = 36 distinct rows of epoch 0
    assert tr._setup["fit"].get_sampler(0)[0] == 36


# ---- optimizers bind to a module's own parameters ------------------------------------------------------
def test_an_optimizer_for_the_encoder_of_an_autoencoder_steps_the_encoder_only():
    E, Dec = gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(2, [8], 2, seed=1)
    ae = gl.nn.Sequential(E, Dec)
    X = gl.datasets.ring(n=256, seed=0)
    dec0, e0 = Dec.state_dict(), E.parameters()["0.weight"].copy()
    off, size = Dec.param_range()
    dec_slice0 = ae.buffer.data[off:off + size].copy()

    def recon(b):
        return gl.Step(minimize={"E": ops.mean(ops.square(b.modules.ae(b.data.x) - b.data.x))})
    tr = gl.Trainer({"ae": ae, "E": E}, {"E": gl.optim.Adam(1e-2)}, [gl.Phase("recon", recon)])
    tr.fit(X, steps=20, batch_size=64, progress=False)
    np.testing.assert_array_equal(ae.buffer.data[off:off + size], dec_slice0)
    for k, v in Dec.state_dict().items():
        np.testing.assert_array_equal(v, dec0[k], err_msg=k)
    assert not np.array_equal(E.parameters()["0.weight"], e0)
    assert tr.optimizers["E"]._c.n == E.num_parameters()


# ---- multi-input modules ---------------------------------------------------------------------------------
def test_modules_take_several_inputs():
    G = gl.nn.Sequential(gl.nn.Concat(), gl.nn.Linear(2 + 3, 2, seed=0))
    z, y = np.ones((4, 2), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    w, bias = G.parameters()["1.weight"], G.parameters()["1.bias"]
    np.testing.assert_allclose(G(z, y), np.concatenate([z, y], 1) @ w.T + bias, rtol=1e-6)
    with pytest.raises(TypeError, match="mix"):
        tr = ops.Trace()
        with ops.tracing(tr):
            G(tr.input((4, 2)), y)


# ---- bit-exact resume ------------------------------------------------------------------------------------
def three_phase_two_streams(seed=0):
    def recon(b):
        m = b.modules
        l = ops.mean(ops.square(m.Dec(m.E(b.A.x)) - b.A.x))
        return gl.Step(minimize={"E": l, "Dec": l}, log={"recon": l}, keep={"codes": m.E(b.A.x)})

    def disc(b):
        m = b.modules
        l = NS.d_loss(m.Dz(b.B.x), m.Dz(b.kept.codes + ops.randn((8, 2), std=0.1)))
        return gl.Step(minimize={"Dz": l}, log={"d_loss": l})

    def gen(b):
        m = b.modules
        l = NS.g_loss(m.Dz(m.E(b.A.x)))
        return gl.Step(minimize={"E": l}, log={"g_loss": l})
    mods = dict(E=gl.nn.mlp(2, [16], 2, seed=seed), Dec=gl.nn.mlp(2, [16], 2, seed=seed + 1),
                Dz=gl.nn.mlp(2, [16], 1, seed=seed + 2))
    opts = dict(E=gl.optim.Adam(1e-3), Dec=gl.optim.Adam(1e-3), Dz=gl.optim.SGD(1e-2, momentum=0.9))
    phases = [gl.Phase("recon", recon), gl.Phase("disc", disc, repeats=2, redraw=["B"]), gl.Phase("gen", gen)]
    return gl.Trainer(mods, opts, phases, ema={"Dec": 0.9}, running_average=["Dz"], seed=seed), phases


def test_resume_of_three_phases_two_streams_and_ema_is_bit_exact(tmp_path):
    A = gl.datasets.ring(n=100, seed=0)
    B = np.random.default_rng(0).normal(size=(70, 2)).astype(np.float32)
    data = lambda: {"A": gl.Data(x=A, batch_size=8), "B": gl.Data(x=B, batch_size=8)}
    n = 23
    a, _ = three_phase_two_streams()
    ha = a.fit(data(), steps=2 * n, progress=False, log_every=5)
    b, phases = three_phase_two_streams()
    b.fit(data(), steps=n, progress=False)
    path = str(tmp_path / "t.safetensors")
    b.save(path)
    c = gl.load(path, phases=phases)
    hc = c.fit(data(), steps=n, progress=False, log_every=7)
    for name in ("E", "Dec", "Dz"):
        np.testing.assert_array_equal(a.modules[name].buffer.data, c.modules[name].buffer.data, err_msg=name)
        np.testing.assert_array_equal(a.optimizers[name]._c.state, c.optimizers[name]._c.state, err_msg=name)
        assert a.optimizers[name].t == c.optimizers[name].t
    np.testing.assert_array_equal(a.averaged("Dec").buffer.data, c.averaged("Dec").buffer.data)
    np.testing.assert_array_equal(a.running_average("Dz"), c.running_average("Dz"))
    for col in ("recon", "d_loss", "g_loss", "step"):
        np.testing.assert_array_equal(ha[col][n:], hc[col], err_msg=col)
    # a trainer rebuilt by hand resumes through load_state too
    d, _ = three_phase_two_streams()
    d.load_state(path)
    hd = d.fit(data(), steps=n, progress=False)
    np.testing.assert_array_equal(ha["g_loss"][n:], hd["g_loss"])


def test_a_gan_checkpoint_of_the_previous_format_resumes_bit_for_bit():
    """tests/data/gan_v1.safetensors was written by gl.GAN before gl.Trainer (ganlib.GAN/1), and
    gan_v1_next.npz holds what the next 5 steps computed: first by that version; regenerated from the
    same checkpoint when the normal sampler became vectorised Box-Muller (2026-12-07: other bits for
    the latent draws, the same distribution), so it now pins the migrated state against regressions."""
    X = gl.datasets.ring(n=2000, modes=8, radius=1.0, std=0.05, seed=0)
    gan = gl.load(os.path.join(HERE, "data", "gan_v1.safetensors"))
    assert isinstance(gan, gl.GAN) and gan.step == 10
    h = gan.fit(X, steps=5, batch_size=32, progress=False)
    ref = np.load(os.path.join(HERE, "data", "gan_v1_next.npz"))
    for k in ("G", "D", "G_ema"):
        np.testing.assert_array_equal(getattr(gan, k).buffer.data, ref[k], err_msg=k)
    np.testing.assert_array_equal(h["d_loss"], ref["d_loss"])
    np.testing.assert_array_equal(h["g_loss"], ref["g_loss"])
    np.testing.assert_array_equal(gan.sample(7), ref["sample"])


def test_training_steps_of_several_streams_allocate_nothing():
    tr, _ = three_phase_two_streams()
    data = {"A": gl.Data(x=gl.datasets.ring(n=100, seed=0), batch_size=8),
            "B": gl.Data(x=np.ones((50, 2), np.float32), batch_size=8)}
    tr.fit(data, steps=2, progress=False)
    before = gl._C.alloc_count()
    tr.fit(data, steps=300, progress=False, log_every=100)
    assert gl._C.alloc_count() == before


# ---- failures ----------------------------------------------------------------------------------------------
def simple(phase_fn=None, **kw):
    def fn(b):
        l = ops.mean(ops.square(b.modules.net(b.data.x)))
        return gl.Step(minimize={"net": l}, log={"loss": l})
    return gl.Trainer({"net": gl.nn.mlp(2, [8], 1, seed=0)}, {"net": gl.optim.SGD(0.1)},
                      [gl.Phase("p", phase_fn or fn)], **kw)


def test_bad_streams_are_refused_with_their_names():
    X = np.ones((10, 2), np.float32)
    tr = simple()
    before = tr.modules["net"].buffer.data.copy()
    cases = [
        (dict(data=gl.Data(x=X, y=np.zeros(9, int))), ValueError,
         r"stream 'data'.*one row per sample.*'x' has 10 rows and column 'y' has 9"),
        (dict(data=gl.Data(x=X, y=np.array([0, 1, 2] * 3 + [5]), num_classes=3)), ValueError,
         r"stream 'data': array 'y': labels must be in \[0, 3\), got 5 at index 9"),
        (dict(data=gl.Data(x=X, y=-np.ones(10, int))), ValueError, r"labels must be in"),
        (dict(data=gl.Data(x=np.where(np.arange(10)[:, None] == 4, np.nan, X))), ValueError,
         r"stream 'data': column 'x' has 1 rows with NaN or inf values \(first: row 4\)"),
        (dict(data=gl.Data(x=X), other=gl.Data(x=np.full((5, 3), np.inf, np.float32))), ValueError,
         r"stream 'other': column 'x' has 5 rows with NaN"),
        (dict(data=gl.Data(x=X.astype(str))), TypeError, "must be numeric"),
        (dict(data=gl.Data(x=X[:0])), ValueError, r"n >= 1 rows"),
        (dict(data=gl.Data(x=X, batch_size=11)), ValueError, r"batch_size 11 is larger than the data \(10 rows\)"),
        (dict(other=gl.Data(x=X)), ValueError, r"phase 'p' reads stream 'data', but fit got the streams \['other'\]"),
        (dict(data=gl.Data(z=X)), ValueError, r"reads 'data.x', but stream 'data' has the arrays \['z'\]"),
        (dict(data=gl.Data(x=np.zeros((10, 3), np.float32))), ValueError, r"expects|features|shape"),
    ]
    for data, exc, match in cases:
        with pytest.raises(exc, match=match):
            tr.fit(data, steps=2, batch_size=4, progress=False)
    np.testing.assert_array_equal(tr.modules["net"].buffer.data, before)
    assert tr.step == 0


def test_bad_trainers_are_refused():
    net, other = gl.nn.mlp(2, [8], 1, seed=0), gl.nn.mlp(2, [8], 1, seed=1)
    ph = [gl.Phase("p", lambda b: gl.Step(minimize={"other": ops.mean(b.modules.other(b.data.x))}))]
    tr = gl.Trainer({"net": net, "other": other}, {"net": gl.optim.SGD(0.1)}, ph)
    with pytest.raises(ValueError, match="phase 'p' minimises module 'other', which has no optimizer"):
        tr.fit(np.ones((8, 2), np.float32), steps=1, batch_size=4, progress=False)
    E, Dec = gl.nn.mlp(2, [4], 2, seed=0), gl.nn.mlp(2, [4], 2, seed=1)
    ae = gl.nn.Sequential(E, Dec)
    with pytest.raises(ValueError, match="modules 'ae' and 'E' share parameters"):
        gl.Trainer({"ae": ae, "E": E}, {"ae": gl.optim.SGD(0.1), "E": gl.optim.SGD(0.1)}, ph)
    opt = gl.optim.SGD(0.1)
    with pytest.raises(ValueError, match="one optimizer object is given to two modules"):
        gl.Trainer({"net": net, "other": other}, {"net": opt, "other": opt}, ph)
    with pytest.raises(TypeError, match="gl.optim.Adam"):
        gl.Trainer({"net": net}, {"net": "adam"}, ph)
    with pytest.raises(ValueError, match="not a module"):
        gl.Trainer({"net": net}, {"nett": gl.optim.SGD(0.1)}, ph)
    with pytest.raises(ValueError, match="phase names must differ"):
        gl.Trainer({"net": net}, {}, [ph[0], ph[0]])
    with pytest.raises(ValueError, match="reserved"):
        gl.Trainer({"kept": net}, {}, ph)
    with pytest.raises(ValueError, match="decay"):
        gl.Trainer({"net": net}, {}, ph, ema={"net": 1.0})
    with pytest.raises(TypeError, match="gl.Step"):
        gl.Trainer({"net": net}, {"net": gl.optim.SGD(0.1)}, [gl.Phase("q", lambda b: 1.0)]).fit(
            np.ones((8, 2), np.float32), steps=1, batch_size=4, progress=False)


def test_one_optimizer_cannot_train_two_trainers():
    opt = gl.optim.Adam(1e-3)
    simple_fn = lambda b: gl.Step(minimize={"net": ops.mean(b.modules.net(b.data.x))})
    first = gl.Trainer({"net": gl.nn.mlp(2, [4], 1, seed=0)}, {"net": opt}, [gl.Phase("p", simple_fn)])
    with pytest.raises(ValueError, match="already trains module 'net' of a Trainer"):
        gl.Trainer({"net": gl.nn.mlp(2, [4], 1, seed=1)}, {"net": opt}, [gl.Phase("p", simple_fn)])
    with pytest.raises(ValueError, match="already trains"):
        gl.compile_step(lambda x: ops.mean(first.modules["net"](x)), first.modules["net"], opt)
    del first
    import gc
    gc.collect()   # the claim ends with its owner
    gl.Trainer({"net": gl.nn.mlp(2, [4], 1, seed=1)}, {"net": opt}, [gl.Phase("p", simple_fn)])


def test_a_non_finite_loss_stops_before_the_update():
    def exploding(b):
        l = ops.mean(ops.exp(b.modules.net(b.data.x) * 1e3))
        return gl.Step(minimize={"net": l}, log={"loss": l})
    tr = simple(exploding)
    X = np.ones((8, 2), np.float32) * 10
    before = tr.modules["net"].buffer.data.copy()
    with pytest.raises(FloatingPointError, match=r"step 0: loss \(phase 'p'\) is inf"):
        tr.fit(X, steps=3, batch_size=4, progress=False)
    np.testing.assert_array_equal(tr.modules["net"].buffer.data, before)
    assert tr.step == 0


def test_fit_from_a_callback_is_refused_and_the_outer_run_survives():
    tr = simple()
    X = gl.datasets.ring(n=64, seed=0)
    errors = []

    def cb(trainer, step, logs):
        try:
            trainer.fit(X, steps=1, batch_size=8, progress=False)
        except RuntimeError as e:
            errors.append(str(e))
    h = tr.fit(X, steps=10, batch_size=8, log_every=3, callbacks=[cb], progress=False)
    assert len(errors) == 4 and "already fitting" in errors[0]
    np.testing.assert_array_equal(h["step"], np.arange(1, 11))
    assert tr.step == 10 and np.all(np.isfinite(h["loss"]))


# ---- checkpoint failures ----------------------------------------------------------------------------------
def test_a_failed_restore_changes_nothing(tmp_path):
    X = gl.datasets.ring(n=64, seed=0)
    src = simple(seed=3)
    src.fit(X, steps=5, batch_size=8, progress=False)
    good = str(tmp_path / "good.safetensors")
    src.save(good)
    # another network: shapes differ
    wide = gl.Trainer({"net": gl.nn.mlp(2, [9], 1, seed=0)}, {"net": gl.optim.SGD(0.1)},
                      [gl.Phase("p", lambda b: gl.Step(minimize={"net": ops.mean(b.modules.net(b.data.x))}))])
    before = wide.modules["net"].buffer.data.copy()
    with pytest.raises(ValueError, match=r"good.safetensors: .*shape"):
        wide.load_state(good)
    np.testing.assert_array_equal(wide.modules["net"].buffer.data, before)
    # a file whose optimizer state is damaged after valid parameters: nothing is written
    tensors, meta = gl.io.safetensors.load_safetensors(good)
    tensors["optimizer/net/state"] = np.full_like(tensors["optimizer/net/state"], np.nan) \
        if tensors["optimizer/net/state"].size else np.full(1, np.nan, np.float32)
    bad = str(tmp_path / "bad.safetensors")
    gl.io.safetensors.save_safetensors(bad, tensors, meta)
    fresh = simple(seed=3)
    before = fresh.modules["net"].buffer.data.copy()
    with pytest.raises(ValueError, match="bad.safetensors: the state of optimizer 'net'"):
        fresh.load_state(bad)
    np.testing.assert_array_equal(fresh.modules["net"].buffer.data, before)
    # step counter out of range
    import json
    st = json.loads(meta["state"])
    st["optimizers"]["net"]["t"] = 2 ** 63 - 1
    gl.io.safetensors.save_safetensors(bad, gl.io.safetensors.load_safetensors(good)[0], dict(meta, state=json.dumps(st)))
    with pytest.raises(ValueError, match="step count"):
        fresh.load_state(bad)
    np.testing.assert_array_equal(fresh.modules["net"].buffer.data, before)
    assert fresh.optimizers["net"].t == 0


@pytest.mark.parametrize("edit", ["not json", "list", "deep", "missing step", "foreign", "no phases"])
def test_damaged_or_foreign_checkpoints_get_a_value_error_naming_the_file(tmp_path, edit):
    import json
    tr = simple()
    tr.fit(gl.datasets.ring(n=64, seed=0), steps=2, batch_size=8, progress=False)
    good = str(tmp_path / "good.safetensors")
    tr.save(good)
    tensors, meta = gl.io.safetensors.load_safetensors(good)
    path = str(tmp_path / "edited.safetensors")
    kwargs = {"phases": tr.phases}
    if edit == "not json":
        meta["state"] = "{not json"
    elif edit == "list":
        meta["config"] = "[1, 2]"
    elif edit == "deep":
        meta["state"] = "[" * 100_000 + "]" * 100_000
    elif edit == "missing step":
        st = json.loads(meta["state"])
        del st["step"]
        meta["state"] = json.dumps(st)
    elif edit == "foreign":
        meta["format"] = "somebody.else/3"
    elif edit == "no phases":
        kwargs = {}
    gl.io.safetensors.save_safetensors(path, tensors, meta)
    with pytest.raises(ValueError, match="edited.safetensors"):
        gl.load(path, **kwargs)


def test_save_refuses_what_load_would_refuse(tmp_path):
    tr = simple()
    tr.modules["net"].buffer.data[0] = np.nan
    with pytest.raises(ValueError, match="'net/0.weight' holds NaN"):
        tr.save(str(tmp_path / "nan.safetensors"))
    assert not os.path.exists(tmp_path / "nan.safetensors")


def test_a_restored_sampler_must_fit_the_data(tmp_path):
    X = gl.datasets.ring(n=64, seed=0)
    tr = simple()
    tr.fit(X, steps=3, batch_size=8, progress=False)
    path = str(tmp_path / "s.safetensors")
    tr.save(path)
    back = gl.load(path, phases=tr.phases)
    with pytest.raises(ValueError, match=r"sampler of stream 'data' is for 64 rows in batches of 8, but fit got "
                                         r"64 rows in batches of 16"):
        back.fit(X, steps=1, batch_size=16, progress=False)
    with pytest.raises(ValueError, match="for 64 rows"):
        back.fit(X[:32], steps=1, batch_size=8, progress=False)
    back.forget_samplers()
    back.fit(X[:32], steps=1, batch_size=8, progress=False)
    assert back.step == 4


def test_new_arrays_continue_the_random_streams_instead_of_replaying_them():
    """fit(X) then fit(a copy of X) equals one long fit: batch order and phase RNGs carry over."""
    X = gl.datasets.ring(n=96, seed=0)
    one, two = make_aae(seed=4), make_aae(seed=4)
    h1 = one.fit(gl.Data(x=X), steps=30, batch_size=16, progress=False)
    two.fit(gl.Data(x=X), steps=12, batch_size=16, progress=False)
    h2 = two.fit(gl.Data(x=X.copy()), steps=18, batch_size=16, progress=False)
    np.testing.assert_array_equal(h1["d_loss"][12:], h2["d_loss"])
    for name in ("E", "Dec", "Dz"):
        np.testing.assert_array_equal(one.modules[name].buffer.data, two.modules[name].buffer.data)


def test_callbacks_come_every_log_every_steps_across_history_blocks(monkeypatch):
    import ganlib.trainer as trainer_module
    monkeypatch.setattr(trainer_module, "_MAX_BLOCK", 7)     # C calls of at most 7 steps
    tr = simple()
    calls = []
    h = tr.fit(gl.datasets.ring(n=64, seed=0), steps=40, batch_size=8, log_every=15,
               callbacks=[lambda t, step, logs: calls.append((step, logs["loss"]))], progress=False)
    assert [c[0] for c in calls] == [15, 30, 40]
    np.testing.assert_array_equal([c[1] for c in calls], h["loss"][[14, 29, 39]])
    np.testing.assert_array_equal(h["step"], np.arange(1, 41))


def test_fitting_the_same_arrays_again_traces_and_converts_nothing():
    traced = []

    def fn(b):
        traced.append(1)
        return gl.Step(minimize={"net": ops.softmax_cross_entropy(b.modules.net(b.d.x), b.d.y)})
    tr = gl.Trainer({"net": gl.nn.mlp(3, [4], 5, seed=0)}, {"net": gl.optim.SGD(0.1)}, [gl.Phase("p", fn)])
    X, y = np.ones((40, 3)), np.arange(40) % 5                  # float64 and integer labels: both converted
    for _ in range(3):
        tr.fit({"d": gl.Data(x=X, y=y)}, steps=1, batch_size=8, progress=False)
    assert len(traced) == 1
    tr.fit({"d": gl.Data(x=X.copy(), y=y)}, steps=1, batch_size=8, progress=False)
    assert len(traced) == 2                                       # another array: set up again
    gan = gl.GAN(gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(2, [8], 1, seed=1))
    Xi = np.arange(80).reshape(40, 2) % 7                          # integer pixels are data for a GAN
    gan.fit(Xi, steps=1, batch_size=8, progress=False)
    setup = gan._setup
    gan.fit(Xi, steps=1, batch_size=8, progress=False)
    assert gan._setup is setup
