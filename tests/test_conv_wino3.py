"""3x3 stride-1 padding-1 convolutions on the Winograd F(2x2, 3x3) path (csrc/ops/gl_k_wino3.c).

The path runs conv2d, its input gradient (a transposed conv) and its weight gradient wherever the
image side has >= 8 channels (gl_wino3_applies in csrc/ops/gl_k_conv.c); below that the per-image
path runs, so the cases pair many channels with 1 on the other side both ways.  Oracle: PyTorch in
float64 (values and the gradients with respect to input and weight, of conv2d and of
conv_transpose2d); first-order gradient checks against float64 references as in
tests/test_gradcheck.py; a second-order penalty by finite differences; and a training step (gradients
and an Adam update of a two-conv net) against the same net in PyTorch.
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from conv_checks import assert_thread_count_independent, conv_pair_errors, rel
from test_conv_ops import _fd_check, ref_conv2d, ref_conv_transpose2d, ref_weight_grad
from test_gradcheck import check_first_order

torch = pytest.importorskip("torch")


# (N, C, H, W, O): batch 1 and 7 (one partial 16-image lane block) and 35 (three chunks); 32 x 32 and
# 28 x 28 (two segments of tiles a row, many blocks), 14 x 14, 7 x 7 and odd planes (a half last
# tile), 1 x 1; one channel on either side of many
CASES = [
    (1, 8, 7, 7, 1), (7, 32, 28, 28, 32), (7, 32, 14, 14, 8), (1, 32, 14, 14, 32), (7, 32, 28, 28, 1),
    (7, 1, 28, 28, 32), (7, 9, 13, 11, 3), (1, 16, 1, 1, 5), (7, 64, 7, 7, 64), (35, 12, 7, 5, 12),
    (1, 4, 9, 14, 32), (7, 33, 6, 3, 17), (18, 8, 32, 32, 16),
]

# max relative error (to each tensor's largest) of the float32 path against float64, x ~ N(0, 1),
# w ~ N(0, 2 / (9 C)) (He-scaled); measured <= 4.6e-7 over these cases and <= 8.5e-7 at batch 64 x 32
# channels x 28 x 28 (the weight gradient; the im2col + sgemm path before: <= 7.3e-7)
TOL = 1e-5


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv3x3_values_and_gradients_vs_torch_float64(case):
    N, C, H, W, O = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = (rng.standard_normal((O, C, 3, 3)) * np.sqrt(2 / (9 * C))).astype(np.float32)
    wt = (rng.standard_normal((C, O, 3, 3)) * np.sqrt(2 / (9 * C))).astype(np.float32)
    r = rng.standard_normal((N, O, H, W)).astype(np.float32)
    rt = rng.standard_normal((N, O, H, W)).astype(np.float32)

    errs = conv_pair_errors(torch, x, w, x, wt, r, rt, padding=1)
    assert max(errs.values()) <= TOL, errs


# 9 x 10 planes, 16 -> 24 channels: five forward blocks (whole blocks per thread on 2 threads, blocks in
# turn on 3) and two weight-gradient blocks
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_results_do_not_depend_on_the_thread_count(threads):
    assert_thread_count_independent((19, 16, 9, 10), (24, 16, 3, 3), 1, threads, seed=5)


GRADCHECK = [(2, 8, 5, 7, 3), (1, 3, 6, 5, 9), (3, 10, 4, 4, 10), (2, 8, 1, 3, 1)]  # (N, C, H, W, O)


@pytest.mark.parametrize("case", GRADCHECK, ids=str)
def test_first_order(case, rng):
    N, C, H, W, O = case
    x, w = rng.standard_normal((N, C, H, W)).astype(np.float32), (0.5 * rng.standard_normal((O, C, 3, 3))).astype(
        np.float32)
    check_first_order(lambda a, b: ops.conv2d(a, b, 1, 1), lambda a, b: ref_conv2d(a, b, 1, 1), [x, w], rng)
    wt = (0.5 * rng.standard_normal((C, O, 3, 3))).astype(np.float32)
    check_first_order(lambda a, b: ops.conv_transpose2d(a, b, 1, 1), lambda a, b: ref_conv_transpose2d(a, b, 1, 1),
                      [x, wt], rng)
    b = rng.standard_normal((N, O, H, W)).astype(np.float32)

    def wgrad(ta, tb):
        return ops.Tensor(ta.trace, ta.trace.graph.conv2d_weight_grad(ta.id, tb.id, (3, 3), 1, 1))

    check_first_order(wgrad, lambda ta, tb: ref_weight_grad(ta, tb, 3, 3, 1, 1), [x, b], rng)


def test_second_order_penalty(rng):
    """P = sum((r2 * d/dx sum(r1 * tanh(conv(x, W) + b)))^2): all three ops on the path, differentiated."""
    x = rng.standard_normal((2, 8, 6, 5)).astype(np.float32)
    W = (0.2 * rng.standard_normal((9, 8, 3, 3))).astype(np.float32)
    b = (0.3 * rng.standard_normal((1, 9, 1, 1))).astype(np.float32)
    r1 = rng.standard_normal((2, 9, 6, 5)).astype(np.float32)
    r2 = rng.standard_normal(x.shape).astype(np.float32)

    @gl.function
    def P_and_grads(xs, Wt, bt):
        f = ops.sum(ops.tanh(ops.conv2d(xs, Wt, 1, 1) + bt) * r1)
        (gx,) = gl.grad(f, [xs])
        P = ops.sum(ops.square(gx * r2))
        return P, gl.grad(P, [xs, Wt, bt])

    P, grads = P_and_grads(x, W, b)
    assert all(np.all(np.isfinite(g)) and np.any(g != 0) for g in grads)
    _fd_check(P_and_grads, [x, W, b], grads, rng)


def test_training_step_vs_torch():
    """Conv(8 -> 32) -> ReLU -> Conv(32 -> 8), MSE to a target, batch 7 at 14 x 14: the loss, every
    parameter's gradient (float64 PyTorch) and one Adam step (float32 PyTorch)."""
    net = gl.nn.Sequential(gl.nn.Conv2d(8, 32, 3, padding=1, seed=1), gl.nn.ReLU(),
                           gl.nn.Conv2d(32, 8, 3, padding=1, seed=2))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 8, 14, 14)).astype(np.float32)
    t = rng.standard_normal((7, 8, 14, 14)).astype(np.float32)
    names = list(net.parameters())

    def step(xs, ts):
        loss = ops.mean(ops.square(net(xs) - ts))
        return loss, gl.grad(loss, net)

    loss, grads = gl.function(step)(x, t)

    def torch_net(dtype):
        m = torch.nn.Sequential(torch.nn.Conv2d(8, 32, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(32, 8, 3, padding=1)).to(dtype)
        with torch.no_grad():
            for n, p in m.named_parameters():
                p.copy_(torch.from_numpy(net.parameters()[n].astype(np.float64)).to(dtype))
        return m

    ref = torch_net(torch.float64)
    ref_loss = ((ref(torch.from_numpy(x).double()) - torch.from_numpy(t).double()) ** 2).mean()
    ref_loss.backward()
    refp = dict(ref.named_parameters())
    np.testing.assert_allclose(loss, ref_loss.item(), rtol=1e-5)
    for n, g in zip(names, grads):
        assert rel(g, refp[n].grad.numpy()) <= TOL, n
    m32 = torch_net(torch.float32)
    opt = torch.optim.Adam(m32.parameters(), lr=1e-3)
    ((m32(torch.from_numpy(x)) - torch.from_numpy(t)) ** 2).mean().backward()
    opt.step()
    p = np.concatenate([net.parameters()[n].ravel() for n in names]).astype(np.float32)
    gl.optim.Adam(1e-3).bind(p, np.concatenate([np.asarray(g, np.float32).ravel() for g in grads])).step()
    tp = dict(m32.named_parameters())
    off = 0
    for n in names:
        size = net.parameters()[n].size
        np.testing.assert_allclose(p[off:off + size], tp[n].detach().numpy().ravel(), atol=2e-6, err_msg=n)
        off += size
