"""Optimizer hardening: the step-count bound, validate-before-write state loads, ownership."""
import gc

import numpy as np
import pytest

from ganlib import _C, optim

N = 5


def _adam(t_steps=3, **kw):
    p = np.linspace(-1, 1, N).astype(np.float32)
    g = np.linspace(0.5, -0.5, N).astype(np.float32)
    opt = optim.Adam(1e-2, **kw).bind(p, g)
    for _ in range(t_steps):
        opt.step()
    return opt, p, g


def _snapshot(opt):
    return opt._c.state.copy(), opt.t, opt.lr, opt._c.lr


def _assert_unchanged(opt, snap):
    state, t, lr, clr = snap
    np.testing.assert_array_equal(opt._c.state, state)
    assert opt.t == t and opt.lr == lr and opt._c.lr == clr


# ---------------------------------------------------------------- the bound on t

def test_max_t_is_2_to_the_53():
    assert optim.MAX_T == _C.OPTIMIZER_MAX_T == 2 ** 53


@pytest.mark.parametrize("value", [2 ** 53 + 1, 2 ** 62, 2 ** 63, 2 ** 64, -1, -(2 ** 70)])
def test_c_t_setter_refuses_out_of_range_with_value_error(value):
    opt, _, _ = _adam()
    with pytest.raises(ValueError, match=r"t must be in \[0, 2\*\*53\]"):
        opt._c.t = value
    assert opt.t == 3


def test_c_t_setter_type_errors_and_limit_accepted():
    opt, _, _ = _adam()
    for bad in (True, 1.0, "3"):
        with pytest.raises(TypeError, match="t must be an int"):
            opt._c.t = bad
    opt._c.t = np.int64(7)
    assert opt.t == 7
    opt._c.t = 2 ** 53
    assert opt.t == 2 ** 53


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSProp])
def test_step_at_the_limit_is_refused_and_changes_nothing(cls):
    p = np.ones(N, np.float32)
    g = np.ones(N, np.float32)
    opt = cls(0.1).bind(p, g)
    opt._c.t = 2 ** 53 - 1
    opt.step()                                 # the last step allowed
    assert opt.t == 2 ** 53
    before = p.copy(), opt._c.state.copy()
    with pytest.raises(ValueError, match="limit 2\\*\\*53"):
        opt.step()
    assert opt.t == 2 ** 53
    np.testing.assert_array_equal(p, before[0])
    np.testing.assert_array_equal(opt._c.state, before[1])


# ---------------------------------------------------------------- load_state_dict

@pytest.mark.parametrize("t", [2 ** 53 + 1, 2 ** 63, 2 ** 64, -1])
def test_load_with_out_of_range_t_changes_nothing(t):
    opt, _, _ = _adam()
    snap = _snapshot(opt)
    sd = opt.state_dict()
    sd.update(t=t, state=np.full_like(sd["state"], 7.0), config=dict(sd["config"], lr=0.5))
    with pytest.raises(ValueError, match="'t' must be in"):
        opt.load_state_dict(sd)
    _assert_unchanged(opt, snap)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_load_with_non_finite_state_changes_nothing(bad):
    opt, _, _ = _adam()
    snap = _snapshot(opt)
    sd = opt.state_dict()
    state = sd["state"].astype(np.float64)
    state[3] = bad
    sd.update(t=9, state=state, config=dict(sd["config"], lr=0.5))
    with pytest.raises(ValueError, match="NaN or inf.*index 3"):
        opt.load_state_dict(sd)
    _assert_unchanged(opt, snap)


@pytest.mark.parametrize("change,exc,match", [
    (dict(kind="sgd"), ValueError, "kind"),
    (dict(config={"lr": 0.5}), ValueError, "config has keys"),
    (dict(config=None), ValueError, "config"),
    (dict(t=1.5), TypeError, "'t' must be an int"),
    (dict(t=True), TypeError, "'t' must be an int"),
    (dict(state=np.zeros(3, np.float32)), ValueError, "'state' has 3 floats"),
    (dict(state=np.array(["a"] * 10)), TypeError, "state"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(lr="x"), TypeError, "lr"),
    (dict(betas=(0.5, 0.5)), ValueError, "betas"),
])
def test_any_invalid_load_changes_nothing(change, exc, match):
    opt, _, _ = _adam()
    snap = _snapshot(opt)
    sd = opt.state_dict()
    sd["state"] = np.full_like(sd["state"], 7.0)
    sd["t"] = 11
    sd["config"] = dict(sd["config"], lr=0.5)
    for key in ("lr", "betas"):
        if key in change:
            sd["config"][key] = change.pop(key)
    sd.update(change)
    with pytest.raises(exc, match=match):
        opt.load_state_dict(sd)
    _assert_unchanged(opt, snap)


def test_valid_load_still_applies_everything():
    opt, p, g = _adam()
    sd = opt.state_dict()
    sd.update(t=2 ** 53, state=np.arange(2 * N, dtype=np.int64), config=dict(sd["config"], lr=0.25))
    opt.load_state_dict(sd)
    assert opt.t == 2 ** 53 and opt.lr == 0.25 and opt._c.lr == 0.25
    np.testing.assert_array_equal(opt._c.state, np.arange(2 * N, dtype=np.float32))


def test_unbound_load_validates_before_keeping_anything():
    src, _, _ = _adam()
    sd = src.state_dict()
    opt = optim.Adam(1e-3)
    for bad in (dict(sd, t=2 ** 60), dict(sd, state=np.full(2 * N, np.nan))):
        with pytest.raises(ValueError):
            opt.load_state_dict(bad)
        assert opt.t == 0 and opt.lr == 1e-3 and opt._pending is None
    opt.load_state_dict(sd)
    assert opt.t == 3
    # the pending state is a private copy: changing the source afterwards does not leak in
    sd["state"][:] = 99.0
    opt.bind(np.zeros(N, np.float32), np.zeros(N, np.float32))
    np.testing.assert_array_equal(opt._c.state, src._c.state)


# ---------------------------------------------------------------- ownership

class _Owner:
    pass


def test_claim_same_owner_is_a_no_op_and_another_live_owner_is_refused():
    opt = optim.Adam(1e-3)
    a, b = _Owner(), _Owner()
    opt._claim(a, "a compile_step of MLP")
    opt._claim(a, "a compile_step of MLP")
    with pytest.raises(ValueError, match=r"this Adam already trains a compile_step of MLP; "
                                         r"give each model its own optimizer object"):
        opt._claim(b, "module 'D' of a Trainer")
    del a
    gc.collect()
    opt._claim(b, "module 'D' of a Trainer")       # the first owner is gone: free again
    with pytest.raises(ValueError, match="already trains module 'D' of a Trainer"):
        opt._claim(_Owner(), "x")


def test_claim_argument_errors_and_bind_unaffected():
    opt = optim.SGD(0.1)
    with pytest.raises(TypeError, match="weak references"):
        opt._claim(3, "an int")
    with pytest.raises(TypeError, match="what"):
        opt._claim(_Owner(), None)
    owner = _Owner()
    opt._claim(owner, "x")
    # bind keeps its semantics: other arrays -> fresh state
    p, g = np.ones(3, np.float32), np.ones(3, np.float32)
    opt.bind(p, g).step()
    assert opt.t == 1
    opt.bind(np.ones(3, np.float32), np.ones(3, np.float32))
    assert opt.t == 0
