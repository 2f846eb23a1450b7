"""Checks shared by the tests of the fast convolution paths (tests/test_conv_wino3.py,
tests/test_conv_direct.py): a conv2d and a conv_transpose2d with their gradients against float64
PyTorch, and results that do not depend on the thread count."""
import numpy as np

import ganlib as gl
from ganlib import ops


def rel(a, b):
    """Largest absolute difference relative to b's largest magnitude."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def conv_pair_errors(torch, x, w, xt, wt, r, rt, stride=1, padding=0):
    """y = conv2d(x, w, stride, padding) and z = conv_transpose2d(xt, wt, 1, padding), with the
    gradients of sum(y r) over (x, w) and of sum(z rt) over (xt, wt): ganlib in float32 against
    PyTorch in float64; the relative error of each of the six, by name."""
    def f(a, b, at, bt):
        y, z = ops.conv2d(a, b, stride, padding), ops.conv_transpose2d(at, bt, 1, padding)
        return y, z, gl.grad(ops.sum(y * r), [a, b]), gl.grad(ops.sum(z * rt), [at, bt])

    y, z, (gx, gw), (gxt, gwt) = gl.function(f)(x, w, xt, wt)
    F = torch.nn.functional
    tx, tw, txt, twt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, w, xt, wt))
    ty = F.conv2d(tx, tw, stride=stride, padding=padding)
    gx_ref, gw_ref = torch.autograd.grad((ty * torch.from_numpy(r).double()).sum(), [tx, tw])
    tz = F.conv_transpose2d(txt, twt, padding=padding)
    gxt_ref, gwt_ref = torch.autograd.grad((tz * torch.from_numpy(rt).double()).sum(), [txt, twt])
    return {"conv": rel(y, ty.detach().numpy()), "conv grad x": rel(gx, gx_ref.numpy()),
            "conv grad w": rel(gw, gw_ref.numpy()), "convT": rel(z, tz.detach().numpy()),
            "convT grad x": rel(gxt, gxt_ref.numpy()), "convT grad w": rel(gwt, gwt_ref.numpy())}


def assert_thread_count_independent(x_shape, w_shape, padding, threads, seed):
    """conv2d(x, w, 1, padding) and its gradients of sum(y r), on standard-normal arrays of the given
    shapes drawn with `seed`, are bit-identical on 1 thread and on `threads`."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    y_shape = (x_shape[0], w_shape[0], x_shape[2] + 2 * padding - w_shape[2] + 1,
               x_shape[3] + 2 * padding - w_shape[3] + 1)
    r = rng.standard_normal(y_shape).astype(np.float32)
    f = gl.function(lambda a, b: (lambda y: (y, gl.grad(ops.sum(y * r), [a, b])))(ops.conv2d(a, b, 1, padding)))
    old = gl.get_num_threads()
    try:
        gl.set_num_threads(1)
        y1, (gx1, gw1) = f(x, w)
        gl.set_num_threads(threads)
        y, (gx, gw) = f(x, w)
    finally:
        gl.set_num_threads(old)
    assert np.array_equal(y, y1) and np.array_equal(gx, gx1) and np.array_equal(gw, gw1)
