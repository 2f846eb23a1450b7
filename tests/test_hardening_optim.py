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
