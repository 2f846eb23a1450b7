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
