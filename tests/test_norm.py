"""Training-mode batch norm against float64 references where float tricks would fail.

Data with a large mean and a small spread (mean 1e3, std 1) loses every digit
if the variance is formed as E[x^2] - E[x]^2 in float, or if y is formed as
x * scale + shift (both terms ~1e3 cancel).  Also: bitwise identical results
for 1 and 2 threads (each channel is summed by one thread in a fixed order).
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops


def _rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)


def _ref(x, g, gy, eps=1e-5):
    """float64: xhat, dx, dgamma, dbeta, batch mean and biased variance."""
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    shp = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    x, gy = x.astype(np.float64), gy.astype(np.float64)
    m, v = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    xh = (x - m) / np.sqrt(v + eps)
    dg, db = (gy * xh).sum(axis=axes), gy.sum(axis=axes)
    dx = g.reshape(shp) / np.sqrt(v + eps) * (gy - gy.mean(axis=axes, keepdims=True)
                                             - xh * (gy * xh).mean(axis=axes, keepdims=True))
    return xh, dx, dg, db, m.reshape(-1), v.reshape(-1)


@pytest.mark.parametrize("shape,mean,std", [((16, 5, 7, 7), 1e3, 1.0), ((8, 3, 14, 14), -3e4, 2.0),
                                            ((64, 4), 1e3, 1.0), ((4, 3, 5, 5), 50.0, 1e-2),
                                            ((6, 2, 4, 4), 0.0, 1.0),
                                            # over 1 MB: the kernel sweeps it in blocks of channels
                                            ((64, 48, 14, 14), 5.0, 1.0)], ids=str)
def test_batch_norm_large_mean_matches_float64(shape, mean, std, rng):
    c = shape[1]
    x = (mean + std * rng.standard_normal(shape)).astype(np.float32)
    g = (rng.standard_normal(c) + 1).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)

    @gl.function
    def f(t, tg, tb, tw):
        y = ops.batch_norm(t, tg, tb, rm, rv, momentum=1.0, training=True)
        return y, gl.grad(ops.sum(y * tw), [t, tg, tb])

    before = gl.get_num_threads()
    try:
        outs = []
        for threads in (1, 2):
            gl.set_num_threads(threads)
            y, (gx, gg, gb) = f(x, g, b, gy)
            outs.append((y, gx, gg, gb, rm.copy(), rv.copy()))
    finally:
        gl.set_num_threads(before)
    for a, o in zip(*outs):
        np.testing.assert_array_equal(a, o)
    xh, dx, dg, db, m, v = _ref(x, g, gy)
    shp = (1, -1, 1, 1) if len(shape) == 4 else (1, -1)
    np.testing.assert_allclose(y, xh * g.reshape(shp) + b.reshape(shp), rtol=0, atol=2e-5)
    assert _rel_err(gx, dx) <= 2e-5
    assert _rel_err(gg, dg) <= 2e-5
    assert _rel_err(gb, db) <= 2e-5
    M = x.size // c
    np.testing.assert_allclose(rm, m, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rv, v * M / (M - 1), rtol=1e-5)


@pytest.mark.parametrize("shape", [(16, 5, 7, 7), (64, 4)], ids=str)
def test_batch_norm_parameter_gradients_with_and_without_dx(shape, rng):
    # With dx wanted, one kernel pass leaves dgamma and dbeta as side outputs;
    # without it (x a constant), dgamma has its own pass and dbeta is a sum.
    # Both routes must give the same parameter gradients.
    c = shape[1]
    x = (3.0 + rng.standard_normal(shape)).astype(np.float32)
    g = (rng.standard_normal(c) + 1).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)

    def loss(t, tg, tb, tw):
        return ops.sum(ops.batch_norm(t, tg, tb, None, None, training=True) * tw)

    fused = gl.function(lambda t, tg, tb, tw: gl.grad(loss(t, tg, tb, tw), [t, tg, tb]))
    alone = gl.function(lambda tg, tb, tw: gl.grad(loss(x, tg, tb, tw), [tg, tb]))
    gx, gg, gb = fused(x, g, b, gy)
    gg2, gb2 = alone(g, b, gy)
    _, dx, dg, db, _, _ = _ref(x, g, gy)
    np.testing.assert_array_equal(gg, gg2)  # the same sums, the same order
    for got in (gb, gb2):
        assert _rel_err(got, db) <= 2e-6
    assert _rel_err(gg, dg) <= 2e-5 and _rel_err(gx, dx) <= 2e-5
