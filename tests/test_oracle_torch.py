"""Oracle tests: ganlib's values and gradients equal PyTorch's for the same weights."""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

torch = pytest.importorskip("torch")
torch.set_default_dtype(torch.float32)


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def torch_mlp_like(model, act):
    """A torch.nn.Sequential with the same architecture and weights as a gl.nn.mlp."""
    layers = []
    params = model.parameters()
    names = [k for k in params if k.endswith(".weight")]
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "leaky_relu": lambda: torch.nn.LeakyReLU(0.2),
            "softplus": torch.nn.Softplus, "sigmoid": torch.nn.Sigmoid}
    for i, name in enumerate(names):
        w = params[name]
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.copy()))
            lin.bias.copy_(torch.from_numpy(params[name.replace("weight", "bias")].copy()))
        layers.append(lin)
        if i < len(names) - 1:
            layers.append(acts[act]())
    return torch.nn.Sequential(*layers)


ACTS = ["relu", "tanh", "leaky_relu", "softplus", "sigmoid"]


@pytest.mark.parametrize("act", ACTS)
def test_mlp_forward_loss_and_gradients(act):
    rng = np.random.default_rng(0)
    D = gl.nn.mlp(3, [32, 16], 1, act=act, seed=1)
    tD = torch_mlp_like(D, act)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    fake = rng.standard_normal((64, 3)).astype(np.float32)

    @gl.function
    def f(xr, xf):
        lr, lf = D(xr), D(xf)
        loss = ops.mean(ops.softplus(-lr)) + ops.mean(ops.softplus(lf))  # GAN discriminator loss
        return lr, loss, gl.grad(loss, D)

    out, loss, grads = f(x, fake)
    tx, tf = torch.from_numpy(x), torch.from_numpy(fake)
    tout = tD(tx)
    tloss = torch.nn.functional.softplus(-tD(tx)).mean() + torch.nn.functional.softplus(tD(tf)).mean()
    tgrads = torch.autograd.grad(tloss, list(tD.parameters()))
    assert rel_err(out, tout.detach().numpy()) <= 1e-4
    assert rel_err(loss, tloss.item()) <= 1e-4
    assert len(grads) == len(tgrads) == len(D.parameters())
    for g, tg, name in zip(grads, tgrads, D.parameters()):
        assert g.shape == tuple(tg.shape), name
        assert rel_err(g, tg.numpy()) <= 1e-4, name


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "tanh", "softplus"])
def test_gradient_penalty_parameter_gradient(act):
    """Parameter gradient of lam * E[(||grad_x D(x_hat)||_2 - 1)^2] equals torch's (create_graph=True)."""
    rng = np.random.default_rng(1)
    D = gl.nn.mlp(2, [64, 64], 1, act=act, seed=3)
    tD = torch_mlp_like(D, act)
    xhat = rng.standard_normal((128, 2)).astype(np.float32)
    lam = 10.0

    @gl.function
    def f(xh):
        (gx,) = gl.grad(ops.sum(D(xh)), [xh])
        norm = ops.sqrt(ops.sum(ops.square(gx), axis=1) + 1e-12)
        pen = lam * ops.mean(ops.square(norm - 1.0))
        return pen, gl.grad(pen, D)

    pen, grads = f(xhat)
    tx = torch.from_numpy(xhat).requires_grad_(True)
    (tgx,) = torch.autograd.grad(tD(tx).sum(), tx, create_graph=True)
    tpen = lam * ((torch.sqrt((tgx ** 2).sum(1) + 1e-12) - 1) ** 2).mean()
    # the last bias does not affect grad_x D: torch says None, ganlib gives zeros
    tgrads = torch.autograd.grad(tpen, list(tD.parameters()), allow_unused=True)
    assert rel_err(pen, tpen.item()) <= 1e-4
    for g, tg, (name, p) in zip(grads, tgrads, D.parameters().items()):
        ref = np.zeros_like(p) if tg is None else tg.numpy()
        if tg is None:
            np.testing.assert_array_equal(g, ref, err_msg=name)
        else:
            assert rel_err(g, ref) <= 1e-4, (name, rel_err(g, ref))


