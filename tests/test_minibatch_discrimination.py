"""gl.nn.MinibatchDiscrimination: gradient check, PyTorch oracle, use inside a discriminator, checkpoints."""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

from test_gradcheck import check_first_order


def reference64(x, T, B, C):
    """The paper's definition, loop over pairs, float64."""
    m = (x @ T).reshape(x.shape[0], B, C)
    o = np.zeros((x.shape[0], B))
    for i in range(x.shape[0]):
        for j in range(x.shape[0]):
            if j != i:
                o[i] += np.exp(-np.abs(m[i] - m[j]).sum(axis=1))
    return np.concatenate([x, o], axis=1)


def layer_with(T, B, C):
    mbd = gl.nn.MinibatchDiscrimination(T.shape[0], B, C, seed=0)
    mbd.param("T")[...] = T
    return mbd


def test_forward_matches_pairwise_definition(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    T = (0.3 * rng.standard_normal((4, 3 * 2))).astype(np.float32)
    out = layer_with(T, 3, 2)(x)
    assert out.shape == (6, 7)
    np.testing.assert_allclose(out, reference64(x.astype(np.float64), T.astype(np.float64), 3, 2),
                               rtol=1e-5, atol=1e-6)


def test_gradcheck_input_and_kernel(rng):
    """First-order gradients in x and T against central differences of the float64 definition."""
    x = rng.standard_normal((5, 4)).astype(np.float32)
    T = (0.3 * rng.standard_normal((4, 3 * 2))).astype(np.float32)
    B, C = 3, 2

    def fn(xt, Tt):
        n = xt.shape[0]
        m = ops.matmul(xt, Tt)
        d = ops.reshape(m, (n, 1, B, C)) - ops.reshape(m, (1, n, B, C))
        return ops.concat([xt, ops.sum(ops.exp(-ops.sum(ops.abs(d), axis=3)), axis=1) - 1.0], axis=1)

    # the layer's own forward with T as an input, so the check covers exactly what it traces
    mbd = layer_with(T, B, C)
    check_first_order(lambda xt, Tt: mbd.call_with([Tt], xt), lambda a, b: reference64(a, b, B, C), [x, T], rng)
    check_first_order(fn, lambda a, b: reference64(a, b, B, C), [x, T], rng)


def test_matches_torch_values_and_gradients(rng):
    torch = pytest.importorskip("torch")
    N, A, B, C = 16, 10, 8, 3
    x = rng.standard_normal((N, A)).astype(np.float32)
    w = rng.standard_normal((N, A + B)).astype(np.float32)
    mbd = gl.nn.MinibatchDiscrimination(A, B, C, std=0.2, seed=3)
    T = mbd.param("T").copy()

    @gl.function
    def f(xt, wt):
        out = mbd(xt)
        loss = ops.sum(ops.square(out * wt))
        gx, gT = gl.grad(loss, [xt] + mbd.param_tensors(xt.trace))
        return out, loss, gx, gT

    out, loss, gx, gT = f(x, w)

    # a PyTorch implementation as in the common torch ports of the Salimans layer
    tx = torch.from_numpy(x).double().requires_grad_(True)
    tT = torch.from_numpy(T).double().reshape(A, B, C).requires_grad_(True)
    M = tx.mm(tT.view(A, B * C)).view(-1, B, C)
    l1 = (M.unsqueeze(0) - M.unsqueeze(1)).abs().sum(3)          # (N, N, B)
    o = torch.exp(-l1).sum(0) - 1
    tout = torch.cat([tx, o], 1)
    tloss = ((tout * torch.from_numpy(w).double()) ** 2).sum()
    tgx, tgT = torch.autograd.grad(tloss, [tx, tT])

    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert abs(loss - tloss.item()) <= 1e-5 * abs(tloss.item())
    np.testing.assert_allclose(gx, tgx.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gT, tgT.reshape(A, B * C).numpy(), rtol=1e-4, atol=1e-4)


def test_features_see_the_batch(rng):
    """Identical rows are maximally close (each gets N - 1); far-apart rows get about 0."""
    mbd = gl.nn.MinibatchDiscrimination(3, 4, 2, seed=0)
    same = np.repeat(rng.standard_normal((1, 3)).astype(np.float32), 5, axis=0)
    np.testing.assert_allclose(mbd(same)[:, 3:], 4.0, rtol=1e-6)
    apart = (1e4 * np.eye(3, dtype=np.float32))
    np.testing.assert_allclose(mbd(apart)[:, 3:], 0.0, atol=1e-6)
    np.testing.assert_allclose(mbd(same[:1])[:, 3:], 0.0, atol=0)   # one row: no other rows


def test_inside_a_discriminator_trains_and_checkpoints(tmp_path):
    D = gl.nn.Sequential(gl.nn.Linear(2, 16, seed=1), gl.nn.LeakyReLU(0.2),
                         gl.nn.MinibatchDiscrimination(16, 8, 4, seed=2), gl.nn.Linear(24, 1, seed=3))
    G = gl.nn.mlp(2, [32], 2, seed=0)
    X = gl.datasets.ring(n=2000, seed=0)
    gan = gl.GAN(G, D, loss="nonsaturating", seed=0)
    before = D[2].param("T").copy()
    gan.fit(X, steps=20, batch_size=64, progress=False)
    assert not np.array_equal(before, D[2].param("T")), "T is not trained"
    path = str(tmp_path / "mbd.safetensors")
    gan.save(path)
    again = gl.load(path)
    assert isinstance(again.D[2], gl.nn.MinibatchDiscrimination)
    for k, v in gan.D.state_dict().items():
        np.testing.assert_array_equal(v, again.D.state_dict()[k])
    a = gan.fit(X, steps=5, batch_size=64, progress=False)
    b = again.fit(X, steps=5, batch_size=64, progress=False)
    np.testing.assert_array_equal(a["d_loss"], b["d_loss"])


def test_spec_round_trip_and_bad_arguments():
    m = gl.nn.MinibatchDiscrimination(5, 6, 2, std=0.1, seed=4)
    twin = gl.nn.from_spec(m.spec())
    assert (twin.in_features, twin.B, twin.C, twin.std, twin.out_features) == (5, 6, 2, 0.1, 11)
    with pytest.raises(ValueError, match="B"):
        gl.nn.MinibatchDiscrimination(5, 0, 2)
    with pytest.raises(ValueError, match="std"):
        gl.nn.MinibatchDiscrimination(5, 2, 2, std=0)
    with pytest.raises(ValueError, match=r"\(batch, 5\)"):
        m(np.zeros((3, 4), np.float32))
