"""gl.models.CycleGAN: history pool semantics, the losses against NumPy on fixed weights, a toy
translation learned, checkpoints that continue identically, bad input; gl.datasets.mnist_domains
and the translation metrics."""
import os

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from ganlib.models.history_pool import history_pool



def _have_mnist() -> bool:
    try:
        gl.datasets.mnist(limit=1)
    except FileNotFoundError:
        return False
    return True


needs_mnist = pytest.mark.skipif(not _have_mnist(), reason="MNIST files not found (set GANLIB_DATA)")
SMALL = dict(width=4, n_down=1, n_blocks=1, d_width=4)


# ---- the history pool -------------------------------------------------------------------------------------
def _pool_trainer(size, seed=0):
    """A trainer whose only phase passes the batch (rows holding their ids 1..n) through a pool."""
    lin = gl.nn.Linear(1, 1, seed=0)

    def phase(b):
        seen, keep = history_pool(b, "pool", b.data.x, size)
        keep["seen"] = seen
        return gl.Step(minimize={"lin": ops.mean(ops.square(lin(seen)))}, keep=keep)
    return gl.Trainer({"lin": lin}, {"lin": gl.optim.SGD(0.0)}, [gl.Phase("p", phase)], seed=seed)


def _pool_run(size, batch, steps, seed=0):
    X = np.arange(1, 5001, dtype=np.float32).reshape(-1, 1)
    tr = _pool_trainer(size, seed)
    rows = []
    for _ in range(steps):
        before = tr._kept["pool"].ravel().copy() if "pool" in tr._kept else np.zeros(size, np.float32)
        tr.fit({"data": gl.Data(x=X)}, steps=1, batch_size=batch, progress=False)
        rows.append((tr.last_batch("data", "x").ravel(), tr._kept["seen"].ravel().copy(), before,
                     tr._kept["pool"].ravel().copy(), float(tr._kept["pool_count"].ravel()[0])))
    return rows


def test_pool_fills_first_returning_the_new_images():
    rows = _pool_run(size=6, batch=2, steps=3)
    for k, (new, seen, _, pool, count) in enumerate(rows):
        np.testing.assert_array_equal(seen, new)                    # while filling, the fakes themselves
        assert count == 2 * (k + 1)
    np.testing.assert_array_equal(rows[-1][3], np.concatenate([r[0] for r in rows]))   # stored in order


def test_pool_then_swaps_half_of_the_time_uniformly():
    size = 5
    rows = _pool_run(size=size, batch=1, steps=size + 600, seed=3)[size:]
    swaps, slots = 0, np.zeros(size)
    for new, seen, before, after, count in rows:
        assert count == size
        if seen[0] == new[0]:                                       # returned the new image: pool untouched
            np.testing.assert_array_equal(after, before)
            continue
        swaps += 1
        slot = int(np.flatnonzero(before == seen[0])[0])            # a stored image came back ...
        slots[slot] += 1
        expect = before.copy()
        expect[slot] = new[0]                                       # ... and the new image took its place
        np.testing.assert_array_equal(after, expect)
    # p = 1/2 over 600 draws: 5 sigma is +-61
    assert 240 <= swaps <= 360, swaps
    assert slots.min() >= 30, slots                                # every slot drawn (expected ~60 each)


def test_pool_batch_swaps_distinct_slots_and_refuses_a_batch_larger_than_the_pool():
    rows = _pool_run(size=4, batch=4, steps=40, seed=1)[1:]
    for new, seen, before, after, _ in rows:
        took = [i for i in range(4) if seen[i] != new[i]]
        back = [seen[i] for i in took]
        assert len(set(back)) == len(back) and all(v in before for v in back)
        assert sorted(after) == sorted([v for v in before if v not in back] + [new[i] for i in took])
    with pytest.raises(ValueError, match="does not fit a pool"):
        _pool_run(size=3, batch=4, steps=1)


# ---- the losses on fixed weights --------------------------------------------------------------------------
def _frozen(identity_weight=0.5, **kw):
    opts = {k: gl.optim.SGD(0.0) for k in ("G", "F", "DA", "DB")}
    return gl.models.CycleGAN((1, 16, 16), identity_weight=identity_weight, optimizers=opts, seed=1, **SMALL,
                              **kw)


