"""ganlib.optim against torch.optim, plus state, validation, clipping and EMA."""
import gc

import numpy as np
import pytest

from ganlib import _C, optim

N = 257  # odd, so vectorised and scalar-tail code paths both run
STEPS = 100

_rng = np.random.default_rng(1234)
START = _rng.normal(0.0, 1.5, N).astype(np.float32)
CURV = _rng.uniform(0.5, 2.0, N).astype(np.float32)
TARGET = _rng.uniform(-3.0, 3.0, N).astype(np.float32)


def objective_grad(p: np.ndarray) -> np.ndarray:
    """Gradient of sum(curv/2 (p - target)^2 + p^4 / 80), in float32."""
    p = np.asarray(p, dtype=np.float32)
    return (CURV * (p - TARGET) + np.float32(0.05) * p * p * p).astype(np.float32)


# (id, ganlib class, kwargs, torch class name, torch state keys in ganlib's slot order)
CASES = [
    ("sgd", optim.SGD, dict(lr=0.05), "SGD", []),
    ("sgd_momentum", optim.SGD, dict(lr=0.02, momentum=0.9, dampening=0.1), "SGD", ["momentum_buffer"]),
    ("sgd_nesterov", optim.SGD, dict(lr=0.02, momentum=0.9, nesterov=True), "SGD", ["momentum_buffer"]),
    ("sgd_weight_decay", optim.SGD, dict(lr=0.05, momentum=0.5, weight_decay=0.1), "SGD", ["momentum_buffer"]),
    ("sgd_weight_decay_plain", optim.SGD, dict(lr=0.05, weight_decay=0.2), "SGD", []),
    ("adam", optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.01), "Adam",
     ["exp_avg", "exp_avg_sq"]),
    ("adam_default", optim.Adam, dict(), "Adam", ["exp_avg", "exp_avg_sq"]),
    ("adam_amsgrad", optim.Adam, dict(lr=1e-2, amsgrad=True), "Adam",
     ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
    ("adamw", optim.AdamW, dict(lr=1e-2, weight_decay=0.1), "AdamW", ["exp_avg", "exp_avg_sq"]),
    ("adamw_amsgrad", optim.AdamW, dict(lr=1e-2, betas=(0.5, 0.9), amsgrad=True), "AdamW",
     ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
    ("rmsprop", optim.RMSProp, dict(lr=1e-2), "RMSprop", ["square_avg"]),
    ("rmsprop_momentum", optim.RMSProp, dict(lr=1e-3, momentum=0.9, alpha=0.9), "RMSprop",
     ["square_avg", "momentum_buffer"]),
    ("rmsprop_centered", optim.RMSProp, dict(lr=1e-2, centered=True, weight_decay=0.05), "RMSprop",
     ["square_avg", "grad_avg"]),
    ("rmsprop_centered_momentum", optim.RMSProp, dict(lr=1e-3, centered=True, momentum=0.5), "RMSprop",
     ["square_avg", "momentum_buffer", "grad_avg"]),
]


def _close(actual: np.ndarray, expected: np.ndarray, rel: float = 1e-5) -> None:
    tol = rel * np.maximum(1.0, np.abs(expected))
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    assert np.all(err <= tol), f"max abs diff {err.max():.3g} (worst at {int(np.argmax(err - tol))})"


@pytest.mark.parametrize("name,cls,kwargs,tname,tkeys", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, cls, kwargs, tname, tkeys):
    torch = pytest.importorskip("torch")
    params = START.copy()
    grads = np.zeros(N, np.float32)
    opt = cls(**kwargs).bind(params, grads)

    tparam = torch.nn.Parameter(torch.from_numpy(START.copy()))
    topt = getattr(torch.optim, tname)([tparam], foreach=False, **kwargs)

    for step in range(STEPS):
        if step == STEPS // 2:  # a schedule changing lr mid-run
            opt.lr = opt.lr * 0.5
            topt.param_groups[0]["lr"] *= 0.5
        grads[:] = objective_grad(params)
        opt.step()
        tparam.grad = torch.from_numpy(objective_grad(tparam.detach().numpy()))
        topt.step()

    expected = tparam.detach().numpy()
    assert not np.array_equal(params, START)
    _close(params, expected)
    assert opt.t == STEPS

    # The state buffer holds torch's state tensors, slot by slot.  (A layout
    # check: states such as g/avg near the optimum amplify the ulp-level
    # differences of the parameters, so the bound is looser than for params.)
    state = opt.state_dict()["state"]
    assert state.size == len(tkeys) * N
    tstate = topt.state[tparam]
    for k, key in enumerate(tkeys):
        _close(state[k * N:(k + 1) * N], tstate[key].numpy(), rel=1e-3)


@pytest.mark.parametrize("name,cls,kwargs,tname,tkeys", CASES, ids=[c[0] for c in CASES])
def test_state_dict_resumes_bit_for_bit(name, cls, kwargs, tname, tkeys):
    params = START.copy()
    grads = np.zeros(N, np.float32)
    opt = cls(**kwargs).bind(params, grads)
    for _ in range(10):
        grads[:] = objective_grad(params)
        opt.step()
    saved = opt.state_dict()
    saved_params = params.copy()
    for _ in range(10):
        grads[:] = objective_grad(params)
        opt.step()

    # Resume into a bound optimizer ...
    p2 = saved_params.copy()
    g2 = np.zeros(N, np.float32)
    opt2 = cls(**kwargs).bind(p2, g2)
    opt2.load_state_dict(saved)
    # ... and into an unbound one that is bound afterwards.
    p3 = saved_params.copy()
    g3 = np.zeros(N, np.float32)
    opt3 = cls(**kwargs)
    opt3.load_state_dict(saved)
    opt3.bind(p3, g3)
    assert opt2.t == opt3.t == 10
    for _ in range(10):
        g2[:] = objective_grad(p2)
        opt2.step()
        g3[:] = objective_grad(p3)
        opt3.step()
    np.testing.assert_array_equal(p2, params)
    np.testing.assert_array_equal(p3, params)
    np.testing.assert_array_equal(opt2.state_dict()["state"], opt.state_dict()["state"])
    # The saved state is a copy, not a view of the live buffer.
    assert saved["t"] == 10 and opt.t == 20


def test_state_dict_contents_and_errors():
    p = START.copy()
    g = np.ones(N, np.float32)
    opt = optim.Adam(1e-3).bind(p, g)
    opt.step()
    sd = opt.state_dict()
    assert sd["kind"] == "adam" and sd["t"] == 1
    assert sd["config"] == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}
    assert sd["state"].dtype == np.float32 and sd["state"].shape == (2 * N,)

    other = optim.SGD(0.1, momentum=0.9).bind(START.copy(), np.zeros(N, np.float32))
    with pytest.raises(ValueError, match="kind"):
        other.load_state_dict(sd)
    small = optim.Adam(1e-3).bind(np.zeros(3, np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="state"):
        small.load_state_dict(sd)
    ams = optim.Adam(1e-3, amsgrad=True).bind(START.copy(), np.zeros(N, np.float32))
    with pytest.raises(ValueError, match="amsgrad"):
        ams.load_state_dict(sd)
    with pytest.raises(ValueError, match="state"):
        optim.Adam(1e-3).bind(p.copy(), g.copy()).load_state_dict({k: v for k, v in sd.items() if k != "state"})
    # lr is restored; a failed load leaves the optimizer untouched.
    fresh = optim.Adam(5e-4).bind(START.copy(), np.zeros(N, np.float32))
    fresh.load_state_dict(sd)
    assert fresh.lr == 1e-3 and fresh.t == 1
    unbound = optim.Adam(1e-3)
    unbound.load_state_dict(sd)
    with pytest.raises(ValueError, match="state"):
        unbound.bind(np.zeros(3, np.float32), np.zeros(3, np.float32))


INVALID = [
    (optim.SGD, dict(lr=-0.1), "lr"),
    (optim.SGD, dict(lr=float("nan")), "lr"),
    (optim.SGD, dict(momentum=-0.5), "momentum"),
    (optim.SGD, dict(weight_decay=-1e-4), "weight_decay"),
    (optim.SGD, dict(nesterov=True), "nesterov"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov"),
    (optim.Adam, dict(lr=-1e-3), "lr"),
    (optim.Adam, dict(betas=(1.0, 0.999)), "betas"),
    (optim.Adam, dict(betas=(0.9, -0.1)), "betas"),
    (optim.Adam, dict(betas=(0.9,)), "betas"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.Adam, dict(weight_decay=-0.1), "weight_decay"),
    (optim.AdamW, dict(betas=(0.9, 1.5)), "betas"),
    (optim.AdamW, dict(weight_decay=float("inf")), "weight_decay"),
    (optim.RMSProp, dict(alpha=1.5), "alpha"),
    (optim.RMSProp, dict(alpha=-0.1), "alpha"),
    (optim.RMSProp, dict(eps=-1.0), "eps"),
    (optim.RMSProp, dict(momentum=-0.9), "momentum"),
    (optim.RMSProp, dict(weight_decay=-1.0), "weight_decay"),
]


@pytest.mark.parametrize("cls,kwargs,field", INVALID, ids=[f"{c.__name__}-{f}-{i}" for i, (c, _, f) in enumerate(INVALID)])
def test_invalid_config_raises_value_error(cls, kwargs, field):
    with pytest.raises(ValueError, match=field):
        cls(**kwargs)


def test_invalid_config_types_and_lr_setter():
    with pytest.raises(TypeError, match="lr"):
        optim.Adam(lr="fast")
    with pytest.raises(TypeError, match="betas"):
        optim.Adam(betas=0.9)
    with pytest.raises(TypeError, match="nesterov"):
        optim.SGD(nesterov="yes")
    opt = optim.SGD(0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    assert opt.lr == 0.1
    opt.bind(np.zeros(4, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="lr"):
        opt.lr = float("inf")
    opt.lr = 0.25
    assert opt.lr == 0.25 and opt._c.lr == 0.25
    with pytest.raises(ValueError, match="kind"):
        _C.Optimizer("lion", np.zeros(4, np.float32), np.zeros(4, np.float32), 1e-3)


def _arrays():
    return np.zeros(8, np.float32), np.zeros(8, np.float32)


@pytest.mark.parametrize(
    "params,grads,exc,match",
    [
        (np.zeros(8, np.float64), np.zeros(8, np.float32), TypeError, "params.*float32"),
        (np.zeros(8, np.float32), np.zeros(8, np.int32), TypeError, "grads.*float32"),
        ([0.0] * 8, np.zeros(8, np.float32), TypeError, "params.*ndarray"),
        (np.zeros(8, ">f4"), np.zeros(8, np.float32), TypeError, "params.*float32"),
        (np.zeros((2, 4), np.float32), np.zeros(8, np.float32), ValueError, "params.*1-D"),
        (np.zeros(16, np.float32)[::2], np.zeros(8, np.float32), ValueError, "params.*contiguous"),
        (np.zeros(8, np.float32), np.zeros(9, np.float32), ValueError, "same size"),
    ],
    ids=["f64", "int_grads", "list", "big_endian", "2d", "strided", "size"],
)
def test_bad_arrays(params, grads, exc, match):
    with pytest.raises(exc, match=match):
        optim.Adam().bind(params, grads)


def test_read_only_and_aliased_arrays():
    p, g = _arrays()
    p.flags.writeable = False
    with pytest.raises(ValueError, match="params.*writeable"):
        optim.SGD().bind(p, g)
    buf = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match="share memory"):
        optim.SGD().bind(buf[:8], buf[4:12])


def test_binding_rules_and_lifetime():
    opt = optim.SGD(0.5)
    with pytest.raises(RuntimeError, match="bind"):
        opt.step()
    p = np.ones(8, np.float32)
    g = np.ones(8, np.float32)
    opt.bind(p, g)
    opt.step()
    c0 = opt._c
    assert opt.bind(p, g) is opt and opt._c is c0 and opt.t == 1  # same arrays: no-op
    p2, g2 = _arrays()
    opt.bind(p2, g2)  # other arrays (e.g. a grown model buffer): fresh state
    assert opt._c is not c0 and opt.t == 0
    opt.bind(p, g)
    # The C optimizer keeps its arrays alive.
    c = opt._c
    del opt, p, g
    gc.collect()
    c.step()
    assert c.t == 1 and c.kind == "sgd" and c.slots == 0 and c.state.shape == (0,)
    assert "sgd" in repr(c)


def test_state_is_a_writeable_view():
    p, g = _arrays()
    g[:] = 1.0
    opt = optim.SGD(0.1, momentum=0.9).bind(p, g)
    opt.step()
    view = opt._c.state
    np.testing.assert_array_equal(view, np.ones(8, np.float32))
    view[:] = 2.0
    assert np.all(opt._c.state == 2.0)
    with pytest.raises(ValueError):
        view.resize(100)
    opt._c.t = 5
    assert opt.t == 5
    with pytest.raises(ValueError, match="t"):
        opt._c.t = -1


def test_large_update_matches_small():
    """The GIL-free path (large n) computes exactly what the small path does."""
    big = np.tile(START, 200)  # 51400 parameters
    gbig = np.zeros_like(big)
    small = START.copy()
    gsmall = np.zeros_like(small)
    ob = optim.Adam(1e-2, amsgrad=True).bind(big, gbig)
    os_ = optim.Adam(1e-2, amsgrad=True).bind(small, gsmall)
    for _ in range(5):
        gbig[:] = np.tile(objective_grad(small), 200)
        gsmall[:] = objective_grad(small)
        ob.step()
        os_.step()
    np.testing.assert_array_equal(big.reshape(200, N), np.broadcast_to(small, (200, N)))


def test_clip_weights_matches_numpy():
    w = (_rng.normal(0, 1, (7, 33)) * 0.05).astype(np.float32)
    expected = np.clip(w, -0.01, 0.01)
    optim.clip_weights(w, 0.01)
    np.testing.assert_array_equal(w, expected)
    v = np.array([np.nan, -np.inf, np.inf, 0.5], np.float32)
    optim.clip_weights(v, 0.25)
    assert np.isnan(v[0]) and list(v[1:]) == [-0.25, 0.25, 0.25]
    with pytest.raises(ValueError, match="c"):
        optim.clip_weights(w, -1.0)
    with pytest.raises(TypeError, match="float32"):
        optim.clip_weights(w.astype(np.float64), 0.01)
    with pytest.raises(ValueError, match="contiguous"):
        optim.clip_weights(w[:, ::2], 0.01)


def test_ema_matches_numpy():
    decay = 0.9
    p = START.copy()
    ema = optim.EMA(decay)
    assert ema.average is None
    ema.update(p)
    expected = p.copy()
    keep = np.float32(decay)
    take = np.float32(1.0 - float(keep))
    for k in range(20):
        p -= np.float32(0.05) * objective_grad(p)
        ema.update(p)
        expected = keep * expected + take * p
    assert ema.num_updates == 21
    np.testing.assert_allclose(ema.average, expected, rtol=1e-6, atol=1e-7)
    out = np.zeros_like(p)
    ema.copy_to(out)
    np.testing.assert_array_equal(out, ema.average)
    # Direct C function, and errors.
    avg = np.zeros(N, np.float32)
    _C.ema_update(avg, START, 0.25)
    np.testing.assert_allclose(avg, np.float32(0.75) * START, rtol=1e-6)
    with pytest.raises(ValueError, match="same size"):
        ema.update(p[:10].copy())
    with pytest.raises(TypeError, match="float32"):
        ema.update(p.astype(np.float64))
    with pytest.raises(ValueError, match="decay"):
        optim.EMA(1.5)
    with pytest.raises(ValueError, match="decay"):
        _C.ema_update(avg, START, -0.1)
    with pytest.raises(RuntimeError, match="update"):
        optim.EMA().copy_to(out)
    sd = ema.state_dict()
    ema2 = optim.EMA()
    ema2.load_state_dict(sd)
    np.testing.assert_array_equal(ema2.average, ema.average)
    assert ema2.decay == decay and ema2.num_updates == 21


@pytest.mark.parametrize("n", [8, 40_000])   # on the calling thread, and over the pool
def test_denormal_state_is_flushed_and_the_callers_fp_mode_restored(n):
    """Adam's moments of a weight whose gradient stays zero decay by beta every step; in the denormal range
    each multiply is slow, so the update flushes denormals to zero (and leaves the caller's mode as it was)."""
    tiny = np.float32(1e-39)                            # below FLT_MIN = 1.18e-38: a denormal
    p = np.ones(n, np.float32)
    g = np.zeros(n, np.float32)
    opt = optim.Adam(1e-3).bind(p, g)
    opt.step()                                          # t = 1, moments 0
    opt._c.state[:n] = tiny                             # m: denormal
    opt._c.state[n:] = 1e-6                             # v: normal
    opt.step()
    np.testing.assert_array_equal(opt._c.state[:n], 0.0)        # 0.9 * 1e-39 would be a denormal, not 0
    np.testing.assert_array_equal(p, 1.0)
    assert tiny * np.float32(0.5) != 0.0                # denormals still work in the caller afterwards
