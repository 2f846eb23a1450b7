"""Convolution, pooling, upsampling and batch norm (NCHW).

First order: every new op (and every adjoint op a backward rule emits) against
central differences of a float64 NumPy reference written as plain loops.
Second order: gradient penalties through conv2d / conv_transpose2d /
conv2d_weight_grad by finite differences.  Oracle: PyTorch (CPU) values and
gradients, a WGAN-GP penalty through a small conv critic, batch-norm running
statistics.  Errors: first-order-only batch norm, bad shapes.
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from test_gradcheck import check_first_order

# ---- float64 references (straightforward loops) ------------------------------------


def ref_conv2d(x, w, s, p):
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    Ho, Wo = (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1
    xp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    xp[:, :, p:p + H, p:p + W] = x
    y = np.zeros((N, O, Ho, Wo))
    for oh in range(Ho):
        for ow in range(Wo):
            patch = xp[:, :, oh * s:oh * s + kh, ow * s:ow * s + kw]  # (N, C, kh, kw)
            y[:, :, oh, ow] = np.einsum("ncij,ocij->no", patch, w)
    return y


def ref_conv_transpose2d(x, w, s, p, op=(0, 0)):
    N, C, H, W = x.shape
    _, O, kh, kw = w.shape
    Ho, Wo = (H - 1) * s - 2 * p + kh + op[0], (W - 1) * s - 2 * p + kw + op[1]
    full = np.zeros((N, O, (H - 1) * s + kh + op[0], (W - 1) * s + kw + op[1]))
    for ih in range(H):
        for iw in range(W):
            full[:, :, ih * s:ih * s + kh, iw * s:iw * s + kw] += np.einsum("nc,coij->noij", x[:, :, ih, iw], w)
    return full[:, :, p:p + Ho, p:p + Wo]


def ref_weight_grad(a, b, kh, kw, s, p):
    N, C, H, W = a.shape
    _, O, Ho, Wo = b.shape
    ap = np.zeros((N, C, H + 2 * p, W + 2 * p))
    ap[:, :, p:p + H, p:p + W] = a
    dw = np.zeros((O, C, kh, kw))
    for oh in range(Ho):
        for ow in range(Wo):
            patch = ap[:, :, oh * s:oh * s + kh, ow * s:ow * s + kw]
            dw += np.einsum("no,ncij->ocij", b[:, :, oh, ow], patch)
    return dw


def _windows(H, W, k, s, p):
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    for oh in range(Ho):
        for ow in range(Wo):
            rows = [r for r in range(oh * s - p, oh * s - p + k) if 0 <= r < H]
            cols = [c for c in range(ow * s - p, ow * s - p + k) if 0 <= c < W]
            yield oh, ow, rows, cols
    return


def _pooled(x, k, s, p):
    N, C, H, W = x.shape
    return (N, C, (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1)


def ref_argmax(x, k, s, p):
    """(N, C, Ho, Wo, 2) first maximum of every window."""
    N, C, H, W = x.shape
    idx = np.zeros(_pooled(x, k, s, p) + (2,), dtype=int)
    for n in range(N):
        for c in range(C):
            for oh, ow, rows, cols in _windows(H, W, k, s, p):
                best = None
                for r in rows:
                    for q in cols:
                        if best is None or x[n, c, r, q] > x[n, c, best[0], best[1]]:
                            best = (r, q)
                idx[n, c, oh, ow] = best
    return idx


def ref_max_pool(x, k, s, p):
    return ref_max_pool_gather(x, x, k, s, p)


def ref_max_pool_grad(x, gy, k, s, p):
    idx = ref_argmax(x, k, s, p)
    dx = np.zeros(x.shape)
    for n in range(gy.shape[0]):
        for c in range(gy.shape[1]):
            for i in range(gy.shape[2]):
                for j in range(gy.shape[3]):
                    dx[n, c, idx[n, c, i, j, 0], idx[n, c, i, j, 1]] += gy[n, c, i, j]
    return dx


def ref_max_pool_gather(x, a, k, s, p):
    idx = ref_argmax(x, k, s, p)
    y = np.zeros(idx.shape[:4])
    for n in range(y.shape[0]):
        for c in range(y.shape[1]):
            for i in range(y.shape[2]):
                for j in range(y.shape[3]):
                    y[n, c, i, j] = a[n, c, idx[n, c, i, j, 0], idx[n, c, i, j, 1]]
    return y


def ref_avg_pool(x, k, s, p):
    y = np.zeros(_pooled(x, k, s, p))
    for oh, ow, rows, cols in _windows(x.shape[2], x.shape[3], k, s, p):
        y[:, :, oh, ow] = x[:, :, rows][:, :, :, cols].sum(axis=(2, 3)) / (k * k)
    return y


def ref_avg_pool_grad(gy, xshape, k, s, p):
    dx = np.zeros(xshape)
    for oh, ow, rows, cols in _windows(xshape[2], xshape[3], k, s, p):
        for r in rows:
            for q in cols:
                dx[:, :, r, q] += gy[:, :, oh, ow] / (k * k)
    return dx


def ref_upsample(x, s):
    return np.repeat(np.repeat(x, s, axis=2), s, axis=3)


def ref_upsample_grad(y, s):
    N, C, H, W = y.shape
    return y.reshape(N, C, H // s, s, W // s, s).sum(axis=(3, 5))


def ref_batch_norm(x, g, b, eps=1e-5):
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g.reshape(shape) + b.reshape(shape)


def f32(rng, *shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


# ---- first order -------------------------------------------------------------------

CONV_CASES = [  # (N, C, H, W, O, kh, kw, stride, padding)
    (2, 3, 7, 6, 4, 3, 3, 1, 0),
    (2, 3, 7, 6, 4, 3, 3, 1, 1),
    (1, 2, 9, 7, 3, 3, 2, 2, 0),
    (3, 2, 8, 9, 5, 4, 4, 2, 1),
    (1, 1, 5, 5, 2, 5, 5, 1, 0),
    (2, 4, 5, 7, 3, 1, 1, 2, 1),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_first_order(case, rng):
    N, C, H, W, O, kh, kw, s, p = case
    x, w = f32(rng, N, C, H, W), f32(rng, O, C, kh, kw, scale=0.5)
    check_first_order(lambda a, b: ops.conv2d(a, b, s, p), lambda a, b: ref_conv2d(a, b, s, p), [x, w], rng)


# the cases whose transposed convolution has a non-empty output
TRANSPOSE_CASES = [c for c in CONV_CASES
                   if (c[2] - 1) * c[7] - 2 * c[8] + c[5] >= 1 and (c[3] - 1) * c[7] - 2 * c[8] + c[6] >= 1]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=str)
def test_conv_transpose2d_first_order(case, rng):
    N, C, H, W, O, kh, kw, s, p = case
    op = (s - 1, 0) if s > 1 else (0, 0)
    x, w = f32(rng, N, C, H, W), f32(rng, C, O, kh, kw, scale=0.5)
    check_first_order(lambda a, b: ops.conv_transpose2d(a, b, s, p, op),
                      lambda a, b: ref_conv_transpose2d(a, b, s, p, op), [x, w], rng)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_weight_grad_first_order(case, rng):
    N, C, H, W, O, kh, kw, s, p = case
    Ho, Wo = (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1
    a, b = f32(rng, N, C, H, W), f32(rng, N, O, Ho, Wo)

    def fn(ta, tb):
        return ops.Tensor(ta.trace, ta.trace.graph.conv2d_weight_grad(ta.id, tb.id, (kh, kw), s, p))

    check_first_order(fn, lambda ta, tb: ref_weight_grad(ta, tb, kh, kw, s, p), [a, b], rng)


POOL_CASES = [(2, 3, 7, 6, 2, 2, 0), (1, 2, 7, 7, 3, 2, 1), (2, 1, 6, 5, 3, 1, 1), (1, 3, 5, 8, 2, 1, 0),
              (2, 2, 9, 9, 4, 3, 2)]  # (N, C, H, W, k, s, p)


def _graph_op(name, *args, **kw):
    def fn(*ts):
        tr = ts[0].trace
        return ops.Tensor(tr, getattr(tr.graph, name)(*[t.id for t in ts], *args, **kw))
    return fn


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pooling_first_order(case, rng):
    N, C, H, W, k, s, p = case
    x = f32(rng, N, C, H, W)
    check_first_order(lambda t: ops.max_pool2d(t, k, s, p), lambda t: ref_max_pool(t, k, s, p), [x], rng)
    check_first_order(lambda t: ops.avg_pool2d(t, k, s, p), lambda t: ref_avg_pool(t, k, s, p), [x], rng)
    gy = f32(rng, *_pooled(x, k, s, p))
    xc = x.copy()
    # the adjoint ops: linear in their second operand; x only selects the argmax
    check_first_order(lambda t: ops.Tensor(t.trace, t.trace.graph.pool_adjoint(
        "max_pool2d_grad", ops.constant(xc).id, t.id, k, s, p)),
        lambda t: ref_max_pool_grad(xc, t, k, s, p), [gy], rng)
    a = f32(rng, N, C, H, W)
    check_first_order(lambda t: ops.Tensor(t.trace, t.trace.graph.pool_adjoint(
        "max_pool2d_gather", ops.constant(xc).id, t.id, k, s, p)),
        lambda t: ref_max_pool_gather(xc, t, k, s, p), [a], rng)
    check_first_order(lambda t: ops.Tensor(t.trace, t.trace.graph.pool_adjoint(
        "avg_pool2d_grad", t.id, ops.constant(xc).id, k, s, p)),
        lambda t: ref_avg_pool_grad(t, x.shape, k, s, p), [gy], rng)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_upsample_first_order(scale, rng):
    x = f32(rng, 2, 3, 3, 5)
    check_first_order(lambda t: ops.upsample_nearest(t, scale), lambda t: ref_upsample(t, scale), [x], rng)
    y = f32(rng, 2, 3, 3 * scale, 5 * scale)
    check_first_order(lambda t: ops.Tensor(t.trace, t.trace.graph.pool_adjoint("upsample_nearest_grad", t.id,
                                                                                 kernel_size=scale)),
                      lambda t: ref_upsample_grad(t, scale), [y], rng)


@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (1, 2, 3, 3), (6, 5), (2, 3, 1, 1)], ids=str)
def test_batch_norm_first_order(shape, rng):
    x = f32(rng, *shape) * 2 + 1
    c = shape[1]
    g, b = f32(rng, c) + 1, f32(rng, c)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    check_first_order(lambda t, tg, tb: ops.batch_norm(t, tg, tb, rm, rv, training=True),
                      lambda t, tg, tb: ref_batch_norm(t, tg, tb), [x, g, b], rng, rtol=3e-3, atol=3e-4)
    # eval mode: an ordinary affine map with the (fixed) running statistics
    rm[:], rv[:] = f32(rng, c), np.abs(f32(rng, c)) + 0.5
    shp = (1, -1, 1, 1) if len(shape) == 4 else (1, -1)
    check_first_order(lambda t, tg, tb: ops.batch_norm(t, tg, tb, rm, rv, training=False),
                      lambda t, tg, tb: (t - rm.reshape(shp)) / np.sqrt(rv.reshape(shp) + 1e-5) * tg.reshape(shp)
                      + tb.reshape(shp), [x, g, b], rng)


# ---- second order ------------------------------------------------------------------

def _fd_check(P_and_grads, inputs, grads, rng, eps=1e-2, rel=2e-2):
    """Directional 4-point finite differences of P over all inputs vs sum(g . v)."""
    P0 = float(P_and_grads(*inputs)[0])
    for _ in range(3):
        vs = [rng.standard_normal(x.shape) for x in inputs]
        nv = np.sqrt(sum(float(np.sum(v * v)) for v in vs))
        vs = [v / nv for v in vs]
        f = [float(P_and_grads(*[(x + k * eps * v).astype(np.float32) for x, v in zip(inputs, vs)])[0])
             for k in (2, 1, -1, -2)]
        numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * eps)
        analytic = sum(float(np.sum(g.astype(np.float64) * v)) for g, v in zip(grads, vs))
        assert abs(numeric - analytic) <= rel * max(abs(numeric), abs(analytic)) + 2e-3 * max(1.0, abs(P0)), \
            f"numeric {numeric}, analytic {analytic}"


@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("s,p", [(1, 1), (2, 1), (2, 0)])
def test_second_order_penalty_through_conv(kind, s, p, rng):
    """P = sum((r2 * d/dx sum(r1 * tanh(conv(x, W) + b)))^2): dP/dW, dP/db, dP/dx by finite differences."""
    x = f32(rng, 2, 3, 7, 6)
    W = f32(rng, 4, 3, 3, 3, scale=0.4) if kind == "conv2d" else f32(rng, 3, 4, 3, 3, scale=0.4)
    b = f32(rng, 1, 4, 1, 1, scale=0.3)
    conv = (lambda t, w: ops.conv2d(t, w, s, p)) if kind == "conv2d" else \
        (lambda t, w: ops.conv_transpose2d(t, w, s, p, (s - 1, 0)))
    yshape = (ref_conv2d(x, W, s, p) if kind == "conv2d" else ref_conv_transpose2d(x, W, s, p, (s - 1, 0))).shape
    r1, r2 = f32(rng, *yshape), f32(rng, *x.shape)

    @gl.function
    def P_and_grads(xs, Wt, bt):
        f = ops.sum(ops.tanh(conv(xs, Wt) + bt) * r1)
        (gx,) = gl.grad(f, [xs])
        P = ops.sum(ops.square(gx * r2))
        return P, gl.grad(P, [xs, Wt, bt])

    P, grads = P_and_grads(x, W, b)
    assert all(np.all(np.isfinite(g)) and np.any(g != 0) for g in grads)
    _fd_check(P_and_grads, [x, W, b], grads, rng)


@pytest.mark.parametrize("s,p", [(1, 0), (2, 1)])
def test_second_order_through_weight_grad(s, p, rng):
    """P = sum((r2 * d/dW sum(r1 * tanh(conv(x, W))))^2): differentiates CONV2D_WEIGHT_GRAD in both operands."""
    x, W = f32(rng, 2, 2, 6, 7), f32(rng, 3, 2, 3, 3, scale=0.4)
    r1 = f32(rng, *ref_conv2d(x, W, s, p).shape)
    r2 = f32(rng, *W.shape)

    @gl.function
    def P_and_grads(xs, Wt):
        f = ops.sum(ops.tanh(ops.conv2d(xs, Wt, s, p)) * r1)
        (gW,) = gl.grad(f, [Wt])
        P = ops.sum(ops.square(gW * r2))
        return P, gl.grad(P, [xs, Wt])

    P, grads = P_and_grads(x, W)
    _fd_check(P_and_grads, [x, W], grads, rng)


def test_second_order_through_pooling(rng):
    """Max/avg pool and upsampling adjoints on a penalty path."""
    x, W = f32(rng, 2, 2, 8, 8), f32(rng, 3, 2, 3, 3, scale=0.4)
    r1 = f32(rng, 2, 3, 4, 4)

    @gl.function
    def P_and_grads(xs, Wt):
        h = ops.tanh(ops.conv2d(xs, Wt, 1, 1))
        h = ops.max_pool2d(h, 2) + ops.avg_pool2d(ops.upsample_nearest(h, 2), 4, 4, 0)
        f = ops.sum(ops.tanh(h) * r1)
        (gx,) = gl.grad(f, [xs])
        P = ops.sum(ops.square(gx))
        return P, gl.grad(P, [xs, Wt])

    P, grads = P_and_grads(x, W)
    _fd_check(P_and_grads, [x, W], grads, rng, eps=1e-3)


# ---- PyTorch oracle ----------------------------------------------------------------

def _close(a, b, tol=1e-4):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)
    assert err <= tol, f"relative error {err}"


ORACLE_CONV = [  # (N, C, H, W, O, k, stride, padding, output_padding for the transpose)
    (1, 3, 9, 7, 5, 3, 1, 1, 0), (4, 2, 11, 9, 3, 4, 2, 1, 1), (3, 4, 8, 8, 6, 4, 2, 1, 0),
    (2, 3, 7, 5, 2, 3, 2, 0, 1), (1, 1, 28, 28, 8, 4, 2, 1, 0),
    # 4x4 stride 2 with >= 32 channels: the Winograd path for conv, transposed conv and both gradients
    (2, 32, 14, 14, 32, 4, 2, 1, 0), (17, 32, 9, 11, 33, 4, 2, 2, 1), (1, 40, 7, 7, 36, 4, 2, 0, 1),
    # unpadded with output padding: the transposed conv's last output row / column is one that no
    # tile of its adjoint reaches (zero), after full (8 x 4) and short (7 x 11) last tiles
    (2, 32, 8, 4, 32, 4, 2, 0, 1), (1, 32, 7, 11, 32, 4, 2, 0, 1),
    # 3x3 stride 2 past the shallow per-image path (CycleGAN's down and up convs): im2col and col2im
    # at a constant stride of 2, even and odd widths, with and without padding
    (3, 16, 28, 28, 32, 3, 2, 1, 1), (2, 9, 13, 10, 12, 3, 2, 0, 1), (1, 12, 7, 9, 8, 5, 3, 2, 2),
]


@pytest.mark.parametrize("case", ORACLE_CONV, ids=str)
def test_conv_vs_torch(case, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    N, C, H, W, O, k, s, p, op = case
    x, w, wt = f32(rng, N, C, H, W), f32(rng, O, C, k, k, scale=0.3), f32(rng, C, O, k, k, scale=0.3)

    f = gl.function(lambda a, b, c: (lambda y, z: (y, z, gl.grad(ops.sum(ops.square(y)) + ops.sum(z * z * z),
                                                                 [a, b, c])))(
        ops.conv2d(a, b, s, p), ops.conv_transpose2d(a, c, s, p, op)))
    y, z, (gx, gw, gwt) = f(x, w, wt)
    tx, tw, twt = (torch.tensor(v, requires_grad=True) for v in (x, w, wt))
    ty, tz = F.conv2d(tx, tw, stride=s, padding=p), F.conv_transpose2d(tx, twt, stride=s, padding=p,
                                                                        output_padding=op)
    ((ty ** 2).sum() + (tz ** 3).sum()).backward()
    _close(y, ty.detach().numpy())
    _close(z, tz.detach().numpy())
    _close(gx, tx.grad.numpy())
    _close(gw, tw.grad.numpy())
    _close(gwt, twt.grad.numpy())


@pytest.mark.parametrize("case", [(1, 3, 9, 7, 3, 2, 1), (4, 2, 8, 8, 2, 2, 0), (2, 3, 11, 6, 3, 1, 1),
                                  (3, 2, 7, 9, 4, 3, 2)], ids=str)
def test_pool_upsample_vs_torch(case, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    N, C, H, W, k, s, p = case
    x = f32(rng, N, C, H, W)

    @gl.function
    def f(a):
        m, v, u = ops.max_pool2d(a, k, s, p), ops.avg_pool2d(a, k, s, p), ops.upsample_nearest(a, 2)
        L = ops.sum(ops.square(m)) + ops.sum(v * v * v) + ops.sum(ops.tanh(u))
        return m, v, u, gl.grad(L, [a])[0]

    m, v, u, gx = f(x)
    tx = torch.tensor(x, requires_grad=True)
    tm, tv = F.max_pool2d(tx, k, s, p), F.avg_pool2d(tx, k, s, p, count_include_pad=True)
    tu = F.interpolate(tx, scale_factor=2, mode="nearest")
    ((tm ** 2).sum() + (tv ** 3).sum() + torch.tanh(tu).sum()).backward()
    _close(m, tm.detach().numpy())
    _close(v, tv.detach().numpy())
    _close(u, tu.detach().numpy())
    _close(gx, tx.grad.numpy())


@pytest.mark.parametrize("shape", [(8, 3, 5, 7), (1, 4, 3, 5), (16, 6), (5, 2, 1, 1)], ids=str)
def test_batch_norm_vs_torch(shape, rng):
    torch = pytest.importorskip("torch")
    c = shape[1]
    g, b = f32(rng, c) + 1, f32(rng, c)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    bn = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(c, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(g))
        bn.bias.copy_(torch.tensor(b))
    bn.train()

    @gl.function
    def f(x, tg, tb):
        y = ops.batch_norm(x, tg, tb, rm, rv, eps=1e-5, momentum=0.1, training=True)
        L = ops.sum(ops.square(y) * ops.tanh(x))
        return y, gl.grad(L, [x, tg, tb])

    for step in range(3):
        x = f32(rng, *shape) * (1 + step) + step
        y, (gx, gg, gb) = f(x, g, b)
        tx = torch.tensor(x, requires_grad=True)
        bn.zero_grad()
        ty = bn(tx)
        (ty ** 2 * torch.tanh(tx)).sum().backward()
        _close(y, ty.detach().numpy())
        _close(gx, tx.grad.numpy())
        _close(gg, bn.weight.grad.numpy())
        _close(gb, bn.bias.grad.numpy())
    _close(rm, bn.running_mean.numpy())
    _close(rv, bn.running_var.numpy())
    # eval mode uses the running statistics, as torch's eval()
    bn.eval()
    x = f32(rng, *shape)
    fe = gl.function(lambda t, tg, tb: ops.batch_norm(t, tg, tb, rm, rv, training=False))
    _close(fe(x, g, b), bn(torch.tensor(x)).detach().numpy())


@pytest.mark.parametrize("widths", [(4, 6), (8, 32)], ids=["im2col", "winograd"])
def test_wgan_gp_conv_critic_vs_torch(widths, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    N, (c1, c2) = 5, widths
    params = {"W1": f32(rng, c1, 1, 4, 4, scale=0.3), "b1": f32(rng, 1, c1, 1, 1, scale=0.1),
              "W2": f32(rng, c2, c1, 4, 4, scale=0.2), "b2": f32(rng, 1, c2, 1, 1, scale=0.1),
              "W3": f32(rng, c2 * 3 * 3, 1, scale=0.2), "b3": f32(rng, 1, 1, scale=0.1)}
    xr, xf, eps = f32(rng, N, 1, 13, 13), f32(rng, N, 1, 13, 13), rng.uniform(size=(N, 1, 1, 1)).astype(np.float32)

    def critic(x, W1, b1, W2, b2, W3, b3, lib):
        if lib == "gl":
            h = ops.leaky_relu(ops.conv2d(x, W1, 2, 1) + b1, 0.2)
            h = ops.leaky_relu(ops.conv2d(h, W2, 2, 1) + b2, 0.2)
            return ops.matmul(ops.reshape(h, (N, -1)), W3) + b3
        h = F.leaky_relu(F.conv2d(x, W1, stride=2, padding=1) + b1, 0.2)
        h = F.leaky_relu(F.conv2d(h, W2, stride=2, padding=1) + b2, 0.2)
        return h.reshape(N, -1) @ W3 + b3

    names = list(params)

    @gl.function
    def gp(a, b, e, *ps):
        xh = e * a + (1 - e) * b
        (g,) = gl.grad(ops.sum(critic(xh, *ps, "gl")), [xh])
        norms = ops.sqrt(ops.sum(ops.square(ops.reshape(g, (N, -1))), axis=1) + 1e-12)
        P = 10 * ops.mean(ops.square(norms - 1))
        return P, gl.grad(P, list(ps))

    P, grads = gp(xr, xf, eps, *[params[k] for k in names])
    tp = [torch.tensor(params[k], requires_grad=True) for k in names]
    xh = (torch.tensor(eps) * torch.tensor(xr) + (1 - torch.tensor(eps)) * torch.tensor(xf)).requires_grad_(True)
    (tg,) = torch.autograd.grad(critic(xh, *tp, "torch").sum(), xh, create_graph=True)
    tP = 10 * ((torch.sqrt((tg.reshape(N, -1) ** 2).sum(1) + 1e-12) - 1) ** 2).mean()
    tgrads = torch.autograd.grad(tP, tp, allow_unused=True)  # b3 does not reach the penalty
    _close(P, tP.item())
    for k, g, t in zip(names, grads, tgrads):
        if t is None:
            assert k == "b3" and np.all(g == 0)
        else:
            _close(g, t.numpy())


# ---- errors ------------------------------------------------------------------------

def test_second_derivative_through_training_batch_norm_is_a_clear_error(rng):
    x, g, b = f32(rng, 4, 3, 5, 5), np.ones(3, np.float32), np.zeros(3, np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)

    def fn(t, tg, tb):
        y = ops.batch_norm(t, tg, tb, rm, rv, training=True)
        (gx,) = gl.grad(ops.sum(ops.tanh(y)), [t])
        return gl.grad(ops.sum(ops.square(gx)), [tg])

    with pytest.raises(gl._C.GanlibError, match=r"batch_norm \(training mode\) is first-order only"):
        gl.function(fn)(x, g, b)
    # first order through it is fine, and so is second order in eval mode
    gl.function(lambda t, tg, tb: gl.grad(ops.sum(ops.tanh(ops.batch_norm(t, tg, tb, rm, rv))), [t, tg]))(x, g, b)
    fe = gl.function(lambda t, tg, tb: gl.grad(ops.sum(ops.square(gl.grad(ops.sum(ops.tanh(
        ops.batch_norm(t, tg, tb, rm, rv, training=False))), [t])[0])), [tg]))
    assert np.all(np.isfinite(fe(x, g, b)[0]))


def test_bad_shapes_raise_value_errors_naming_shapes(rng):
    x = np.zeros((2, 3, 5, 5), np.float32)

    def call(fn, *arrays):
        return gl.function(fn)(*arrays)

    with pytest.raises(ValueError, match=r"\(2, 3, 5, 5\).*\(4, 2, 3, 3\)"):
        call(lambda a, w: ops.conv2d(a, w), x, np.zeros((4, 2, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"kernel.*\(4, 3, 7, 7\).*larger.*\(2, 3, 5, 5\)"):
        call(lambda a, w: ops.conv2d(a, w), x, np.zeros((4, 3, 7, 7), np.float32))
    with pytest.raises(ValueError, match=r"\(2, 3, 5, 5\).*\(2, 4, 3, 3\)"):
        call(lambda a, w: ops.conv_transpose2d(a, w), x, np.zeros((2, 4, 3, 3), np.float32))
    with pytest.raises(ValueError, match="output_padding"):
        call(lambda a, w: ops.conv_transpose2d(a, w, 2, 1, 2), x, np.zeros((3, 4, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"kernel_size 7 is larger than x \(2, 3, 5, 5\)"):
        call(lambda a: ops.max_pool2d(a, 7), x)
    with pytest.raises(ValueError, match="4-D"):
        call(lambda a: ops.avg_pool2d(a, 2), np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\)"):
        call(lambda a, g: ops.batch_norm(a, g, g, None, None), x, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        call(lambda a, g: ops.batch_norm(a, g, g, None, None), np.ones((1, 3, 1, 1), np.float32),
             np.ones(3, np.float32))
    # the C layer names shapes too (for callers of the binding)
    g = gl._C.Graph()
    a, w = g.input((2, 3, 5, 5)), g.input((4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"x \(2, 3, 5, 5\) and w \(4, 2, 3, 3\)"):
        g.conv2d(a, w, 1, 0)
    with pytest.raises(ValueError, match=r"larger than x \(2, 3, 5, 5\) padded by 0"):
        g.conv2d(a, g.input((4, 3, 6, 6)), 1, 0)
    with pytest.raises(ValueError, match="running_mean: expected 3 elements"):
        g.batch_norm(a, g.input((3,)), g.input((3,)), np.zeros(4, np.float32), np.zeros(4, np.float32))


def test_running_stats_update_once_per_run_and_buffers_kept_alive(rng):
    import gc
    rm, rv = np.zeros(2, np.float32), np.ones(2, np.float32)
    f = gl.function(lambda t, tg, tb: ops.batch_norm(t, tg, tb, rm, rv, momentum=0.5))
    x = f32(rng, 6, 2)
    f(x, np.ones(2, np.float32), np.zeros(2, np.float32))
    np.testing.assert_allclose(rm, 0.5 * x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv, 0.5 + 0.5 * x.var(0, ddof=1), rtol=1e-5)
    # the graph keeps its own references to the running buffers
    g = gl._C.Graph()
    t = g.input((4, 3))
    buf = [np.zeros(3, np.float32), np.ones(3, np.float32)]
    y = g.batch_norm(t, g.input((3,)), g.input((3,)), buf[0], buf[1])
    del buf
    gc.collect()
    prog = gl._C.Program(g, [y])
    out = prog.run([np.arange(12, dtype=np.float32).reshape(4, 3), np.ones(3, np.float32),
                    np.zeros(3, np.float32)])
    assert np.all(np.isfinite(out[0]))