def _toy(n, seed):
    """Images of bright squares on a dark background in [-1, 1]."""
    rng = np.random.default_rng(seed)
    x = -np.ones((n, 1, 16, 16), np.float32)
    for i in range(n):
        for _ in range(2):
            r, c, s = rng.integers(0, 12), rng.integers(0, 12), rng.integers(3, 6)
            x[i, 0, r:r + s, c:c + s] = 1.0
    return x


def test_losses_equal_numpy_on_fixed_weights():
    cyc = _frozen()
    XA, XB = _toy(64, 0), -_toy(64, 1)
    h = cyc.fit(XA, XB, steps=1, batch_size=8, progress=False)
    a, b = cyc.last_batch("A", "x"), cyc.last_batch("B", "x")
    G, F = (lambda x: cyc.translate(x, "A->B")), (lambda x: cyc.translate(x, "B->A"))
    DA, DB = cyc.modules["DA"]._read, cyc.modules["DB"]._read
    fb, fa = G(a), F(b)
    cycle = np.abs(F(fb) - a).mean() + np.abs(G(fa) - b).mean()
    ident = np.abs(G(b) - b).mean() + np.abs(F(a) - a).mean()
    adv = np.square(DB(fb) - 1).mean() + np.square(DA(fa) - 1).mean()
    # first step: the pools are filling, so D sees this step's fakes
    d_a = 0.5 * np.square(DA(a) - 1).mean() + 0.5 * np.square(DA(fa)).mean()
    d_b = 0.5 * np.square(DB(b) - 1).mean() + 0.5 * np.square(DB(fb)).mean()
    for name, want in (("cycle", cycle), ("identity", ident), ("g_adv", adv), ("d_a", d_a), ("d_b", d_b)):
        assert abs(h[name][0] - want) <= 1e-5 * max(1.0, abs(want)), (name, h[name][0], want)
    assert "identity" not in _frozen(identity_weight=0).fit(XA, XB, steps=1, batch_size=8, progress=False)


def test_cycle_and_identity_weights_enter_the_generator_gradient():
    """G's gradient norm at the same first step depends on both weights (they are not ignored)."""
    XA, XB = _toy(32, 0), -_toy(32, 1)
    norms = {}
    for cw, iw in ((10.0, 0.5), (10.0, 0.0), (1.0, 0.0)):
        h = _frozen(identity_weight=iw, cycle_weight=cw).fit(XA, XB, steps=1, batch_size=8, progress=False)
        norms[(cw, iw)] = float(h["G_grad_norm"][0])
    assert len({round(v, 5) for v in norms.values()}) == 3, norms


# ---- learning -----------------------------------------------------------------------------------------------
def test_toy_inversion_is_learned_in_both_directions():
    XA, XB = _toy(400, 0), -_toy(400, 1)                     # unpaired: B inverts other images
    TA, TB = _toy(100, 2), -_toy(100, 3)
    # unpaired data admit other cycle-consistent maps than the true inversion (a square moved elsewhere),
    # and which one a small model finds depends on the seed: seed 0 at lr 1e-3 finds the inversion
    # (error ~0.03 of ~1 before training); seeds 1 and 2 stop near 0.5
    cyc = gl.models.CycleGAN((1, 16, 16), identity_weight=0.0, lr=1e-3, seed=0, **SMALL)

    def errors():
        return (np.abs(cyc.translate(TA, "A->B") + TA).mean(), np.abs(cyc.translate(TB, "B->A") + TB).mean())
    before = errors()
    hist = cyc.fit(XA, XB, steps=500, batch_size=8, progress=False)
    after = errors()
    assert np.isfinite(hist["cycle"]).all()
    assert hist["cycle"][-20:].mean() < 0.5 * hist["cycle"][:5].mean()
    assert after[0] < 0.2 * before[0] and after[1] < 0.2 * before[1], (before, after)


