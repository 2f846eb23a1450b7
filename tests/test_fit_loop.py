"""The training loop in C (csrc/train/gl_fit.c) through ganlib._C.Fit: sampler,
phases and repeats, history, post actions, non-finite checks, Ctrl-C,
bit-exact resume, no allocation per step, input validation."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from ganlib import _C

B = 4          # batch rows
NF = 3         # features; data columns: [row id, features..., target]
W = NF + 2


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n, NF)).astype(np.float32)
    target = feats @ np.array([1.5, -2.0, 0.5], np.float32) + 0.25 + 0.1 * rng.normal(size=n).astype(np.float32)
    return np.column_stack([np.arange(n, dtype=np.float32), feats, target]).astype(np.float32)


def fit1(data, batch, seed):
    """A Fit over one stream with one column (the layout these tests use)."""
    return _C.Fit([{"name": "data", "columns": {"x": data}, "batch": batch, "seed": seed}])


def feed(node):
    """The feeds of a phase reading the batch at INPUT `node` (-1: none)."""
    return [] if node == -1 else [(node, 0, 0)]


def selector(cols, shape):
    s = np.zeros(shape, np.float32)
    for r, c in cols:
        s[r, c] = 1.0
    return s


class LinReg:
    """y = feats @ w + b fitted by MSE. Outputs: loss, dw, db (sinks into grads),
    then the row id of each batch row (scalars, to record the batch)."""

    def __init__(self, noise=False, seed=0):
        self.params = np.array([0.1, -0.2, 0.3, 0.0], np.float32)
        self.grads = np.zeros(4, np.float32)
        g = self.g = _C.Graph()
        self.x = x = g.input((B, W))
        feats = g.matmul(x, g.const(selector([(1 + i, i) for i in range(NF)], (W, NF))))
        t = g.matmul(x, g.const(selector([(W - 1, 0)], (W, 1))))
        ids = g.matmul(g.const(selector([(0, 0)], (1, W))), x, trans_b=True)      # (1, B)
        w = g.param(self.params, 0, (NF, 1))
        b = g.param(self.params, NF, (1, 1))
        pred = g.binary("add", g.matmul(feats, w), b)
        if noise:   # makes the program's own random stream part of the state
            pred = g.binary("add", pred, g.random("normal", (B, 1), 0.0, 0.01))
        r = g.binary("sub", pred, t)
        loss = g.unary("scale", g.sum_to(g.unary("square", r), ()), 1.0 / B)
        dw, db = g.grad(loss, [w, b])
        outs = [loss, dw, db] + [g.slice(ids, k, 1) for k in range(B)]
        sinks = [None, self.grads[:NF], self.grads[NF:]] + [None] * B
        self.prog = _C.Program(g, outs, sinks=sinks, seed=seed)

    def phase(self, opt, **kw):
        d = dict(program=self.prog, feeds=feed(self.x), optimizers=[opt], check=[(0, "loss"), (1, "dw")],
                 record=[(0, 0)] + [(3 + k, 1 + k) for k in range(B)])
        d.update(kw)
        return d


def sgd(params, grads, lr=0.05):
    return _C.Optimizer("sgd", params, grads, lr)


# ---------------------------------------------------------------- sampler, 1 phase

@pytest.mark.parametrize("n", [20, 22])   # 22: a partial last batch is dropped every epoch
def test_one_phase_matches_program_step_and_epochs_visit_rows_once(n):
    data = make_data(n)
    m = LinReg()
    opt = sgd(m.params, m.grads)
    fit = fit1(data, B, 7)
    fit.set_phases([m.phase(opt, redraw=[0])])
    steps = 4 * (n // B) + 3
    hist = np.full((steps, 1 + B), np.nan, np.float32)
    assert fit.run(steps, hist) == steps
    assert fit.step == steps

    ids = hist[:, 1:].astype(np.int64)
    per_epoch = n // B
    for e in range(steps // per_epoch):
        rows = ids[e * per_epoch:(e + 1) * per_epoch].ravel()
        assert len(set(rows.tolist())) == per_epoch * B          # no row twice in an epoch
        if n % B == 0:
            assert sorted(rows.tolist()) == list(range(n))       # every row exactly once
    assert not np.array_equal(ids[:per_epoch], ids[per_epoch:2 * per_epoch])   # reshuffled
    pos, epoch, _, _, perm = fit.get_sampler(0)
    assert epoch == steps // per_epoch and pos == (steps % per_epoch) * B
    assert sorted(perm.tolist()) == list(range(n))
    np.testing.assert_array_equal(fit.batch(0, 0), data[ids[-1]])

    # the same steps by hand, on the same batches
    h = LinReg()
    hopt = sgd(h.params, h.grads)
    for s in range(steps):
        loss = h.prog.step([data[ids[s]]], [hopt])[0]
        assert loss.item() == hist[s, 0]
    np.testing.assert_array_equal(m.params, h.params)
    assert opt.t == hopt.t == steps


def test_same_seed_same_batches_other_seed_other_batches():
    data = make_data(40)

    def ids(seed):
        m = LinReg()
        fit = fit1(data, B, seed)
        fit.set_phases([m.phase(sgd(m.params, m.grads), redraw=[0])])
        hist = np.zeros((10, 1 + B), np.float32)
        fit.run(10, hist)
        return hist[:, 1:]

    np.testing.assert_array_equal(ids(3), ids(3))
    assert not np.array_equal(ids(3), ids(4))


# ---------------------------------------------------------------- phases, repeats, history

def counter_program(width=W, reads_batch=True):
    """loss = sum(c) (+ 0 * sum(batch)): gradient 1, so SGD(lr=1) counts runs down.
    Outputs: loss, dc (sink), c before the update, sum of the batch's row ids."""
    c = np.zeros(1, np.float32)
    gc_ = np.zeros(1, np.float32)
    g = _C.Graph()
    cn = g.param(c, 0, (1,))
    loss = g.sum_to(cn, ())
    outs_extra = []
    x = -1
    if reads_batch:
        x = g.input((B, width))
        idsum = g.sum_to(g.matmul(x, g.const(selector([(0, 0)], (width, 1)))), ())
        loss = g.binary("add", loss, g.unary("scale", g.sum_to(x, ()), 0.0))
        outs_extra = [idsum]
    (dc,) = g.grad(loss, [cn])
    outs = [loss, dc, g.unary("scale", g.sum_to(cn, ()), 1.0)] + outs_extra
    prog = _C.Program(g, outs, sinks=[None, gc_] + [None] * (len(outs) - 2))
    return dict(c=c, grad=gc_, g=g, x=x, prog=prog, opt=_C.Optimizer("sgd", c, gc_, 1.0))


