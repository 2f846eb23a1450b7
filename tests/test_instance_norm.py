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