# ---- checkpoints -------------------------------------------------------------------------------------------
def test_checkpoint_round_trip_continues_identically(tmp_path):
    XA, XB = _toy(64, 0), -_toy(64, 1)
    cyc = gl.models.CycleGAN((1, 16, 16), pool_size=12, seed=5, **SMALL)
    cyc.fit(XA, XB, steps=4, batch_size=4, progress=False)        # the pool is full after 3 steps
    path = str(tmp_path / "cyc.safetensors")
    cyc.save(path)
    h1 = cyc.fit(XA, XB, steps=4, batch_size=4, progress=False)
    again = gl.load(path)
    assert isinstance(again, gl.models.CycleGAN) and again.pool_size == 12 and again.step == 4
    np.testing.assert_array_equal(again.pool("A").shape, (12, 1, 16, 16))
    h2 = again.fit(XA, XB, steps=4, batch_size=4, progress=False)
    for k in h1:
        np.testing.assert_array_equal(h1[k], h2[k], err_msg=k)
    for d in "AB":
        np.testing.assert_array_equal(cyc.pool(d), again.pool(d))
    for name in cyc.modules:
        np.testing.assert_array_equal(cyc.modules[name].buffer.data, again.modules[name].buffer.data)
    np.testing.assert_array_equal(cyc.translate(XA[:3]), again.translate(XA[:3]))
    np.testing.assert_array_equal(again.cycle(XB[:2], "B"), again.translate(again.translate(XB[:2], "B->A"), "A->B"))


# ---- bad input -----------------------------------------------------------------------------------------------
def test_domains_the_generators_cannot_map():
    with pytest.raises(ValueError, match="cannot map"):
        gl.models.CycleGAN((1, 28, 28), (1, 32, 32))
    with pytest.raises(ValueError, match="same channel count"):
        gl.models.CycleGAN((1, 16, 16), (3, 16, 16), **SMALL)
    rgb = gl.models.CycleGAN((1, 16, 16), (3, 16, 16), identity_weight=0, **SMALL)
    assert rgb.translate(np.zeros((2, 1, 16, 16)), "A->B").shape == (2, 3, 16, 16)
    G = gl.nn.resnet_generator((1, 16, 16), width=4, n_down=1, n_blocks=0, seed=0)
    with pytest.raises(ValueError, match="maps"):
        gl.models.CycleGAN((1, 16, 16), (1, 16, 16), G=gl.nn.Sequential(G, gl.nn.Flatten()), **SMALL)


def test_bad_data_is_refused_before_training():
    cyc = gl.models.CycleGAN((1, 16, 16), pool_size=8, seed=0, **SMALL)
    XA, XB = _toy(32, 0), -_toy(32, 1)
    before = {n: m.buffer.data.copy() for n, m in cyc.modules.items()}
    nan = XB.copy()
    nan[3, 0, 2, 2] = np.nan
    cases = [((XA, nan), ValueError, "NaN"), ((XA, XB[:0]), ValueError, "no images"),
             ((XA, np.zeros((5, 1, 28, 28), np.float32)), ValueError, "shape"),
             ((XA.reshape(32, -1), XB), ValueError, "shape"), ((XA.astype(str), XB), TypeError, "numeric")]
    for (xa, xb), err, msg in cases:
        with pytest.raises(err, match=msg):
            cyc.fit(xa, xb, steps=2, batch_size=4, progress=False)
    with pytest.raises(ValueError, match="larger than the history pool"):
        cyc.fit(XA, XB, steps=2, batch_size=16, progress=False)
    for n, m in cyc.modules.items():
        np.testing.assert_array_equal(m.buffer.data, before[n])
    assert cyc.step == 0
    with pytest.raises(ValueError, match="direction"):
        cyc.translate(XA, "A2B")
    with pytest.raises(ValueError, match="NaN"):
        cyc.translate(nan, "B->A")
    for bad in (dict(pool_size=-1), dict(identity_weight=-1.0), dict(cycle_weight=0.0)):
        with pytest.raises(ValueError):
            gl.models.CycleGAN((1, 16, 16), **SMALL, **bad)