def test_two_phases_repeats_and_history():
    data = make_data(100)
    d, gph = counter_program(), counter_program()
    fit = fit1(data, B, 1)
    fit.set_phases([
        dict(program=d["prog"], repeats=3, redraw=[0], feeds=feed(d["x"]), optimizers=[d["opt"]],
             record=[(2, 0), (3, 2)]),
        dict(program=gph["prog"], feeds=feed(gph["x"]), optimizers=[gph["opt"]], record=[(2, 1), (3, 3)]),
    ])
    steps = 5
    hist = np.full((steps, 5), -7.0, np.float32)
    assert fit.run(steps, hist) == steps
    assert d["c"][0] == -3 * steps and d["opt"].t == 3 * steps
    assert gph["c"][0] == -steps and gph["opt"].t == steps
    s = np.arange(steps)
    np.testing.assert_array_equal(hist[:, 0], -(3 * s + 2))   # last repeat's value, before its update
    np.testing.assert_array_equal(hist[:, 1], -s)
    np.testing.assert_array_equal(hist[:, 2], hist[:, 3])      # phase 1 reuses phase 0's last batch
    np.testing.assert_array_equal(hist[:, 4], -7.0)            # unrecorded column untouched
    pos, epoch = fit.get_sampler(0)[:2]
    assert (pos, epoch) == (3 * steps * B, 0)                 # only fresh draws consume data


