"""Real NVP flows: invertibility, exact log-determinants, normalisation, MLE training, gradients
against a PyTorch oracle, dequantised-image accounting, bad input and checkpoints."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from ganlib.models.realnvp import conv_flow, mlp_flow

from flow_checks import assert_normalised_on_grid  # shared with the other flow tests


def perturbed(model_or_flow, scale: float = 0.3, seed: int = 0):
    """Move every parameter off its identity initialisation so the flow is not trivial."""
    flow = model_or_flow.flow if hasattr(model_or_flow, "flow") else model_or_flow
    rng = np.random.default_rng(seed)
    flow.buffer.data[:] += (scale * rng.standard_normal(flow.buffer.size)).astype(np.float32)
    return model_or_flow


def flow_reader(flow):
    fwd = ops.Function(lambda x: flow(x), training=False, update_state=False)
    inv = ops.Function(lambda z: flow.inverse(z), training=False, update_state=False)
    return fwd, inv


def numerical_logdet(f, x: np.ndarray, eps: float) -> np.ndarray:
    """log|det J| of a map R^D -> R^D per row, by central differences (float64 accumulation)."""
    n, d = x.shape[0], int(np.prod(x.shape[1:]))
    flat = x.reshape(n, d).astype(np.float64)
    out = np.empty(n)
    for i in range(n):
        jac = np.empty((d, d))
        for j in range(d):
            plus, minus = flat[i].copy(), flat[i].copy()
            plus[j] += eps
            minus[j] -= eps
            batch = np.stack([plus, minus]).reshape((2, *x.shape[1:])).astype(np.float32)
            y = f(batch).astype(np.float64).reshape(2, d)
            jac[:, j] = (y[0] - y[1]) / (2 * eps)
        out[i] = np.linalg.slogdet(jac)[1]
    return out


def mnist_pixels(n: int, split: str = "train"):
    try:
        x, _ = gl.datasets.mnist(split=split, scale=None, limit=n)
    except FileNotFoundError:
        pytest.skip("MNIST files not found (set GANLIB_DATA)")
    return x


# ---------------------------------------------------------------------------------------- layers
def test_squeeze_matches_pixel_unshuffle_and_inverts_exactly():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 2, 6, 4)).astype(np.float32)
    sq = gl.nn.Squeeze(2)
    fwd, inv = flow_reader(gl.nn.RealNVPFlow([sq], input_shape=(2, 6, 4)))
    y, logdet = sq(x)
    np.testing.assert_array_equal(y, torch.nn.functional.pixel_unshuffle(torch.from_numpy(x), 2).numpy())
    np.testing.assert_array_equal(logdet, 0.0)
    np.testing.assert_array_equal(inv(fwd(x)[0]), x)


@pytest.mark.parametrize("mask,shape", [("alternate", (5,)), ("checkerboard", (2, 4, 4)), ("channel", (4, 2, 2))])
def test_coupling_logdet_equals_numerical_jacobian(mask, shape):
    rng = np.random.default_rng(1)
    if len(shape) == 1:
        net = gl.nn.mlp(shape[0], [16], 2 * shape[0], act="tanh", seed=0)
    else:
        c_in = shape[0] // 2 if mask == "channel" else shape[0]
        c_out = shape[0] if mask == "channel" else 2 * shape[0]
        net = gl.nn.Sequential(gl.nn.Conv2d(c_in, 8, 3, padding=1, seed=0), gl.nn.Tanh(),
                               gl.nn.Conv2d(8, c_out, 3, padding=1, seed=1))
    layers = [gl.nn.AffineCoupling(shape, mask, 1, net, zero_init=False)]
    if len(shape) == 3:
        layers.append(gl.nn.Squeeze(shape[0]))    # and the squeeze's log-det of 0
    flow = gl.nn.RealNVPFlow(layers)
    perturbed(flow, 0.2)
    fwd, inv = flow_reader(flow)
    x = rng.standard_normal((3, *shape)).astype(np.float32)
    z, logdet = fwd(x)
    assert np.abs(logdet).max() > 0.05          # a non-trivial Jacobian
    np.testing.assert_allclose(logdet, numerical_logdet(lambda b: fwd(b)[0], x, 1e-2), atol=2e-3, rtol=1e-3)
    np.testing.assert_allclose(inv(z), x, atol=2e-6, rtol=1e-5)


def test_coupling_leaves_the_conditioning_half_unchanged():
    x = np.random.default_rng(2).standard_normal((4, 1, 4, 4)).astype(np.float32)
    net = gl.nn.Sequential(gl.nn.Conv2d(1, 4, 3, padding=1, seed=0), gl.nn.ReLU(),
                           gl.nn.Conv2d(4, 2, 3, padding=1, seed=1))
    layer = perturbed(gl.nn.AffineCoupling((1, 4, 4), "checkerboard", 0, net, zero_init=False))
    y, _ = layer(x)
    passing = (np.add.outer(np.arange(4), np.arange(4)) % 2 == 0)
    np.testing.assert_array_equal(y[:, 0][:, passing], x[:, 0][:, passing])
    assert not np.allclose(y[:, 0][:, ~passing], x[:, 0][:, ~passing])


def test_coupling_rejects_masks_that_do_not_fit():
    with pytest.raises(ValueError, match="for vectors"):
        gl.nn.AffineCoupling((1, 4, 4), "alternate", 0, gl.nn.mlp(4, [4], 8))
    with pytest.raises(ValueError, match="for images"):
        gl.nn.AffineCoupling((4,), "checkerboard", 0, gl.nn.mlp(4, [4], 8))
    with pytest.raises(ValueError, match="odd"):
        gl.nn.AffineCoupling((3, 4, 4), "channel", 0, gl.nn.Conv2d(1, 2, 1))
    with pytest.raises(ValueError, match="mask must be one of"):
        gl.nn.AffineCoupling((4,), "diagonal", 0, gl.nn.mlp(4, [4], 8))
    bad = gl.nn.AffineCoupling((4,), "alternate", 0, gl.nn.mlp(4, [4], 6))
    with pytest.raises(ValueError, match="must output"):
        bad(np.zeros((2, 4), np.float32))


# ---------------------------------------------------------------------------------------- the model
def test_identity_at_initialisation_and_inverse_of_forward():
    X = gl.datasets.ring(n=64, seed=0)
    nvp = gl.models.RealNVP((2,), seed=0)
    z, logdet = nvp.forward(X)
    np.testing.assert_array_equal(z, X)                    # zero-initialised couplings: the identity
    np.testing.assert_array_equal(logdet, 0.0)
    perturbed(nvp, 0.1)
    z, logdet = nvp.forward(X)
    assert np.abs(z - X).max() > 0.5 and np.abs(logdet).max() > 0.5
    np.testing.assert_allclose(nvp.inverse(z), X, atol=2e-6, rtol=1e-6)


def test_image_inverse_of_forward_to_float32_precision():
    rng = np.random.default_rng(3)
    nvp = perturbed(gl.models.RealNVP((1, 28, 28), couplings=1, width=8, seed=0), 0.05)
    v = (rng.integers(0, 256, (4, 1, 28, 28)) + rng.random((4, 1, 28, 28))).astype(np.float32)
    z, logdet = nvp.forward(v)
    assert np.isfinite(z).all() and np.isfinite(logdet).all()
    back = nvp.inverse(z)
    np.testing.assert_allclose(back, v, rtol=1e-5, atol=1e-3)     # 1e-3 of a pixel level in [0, 256)
    s = nvp.sample(3, seed=0)
    assert s.shape == (3, 1, 28, 28) and np.isfinite(s).all()
    np.testing.assert_array_equal(s, nvp.sample(3, seed=0))


def test_whole_image_map_logdet_equals_numerical_jacobian():
    """Scaling, logit and flow together, on 4x4 images: the pixel-space Jacobian."""
    rng = np.random.default_rng(4)
    nvp = perturbed(gl.models.RealNVP((1, 4, 4), couplings=1, width=4, seed=0), 0.2)
    v = (rng.integers(20, 236, (2, 1, 4, 4)) + rng.random((2, 1, 4, 4))).astype(np.float32)
    _, logdet = nvp.forward(v)
    np.testing.assert_allclose(logdet, numerical_logdet(lambda b: nvp.forward(b)[0], v, 0.25), rtol=2e-3)


def test_identity_flow_density_is_the_logit_change_of_variables():
    """An untrained image flow is the identity, so log p(v) has a closed form: the bits/dim
    accounting of dequantisation and the logit transform, checked in float64."""
    alpha = 1e-3
    nvp = gl.models.RealNVP((1, 4, 4), couplings=1, width=4, alpha=alpha, seed=0)
    rng = np.random.default_rng(5)
    v = (rng.integers(0, 256, (6, 1, 4, 4)) + rng.random((6, 1, 4, 4))).astype(np.float64)
    y = alpha + (1 - 2 * alpha) * v / 256
    z = np.log(y) - np.log1p(-y)
    dz_dv = (1 - 2 * alpha) / 256 / (y * (1 - y))
    ref = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi) + np.log(dz_dv)).reshape(6, -1).sum(axis=1)
    np.testing.assert_allclose(nvp.log_prob(v.astype(np.float32)), ref, rtol=1e-5, atol=1e-3)
    # bits/dim of integer pixels averages -log p(x + u) / (D ln 2) over the dequantisation noise
    x = np.floor(v).astype(np.float32)
    bpd = nvp.bits_per_dim(np.repeat(x, 500, axis=0), seed=1)
    u = np.random.default_rng(9).random((500 * 6, 1, 4, 4))
    mc = -nvp.log_prob((np.repeat(x, 500, axis=0) + u).astype(np.float32)).mean() / (16 * math.log(2))
    assert abs(bpd - mc) < 0.02, (bpd, mc)


@pytest.mark.parametrize("trained", [False, True])
def test_log_prob_integrates_to_one_on_a_grid(trained):
    if trained:
        nvp = gl.models.RealNVP((2,), couplings=4, hidden=[32], seed=0)
        nvp.fit(gl.datasets.ring(n=2000, radius=1.0, std=0.1, seed=0), steps=300, batch_size=100,
                progress=False)
    else:
        nvp = perturbed(gl.models.RealNVP((2,), couplings=4, hidden=[32], seed=0), 0.1)
    assert_normalised_on_grid(nvp)


def test_fit_improves_heldout_log_likelihood():
    X = gl.datasets.ring(n=4000, radius=1.0, std=0.05, seed=0)
    held = gl.datasets.ring(n=1000, radius=1.0, std=0.05, seed=1)
    nvp = gl.models.RealNVP((2,), seed=0)
    before = nvp.log_prob(held).mean()
    hist = nvp.fit(X, steps=600, batch_size=100, progress=False)
    after = nvp.log_prob(held).mean()
    assert set(hist) >= {"step", "nll", "bits_per_dim"}
    np.testing.assert_allclose(hist["bits_per_dim"], hist["nll"] / (2 * math.log(2)), rtol=1e-5)
    assert after > before + 1.0, (before, after)
    assert abs(nvp.bits_per_dim(held) + after / (2 * math.log(2))) < 1e-4


def test_nll_gradient_matches_torch():
    """The NLL's gradient with respect to every parameter, against PyTorch autograd in float64."""
    torch = pytest.importorskip("torch")
    flow = perturbed(mlp_flow(3, couplings=3, hidden=[8], seed=0), 0.3)
    x = np.random.default_rng(6).standard_normal((7, 3)).astype(np.float32)

    def nll(xt):
        params = flow.param_tensors(xt.trace)
        z, logdet = flow.call_with(params, xt)
        loss = ops.mean(ops.sum(ops.square(z), axis=1) * 0.5 - logdet)
        return loss, gl.grad(loss, params)

    loss, grads = gl.function(nll, training=False)(x)
    names = list(flow.parameters())
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in flow.parameters().items()}
    h = torch.tensor(x, dtype=torch.float64)
    logdet = torch.zeros(7, dtype=torch.float64)
    for i in range(3):
        m = torch.tensor(((np.arange(3) + i % 2) % 2 == 0).astype(np.float64))[None]
        a = torch.relu((h * m) @ tp[f"{i}.net.0.weight"].T + tp[f"{i}.net.0.bias"])
        out = a @ tp[f"{i}.net.2.weight"].T + tp[f"{i}.net.2.bias"]
        s = torch.tanh(out[:, :3]) * tp[f"{i}.scale"] * (1 - m)
        t = out[:, 3:] * (1 - m)
        h = h * m + (h * torch.exp(s) + t) * (1 - m)
        logdet = logdet + s.sum(1)
    ref = ((h ** 2).sum(1) * 0.5 - logdet).mean()
    ref.backward()
    np.testing.assert_allclose(loss, ref.item(), rtol=1e-5)
    for name, g in zip(names, grads):
        np.testing.assert_allclose(g, tp[name].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_mnist_smoke_gives_finite_bits_per_dim():
    X = mnist_pixels(256)
    nvp = gl.models.RealNVP((1, 28, 28), couplings=1, width=8, seed=0)
    start = nvp.bits_per_dim(X[:64])
    hist = nvp.fit(X, steps=8, batch_size=32, progress=False)
    bpd = nvp.bits_per_dim(X[:64])
    assert np.isfinite(hist["bits_per_dim"]).all() and math.isfinite(bpd)
    assert bpd < start, (start, bpd)


def test_conv_preset_layout():
    flow = conv_flow((1, 28, 28), couplings=2, width=8)
    kinds = [(type(m).__name__, getattr(m, "mask", None)) for m in flow._children.values()]
    assert kinds == [("AffineCoupling", "checkerboard")] * 2 + [("Squeeze", None)] + \
        [("AffineCoupling", "channel")] * 2 + [("AffineCoupling", "checkerboard")] * 2
    with pytest.raises(ValueError, match="even"):
        conv_flow((1, 7, 7))


# ---------------------------------------------------------------------------------------- bad input
def test_bad_input_raises_and_changes_no_parameter():
    img = gl.models.RealNVP((1, 4, 4), couplings=1, width=4, seed=0)
    vec = gl.models.RealNVP((2,), couplings=2, hidden=[8], seed=0)
    good = np.zeros((8, 1, 4, 4), np.float32)
    nan = good.copy(); nan[3, 0, 1, 1] = np.nan
    before = (img.flow.buffer.data.copy(), vec.flow.buffer.data.copy())
    cases = [
        (img.fit, np.zeros((8, 1, 5, 4), np.float32), "rows must have shape"),
        (img.fit, nan, "row 3 .*NaN"),
        (img.fit, good + 256, "whole numbers in \\[0, 255\\]"),
        (img.fit, good - 1, "whole numbers in \\[0, 255\\]"),
        (img.fit, good + 0.5, "not whole numbers"),
        (img.fit, good[:0], "empty"),
        (img.bits_per_dim, good + 300, "whole numbers"),
        (img.log_prob, good + 256, "\\[0, 256\\)"),
        (img.inverse, np.zeros((2, 15), np.float32), "codes must have shape"),
        (vec.fit, np.full((4, 2), np.inf, np.float32), "NaN or inf"),
        (vec.fit, np.zeros((4, 3), np.float32), "rows must have shape"),
        (vec.log_prob, np.zeros((0, 2), np.float32), "empty"),
        (vec.inverse, np.array([[np.nan, 0.0]], np.float32), "NaN or inf"),
    ]
    for fn, arg, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn(arg)
    with pytest.raises(TypeError, match="numeric"):
        vec.fit(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="objective 'gan' is not implemented; supported objectives: "
                                         "\\['mle', 'wgan-gp'\\]"):
        vec.fit(np.zeros((4, 2), np.float32), steps=1, objective="gan")
    np.testing.assert_array_equal(img.flow.buffer.data, before[0])
    np.testing.assert_array_equal(vec.flow.buffer.data, before[1])


def test_constructor_rejects_mismatched_options():
    with pytest.raises(ValueError, match="is for images"):
        gl.models.RealNVP((2,), preset="conv")
    with pytest.raises(ValueError, match="is for vectors"):
        gl.models.RealNVP((1, 4, 4), preset="mlp")
    with pytest.raises(ValueError, match="alpha"):
        gl.models.RealNVP((1, 4, 4), alpha=0.5)
    with pytest.raises(ValueError, match="takes rows of"):
        gl.models.RealNVP((3,), flow=mlp_flow(2))


# ---------------------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)])
def test_save_load_round_trip_reproduces_log_prob_exactly(shape, tmp_path):
    rng = np.random.default_rng(7)
    if shape == (2,):
        nvp, X = gl.models.RealNVP(shape, couplings=3, hidden=[16], seed=0), gl.datasets.ring(n=500, seed=0)
        pts = X[:50]
    else:
        nvp = gl.models.RealNVP(shape, couplings=1, width=4, alpha=0.01, seed=0)
        X = rng.integers(0, 256, (200, *shape)).astype(np.float32)
        pts = (X[:50] + rng.random(X[:50].shape)).astype(np.float32)
    nvp.fit(X, steps=30, batch_size=50, progress=False)
    path = str(tmp_path / "nvp.safetensors")
    nvp.save(path)
    again = gl.load(path)
    assert type(again) is gl.models.RealNVP and again.alpha == nvp.alpha
    np.testing.assert_array_equal(again.log_prob(pts), nvp.log_prob(pts))
    np.testing.assert_array_equal(again.sample(4, seed=3), nvp.sample(4, seed=3))
    # training goes on bit for bit from the checkpoint
    h1 = nvp.fit(X, steps=5, batch_size=50, progress=False)
    h2 = again.fit(X, steps=5, batch_size=50, progress=False)
    np.testing.assert_array_equal(h1["nll"], h2["nll"])


@pytest.mark.parametrize("name,good,bad,exc,msg", [
    ("couplings", np.int64(2), 2.0, TypeError, "couplings must be an int, got float"),
    ("couplings", np.int64(2), 0, ValueError, "couplings.*>= ?1"),
    ("width", np.int64(4), True, TypeError, "width must be an int, got bool"),
    ("seed", np.int64(3), -1, ValueError, "seed.*>= ?0"),
    ("hidden", [np.int64(8)], [8.5], TypeError, r"hidden\[0\] must be an int"),
    ("lr", np.float32(1e-3), float("nan"), ValueError, "lr.*finite"),
    ("lr", np.float32(1e-3), "0.1", TypeError, "lr must be a real number"),
    ("alpha", np.float64(0.01), float("inf"), ValueError, "alpha"),
    ("preset", "mlp", "dense", ValueError, "preset must be one of"),
])
def test_constructor_argument_policy(name, good, bad, exc, msg):
    gl.models.RealNVP((2,), **{name: good})
    with pytest.raises(exc, match=msg):
        gl.models.RealNVP((2,), **{name: bad})
