"""The C logsumexp accumulates its sum of exponentials in float64 (float32 storage in and out).

Importance-weighted likelihood bounds take logsumexp over thousands of terms; a float32 running
sum loses every term below half an ulp of the sum so far. These cases pin the float64 accumulation:
each fails by orders of magnitude more than its tolerance with a float32 sum.
"""
import numpy as np

import ganlib as gl
from ganlib import ops

LSE = gl.function(lambda x: ops.logsumexp(x, axis=1))


def ref(x):
    x = np.asarray(x, np.float64)
    m = x.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]


def test_5000_terms_match_numpy_float64():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(size=5000), rng.uniform(-1.0, 0.0, 5000) - 300.0,
                  rng.normal(scale=10.0, size=5000)]).astype(np.float32)
    out = LSE(x)
    assert out.shape == (3,)
    want = ref(x)
    # float32 output: the error is the final rounding (a few ulps), nothing accumulated
    np.testing.assert_allclose(out, want, rtol=3e-7, atol=0)


def test_many_small_terms_below_float32_resolution_are_not_lost():
    """One term of weight 1 and 4999 of exp(-17) ≈ 4.1e-8 each: every small term is below half an
    ulp of 1 in float32, so a float32 sum stays exactly 1 (logsumexp 0); the true value is ~2.06e-4."""
    x = np.full((2, 5000), -17.0, np.float32)
    x[:, 0] = 0.0
    x[1] = np.roll(x[1], 2500)            # the large term in the middle of the row
    out = LSE(x)
    want = np.log1p(4999 * np.exp(np.float64(np.float32(-17.0))))
    assert want > 2e-4
    np.testing.assert_allclose(out, [want, want], rtol=1e-6, atol=0)