def test_phase_without_batch_input_draws_nothing():
    data = make_data(40)
    p = counter_program(reads_batch=False)
    fit = fit1(data, B, 1)
    fit.set_phases([dict(program=p["prog"], feeds=feed(-1), redraw=[0], optimizers=[p["opt"]])])
    before = fit.get_sampler(0)
    assert fit.run(3, np.zeros((3, 0), np.float32)) == 3
    assert fit.get_sampler(0)[:4] == before[:4]
    assert p["c"][0] == -3


def test_lr_change_between_runs_is_picked_up():
    data = make_data(40)
    p = counter_program()
    fit = fit1(data, B, 1)
    fit.set_phases([dict(program=p["prog"], feeds=feed(p["x"]), optimizers=[p["opt"]])])
    fit.run(2, np.zeros((2, 0), np.float32))
    p["opt"].lr = 0.5
    fit.run(2, np.zeros((2, 0), np.float32))
    assert p["c"][0] == -3.0 and p["opt"].t == 4


# ---------------------------------------------------------------- post actions

def test_post_actions_clip_ema_running_mean_match_numpy():
    n = 5
    gvec = np.array([1.0, -2.0, 0.5, 3.0, -0.25], np.float32)
    params = np.array([0.3, -0.1, 0.2, 0.05, -0.4], np.float32)
    grads = np.zeros(n, np.float32)
    g = _C.Graph()
    p = g.param(params, 0, (n,))
    loss = g.sum_to(g.binary("mul", p, g.const(gvec)), ())
    (dp,) = g.grad(loss, [p])
    prog = _C.Program(g, [loss, dp], sinks=[None, grads])
    lr = 0.1
    opt = _C.Optimizer("sgd", params, grads, lr)
    ema = params.copy()
    mean = np.zeros(n, np.float32)
    count = np.zeros(1, np.int64)
    fit = fit1(make_data(8), B, 0)
    fit.set_phases([dict(program=prog, optimizers=[opt],
                         post=[("clip", params, 0.5), ("ema", params, ema, 0.9), ("running_mean", params, mean, count)])])

    rp, rema, rmean = params.copy(), ema.copy(), mean.copy()
    keep, take = np.float32(0.9), np.float32(1.0 - 0.9)
    steps = 12
    for k in range(steps):
        rp = np.clip(rp - np.float32(lr) * gvec, -0.5, 0.5).astype(np.float32)
        rema = (keep * rema + take * rp).astype(np.float32)
        rmean = (rmean + (rp - rmean) / np.float32(k + 1)).astype(np.float32)
    assert fit.run(steps, np.zeros((steps, 0), np.float32)) == steps
    np.testing.assert_allclose(params, rp, rtol=1e-6, atol=1e-7)
    assert np.abs(params).max() <= 0.5 and np.any(np.abs(params) == 0.5)
    np.testing.assert_allclose(ema, rema, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mean, rmean, rtol=1e-5, atol=1e-6)
    assert count[0] == steps


# ---------------------------------------------------------------- non-finite values

@pytest.mark.parametrize("vector", [False, True])
def test_nan_at_step_k_raises_and_applies_no_update(vector):
    c = np.array([5.5, 3.5, 9.0], np.float32)   # c[1] goes 3.5, 2.5, 1.5, 0.5, -0.5: log is nan at step 4
    grads = np.zeros(3, np.float32)
    g = _C.Graph()
    cn = g.param(c, 0, (3,))
    loss = g.sum_to(cn, ())
    (dc,) = g.grad(loss, [cn])
    logc = g.unary("log", cn)
    checked = logc if vector else g.sum_to(logc, ())
    prog = _C.Program(g, [loss, dc, checked], sinks=[None, grads, None])
    opt = _C.Optimizer("sgd", c, grads, 1.0)
    fit = fit1(make_data(8), B, 0)
    fit.set_phases([dict(program=prog, optimizers=[opt], check=[(0, "loss"), (1, "grad"), (2, "log c")],
                         record=[(0, 0)])])
    hist = np.full((10, 1), np.nan, np.float32)
    with pytest.raises(FloatingPointError, match=r"^step 4: log c\[1\] is nan$" if vector else r"^step 4: log c is nan$"):
        fit.run(10, hist)
    assert fit.step == 4
    np.testing.assert_array_equal(c, np.array([5.5, 3.5, 9.0], np.float32) - 4)   # as before step 4
    assert opt.t == 4
    assert np.isfinite(hist[:4]).all() and np.isnan(hist[4:]).all()
    with pytest.raises(FloatingPointError, match="step 4"):     # still stuck on the same step
        fit.run(1, np.zeros((1, 1), np.float32))
    np.testing.assert_array_equal(c, np.array([1.5, -0.5, 5.0], np.float32))


