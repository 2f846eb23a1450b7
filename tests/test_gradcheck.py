"""Gradient checks for every op.

First order: ganlib's analytic gradient (float32) against central differences
of a float64 NumPy reference of the same function, along random directions.
Second order (ops on gradient-penalty paths): the gradient of a penalty built
from ganlib's own gradient nodes, against a 4-point central difference of that
penalty in ganlib (float32, so the tolerance is looser).
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

_sig = lambda x: 1 / (1 + np.exp(-x))
_softplus = lambda x: np.logaddexp(0, x)


def away_from(x, points, gap=0.1):
    """Nudge values away from kinks so finite differences are valid."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, gap, -gap) * 2
    return x


UNARY = {
    # name: (ganlib fn, float64 reference, input transform)
    "neg": (ops.neg, lambda x: -x, None),
    "scale": (lambda x: ops.scale(x, -1.7, 0.3), lambda x: -1.7 * x + 0.3, None),
    "exp": (ops.exp, np.exp, None),
    "log": (ops.log, np.log, lambda x: np.abs(x) + 0.5),
    "sqrt": (ops.sqrt, np.sqrt, lambda x: np.abs(x) + 0.5),
    "square": (ops.square, np.square, None),
    "abs": (ops.abs, np.abs, lambda x: away_from(x, [0])),
    "relu": (ops.relu, lambda x: np.maximum(x, 0), lambda x: away_from(x, [0])),
    "leaky_relu": (lambda x: ops.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), lambda x: away_from(x, [0])),
    "tanh": (ops.tanh, np.tanh, None),
    "sigmoid": (ops.sigmoid, _sig, None),
    "softplus": (ops.softplus, _softplus, None),
    "log_sigmoid": (ops.log_sigmoid, lambda x: -_softplus(-x), None),
    "clip": (lambda x: ops.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), lambda x: away_from(x, [-0.5, 0.7])),
}


def check_first_order(fn_gl, fn_ref, inputs, rng, rtol=2e-3, atol=1e-4, directions=3):
    """fn_gl(*Tensors) -> Tensor, fn_ref(*float64 arrays) -> array of the same shape."""
    out_shape = np.shape(fn_ref(*[x.astype(np.float64) for x in inputs]))
    r = rng.standard_normal(out_shape)  # random weighting of the output

    def loss_gl(*xs):
        y = fn_gl(*xs)
        return ops.sum(ops.mul(y, ops.constant(r.astype(np.float32)))) if out_shape else y

    def loss_ref(*xs):
        return float(np.sum(fn_ref(*xs) * r)) if out_shape else float(fn_ref(*xs))

    f = gl.function(lambda *xs: (fn_gl(*xs), gl.grad(loss_gl(*xs), list(xs))))
    y, grads = f(*inputs)
    ref = fn_ref(*[x.astype(np.float64) for x in inputs])
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5, err_msg="forward differs from reference")
    x64 = [x.astype(np.float64) for x in inputs]
    for _ in range(directions):
        vs = [rng.standard_normal(x.shape) for x in inputs]
        eps = 1e-6
        plus = loss_ref(*[x + eps * v for x, v in zip(x64, vs)])
        minus = loss_ref(*[x - eps * v for x, v in zip(x64, vs)])
        numeric = (plus - minus) / (2 * eps)
        analytic = sum(float(np.sum(g.astype(np.float64) * v)) for g, v in zip(grads, vs))
        assert abs(numeric - analytic) <= atol + rtol * max(abs(numeric), abs(analytic)), \
            f"directional derivative: numeric {numeric}, analytic {analytic}"


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_first_order(name, rng):
    fn, ref, transform = UNARY[name]
    x = rng.standard_normal((5, 7)).astype(np.float32)
    if transform:
        x = transform(x).astype(np.float32)
    check_first_order(fn, ref, [x], rng)