def test_options_that_would_be_ignored_are_refused():
    nets = {k: gl.nn.resnet_generator((1, 16, 16), **{a: SMALL[a] for a in ("width", "n_down", "n_blocks")},
                                      seed=0) for k in "GF"}
    nets.update({k: gl.nn.patch_discriminator((1, 16, 16), width=4, seed=1) for k in ("DA", "DB")})
    cyc = gl.models.CycleGAN((1, 16, 16), **nets)
    assert all(cyc.modules[k] is nets[k] for k in nets)
    for opt in (dict(width=8), dict(n_blocks=2), dict(n_down=1), dict(d_width=8)):
        with pytest.raises(ValueError, match="would not be used"):
            gl.models.CycleGAN((1, 16, 16), **nets, **opt)
    opts = {k: gl.optim.Adam(1e-3) for k in ("G", "F", "DA", "DB")}
    with pytest.raises(ValueError, match="would not be used"):
        gl.models.CycleGAN((1, 16, 16), optimizers=opts, lr=1e-3, **SMALL)
    half = gl.models.CycleGAN((1, 16, 16), optimizers={"G": gl.optim.Adam(1e-3)}, lr=5e-4, **SMALL)
    assert half.optimizers["F"].config["lr"] == 5e-4 and half.optimizers["G"].config["lr"] == 1e-3


# ---- data and metrics ---------------------------------------------------------------------------------------
def test_domain_transforms_and_metrics():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 1, 6, 6)).astype(np.float32)
    for t in gl.datasets.TRANSFORMS:
        np.testing.assert_array_equal(gl.datasets.domain_untransform(gl.datasets.domain_transform(x, t), t), x)
    np.testing.assert_array_equal(gl.datasets.domain_transform(x, "invert+rotate"),
                                  np.rot90(-x, 1, axes=(2, 3)))
    assert gl.metrics.translation_pixel_error(-x, x, "invert") == 0.0
    assert abs(gl.metrics.translation_pixel_error(x, x, "invert") - np.abs(x).mean()) < 1e-6
    with pytest.raises(ValueError, match="transform"):
        gl.datasets.domain_transform(x, "flip")

    class Oracle:   # classifies by the mean pixel: a stand-in that sees through the transform or not
        def predict(self, images):
            return (np.asarray(images).mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    y = Oracle().predict(x)
    assert gl.metrics.translation_agreement(x, y, classifier=Oracle()) == 1.0
    assert gl.metrics.translation_agreement(-x, y, transform="invert", classifier=Oracle()) == 1.0
    assert gl.metrics.translation_agreement(-x, y, classifier=Oracle()) == 0.0
    with pytest.raises(ValueError, match="labels"):
        gl.metrics.translation_agreement(x, y[:2], classifier=Oracle())


@needs_mnist
def test_mnist_domains_are_disjoint_halves():
    XA, yA, XB, yB = gl.datasets.mnist_domains("invert+rotate", seed=3, limit=1000)
    assert XA.shape == XB.shape == (500, 1, 28, 28) and yA.shape == yB.shape == (500,)
    X, y = gl.datasets.mnist(limit=1000)
    back = gl.datasets.domain_untransform(XB, "invert+rotate")
    rows = {r.tobytes(): i for i, r in enumerate(X)}
    ia = [rows[r.tobytes()] for r in XA]
    ib = [rows[r.tobytes()] for r in back]      # B is exactly the transform of MNIST images ...
    assert not set(ia) & set(ib) and len(set(ia) | set(ib)) == 1000   # ... of the other half
    np.testing.assert_array_equal(y[ia], yA)
    np.testing.assert_array_equal(y[ib], yB)
    again = gl.datasets.mnist_domains("invert+rotate", seed=3, limit=1000)
    np.testing.assert_array_equal(again[0], XA)
    assert not np.array_equal(gl.datasets.mnist_domains("invert+rotate", seed=4, limit=1000)[1], yA)


@needs_mnist
def test_mnist_example_runs():
    import json
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, os.path.join(root, "examples", "cyclegan_mnist.py"), "--steps", "3",
                          "--limit", "200", "--batch", "4"], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(gl.__file__))))
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["steps"] == 3 and 0 <= res["trained"]["agreement_a2b"] <= 1