# ---------------------------------------------------------------- Ctrl-C

def test_keyboard_interrupt_stops_at_a_step_boundary(sigint_raises):
    data = make_data(64)
    m = LinReg()
    opt = sgd(m.params, m.grads, lr=0.01)
    fit = fit1(data, B, 0)
    fit.set_phases([m.phase(opt, redraw=[0], record=[(0, 0)])])
    steps = 5_000_000
    hist = np.full((steps, 1), np.nan, np.float32)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            fit.run(steps, hist)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 5.0
    filled = int(np.count_nonzero(~np.isnan(hist[:, 0])))
    assert 0 < fit.step < steps
    assert fit.step == filled and np.isnan(hist[filled:]).all()
    assert opt.t == fit.step
    assert np.isfinite(m.params).all()
    # usable afterwards
    assert fit.run(3, np.zeros((3, 1), np.float32)) == 3 and fit.step == filled + 3


# ---------------------------------------------------------------- resume

class Setup:
    def __init__(self, data):
        self.m = LinReg(noise=True, seed=11)
        self.opt = _C.Optimizer("adam", self.m.params, self.m.grads, 0.01)
        self.ema = self.m.params.copy()
        self.fit = fit1(data, B, 5)
        self.fit.set_phases([self.m.phase(self.opt, redraw=[0], post=[("ema", self.m.params, self.ema, 0.95)])])

    def run(self, n):
        hist = np.zeros((n, 1 + B), np.float32)
        assert self.fit.run(n, hist, chunk_steps=3) == n
        return hist

    def save(self):
        return dict(step=self.fit.step, sampler=self.fit.get_sampler(0), state=self.opt.state.copy(), t=self.opt.t,
                    params=self.m.params.copy(), ema=self.ema.copy(), rng=self.m.prog.rng_state)

    def restore(self, s):
        self.fit.step = s["step"]
        self.fit.set_sampler(0, s["sampler"])
        self.opt.state[:] = s["state"]
        self.opt.t = s["t"]
        self.m.params[:] = s["params"]
        self.ema[:] = s["ema"]
        self.m.prog.rng_state = s["rng"]


def test_resume_is_bit_identical():
    data = make_data(30)   # 7 batches per epoch: the resume point falls mid-epoch
    N = 10
    a = Setup(data)
    a.run(N)
    saved = a.save()
    ha = a.run(N)

    b = Setup(data)
    b.run(3)               # move it off its initial state, then overwrite everything
    b.restore(saved)
    hb = b.run(N)
    np.testing.assert_array_equal(ha, hb)
    np.testing.assert_array_equal(a.m.params, b.m.params)
    np.testing.assert_array_equal(a.ema, b.ema)
    np.testing.assert_array_equal(a.opt.state, b.opt.state)
    assert a.fit.step == b.fit.step == 2 * N
    assert a.m.prog.rng_state == b.m.prog.rng_state