BINARY_SHAPES = [((4, 6), (4, 6)), ((4, 6), (6,)), ((4, 6), (1, 6)), ((4, 6), (4, 1)), ((4, 6), ()),
                 ((1, 6), (4, 6)), ((2, 3, 4, 5), (1, 3, 1, 1)), ((3, 1), (1, 5))]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_binary_broadcast_first_order(op, shapes, rng):
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = rng.standard_normal(shapes[1]).astype(np.float32)
    if op == "div":
        b = (np.sign(b) * (np.abs(b) + 0.5)).astype(np.float32)
    fn = {"add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": ops.div}[op]
    ref = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op]
    check_first_order(fn, ref, [a, b], rng)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_first_order(ta, tb, rng):
    a = rng.standard_normal((3, 5) if not ta else (5, 3)).astype(np.float32)
    b = rng.standard_normal((5, 4) if not tb else (4, 5)).astype(np.float32)
    check_first_order(lambda x, y: ops.matmul(x, y, ta, tb),
                      lambda x, y: (x.T if ta else x) @ (y.T if tb else y), [a, b], rng)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, False), (0, True), (1, True), ((0, 1), True)])
@pytest.mark.parametrize("kind", ["sum", "mean"])
def test_reductions_first_order(kind, axis, keepdims, rng):
    x = rng.standard_normal((6, 5)).astype(np.float32)
    fn = getattr(ops, kind)
    ref = getattr(np, kind)
    check_first_order(lambda t: fn(t, axis, keepdims), lambda t: ref(t, axis=axis, keepdims=keepdims), [x], rng)