@pytest.mark.parametrize("opt_name", ["sgd_momentum", "adam", "rmsprop"])
def test_training_trajectory_matches_torch(opt_name):
    """100 compiled steps of an MLP regressor follow torch.optim's trajectory."""
    rng = np.random.default_rng(2)
    net = gl.nn.mlp(2, [16], 1, act="tanh", seed=4)
    tnet = torch_mlp_like(net, "tanh")
    x = rng.standard_normal((32, 2)).astype(np.float32)
    y = np.sin(x.sum(1, keepdims=True)).astype(np.float32)
    make = {
        "sgd_momentum": (lambda: gl.optim.SGD(0.05, momentum=0.9),
                         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
        "adam": (lambda: gl.optim.Adam(1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
        "rmsprop": (lambda: gl.optim.RMSProp(1e-3), lambda p: torch.optim.RMSprop(p, lr=1e-3)),
    }[opt_name]
    step = gl.compile_step(lambda a, b: ops.mean(ops.square(net(a) - b)), net, make[0]())
    topt = make[1](tnet.parameters())
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for i in range(100):
        loss = step(x, y)
        topt.zero_grad()
        tloss = ((tnet(tx) - ty) ** 2).mean()
        tloss.backward()
        topt.step()
        assert abs(loss - tloss.item()) <= 1e-4 * max(1.0, abs(tloss.item())), i
    for (name, p), tp in zip(net.parameters().items(), tnet.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=0, atol=1e-5, err_msg=name)


# ---- labels and batch layout: one_hot, argmax / argmin, roll ------------------------------

def test_one_hot_matches_torch_values_and_gradients():
    """A class-conditional embedding one_hot(y) @ E: values and dE equal torch's F.one_hot version."""
    rng = np.random.default_rng(10)
    y = rng.integers(0, 10, 64)
    E = rng.standard_normal((10, 8)).astype(np.float32)
    t = rng.standard_normal((64, 8)).astype(np.float32)

    @gl.function
    def f(yt, Et, tt):
        oh = ops.one_hot(yt, 10)
        loss = ops.mean(ops.square(ops.matmul(oh, Et) - tt))
        return oh, loss, gl.grad(loss, [Et])[0]

    oh, loss, gE = f(y.astype(np.float32)[:, None], E, t)
    toh = torch.nn.functional.one_hot(torch.from_numpy(y), 10).float()
    tE = torch.from_numpy(E).requires_grad_(True)
    tloss = ((toh @ tE - torch.from_numpy(t)) ** 2).mean()
    (tgE,) = torch.autograd.grad(tloss, tE)
    np.testing.assert_array_equal(oh, toh.numpy())
    assert rel_err(loss, tloss.item()) <= 1e-5
    assert rel_err(gE, tgE.numpy()) <= 1e-5


def test_argmax_argmin_match_torch():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((100, 13)).astype(np.float32)  # continuous: no ties
    f = gl.function(lambda t: (ops.argmax(t), ops.argmin(t)))
    amax, amin = f(x)
    tx = torch.from_numpy(x)
    np.testing.assert_array_equal(amax, torch.nn.functional.one_hot(tx.argmax(1), 13).float().numpy())
    np.testing.assert_array_equal(amin, torch.nn.functional.one_hot(tx.argmin(1), 13).float().numpy())


def test_vq_vae_codebook_lookup_matches_torch():
    """VQ-VAE quantiser: argmin over distances (behind stop_gradient), one-hot @ codebook,
    straight-through estimator, codebook and commitment losses; the gradients with respect to
    the encoder weights and the codebook equal torch's."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    We = (0.5 * rng.standard_normal((6, 4))).astype(np.float32)
    Wd = (0.5 * rng.standard_normal((4, 6))).astype(np.float32)
    C = rng.standard_normal((16, 4)).astype(np.float32)
    beta = 0.25

    @gl.function
    def f(xt, Wet, Wdt, Ct):
        z = ops.matmul(xt, Wet)
        d = ops.sum(ops.square(z), axis=1, keepdims=True) - 2 * ops.matmul(z, Ct, trans_b=True) \
            + ops.reshape(ops.sum(ops.square(Ct), axis=1), (1, 16))
        q = ops.matmul(ops.argmin(ops.stop_gradient(d)), Ct)
        zq = z + ops.stop_gradient(q - z)
        rec = ops.mean(ops.square(ops.matmul(zq, Wdt) - xt))
        loss = rec + ops.mean(ops.square(q - ops.stop_gradient(z))) \
            + beta * ops.mean(ops.square(z - ops.stop_gradient(q)))
        return loss, gl.grad(loss, [Wet, Wdt, Ct])

    loss, grads = f(x, We, Wd, C)
    tx = torch.from_numpy(x)
    tWe, tWd, tC = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (We, Wd, C))
    z = tx @ tWe
    d = (z ** 2).sum(1, keepdim=True) - 2 * z @ tC.T + (tC ** 2).sum(1)[None]
    q = torch.nn.functional.one_hot(d.detach().argmin(1), 16).float() @ tC
    zq = z + (q - z).detach()
    tloss = ((zq @ tWd - tx) ** 2).mean() + ((q - z.detach()) ** 2).mean() + beta * ((z - q.detach()) ** 2).mean()
    tgrads = torch.autograd.grad(tloss, [tWe, tWd, tC])
    assert rel_err(loss, tloss.item()) <= 1e-5
    for g, tg, name in zip(grads, tgrads, ("encoder", "decoder", "codebook")):
        assert rel_err(g, tg.numpy()) <= 1e-4, (name, rel_err(g, tg.numpy()))


@pytest.mark.parametrize("shape,shift,axis", [((8, 3), 1, 0), ((8, 3), -11, 0), ((4, 3, 5, 5), 2, 0),
                                              ((4, 3, 5, 5), -1, 1), ((4, 3, 5, 5), 3, 3), ((7,), 9, 0)], ids=str)
def test_roll_matches_torch_values_and_gradients(shape, shift, axis):
    rng = np.random.default_rng(13)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(shape).astype(np.float32)

    @gl.function
    def f(xt, wt):
        y = ops.roll(xt, shift, axis)
        return y, gl.grad(ops.sum(ops.tanh(y) * wt * xt), [xt])[0]

    y, gx = f(x, w)
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = torch.roll(tx, shift, axis)
    (tgx,) = torch.autograd.grad((torch.tanh(ty) * torch.from_numpy(w) * tx).sum(), tx)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    assert rel_err(gx, tgx.numpy()) <= 1e-5


def test_acai_style_interpolation_penalty_matches_torch():
    """A critic on mixes of each sample with the next (roll by 1), with a gradient penalty at
    the mixes: the gradients with respect to the critic's parameters and to the samples (through
    the roll, twice differentiated) equal torch's (create_graph=True)."""
    rng = np.random.default_rng(14)
    D = gl.nn.mlp(3, [32], 1, act="tanh", seed=5)
    tD = torch_mlp_like(D, "tanh")
    x = rng.standard_normal((16, 3)).astype(np.float32)
    alpha = rng.uniform(0, 0.5, (16, 1)).astype(np.float32)

    @gl.function
    def f(xt, at):
        mix = at * ops.roll(xt, 1) + (1.0 - at) * xt
        (gm,) = gl.grad(ops.sum(D(mix)), [mix])
        loss = ops.mean(ops.square(D(mix) - at)) + ops.mean(ops.square(gm))
        return loss, gl.grad(loss, D), gl.grad(loss, [xt])[0]

    loss, grads, gx = f(x, alpha)
    tx, ta = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(alpha)
    tmix = ta * torch.roll(tx, 1, 0) + (1 - ta) * tx
    (tgm,) = torch.autograd.grad(tD(tmix).sum(), tmix, create_graph=True)
    tloss = ((tD(tmix) - ta) ** 2).mean() + (tgm ** 2).mean()
    *tgrads, tgx = torch.autograd.grad(tloss, list(tD.parameters()) + [tx])
    assert rel_err(loss, tloss.item()) <= 1e-4
    assert rel_err(gx, tgx.numpy()) <= 1e-4
    for g, tg, name in zip(grads, tgrads, D.parameters()):
        assert rel_err(g, tg.numpy()) <= 1e-4, name
