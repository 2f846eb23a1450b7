"""ops.sumsq_rows (the SUMSQ_ROWS op: weight norms, VQ-VAE distances) against torch, to second order."""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops


# row lengths below, at and past the kernel's 16- and 64-float loops; an empty row sums to 0
@pytest.mark.parametrize("shape", [(3, 1), (4, 15), (2, 16), (5, 63), (3, 64), (2, 130), (1000, 784), (3, 0)])
def test_sumsq_rows_and_its_gradients_match_torch(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(shape[1])
    x = rng.standard_normal(shape).astype(np.float32)
    r1 = rng.standard_normal(shape[0]).astype(np.float32)
    r2 = rng.standard_normal(shape).astype(np.float32)

    def f(x, r1, r2):
        s = ops.sumsq_rows(x)
        g1, = gl.grad(ops.sum(ops.sqrt(ops.scale(s, 1.0, 1.0)) * r1), [x])   # a weight norm's path
        g2, = gl.grad(ops.sum(ops.mul(g1, r2)), [x])
        return s, g1, g2

    if shape[1] == 0:
        with pytest.raises(ValueError, match="empty"):
            gl.function(f)(x, r1, r2)
        return
    ours = gl.function(f)(x, r1, r2)
    tx = torch.from_numpy(x).double().requires_grad_(True)
    ts = (tx * tx).sum(1)
    tg1, = torch.autograd.grad(((ts + 1).sqrt() * torch.from_numpy(r1).double()).sum(), tx, create_graph=True)
    tg2, = torch.autograd.grad((tg1 * torch.from_numpy(r2).double()).sum(), tx)
    for name, a, b in zip(("sumsq", "grad", "grad of grad"), ours, (ts, tg1, tg2)):
        b = b.detach().numpy()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(b).max())), err_msg=name)


def test_sumsq_rows_thread_count_independent_and_bad_input():
    x = np.random.default_rng(0).standard_normal((300, 1000)).astype(np.float32)
    f = gl.function(lambda x: ops.sumsq_rows(x))
    before = gl.get_num_threads()
    try:
        gl.set_num_threads(1)
        one = f(x)
        gl.set_num_threads(2)
        two = f(x)
    finally:
        gl.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    kept = gl.function(lambda x: ops.sumsq_rows(x, keepdims=True))(x)
    assert kept.shape == (300, 1)
    np.testing.assert_array_equal(kept[:, 0], one)
    for shape in ((4,), (2, 3, 4)):
        with pytest.raises(ValueError, match="sumsq_rows expects a 2-D"):
            gl.function(lambda x: ops.sumsq_rows(x))(np.zeros(shape, np.float32))
