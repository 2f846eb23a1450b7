"""ops.bernoulli: a C op drawing x ~ Bernoulli(p) from the program's seeded RNG (dynamic binarisation).

Statistical checks use bounds of 5 binomial standard deviations: a broken sampler (wrong
comparison, a stale draw, a clamped p) fails them, a correct one fails with probability < 1e-6.
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import _C, ops

NOT_DIFF = (r"bernoulli is not differentiable \(each sample is 0 or 1\): wrap its input in "
            r"ops.stop_gradient")


def sampler(seed=0):
    return gl.function(lambda p: ops.bernoulli(p), seed=seed)


def within_binomial(count, n, p, sds=5.0):
    return abs(count - n * p) <= sds * np.sqrt(n * p * (1 - p)) + 1e-9


def test_mean_over_many_draws_matches_p():
    p = np.linspace(0.0, 1.0, 11, dtype=np.float32)[None, :].repeat(4000, 0)   # (4000, 11)
    f = sampler(1)
    draws = np.stack([f(p) for _ in range(5)])                                   # 20000 per column
    assert draws.shape == (5, 4000, 11) and draws.dtype == np.float32
    ones = draws.sum(axis=(0, 1))
    n = 5 * 4000
    for k, q in enumerate(p[0]):
        assert within_binomial(ones[k], n, float(q)), (k, q, ones[k] / n)
    # one Bernoulli per element, not one per row: the rows of one column disagree
    assert 0 < draws[0, :, 5].sum() < 4000


def test_values_are_only_zero_and_one_and_p_is_clamped():
    rng = np.random.default_rng(0)
    p = rng.uniform(-0.5, 1.5, size=(64, 3, 5, 5)).astype(np.float32)           # 4-D works
    out = sampler(2)(p)
    assert out.shape == p.shape and out.dtype == np.float32
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert np.all(out[p <= 0.0] == 0.0) and np.all(out[p >= 1.0] == 1.0)


def test_p_zero_gives_zero_and_p_one_gives_one_every_run():
    f = sampler(3)
    zeros, ones = np.zeros((500, 20), np.float32), np.ones((500, 20), np.float32)
    for _ in range(10):
        assert not f(zeros).any()
        assert f(ones).all()
    # the extremes of float32 just inside [0, 1]
    tiny = np.full((200_000,), np.float32(1e-30))
    assert f(tiny).sum() <= 1            # P(1) <= 2**-24 per element
    near1 = np.full((200_000,), np.nextafter(np.float32(1), np.float32(0)))
    assert f(near1).sum() >= 200_000 - 1


def test_nan_probability_gives_nan_not_a_crash():
    p = np.array([[0.5, np.nan, 1.0, 0.0]], np.float32)
    out = sampler(4)(p)
    assert np.isnan(out[0, 1]) and out[0, 2] == 1.0 and out[0, 3] == 0.0 and out[0, 0] in (0.0, 1.0)


def test_fresh_draw_every_run_and_reproducible_by_seed():
    p = np.full((50, 40), 0.5, np.float32)
    a = sampler(7)
    first, second = a(p), a(p)
    assert not np.array_equal(first, second)            # each run draws afresh
    b = sampler(7)
    np.testing.assert_array_equal(b(p), first)           # same seed: same sequence of draws
    np.testing.assert_array_equal(b(p), second)
    assert not np.array_equal(sampler(8)(p), first)      # another seed: other draws


def test_same_draws_for_any_thread_count():
    p = np.random.default_rng(1).uniform(size=(300, 500)).astype(np.float32)
    old = gl.get_num_threads()
    try:
        gl.set_num_threads(1)
        one = sampler(5)(p)
        gl.set_num_threads(2)
        two = sampler(5)(p)
    finally:
        gl.set_num_threads(old)
    np.testing.assert_array_equal(one, two)


def test_scalar_shape():
    out = sampler()(np.float32(1.0))
    assert out.shape == () and out == 1.0


def test_shape_and_dtype_errors():
    f = sampler()
    with pytest.raises(ValueError, match=r"input 0 is empty \(shape \(0, 3\)\)"):
        f(np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="at most 4 dimensions"):
        f(np.zeros((1, 1, 1, 1, 2), np.float32))
    with pytest.raises(TypeError):
        f(np.array([["a", "b"]], dtype=object))
    with pytest.raises(TypeError):
        f(np.ones((2, 2), np.complex64))
    with pytest.raises(TypeError, match="cannot use str as a tensor"):
        gl.function(lambda x: ops.bernoulli("0.5"))(np.ones(2, np.float32))
    f(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected shape \(4, 3\), got \(4, 5\)"):
        prog = _C.Program(*_bernoulli_graph((4, 3)))
        prog.run([np.ones((4, 5), np.float32)])
    g = _C.Graph()
    with pytest.raises(ValueError, match="bernoulli: p"):
        g.bernoulli(99)
    with pytest.raises(TypeError):
        g.bernoulli("x")


def _bernoulli_graph(shape):
    g = _C.Graph()
    return g, [g.bernoulli(g.input(shape))]


def test_other_dtypes_of_p_are_converted():
    out = sampler()(np.array([[0, 1, 1]], np.int64))
    np.testing.assert_array_equal(out, [[0.0, 1.0, 1.0]])
    out = sampler()(np.array([[0.0, 1.0]], np.float64))
    np.testing.assert_array_equal(out, [[0.0, 1.0]])


# ---- gradients: refused through p, exactly as argmax -------------------------------------------

def test_gradient_through_bernoulli_is_refused():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(_C.GanlibError, match=NOT_DIFF):
        gl.function(lambda t: gl.grad(ops.sum(ops.bernoulli(ops.sigmoid(t))), [t]))(x)
    with pytest.raises(_C.GanlibError, match=NOT_DIFF):
        gl.function(lambda t: gl.grad(ops.sum(ops.bernoulli(t)), [t]))(x)
    # through a second path too: the sum's gradient would reach t via bernoulli as well as directly
    with pytest.raises(_C.GanlibError, match=NOT_DIFF):
        gl.function(lambda t: gl.grad(ops.sum(t * ops.bernoulli(ops.sigmoid(t))), [t]))(x)


def test_gradient_with_data_p_or_behind_stop_gradient_works():
    """d/dw sum(w * bernoulli(x)) = bernoulli(x) summed over rows; p = x is data, not differentiated."""
    x = np.array([[1, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]], np.float32)   # p in {0, 1}: samples == x

    @gl.function(seed=0)
    def f(xt, wt):
        s = ops.bernoulli(xt)
        s2 = ops.bernoulli(ops.stop_gradient(ops.sigmoid(wt * xt)))
        loss = ops.sum(wt * s) + ops.sum(wt * s2)
        return gl.grad(loss, [wt])[0], s2

    gw, s2 = f(x, np.ones((1, 4), np.float32))
    np.testing.assert_array_equal(gw, x.sum(0, keepdims=True) + s2.sum(0, keepdims=True))


# ---- inside a gl.Trainer phase: dynamic binarisation in the C loop ---------------------------------

def _binarised_trainer(seed, fail=False):
    net = gl.nn.Linear(6, 6, seed=0)

    def phase(b):
        x = ops.bernoulli(b.data.x)
        out = ops.sigmoid(b.modules.net(x))
        src = ops.bernoulli(out) if fail else x
        loss = ops.mean(ops.square(out - src))
        return gl.Step(minimize={"net": loss}, log={"loss": loss, "ones": ops.mean(x)})

    return gl.Trainer({"net": net}, {"net": gl.optim.Adam(1e-2)}, [gl.Phase("fit", phase)], seed=seed)


def test_bernoulli_of_a_data_batch_inside_a_trainer_phase():
    X = np.tile(np.array([[0.0, 1.0, 0.25, 0.5, 0.75, 0.1]], np.float32), (256, 1))
    h = _binarised_trainer(0).fit(gl.Data(x=X), steps=300, batch_size=64, log_every=300, progress=False)
    ones = h["ones"]
    assert ones.shape == (300,)
    # each step binarises afresh: the per-step means vary around mean(X) = 0.4333
    assert len(np.unique(ones)) > 20
    n = 300 * 64 * 6
    mean_p = float(X[0].mean())
    var = 64 * 300 * float((X[0] * (1 - X[0])).sum())   # sum of Bernoulli variances
    assert abs(ones.mean() * n - n * mean_p) <= 5 * np.sqrt(var)
    # the same seed repeats the binarisation, another seed does not
    h2 = _binarised_trainer(0).fit(gl.Data(x=X), steps=300, batch_size=64, log_every=300, progress=False)
    np.testing.assert_array_equal(h2["ones"], ones)
    np.testing.assert_array_equal(h2["loss"], h["loss"])
    h3 = _binarised_trainer(1).fit(gl.Data(x=X), steps=300, batch_size=64, log_every=300, progress=False)
    assert not np.array_equal(h3["ones"], ones)
    # training on the binarised data lowers the loss
    assert h["loss"][-50:].mean() < h["loss"][:10].mean()


def test_trainer_phase_that_differentiates_through_bernoulli_is_refused():
    X = np.full((64, 6), 0.5, np.float32)
    with pytest.raises(_C.GanlibError, match=NOT_DIFF):
        _binarised_trainer(0, fail=True).fit(gl.Data(x=X), steps=2, batch_size=32, progress=False)
