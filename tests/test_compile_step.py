"""compile_step and Program.step(check=...): non-finite values stop the step before any update;
one optimizer object per compile_step."""
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


@pytest.mark.parametrize("make_opt", [lambda: gl.optim.Adam(1e-2), lambda: gl.optim.SGD(0.1, momentum=0.9),
                                      lambda: gl.optim.RMSProp(1e-2)], ids=["adam", "sgd", "rmsprop"])
def test_inf_loss_raises_before_the_update(make_opt):
    net = gl.nn.mlp(2, [8], 1, seed=0)
    opt = make_opt()
    step = gl.compile_step(lambda x, y: ops.mean(ops.square(net(x) - y)), net, opt)
    x = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
    y = x[:, :1].copy()
    for _ in range(3):
        step(x, y)
    snap = _snapshot(net, opt)
    with pytest.raises(FloatingPointError, match=r"^compile_step: loss is inf \(no optimizer update was applied\)$"):
        step(x, np.full_like(y, 1e30))             # (net - 1e30)**2 overflows float32
    _assert_unchanged(net, opt, snap)
    # training goes on from where it was
    loss = step(x, y)
    assert np.isfinite(loss) and opt.t == snap[2] + 1


def test_nan_gradient_with_a_finite_loss_is_caught_and_named():
    net = gl.nn.mlp(2, [4], 1, seed=0)
    net.buffer.data[:] = 0.0                      # net(x) == 0: sqrt'(0) * 0 = nan
    opt = gl.optim.Adam(1e-2).bind(net.buffer.data, net.buffer.grad)   # what the step binds it to
    step = gl.compile_step(lambda x: ops.mean(ops.sqrt(ops.square(net(x)))), net, opt)
    snap = _snapshot(net, opt)
    with pytest.raises(FloatingPointError, match=r"^compile_step: gradient of 2\.weight\[0\] is nan"):
        step(np.ones((3, 2), np.float32))
    _assert_unchanged(net, opt, snap)
    assert opt.t == 0


def test_aux_outputs_are_not_checked():
    net = gl.nn.mlp(2, [4], 1, seed=0)
    step = gl.compile_step(lambda x: (ops.mean(net(x)), ops.log(ops.zeros((2,)))), net, gl.optim.SGD(0.1))
    loss, aux = step(np.ones((3, 2), np.float32))
    assert np.isfinite(loss) and np.all(aux == -np.inf)


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


# ------------------------------------------------------------- Program.step(check=...)

def _program():
    """outputs: 0 = mean(x), 1 = x * 2 (vector), 2 = d mean(p*x)/dp into grads (sink)."""
    g = _C.Graph()
    x = g.input((4,))
    params = np.ones(4, np.float32)
    grads = np.zeros(4, np.float32)
    p = g.param(params, 0, (4,))
    px = g.binary("mul", p, x)
    loss = g.unary("scale", g.sum_to(px, ()), 0.25)
    (gp,) = g.grad(loss, [p])
    two_x = g.unary("scale", x, 2.0)
    prog = _C.Program(g, [loss, two_x, gp], [None, None, grads])
    opt = _C.Optimizer("adam", params, grads, 0.1)
    return prog, opt, params, grads


def test_program_step_check_names_and_indices():
    prog, opt, params, grads = _program()
    x = np.array([1, 2, 3, 4], np.float32)
    out = prog.step([x], [opt], [(0, "loss"), 1, (2, "grad")])
    assert out[0] == 2.5 and opt.t == 1
    before = params.copy(), opt.state.copy()
    bad = np.array([1, np.inf, 3, 4], np.float32)
    with pytest.raises(FloatingPointError, match=r"^Program.step: loss is inf \(no optimizer update was applied\)$"):
        prog.step([bad], [opt], [(0, "loss"), 1])
    with pytest.raises(FloatingPointError, match=r"^Program.step: output 1\[1\] is inf "):
        prog.step([bad], [opt], [1, (0, "loss")])
    with pytest.raises(FloatingPointError, match=r"^Program.step: 2x\[2\] is -inf "):
        prog.step([np.array([0, 0, -np.inf, 0], np.float32)], [opt], [(1, "2x")])
    with pytest.raises(FloatingPointError, match=r"^Program.step: grad\[0\] is nan "):
        prog.step([np.array([np.nan, 0, 0, 0], np.float32)], [opt], ((2, "grad"),))
    assert opt.t == 1
    np.testing.assert_array_equal(params, before[0])
    np.testing.assert_array_equal(opt.state, before[1])
    # unchecked, the same step updates (the old behaviour; check defaults to None)
    prog.step([bad], [opt])
    assert opt.t == 2 and not np.all(np.isfinite(params))


@pytest.mark.parametrize("check,exc,match", [
    ([3], ValueError, r"check\[0\] output index must be in \[0, 3\)"),
    ([-1], ValueError, "must be in"),
    ([True], TypeError, "must be an int"),
    ([(0,)], TypeError, r"check\[0\] must be an output index or a pair"),
    ([(0, 1)], TypeError, "name: str"),
    ("loss", TypeError, "check must be a list"),
    ([0, 1.5], TypeError, r"check\[1\] output index must be an int"),
])
def test_program_step_check_argument_errors(check, exc, match):
    prog, opt, params, _ = _program()
    with pytest.raises(exc, match=match):
        prog.step([np.ones(4, np.float32)], [opt], check)
    assert opt.t == 0 and np.all(params == 1)
    prog.step([np.ones(4, np.float32)], [opt], check=[])     # usable afterwards
    assert opt.t == 1


def test_program_step_refuses_before_the_run_when_an_optimizer_is_at_its_step_limit():
    prog, opt, params, grads = _program()
    other = _C.Optimizer("sgd", np.ones(3, np.float32), np.ones(3, np.float32), 0.1)
    opt.t = 2 ** 53
    with pytest.raises(ValueError, match=r"at its limit 2\*\*53"):
        prog.step([np.ones(4, np.float32)], [other, opt])
    assert other.t == 0 and opt.t == 2 ** 53 and np.all(params == 1)
