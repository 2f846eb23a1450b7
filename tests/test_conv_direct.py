"""Stride-1 convolutions to at most four channels on the direct path (csrc/ops/gl_k_conv_direct.c),
and kernels as large as their unpadded input, run as single GEMMs (gl_dense_conv in gl_k_conv.c).

The path runs conv2d, the transposed conv and the weight gradient wherever the column side (conv2d's
output channels, the transposed conv's input channels) has <= 4 channels, the im2col is deeper than
64 and the shape is not a Winograd one (gl_direct_applies in csrc/ops/gl_k_conv.c): CycleGAN's last
7x7 conv to one image channel, PatchGAN's last 4x4 conv to one logit.  A conv2d with few output
channels and a conv_transpose2d with few input channels each run all three kernels (value, input
gradient, weight gradient).  Oracle: PyTorch in float64; first-order gradient checks; thread-count
independence; the fused bias and activation of a layer against torch.nn.
"""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from conv_checks import assert_thread_count_independent, conv_pair_errors, rel
from test_conv_ops import ref_conv2d, ref_conv_transpose2d
from test_gradcheck import check_first_order

torch = pytest.importorskip("torch")


# (N, C, H, W, O, kh, kw, p): C the many-channel side, O <= 4 the other.  7x7 padding 3 at 28 x 28
# (CycleGAN's output conv); 4x4 padding 1 and 2 (PatchGAN's logit conv, odd output widths); widths
# past 64 and past 128 (several column tiles, a partial last vector); rectangular kernels; padding 0;
# 3x3 padding 0 (not Winograd); batch 1 and an odd batch above the 8 buffer groups; 1-4 channels.
CASES = [
    (3, 16, 28, 28, 1, 7, 7, 3), (9, 64, 7, 7, 1, 4, 4, 1), (2, 32, 9, 10, 3, 4, 4, 2), (1, 8, 5, 70, 2, 3, 3, 0),
    (2, 5, 4, 131, 4, 5, 5, 2), (11, 3, 12, 13, 4, 7, 5, 0), (1, 12, 17, 64, 1, 3, 7, 2), (3, 20, 6, 6, 2, 6, 6, 5),
]

# float32 against float64, relative to each tensor's largest value
TOL = 2e-5


@pytest.mark.parametrize("case", CASES, ids=str)
def test_values_and_gradients_vs_torch_float64(case):
    N, C, H, W, O, kh, kw, p = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    xt = rng.standard_normal((N, O, H, W)).astype(np.float32)
    w = (rng.standard_normal((O, C, kh, kw)) / np.sqrt(C * kh * kw)).astype(np.float32)
    wt = (rng.standard_normal((O, C, kh, kw)) / np.sqrt(O * kh * kw)).astype(np.float32)
    Ho, Wo = H + 2 * p - kh + 1, W + 2 * p - kw + 1
    Ht, Wt = H - 2 * p + kh - 1, W - 2 * p + kw - 1
    r = rng.standard_normal((N, O, Ho, Wo)).astype(np.float32)
    rt = rng.standard_normal((N, C, Ht, Wt)).astype(np.float32)

    errs = conv_pair_errors(torch, x, w, xt, wt, r, rt, padding=p)
    assert max(errs.values()) <= TOL, errs


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_results_do_not_depend_on_the_thread_count(threads):
    assert_thread_count_independent((13, 16, 20, 21), (2, 16, 7, 7), 3, threads, seed=7)


GRADCHECK = [(2, 8, 5, 6, 1, 3, 3, 0), (1, 6, 4, 7, 3, 4, 4, 2), (2, 3, 6, 5, 4, 5, 5, 1)]  # as CASES


@pytest.mark.parametrize("case", GRADCHECK, ids=str)
def test_first_order(case, rng):
    N, C, H, W, O, kh, kw, p = case
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = (0.3 * rng.standard_normal((O, C, kh, kw))).astype(np.float32)
    check_first_order(lambda a, b: ops.conv2d(a, b, 1, p), lambda a, b: ref_conv2d(a, b, 1, p), [x, w], rng)
    xt = rng.standard_normal((N, O, H, W)).astype(np.float32)
    check_first_order(lambda a, b: ops.conv_transpose2d(a, b, 1, p),
                      lambda a, b: ref_conv_transpose2d(a, b, 1, p), [xt, w], rng)


def test_layer_with_fused_bias_and_tanh_vs_torch():
    """Conv2d(16 -> 1, 7, padding=3) + tanh, CycleGAN's output layer: output, input and parameter
    gradients against torch.nn in float64."""
    conv = gl.nn.Conv2d(16, 1, 7, padding=3, seed=4)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 16, 28, 28)).astype(np.float32)
    r = rng.standard_normal((5, 1, 28, 28)).astype(np.float32)

    def f(a):
        y = ops.tanh(conv(a))
        return y, gl.grad(ops.sum(y * r), [a] + [conv.p(n) for n in ("weight", "bias")])

    y, (gx, gw, gb) = gl.function(f)(x)
    ref = torch.nn.Conv2d(16, 1, 7, padding=3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(conv.param("weight").astype(np.float64)))
        ref.bias.copy_(torch.from_numpy(conv.param("bias").astype(np.float64)))
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ty = torch.tanh(ref(tx))
    (ty * torch.from_numpy(r).double()).sum().backward()
    assert rel(y, ty.detach().numpy()) <= TOL
    assert rel(gx, tx.grad.numpy()) <= TOL
    assert rel(gw, ref.weight.grad.numpy()) <= TOL
    assert rel(np.ravel(gb), ref.bias.grad.numpy()) <= TOL


# (N, C, H, W, O, stride): the kernel is the whole H x W input, one output position (DCGAN's last conv);
# rectangular, one channel either side, a stride that does not matter, O past 4 (not the direct path)
DENSE = [(64, 512, 4, 4, 1, 1), (3, 7, 5, 3, 4, 1), (1, 1, 2, 2, 1, 1), (5, 8, 4, 4, 3, 2), (2, 3, 1, 1, 9, 1),
         (9, 20, 3, 6, 12, 1)]


@pytest.mark.parametrize("case", DENSE, ids=str)
def test_whole_input_kernels_vs_torch_float64(case):
    N, C, H, W, O, s = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = (rng.standard_normal((O, C, H, W)) / np.sqrt(C * H * W)).astype(np.float32)
    xt = rng.standard_normal((N, O, 1, 1)).astype(np.float32)
    r = rng.standard_normal((N, O, 1, 1)).astype(np.float32)
    rt = rng.standard_normal((N, C, H, W)).astype(np.float32)

    errs = conv_pair_errors(torch, x, w, xt, w, r, rt, stride=s)
    assert max(errs.values()) <= TOL, errs


def test_whole_input_layer_with_fused_bias_and_sigmoid_vs_torch():
    conv = gl.nn.Conv2d(32, 3, 4, seed=5)
    x = np.random.default_rng(9).standard_normal((6, 32, 4, 4)).astype(np.float32)
    y = gl.function(lambda a: ops.sigmoid(conv(a)))(x)
    ref = torch.nn.Conv2d(32, 3, 4).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(conv.param("weight").astype(np.float64)))
        ref.bias.copy_(torch.from_numpy(conv.param("bias").astype(np.float64)))
    assert rel(y, torch.sigmoid(ref(torch.from_numpy(x).double())).detach().numpy()) <= TOL
