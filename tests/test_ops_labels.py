"""one_hot, argmax / argmin and roll: values, run-time and build-time errors, autodiff rules.

Gradient checks by finite differences are in test_gradcheck.py, the PyTorch
oracle in test_oracle_torch.py.
"""
import re

import numpy as np
import pytest

import ganlib as gl
from ganlib import _C, ops


# ---- one_hot ---------------------------------------------------------------------------

@pytest.mark.parametrize("column", [False, True])
def test_one_hot_values(column):
    y = np.array([3, 0, 9, 3, 1], np.float32)
    f = gl.function(lambda t: ops.one_hot(t, 10))
    out = f(y[:, None] if column else y)
    assert out.dtype == np.float32 and out.shape == (5, 10)
    np.testing.assert_array_equal(out, np.eye(10, dtype=np.float32)[y.astype(int)])


def test_one_hot_of_a_label_column_of_the_batch():
    """The use it is made for: the last column of a data batch holds the class."""
    rng = np.random.default_rng(0)
    batch = np.concatenate([rng.standard_normal((6, 4)), rng.integers(0, 3, (6, 1))], 1).astype(np.float32)
    f = gl.function(lambda b: ops.concat([ops.slice(b, 0, 4), ops.one_hot(ops.slice(b, 4, 5), 3)]))
    out = f(batch)
    np.testing.assert_array_equal(out[:, :4], batch[:, :4])
    np.testing.assert_array_equal(out[:, 4:], np.eye(3, dtype=np.float32)[batch[:, 4].astype(int)])


@pytest.mark.parametrize("bad,shown", [(2.5, "2.5"), (np.nan, "nan"), (-1.0, "-1"), (10.0, "10"),
                                       (np.inf, "inf"), (-0.5, "-0.5"), (1e9, "1e+09")])
def test_one_hot_bad_index_fails_the_run_naming_the_row(bad, shown):
    f = gl.function(lambda t: ops.one_hot(t, 10))
    y = np.array([1, 2, 3, 4], np.float32)
    y[2] = bad
    with pytest.raises(ValueError, match=rf"one_hot: row 2 holds {re.escape(shown)}, which is not an integer class "
                                         rf"index in \[0, 10\)"):
        f(y)
    # the compiled function is still usable with good labels
    np.testing.assert_array_equal(f(np.array([1, 2, 3, 9], np.float32)).argmax(1), [1, 2, 3, 9])


def test_one_hot_first_bad_row_is_named():
    f = gl.function(lambda t: ops.one_hot(t, 4))
    with pytest.raises(ValueError, match="row 1 holds 7"):
        f(np.array([0, 7, -3, 1], np.float32))


def test_one_hot_build_errors():
    x = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match=r"one_hot: indices must have shape \(batch,\) or \(batch, 1\), got \(3, 2\)"):
        gl.function(lambda t: ops.one_hot(t, 4))(x)
    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, 1\), got \(2, 1, 1\)"):
        gl.function(lambda t: ops.one_hot(t, 4))(np.zeros((2, 1, 1), np.float32))
    y = np.zeros((3,), np.float32)
    for k in (0, -2, 2 ** 24 + 1):
        with pytest.raises(ValueError, match=rf"num_classes must be in \[1, 16777216\], got {k}"):
            gl.function(lambda t: ops.one_hot(t, k))(y)
    for k in (3.0, True, "3", None):
        with pytest.raises(TypeError, match="num_classes must be an int"):
            gl.function(lambda t: ops.one_hot(t, k))(y)
    # the binding checks on its own too
    g = _C.Graph()
    with pytest.raises(ValueError, match=r"one_hot: expects indices of shape \(batch,\) or \(batch, 1\), got \(3, 2\)"):
        g.one_hot(g.input((3, 2)), 4)
    with pytest.raises(ValueError, match="num_classes"):
        g.one_hot(g.input((3,)), 0)
    with pytest.raises(TypeError):
        g.one_hot(g.input((3,)), 2.0)
    with pytest.raises(ValueError, match="node"):
        g.one_hot(12345, 3)