def test_sampler_state_validation():
    fit = fit1(make_data(6), 2, 0)
    pos, epoch, seed, counter, perm = fit.get_sampler(0)
    assert perm.dtype == np.int64 and perm.shape == (6,)
    with pytest.raises(ValueError, match="permutation"):
        fit.set_sampler(0, (0, 0, seed, counter, np.array([0, 1, 2, 3, 4, 4])))
    with pytest.raises(ValueError, match=r"perm\[2\] = 9"):
        fit.set_sampler(0, (0, 0, seed, counter, np.array([0, 1, 9, 3, 4, 5])))
    with pytest.raises(ValueError, match="shape"):
        fit.set_sampler(0, (0, 0, seed, counter, np.arange(5)))
    with pytest.raises(ValueError, match="pos"):
        fit.set_sampler(0, (7, 0, seed, counter, perm))
    with pytest.raises(TypeError):
        fit.set_sampler(0, (0, 0, seed, counter))
    with pytest.raises(TypeError):
        fit.set_sampler(0, (0, 0, seed, counter, np.arange(6, dtype=np.float64)))
    fit.set_sampler(0, (3, 2, 1, 2, [5, 4, 3, 2, 1, 0]))
    pos, epoch, seed, counter, perm = fit.get_sampler(0)
    assert (pos, epoch, seed, counter) == (3, 2, 1, 2) and perm.tolist() == [5, 4, 3, 2, 1, 0]
    with pytest.raises(ValueError):
        fit.step = -1


# ---------------------------------------------------------------- allocation

def test_run_allocates_nothing_in_c():
    m = LinReg()
    fit = fit1(make_data(50), B, 0)
    fit.set_phases([m.phase(sgd(m.params, m.grads), redraw=[0])])
    fit.run(1, np.zeros((1, 1 + B), np.float32))
    before = _C.alloc_count()
    fit.run(200, np.zeros((200, 1 + B), np.float32))
    assert _C.alloc_count() == before


# ---------------------------------------------------------------- bad inputs

def test_bad_data_and_batch():
    with pytest.raises(ValueError, match=r"stream 'data': batch_size 6 is larger than the data \(5 rows\)"):
        fit1(make_data(5), 6, 0)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        fit1(make_data(5), 0, 0)
    bad = make_data(10)
    bad[3, 1] = np.nan
    bad[7, 2] = np.inf
    with pytest.raises(ValueError, match=r"stream 'data': column 'x' has 2 rows with NaN or inf values \(first: row 3\)"):
        fit1(bad, 2, 0)
    with pytest.raises(ValueError, match="empty"):
        fit1(np.zeros((0, 3), np.float32), 1, 0)
    with pytest.raises(ValueError, match="2-D"):
        fit1(np.zeros(5, np.float32), 1, 0)
    with pytest.raises(TypeError):
        fit1(np.array([["a"]]), 1, 0)
    with pytest.raises(ValueError):
        fit1(make_data(5), 1, -1)
    # other float dtypes are converted
    d64 = make_data(9).astype(np.float64)
    fit = fit1(d64, 3, 0)
    assert fit.batch(0, 0).dtype == np.float32 and fit.batch(0, 0).shape == (3, W)