def test_reduction_4d_first_order(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    check_first_order(lambda t: ops.sum(t, (0, 2, 3), keepdims=True),
                      lambda t: t.sum(axis=(0, 2, 3), keepdims=True), [x], rng)


def test_logsumexp_first_order(rng):
    x = (3 * rng.standard_normal((5, 7))).astype(np.float32)
    ref = lambda t: np.log(np.exp(t - t.max(1, keepdims=True)).sum(1)) + t.max(1)
    check_first_order(lambda t: ops.logsumexp(t), ref, [x], rng)


def test_broadcast_to_and_sum_to_first_order(rng):
    x = rng.standard_normal((1, 5)).astype(np.float32)
    check_first_order(lambda t: ops.broadcast_to(t, (4, 5)), lambda t: np.broadcast_to(t, (4, 5)), [x], rng)
    y = rng.standard_normal((4, 5)).astype(np.float32)
    check_first_order(lambda t: ops.sum_to(t, (4, 1)), lambda t: t.sum(1, keepdims=True), [y], rng)


def test_concat_slice_reshape_first_order(rng):
    a = rng.standard_normal((3, 2)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    check_first_order(lambda x, y: ops.concat([x, y, x]), lambda x, y: np.concatenate([x, y, x], 1), [a, b], rng)
    check_first_order(lambda x: ops.slice(x, 1, 3), lambda x: x[:, 1:3], [b], rng)
    check_first_order(lambda x: ops.reshape(x, (2, 6)), lambda x: x.reshape(2, 6), [b], rng)
    c = rng.standard_normal((2, 5, 3, 3)).astype(np.float32)
    check_first_order(lambda x: ops.slice(x, 2, 4), lambda x: x[:, 2:4], [c], rng)
    # rows (axis 0): batches of the same row shape joined and cut
    check_first_order(lambda x, y: ops.concat([x, y, x], axis=0), lambda x, y: np.concatenate([x, y, x], 0),
                      [c, c[:1] * 2], rng)
    check_first_order(lambda x: ops.slice(x, 1, 2, axis=0), lambda x: x[1:2], [c], rng)
    with pytest.raises(ValueError, match="rows of the same shape"):
        ops.Function(lambda x, y: ops.concat([x, y], axis=0))(a, b)
    with pytest.raises(ValueError, match=r"slice\(axis=0\): rows \[2, 5\)"):
        ops.Function(lambda x: ops.slice(x, 2, 5, axis=0))(a)


MASKS = {
    "relu_mask": lambda a, b: a * (b > 0),
    "leaky_mask": lambda a, b: a * np.where(b > 0, 1.0, 0.3),
    "clip_mask": lambda a, b: a * ((b >= -0.5) & (b <= 0.5)),
    "tanh_grad": lambda a, b: a * (1 - b * b),
    "sigmoid_grad": lambda a, b: a * b * (1 - b),
}


@pytest.mark.parametrize("name", sorted(MASKS))
def test_gradient_helper_ops_first_order(name, rng):
    """The ops that backward rules emit are differentiable too (closure)."""
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = away_from(rng.standard_normal((4, 5)), [0, -0.5, 0.5]).astype(np.float32)
    f0, f1 = {"leaky_mask": (0.3, 0.0), "clip_mask": (-0.5, 0.5)}.get(name, (0.0, 0.0))

    def fn(x, y):
        tr = x.trace
        return ops.Tensor(tr, tr.graph.binary(name, x.id, y.id, f0, f1))

    check_first_order(fn, MASKS[name], [a, b], rng)


def test_dropout_gradient_uses_the_same_mask(rng):
    x = (rng.standard_normal((50, 40)) + 3).astype(np.float32)
    f2 = gl.function(lambda t: (lambda d: (d, gl.grad(ops.sum(d), [t])[0]))(ops.dropout(t, 0.3)))
    y, g = f2(x)
    kept = y != 0
    np.testing.assert_allclose(g[kept], 1 / 0.7, rtol=1e-6)
    assert np.all(g[~kept] == 0)
    assert 0.6 < kept.mean() < 0.8


def test_grad_of_unrelated_input_is_zero(rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)
    f = gl.function(lambda a, b: gl.grad(ops.sum(ops.square(a)), [b])[0])
    np.testing.assert_array_equal(f(x, x), np.zeros_like(x))


# ---- second order ------------------------------------------------------------------

PENALTY_OPS = {
    "relu": ops.relu, "leaky_relu": lambda t: ops.leaky_relu(t, 0.2), "tanh": ops.tanh,
    "sigmoid": ops.sigmoid, "softplus": ops.softplus, "square": ops.square,
    "sqrt": lambda t: ops.sqrt(ops.square(t) + 0.5),
    "sum": lambda t: ops.broadcast_to(ops.sum(ops.tanh(t), axis=1, keepdims=True), t.shape),
    "mean": lambda t: ops.broadcast_to(ops.mean(ops.tanh(t), axis=0, keepdims=True), t.shape),
    "matmul": lambda t: t,                      # the path is matmul alone
    "add": lambda t: ops.tanh(t),               # bias add is in every case; tanh keeps it curved
    "roll": lambda t: ops.tanh(t + 0.5 * ops.roll(t, 1)),                   # mixes rows of the batch
    "roll_axis1": lambda t: ops.tanh(t) * ops.roll(ops.tanh(t), -2, axis=1),
}


@pytest.mark.parametrize("name", sorted(PENALTY_OPS))
def test_second_order_penalty_path(name, rng):
    """P(W, b) = sum(r2 * d/dx sum(r1 * act(x W + b))): check dP/dW, dP/db by finite differences."""
    act = PENALTY_OPS[name]
    x = rng.standard_normal((6, 4)).astype(np.float32)
    W = (0.7 * rng.standard_normal((4, 5))).astype(np.float32)
    b = (0.3 * rng.standard_normal((5,))).astype(np.float32)
    r1 = rng.standard_normal((6, 5)).astype(np.float32)
    r2 = rng.standard_normal((6, 4)).astype(np.float32)
    piecewise = name in ("relu", "leaky_relu")
    while piecewise and np.min(np.abs(x @ W + b)) < 0.05:  # keep finite differences off the kinks
        W = (0.7 * rng.standard_normal((4, 5))).astype(np.float32)
    flat = np.concatenate([W.ravel(), b]).astype(np.float32)

    def penalty(xs, Wt, bt):
        h = ops.add(ops.matmul(xs, Wt), bt)
        f = ops.sum(ops.mul(act(h), ops.constant(r1)))
        (gx,) = gl.grad(f, [xs])
        if name == "square":
            return ops.sum(ops.mul(gx, ops.constant(r2)))
        return ops.sum(ops.square(ops.mul(gx, ops.constant(r2))))  # a squared norm, like a GP

    def build(params):
        Wt = ops.current_trace().param(params, 0, (4, 5))
        bt = ops.current_trace().param(params, 20, (5,))
        return Wt, bt

    buf = flat.copy()

    @gl.function
    def P_and_grad(xs):
        Wt, bt = build(buf)
        P = penalty(xs, Wt, bt)
        return P, gl.grad(P, [Wt, bt])

    P0, (gW, gb) = P_and_grad(x)
    analytic_full = np.concatenate([gW.ravel(), gb]).astype(np.float64)
    assert np.all(np.isfinite(analytic_full))

    def P_at(params):
        buf[:] = params
        return float(P_and_grad(x)[0])

    for _ in range(3):
        v = rng.standard_normal(flat.shape)
        v /= np.linalg.norm(v)
        eps = 2e-3 if piecewise else 1e-2
        f = [P_at((flat + k * eps * v).astype(np.float32)) for k in (2, 1, -1, -2)]
        numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * eps)
        analytic = float(analytic_full @ v)
        scale = max(1.0, abs(float(P0)))
        assert abs(numeric - analytic) <= 2e-2 * max(abs(numeric), abs(analytic)) + 2e-3 * scale, \
            f"{name}: numeric {numeric}, analytic {analytic}"
    buf[:] = flat
    if name in ("relu", "leaky_relu"):
        # piecewise-linear activation: the penalty still depends on W through the mask and W
        assert np.any(gW != 0)


# ---- labels and batch layout -----------------------------------------------------------

ROLLS = [((6, 4), 1, 0), ((6, 4), -8, 0), ((6, 4), 3, 1), ((5,), 2, 0), ((2, 3, 4, 5), -1, 0),
         ((2, 3, 4, 5), 2, 1), ((2, 3, 4, 5), 7, -1)]


@pytest.mark.parametrize("shape,shift,axis", ROLLS, ids=str)
def test_roll_first_order(shape, shift, axis, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    check_first_order(lambda t: ops.roll(t, shift, axis), lambda t: np.roll(t, shift, axis), [x], rng)


def test_roll_of_a_product_first_order(rng):
    """ACAI-style mixing of each row with the one before it."""
    x = rng.standard_normal((5, 3)).astype(np.float32)
    check_first_order(lambda t: ops.tanh(t) * ops.roll(t, 1) + 0.3 * t,
                      lambda t: np.tanh(t) * np.roll(t, 1, 0) + 0.3 * t, [x], rng)


def _distinct_rows(rng, shape, gap):
    """Rows whose smallest entry is at least `gap` below the next (no near-ties for argmin)."""
    while True:
        d = rng.standard_normal(shape)
        s = np.sort(d, axis=1)
        if np.all(s[:, 1] - s[:, 0] > gap):
            return d.astype(np.float32)


def test_vq_lookup_first_order(rng):
    """matmul(argmin(stop_gradient(d)), codebook): exact in the codebook, locally constant in d."""
    d = _distinct_rows(rng, (7, 4), 0.05)
    cb = rng.standard_normal((4, 3)).astype(np.float32)
    check_first_order(lambda dt, c: ops.matmul(ops.argmin(ops.stop_gradient(dt)), c),
                      lambda dt, c: np.eye(4)[np.argmin(dt, 1)] @ c, [d, cb], rng)
    check_first_order(lambda dt, c: ops.matmul(ops.argmax(ops.stop_gradient(dt)), c),
                      lambda dt, c: np.eye(4)[np.argmax(dt, 1)] @ c, [-d, cb], rng)


def test_one_hot_first_order(rng):
    """Zero derivative in the indices (the reference rounds them), linear in what it multiplies."""
    y = rng.integers(0, 4, 6).astype(np.float32)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    check_first_order(lambda t, v: ops.tanh(ops.one_hot(t, 4) * v + v),
                      lambda t, v: np.tanh(np.eye(4)[np.rint(t).astype(int)] * v + v), [y, w], rng)


def _check_penalty_gradient(P_and_grad, x_args, buf, rng, eps=1e-2):
    """dP/dparams (one flat buffer) against a 4-point central difference of P, along 3 directions."""
    flat = buf.copy()
    P0, grads = P_and_grad(*x_args)
    analytic_full = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    assert np.all(np.isfinite(analytic_full)) and np.any(analytic_full != 0)

    def P_at(params):
        buf[:] = params
        return float(P_and_grad(*x_args)[0])

    try:
        for _ in range(3):
            v = rng.standard_normal(flat.shape)
            v /= np.linalg.norm(v)
            f = [P_at((flat + k * eps * v).astype(np.float32)) for k in (2, 1, -1, -2)]
            numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * eps)
            analytic = float(analytic_full @ v)
            scale = max(1.0, abs(float(P0)))
            assert abs(numeric - analytic) <= 2e-2 * max(abs(numeric), abs(analytic)) + 2e-3 * scale, \
                f"numeric {numeric}, analytic {analytic}"
    finally:
        buf[:] = flat


def test_second_order_conditional_critic_with_one_hot(rng):
    """A gradient penalty of a conditional critic D(concat(x, one_hot(y))): dP/dW, dP/db."""
    x = rng.standard_normal((6, 4)).astype(np.float32)
    y = rng.integers(0, 3, (6, 1)).astype(np.float32)
    r1 = rng.standard_normal((6, 5)).astype(np.float32)
    buf = np.concatenate([0.6 * rng.standard_normal(7 * 5), 0.3 * rng.standard_normal(5)]).astype(np.float32)

    @gl.function
    def P_and_grad(xs, ys):
        tr = ops.current_trace()
        W, b = tr.param(buf, 0, (7, 5)), tr.param(buf, 35, (5,))
        h = ops.matmul(ops.concat([xs, ops.one_hot(ys, 3)]), W) + b
        (gx,) = gl.grad(ops.sum(ops.tanh(h) * ops.constant(r1)), [xs])
        P = ops.sum(ops.square(gx))
        return P, gl.grad(P, [W, b])

    _check_penalty_gradient(P_and_grad, (x, y), buf, rng)


def test_second_order_through_a_vq_lookup(rng):
    """A penalty on grad_x of sum(r1 * tanh(x W + argmin(stop_gradient(d(x W, C))) @ C)): dP/dW, dP/dC."""
    x = rng.standard_normal((6, 4)).astype(np.float32)
    r1 = rng.standard_normal((6, 5)).astype(np.float32)
    while True:  # codes far enough apart that the small parameter steps never change an assignment
        W0 = (0.6 * rng.standard_normal((4, 5))).astype(np.float32)
        C0 = rng.standard_normal((3, 5)).astype(np.float32)
        dist = ((x @ W0)[:, None, :] - C0[None]) ** 2
        s = np.sort(dist.sum(-1), axis=1)
        if np.all(s[:, 1] - s[:, 0] > 0.5):
            break
    buf = np.concatenate([W0.ravel(), C0.ravel()]).astype(np.float32)

    @gl.function
    def P_and_grad(xs):
        tr = ops.current_trace()
        W, C = tr.param(buf, 0, (4, 5)), tr.param(buf, 20, (3, 5))
        z = ops.matmul(xs, W)
        d = ops.sum(ops.square(z), axis=1, keepdims=True) - 2 * ops.matmul(z, C, trans_b=True) \
            + ops.reshape(ops.sum(ops.square(C), axis=1), (1, 3))
        q = ops.matmul(ops.argmin(ops.stop_gradient(d)), C)
        (gx,) = gl.grad(ops.sum(ops.tanh(z + q) * ops.constant(r1)), [xs])
        P = ops.sum(ops.square(gx))
        return P, gl.grad(P, [W, C])

    _check_penalty_gradient(P_and_grad, (x,), buf, rng)