def test_one_hot_has_zero_derivative():
    y = np.array([2, 0, 1], np.float32)
    w = np.arange(9, dtype=np.float32).reshape(3, 3)

    @gl.function
    def f(t, wt):
        oh = ops.one_hot(t, 3)
        loss = ops.sum(oh * wt)
        return gl.grad(loss, [t, wt, oh])

    gy, gw, goh = f(y, w)
    np.testing.assert_array_equal(gy, np.zeros_like(y))   # no gradient into the indices
    np.testing.assert_array_equal(gw, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    np.testing.assert_array_equal(goh, w)                 # with respect to the one-hot itself: fine


def test_sign_as_a_wrt_node():
    """A zero-derivative node may itself be differentiated with respect to."""
    f = gl.function(lambda x: (lambda s: gl.grad(ops.sum(ops.square(s)), [s, x]))(ops.sign(x)))
    gs, gx = f(np.array([[-2.0, 0.0, 3.0]], np.float32))
    np.testing.assert_array_equal(gs, [[-2.0, 0.0, 2.0]])
    np.testing.assert_array_equal(gx, np.zeros((1, 3), np.float32))


# ---- argmax / argmin -------------------------------------------------------------------

def _onehot_np(idx, k):
    return np.eye(k, dtype=np.float32)[idx]


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_argmax_argmin_match_numpy_with_ties_and_nans(kind, rng):
    x = rng.integers(-3, 4, (200, 7)).astype(np.float32)    # many ties
    x[rng.random(x.shape) < 0.05] = np.nan                   # and some NaNs
    x[5] = np.nan                                            # an all-NaN row
    x[6] = 1.0                                               # an all-equal row
    x[7, 3] = np.inf
    x[8, 2] = -np.inf
    fn = getattr(ops, kind)
    out = gl.function(lambda t: fn(t))(x)
    np.testing.assert_array_equal(out, _onehot_np(getattr(np, kind)(x, axis=1), 7))
    assert out[5, 0] == 1 and out[6, 0] == 1


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_argmax_argmin_axis_keyword_and_errors(kind):
    fn = getattr(ops, kind)
    x = np.array([[1.0, 5.0, 2.0]], np.float32)
    a = gl.function(lambda t: fn(t, axis=-1))(x)
    b = gl.function(lambda t: fn(t, axis=1))(x)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=rf"{kind} works along axis 1 of a 2-D \(batch, K\) tensor, got shape "
                                         r"\(1, 3\), axis 0"):
        gl.function(lambda t: fn(t, axis=0))(x)
    with pytest.raises(ValueError, match=r"2-D \(batch, K\) tensor, got shape \(2, 3, 4\)"):
        gl.function(lambda t: fn(t))(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        gl.function(lambda t: fn(t))(np.zeros((3,), np.float32))
    with pytest.raises(TypeError, match="axis must be an int"):
        gl.function(lambda t: fn(t, axis=1.0))(x)
    g = _C.Graph()
    with pytest.raises(ValueError, match=rf"{kind}: expects a 2-D \(batch, K\) tensor with K >= 1, got \(2, 0\)"):
        getattr(g, kind)(g.input((2, 0)))
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        getattr(g, kind)(g.input((4,)))


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_grad_through_argmax_argmin_is_refused(kind):
    fn = getattr(ops, kind)
    x = np.ones((4, 3), np.float32)
    cb = np.ones((3, 2), np.float32)
    msg = (rf"{kind} is not differentiable: wrap its input in ops.stop_gradient \(e.g. a VQ-VAE codebook "
           r"look-up uses argmin\(stop_gradient\(distances\)\)\)")
    with pytest.raises(_C.GanlibError, match=msg):
        gl.function(lambda t: gl.grad(ops.sum(fn(ops.square(t))), [t]))(x)

    # a codebook look-up with the distances computed from the codebook: the gradient wrt
    # the codebook would pass through argmin as well as the matmul -> refused too
    def vq(t, c):
        d = ops.matmul(ops.square(t), c)   # (4, 2) "distances" that depend on c and t
        q = ops.matmul(fn(d), c, trans_b=True)
        return gl.grad(ops.sum(q), [c])

    with pytest.raises(_C.GanlibError, match=msg):
        gl.function(vq)(x, cb)


def test_vq_lookup_behind_stop_gradient_differentiates():
    """q = argmin(stop_gradient(d)) @ codebook: the gradient reaches the codebook and, through the
    straight-through estimator, the encoder output, never the distances."""
    rng = np.random.default_rng(3)
    z = rng.standard_normal((8, 2)).astype(np.float32)
    cb = rng.standard_normal((5, 2)).astype(np.float32)

    @gl.function
    def f(zt, ct):
        d = ops.sum(ops.square(zt), axis=1, keepdims=True) - 2 * ops.matmul(zt, ct, trans_b=True) \
            + ops.reshape(ops.sum(ops.square(ct), axis=1), (1, 5))
        oh = ops.argmin(ops.stop_gradient(d))
        q = ops.matmul(oh, ct)
        zq = zt + ops.stop_gradient(q - zt)            # straight-through
        loss = ops.sum(zq * 3.0) + ops.sum(ops.square(q - ops.stop_gradient(zt)))
        return (oh, *gl.grad(loss, [zt, ct, oh]))

    oh, gz, gc, goh = f(z, cb)
    idx = np.argmin(((z[:, None, :] - cb[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(oh, _onehot_np(idx, 5))
    np.testing.assert_array_equal(gz, np.full_like(z, 3.0))
    q = cb[idx]
    want_gc = np.zeros_like(cb)
    np.add.at(want_gc, idx, 2 * (q - z))
    np.testing.assert_allclose(gc, want_gc, rtol=1e-5, atol=1e-6)
    assert goh.shape == (8, 5) and np.all(np.isfinite(goh))


def test_argmax_accuracy_against_one_hot_labels():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((50, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 50).astype(np.float32)
    labels[:20] = logits[:20].argmax(1)
    f = gl.function(lambda lg, y: ops.mean(ops.sum(ops.argmax(lg) * ops.one_hot(y, 10), axis=1)))
    assert float(f(logits, labels)) == pytest.approx(float(np.mean(logits.argmax(1) == labels)))


# ---- roll ----------------------------------------------------------------------------------

ROLL_CASES = [((7,), 0), ((5, 3), 0), ((5, 3), 1), ((5, 3), -1), ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), 2),
              ((3, 2, 4, 5), 0), ((3, 2, 4, 5), 2), ((3, 2, 4, 5), -1), ((1, 4), 0)]


@pytest.mark.parametrize("shape,axis", ROLL_CASES, ids=str)
def test_roll_matches_numpy(shape, axis, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    n = shape[axis]
    for shift in (0, 1, -1, 2, n, -n, n + 1, -3 * n - 2, 10 ** 20 + 3, -(10 ** 20) - 7, np.int64(5)):
        out = gl.function(lambda t: ops.roll(t, shift, axis))(x)
        np.testing.assert_array_equal(out, np.roll(x, int(shift) % n, axis), err_msg=f"shift {shift}")


def test_roll_default_axis_is_the_batch():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(gl.function(lambda t: ops.roll(t, 1))(x), np.roll(x, 1, 0))


def test_roll_errors():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"roll: axis 2 is out of range for a 2-D tensor of shape \(4, 3\)"):
        gl.function(lambda t: ops.roll(t, 1, 2))(x)
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        gl.function(lambda t: ops.roll(t, 1, -3))(x)
    for bad in (1.5, 1.0, True, None):
        with pytest.raises(TypeError, match="roll: shift must be an int"):
            gl.function(lambda t: ops.roll(t, bad))(x)
    with pytest.raises(TypeError, match="roll: axis must be an int"):
        gl.function(lambda t: ops.roll(t, 1, 0.0))(x)
    with pytest.raises(ValueError, match=r"roll: x must be 1-D to 4-D, got a scalar"):
        gl.function(lambda t: ops.roll(ops.sum(t), 1))(x)
    g = _C.Graph()
    xi = g.input((4, 3))
    with pytest.raises(ValueError, match=r"roll: axis 2 is out of range for \(4, 3\)"):
        g.roll(xi, 1, 2)
    with pytest.raises(ValueError, match="axis 99 is out of range"):
        g.roll(xi, 1, 99)
    with pytest.raises(ValueError, match="out of range"):
        g.roll(xi, 2 ** 70)   # the binding takes int64 shifts (ops.roll normalises any int first)
    with pytest.raises(ValueError, match="roll: expects a 1-D to 4-D tensor, got a scalar"):
        g.roll(g.input(()), 1)
    assert g.shape(g.roll(xi, -(2 ** 62), -2)) == (4, 3)


def test_roll_gradient_is_the_roll_back():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 3, 2)).astype(np.float32)
    w = rng.standard_normal((5, 3, 2)).astype(np.float32)

    @gl.function
    def f(t, wt):
        (gx,) = gl.grad(ops.sum(wt * ops.roll(t, -7, axis=1)), [t])
        return gx

    np.testing.assert_array_equal(f(x, w), np.roll(w, 7, axis=1))


def test_label_ops_allocate_nothing_per_run():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 4, 16).astype(np.float32)
    x = rng.standard_normal((16, 4)).astype(np.float32)

    @gl.function
    def f(t, yt):
        oh = ops.one_hot(yt, 4)
        mix = 0.5 * t + 0.5 * ops.roll(t, 1)
        return ops.sum(ops.argmin(ops.stop_gradient(mix)) * oh) + ops.sum(ops.argmax(t)), gl.grad(ops.sum(mix), [t])

    f(x, y)
    before = _C.alloc_count()
    for _ in range(20):
        f(x, y)
    assert _C.alloc_count() == before
