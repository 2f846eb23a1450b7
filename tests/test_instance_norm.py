"""gl.nn.InstanceNorm2d against torch.nn.InstanceNorm2d (values and gradients); ResidualBlock
and the CycleGAN presets: shapes, specs, bad input."""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops


@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_matches_torch(affine):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = (3 + 2 * rng.standard_normal((3, 4, 5, 6))).astype(np.float32)
    w = rng.standard_normal(x.shape).astype(np.float32)
    norm = gl.nn.InstanceNorm2d(4, affine=affine)
    if affine:
        norm.param("weight")[...] = rng.uniform(0.5, 1.5, 4)
        norm.param("bias")[...] = rng.standard_normal(4)

    @gl.function
    def f(xt, wt):
        y = norm(xt)
        return y, gl.grad(ops.sum(ops.square(y * wt)), [xt] + norm.param_tensors(xt.trace))

    y, grads = f(x, w)
    tn = torch.nn.InstanceNorm2d(4, affine=affine).double()
    if affine:
        with torch.no_grad():
            tn.weight.copy_(torch.from_numpy(norm.param("weight").astype(np.float64)))
            tn.bias.copy_(torch.from_numpy(norm.param("bias").astype(np.float64)))
    tx = torch.from_numpy(x).double().requires_grad_(True)
    ty = tn(tx)
    wrt = [tx] + ([tn.weight, tn.bias] if affine else [])
    tgrads = torch.autograd.grad(((ty * torch.from_numpy(w).double()) ** 2).sum(), wrt)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert len(grads) == len(tgrads)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g, tg.numpy(), rtol=1e-3, atol=1e-4)


def test_instance_norm_is_per_image_and_the_same_in_eval_mode():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 2, 5, 5)).astype(np.float32)
    norm = gl.nn.InstanceNorm2d(2)
    y = norm(x)
    np.testing.assert_allclose(y[:1], norm(x[:1]), atol=1e-6)     # other images do not matter
    np.testing.assert_allclose(norm.eval()(x), y, atol=0)
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(2, 3)), 1, atol=1e-3)


def test_instance_norm_bad_input_and_spec():
    with pytest.raises(ValueError, match="expected input"):
        gl.nn.InstanceNorm2d(3)(np.zeros((2, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="expected input"):
        gl.nn.InstanceNorm2d(3)(np.zeros((2, 3), np.float32))
    with pytest.raises((TypeError, ValueError)):
        gl.nn.InstanceNorm2d(0)
    again = gl.nn.from_spec(gl.nn.InstanceNorm2d(3, eps=1e-3, affine=True).spec())
    assert (again.num_features, again.eps, again.affine) == (3, 1e-3, True)


# plane sizes on both sides of the 16- and 32-float vector loops and their tails; (2, 2, 1, 1):
# one value per plane (y = 0, its gradients 0)
PLANES = [(2, 3, 5, 5), (3, 2, 7, 7), (1, 2, 28, 28), (2, 1, 1, 17), (2, 3, 4, 33), (1, 2, 8, 8), (2, 2, 1, 1)]


def _torch_instance_norm(torch, x):
    return (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), unbiased=False, keepdim=True) + 1e-5)


@pytest.mark.parametrize("act", [None, "relu", "leaky_relu"])
@pytest.mark.parametrize("shape", PLANES)
def test_instance_norm_op_to_third_order_matches_torch(shape, act):
    """ops.instance_norm (alone, or with the ReLU / LeakyReLU the program fuses into it) and the
    gradients of its gradients (INSTANCE_NORM_BWD, differentiated through its expansion into
    INSTANCE_NORM_GRAD and INSTANCE_RSTD) against float64 torch autograd."""
    torch = pytest.importorskip("torch")
    ours_act = {None: lambda t: t, "relu": ops.relu, "leaky_relu": lambda t: ops.leaky_relu(t, 0.2)}[act]
    torch_act = {None: lambda t: t, "relu": torch.relu,
                 "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2)}[act]
    rng = np.random.default_rng(sum(shape))
    x = (5 + 3 * rng.standard_normal(shape)).astype(np.float32)
    r1, r2, r3 = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))

    @gl.function
    def f(x, r1, r2, r3):
        y = ours_act(ops.instance_norm(x))
        g1, = gl.grad(ops.sum(ops.mul(y, r1)), [x])
        g2, = gl.grad(ops.sum(ops.mul(g1, r2)), [x])
        g3, = gl.grad(ops.sum(ops.mul(ops.square(g2), r3)), [x])
        return y, g1, g2, g3

    ours = f(x, r1, r2, r3)
    tx = torch.from_numpy(x).double().requires_grad_(True)
    t1, t2, t3 = (torch.from_numpy(r).double() for r in (r1, r2, r3))
    ty = torch_act(_torch_instance_norm(torch, tx))
    tg1, = torch.autograd.grad((ty * t1).sum(), tx, create_graph=True)
    tg2, = torch.autograd.grad((tg1 * t2).sum(), tx, create_graph=True)
    tg3, = torch.autograd.grad((tg2.square() * t3).sum(), tx)
    for name, a, b in zip(("y", "grad", "grad of grad", "third"), ours, (ty, tg1, tg2, tg3)):
        b = b.detach().numpy()
        scale = max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-5 * scale, err_msg=name)


