"""compile_step: one optimizer object per compile_step."""
import gc

import numpy as np
import pytest

import ganlib as gl
from ganlib import _C, ops


def _snapshot(net, opt):
    return net.buffer.data.copy(), opt._c.state.copy(), opt.t


def _assert_unchanged(net, opt, snap):
    data, state, t = snap
    np.testing.assert_array_equal(net.buffer.data, data)
    np.testing.assert_array_equal(opt._c.state, state)
    assert opt.t == t
    assert np.all(np.isfinite(net.buffer.data))


def test_one_optimizer_for_two_compile_steps_is_refused_until_the_first_is_gone():
    a = gl.nn.mlp(2, [4], 1, seed=0)
    b = gl.nn.mlp(2, [4], 1, seed=1)
    opt = gl.optim.Adam(1e-3)
    first = gl.compile_step(lambda x: ops.mean(a(x)), a, opt)
    with pytest.raises(ValueError, match=r"this Adam already trains a compile_step of Sequential; "
                                         r"give each model its own optimizer object"):
        gl.compile_step(lambda x: ops.mean(b(x)), b, opt)
    first(np.ones((3, 2), np.float32))
    assert opt.t == 1
    del first
    gc.collect()
    second = gl.compile_step(lambda x: ops.mean(b(x)), b, opt)   # the first owner is gone
    second(np.ones((3, 2), np.float32))
    assert opt._params is b.buffer.data


def test_compile_step_needs_a_ganlib_optimizer():
    net = gl.nn.mlp(2, [4], 1, seed=0)
    with pytest.raises(TypeError, match="optimizer must be a ganlib.optim optimizer"):
        gl.compile_step(lambda x: ops.mean(net(x)), net, "adam")