def test_bad_phases():
    data = make_data(20)
    m = LinReg()
    opt = sgd(m.params, m.grads)
    fit = fit1(data, 8, 0)    # batches of 8 rows, but the program reads (4, W)
    with pytest.raises(ValueError, match=r"input node \d+ has shape \(4, 5\), but batches of stream 'data' column 0 have shape \(8, 5\)"):
        fit.set_phases([m.phase(opt)])
    fit = fit1(data, B, 0)
    with pytest.raises(ValueError, match="is not an input the program reads"):
        fit.set_phases([m.phase(opt, feeds=feed(m.x + 1))])
    with pytest.raises(ValueError, match=r"reads input node \d+, which no feed fills"):
        fit.set_phases([m.phase(opt, feeds=feed(-1))])
    with pytest.raises(ValueError, match="fed twice"):
        fit.set_phases([m.phase(opt, feeds=[(m.x, 0, 0), (m.x, 0, 0)])])
    with pytest.raises(ValueError, match="reads stream 1, but the fit has 1"):
        fit.set_phases([m.phase(opt, feeds=[(m.x, 1, 0)])])
    with pytest.raises(ValueError, match="reads column 2 of stream 'data', which has 1"):
        fit.set_phases([m.phase(opt, feeds=[(m.x, 0, 2)])])

    # a second input the loop cannot feed
    g = _C.Graph()
    x = g.input((B, W))
    z = g.input((B, 1))
    p = _C.Program(g, [g.sum_to(g.binary("add", g.matmul(x, g.const(np.ones((W, 1), np.float32))), z), ())])
    with pytest.raises(ValueError, match=r"reads input node \d+, which no feed fills"):
        fit.set_phases([dict(program=p, feeds=feed(x))])

    with pytest.raises(ValueError, match="unknown key"):
        fit.set_phases([m.phase(opt, repeat=3)])
    with pytest.raises(ValueError, match="repeats"):
        fit.set_phases([m.phase(opt, repeats=0)])
    with pytest.raises(ValueError, match="only scalars"):
        fit.set_phases([m.phase(opt, record=[(1, 0)])])
    with pytest.raises(ValueError, match="output_index"):
        fit.set_phases([m.phase(opt, check=[(99, "x")])])
    with pytest.raises(TypeError, match="Optimizer"):
        fit.set_phases([m.phase(opt, optimizers=[object()])])
    with pytest.raises(TypeError, match="Program"):
        fit.set_phases([dict(program=object())])
    with pytest.raises(ValueError, match="required"):
        fit.set_phases([dict(feeds=feed(-1))])
    with pytest.raises(ValueError):
        fit.set_phases([])
    with pytest.raises(ValueError, match="unknown action"):
        fit.set_phases([m.phase(opt, post=[("clamp", m.params, 1.0)])])
    for c in (-1.0, 1e300, float("nan")):      # the binding converts, the C core judges
        with pytest.raises(ValueError, match="clip bound must be finite and >= 0"):
            fit.set_phases([m.phase(opt, post=[("clip", m.params, c)])])
    for d in (1.5, -1e300, float("nan")):
        with pytest.raises(ValueError, match=r"EMA decay must be in \[0, 1\]"):
            fit.set_phases([m.phase(opt, post=[("ema", m.params, np.zeros(4, np.float32), d)])])
    with pytest.raises(ValueError, match="avg"):
        fit.set_phases([m.phase(opt, post=[("ema", m.params, np.zeros(3, np.float32), 0.9)])])
    with pytest.raises(TypeError, match="count"):
        fit.set_phases([m.phase(opt, post=[("running_mean", m.params, np.zeros(4, np.float32),
                                            np.zeros(1, np.int32))])])
    with pytest.raises(_C.GanlibError, match="set_phases"):
        fit.run(1, np.zeros((1, 5), np.float32))

    fit.set_phases([m.phase(opt)])
    with pytest.raises(ValueError, match="column 2 but history has 2 columns"):
        fit.run(1, np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match=r"history must have shape \(steps, ncols\) = \(3, ncols\), got \(2, 5\)"):
        fit.run(3, np.zeros((2, 5), np.float32))
    with pytest.raises(TypeError):
        fit.run(1, np.zeros((1, 5), np.float64))
    with pytest.raises(ValueError):
        fit.run(-1, np.zeros((0, 5), np.float32))
    assert fit.run(0, np.zeros((0, 5), np.float32)) == 0


def test_running_fit_refuses_concurrent_use():
    m = LinReg()
    opt = sgd(m.params, m.grads, lr=0.001)
    fit = fit1(make_data(64), B, 0)
    fit.set_phases([m.phase(opt, redraw=[0], record=[])])
    steps = 600_000
    hist = np.zeros((steps, 0), np.float32)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("done", fit.run(steps, hist)))
    t.start()
    time.sleep(0.05)
    if not t.is_alive():
        t.join()
        pytest.skip("the run finished before the checks")
    errors = []
    for call in (lambda: fit.run(1, np.zeros((1, 0), np.float32)),
                 lambda: fit.set_phases([m.phase(opt)]),
                 lambda: setattr(fit, "step", 0),
                 lambda: fit.step,
                 lambda: fit.get_sampler(0),
                 lambda: m.prog.run([np.zeros((B, W), np.float32)]),
                 lambda: opt.step(),
                 lambda: _C.set_num_threads(_C.get_num_threads())):
        try:
            call()
            errors.append(None)
        except _C.GanlibError as e:
            errors.append(str(e))
    alive = t.is_alive()
    t.join()
    if not alive:
        pytest.skip("the run finished during the checks")
    assert all(errors), errors
    assert out["done"] == steps