def test_instance_norm_gradient_seeded_by_its_own_input():
    """A seed that is the input itself (the one-pass gradient then reads one node twice): its gradient
    counts that node once, as torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    r = rng.standard_normal(x.shape).astype(np.float32)

    @gl.function
    def f(x, r):
        g1, = gl.grad(ops.instance_norm(x), [x], seed=x)
        return g1, gl.grad(ops.sum(ops.mul(g1, r)), [x])[0]

    g1, g2 = f(x, r)
    tx = torch.from_numpy(x).double().requires_grad_(True)
    tg1, = torch.autograd.grad(_torch_instance_norm(torch, tx), tx, grad_outputs=tx, create_graph=True)
    tg2, = torch.autograd.grad((tg1 * torch.from_numpy(r).double()).sum(), tx)
    np.testing.assert_allclose(g1, tg1.detach().numpy(), atol=2e-5)
    np.testing.assert_allclose(g2, tg2.numpy(), atol=2e-5 * max(1.0, float(tg2.abs().max())))


def test_instance_norm_op_large_mean_and_constant_planes():
    """Centred statistics: a mean of 1e4 with std 1 keeps its variance; a constant plane gives 0."""
    rng = np.random.default_rng(3)
    x = (1e4 + rng.standard_normal((2, 3, 9, 9))).astype(np.float32)
    x[1, 2] = 7.0
    y = gl.function(lambda x: ops.instance_norm(x))(x)
    xd = x.astype(np.float64)
    ref = (xd - xd.mean((2, 3), keepdims=True)) / np.sqrt(xd.var((2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, ref, atol=2e-3)
    assert np.all(y[1, 2] == 0)


def test_instance_norm_op_thread_count_independent():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 32, 14, 14)).astype(np.float32)
    r = rng.standard_normal(x.shape).astype(np.float32)
    f = gl.function(lambda x, r: (ops.instance_norm(x), gl.grad(ops.sum(ops.mul(ops.instance_norm(x), r)), [x])[0]))
    before = gl.get_num_threads()
    try:
        gl.set_num_threads(1)
        y1, g1 = f(x, r)
        gl.set_num_threads(2)
        y2, g2 = f(x, r)
    finally:
        gl.set_num_threads(before)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


def test_instance_norm_op_bad_input():
    f = lambda shape, **kw: gl.function(lambda x: ops.instance_norm(x, **kw))(np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match=r"instance_norm expects x \(N, C, H, W\)"):
        f((2, 3, 4))
    with pytest.raises(ValueError, match="empty|H, W >= 1"):
        f((2, 3, 0, 4))
    for eps in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="eps"):
            f((2, 3, 4, 4), eps=eps)


def test_residual_block_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    block = gl.nn.ResidualBlock(3, seed=0)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w1, w2 = block.parameters()["body.0.weight"], block.parameters()["body.3.weight"]
    tx = torch.from_numpy(x).double()
    tf = torch.nn.functional
    h = tf.relu(tf.instance_norm(tf.conv2d(tx, torch.from_numpy(w1).double(), padding=1)))
    ref = tx + tf.instance_norm(tf.conv2d(h, torch.from_numpy(w2).double(), padding=1))
    np.testing.assert_allclose(block(x), ref.numpy(), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="expected input"):
        block(np.zeros((2, 4, 6, 6), np.float32))
    again = gl.nn.from_spec(block.spec())
    again.load_state_dict(block.state_dict())
    np.testing.assert_array_equal(again(x), block(x))


def test_cyclegan_presets():
    G = gl.nn.resnet_generator((1, 28, 28), out_channels=3, width=4, n_blocks=1, seed=0)
    y = G(np.zeros((2, 1, 28, 28), np.float32))
    assert y.shape == (2, 3, 28, 28) and np.abs(y).max() <= 1
    assert gl.nn.patch_discriminator((3, 28, 28), width=4, seed=0)(y).shape == (2, 25)
    assert gl.nn.resnet_generator((1, 30, 30), n_down=1, width=4, n_blocks=0, seed=0)(
        np.zeros((1, 1, 30, 30), np.float32)).shape == (1, 1, 30, 30)
    with pytest.raises(ValueError, match="not divisible"):
        gl.nn.resnet_generator((1, 30, 30), n_down=2)
    with pytest.raises(ValueError, match="at least 16"):
        gl.nn.patch_discriminator((1, 8, 8))
    with pytest.raises(ValueError, match="image_shape"):
        gl.nn.resnet_generator((28, 28))
