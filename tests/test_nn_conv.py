"""Image layers (gl.nn.conv, gl.nn.norm) and the DCGAN presets.

Forward passes against torch.nn with the same weights, initialisation bounds
against PyTorch's reset_parameters, virtual batch norm against a NumPy version of
TECHNIQUES.md section C, buffers in state dicts, spec round trips, and GAN
training with the presets (including a WGAN-GP penalty through convolutions).
"""
import math

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _load_into_torch(tm, m):
    """Copy a ganlib module's state dict into a torch module with the same names."""
    sd = {k: torch.from_numpy(v.copy()) for k, v in m.state_dict().items()}
    missing, unexpected = tm.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)


# ---- forward passes against torch.nn --------------------------------------------------

@pytest.mark.parametrize("cin,cout,k,s,p,bias", [(3, 5, 3, 1, 1, True), (2, 4, 4, 2, 1, False),
                                                 (1, 3, (3, 2), 2, 0, True)])
def test_conv2d_matches_torch(rng, cin, cout, k, s, p, bias):
    conv = gl.nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias, seed=0)
    tconv = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias)
    _load_into_torch(tconv, conv)
    x = _randn(rng, 3, cin, 9, 8)
    with torch.no_grad():
        ref = tconv(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(conv(x), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cin,cout,k,s,p,op,bias", [(4, 3, 4, 2, 1, 0, True), (3, 2, 3, 2, 1, 1, True),
                                                    (2, 3, 3, 3, 0, (2, 1), False), (3, 3, 5, 1, 2, 0, True)])
def test_conv_transpose2d_matches_torch(rng, cin, cout, k, s, p, op, bias):
    up = gl.nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op, bias=bias, seed=1)
    tup = torch.nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op, bias=bias)
    assert tuple(tup.weight.shape) == up.param("weight").shape
    _load_into_torch(tup, up)
    x = _randn(rng, 2, cin, 5, 6)
    with torch.no_grad():
        ref = tup(torch.from_numpy(x)).numpy()
    got = up(x)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_pools_match_torch(rng, k, s, p):
    x = _randn(rng, 2, 3, 9, 10)
    tx = torch.from_numpy(x)
    np.testing.assert_allclose(gl.nn.MaxPool2d(k, s, p)(x), F.max_pool2d(tx, k, s, p).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gl.nn.AvgPool2d(k, s, p)(x), F.avg_pool2d(tx, k, s, p).numpy(), rtol=1e-5, atol=1e-6)


def test_upsample_flatten_reshape(rng):
    x = _randn(rng, 2, 3, 4, 5)
    ref = torch.nn.Upsample(scale_factor=3, mode="nearest")(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(gl.nn.Upsample(3)(x), ref)
    np.testing.assert_array_equal(gl.nn.Flatten()(x), x.reshape(2, -1))
    np.testing.assert_array_equal(gl.nn.Reshape(5, 4, 3)(x), x.reshape(2, 5, 4, 3))
    np.testing.assert_array_equal(gl.nn.Reshape(-1, 2)(x), x.reshape(2, 30, 2))
    with pytest.raises(ValueError, match=r"Reshape\(7, 7\): cannot reshape input \(2, 3, 4, 5\)"):
        gl.nn.Reshape(7, 7)(x)


@pytest.mark.parametrize("shape", [(16, 3), (8, 3, 5, 4)])
def test_batchnorm_train_mode_matches_torch_with_running_stats(rng, shape):
    c = shape[1]
    bn = gl.nn.BatchNorm(c, eps=1e-3, momentum=0.2)
    bn.param("weight")[...] = rng.uniform(0.5, 1.5, c)
    bn.param("bias")[...] = rng.standard_normal(c)
    tbn = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(c, eps=1e-3, momentum=0.2)
    _load_into_torch(tbn, bn)
    tbn.train()
    for step in range(2):
        x = _randn(rng, *shape) * 2 + step
        with torch.no_grad():
            ref = tbn(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(bn(x), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.get_buffer("running_mean"), tbn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.get_buffer("running_var"), tbn.running_var.numpy(), rtol=1e-5, atol=1e-6)
    # eval mode: normalise with the running statistics (which no longer move)
    bn.eval()
    tbn.eval()
    x = _randn(rng, *shape)
    before = bn.get_buffer("running_mean").copy()
    with torch.no_grad():
        ref = tbn(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(bn(x), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(bn.get_buffer("running_mean"), before)


def test_batchnorm_eval_mode_with_loaded_stats_matches_torch(rng):
    tbn = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        tbn.weight.uniform_(0.5, 1.5)
        tbn.bias.normal_()
        tbn.running_mean.normal_()
        tbn.running_var.uniform_(0.5, 2.0)
    tbn.eval()
    bn = gl.nn.BatchNorm(4)
    sd = {k: v.numpy() for k, v in tbn.state_dict().items() if k != "num_batches_tracked"}
    bn.load_state_dict(sd)
    bn.eval()
    x = _randn(rng, 3, 4, 5, 5)
    with torch.no_grad():
        ref = tbn(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(bn(x), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("xshape,ns", [((6, 10), 10), ((4, 3, 5, 5), (3, 5, 5)), ((4, 3, 5, 6), (5, 6))])
def test_layernorm_matches_torch(rng, xshape, ns):
    ln = gl.nn.LayerNorm(ns)
    ln.param("weight")[...] = rng.uniform(0.5, 1.5, ln.param("weight").shape)
    ln.param("bias")[...] = rng.standard_normal(ln.param("bias").shape)
    tln = torch.nn.LayerNorm(ns)
    _load_into_torch(tln, ln)
    x = _randn(rng, *xshape) * 3 + 1
    with torch.no_grad():
        ref = tln(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ln(x), ref, rtol=1e-4, atol=1e-5)
    plain = gl.nn.LayerNorm(ns, elementwise_affine=False)
    assert plain.num_parameters() == 0
    ref = F.layer_norm(torch.from_numpy(x), tuple(np.atleast_1d(ns))).numpy()
    np.testing.assert_allclose(plain(x), ref, rtol=1e-4, atol=1e-5)


def test_layernorm_second_order_matches_torch(rng):
    """A gradient-penalty-style double backward through LayerNorm + conv equals torch's."""
    conv = gl.nn.Conv2d(2, 3, 3, padding=1, seed=0)
    ln = gl.nn.LayerNorm((3, 4, 4))
    net = gl.nn.Sequential(conv, ln, gl.nn.Tanh(), gl.nn.Flatten(), gl.nn.Linear(48, 1, seed=1))
    x = _randn(rng, 5, 2, 4, 4)

    @gl.function
    def f(xin):
        (g,) = gl.grad(ops.sum(net(xin)), [xin])
        pen = ops.sum(ops.square(g))
        return pen, gl.grad(pen, net)
    pen, grads = f(x)

    tnet = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.LayerNorm((3, 4, 4)), torch.nn.Tanh(),
                               torch.nn.Flatten(), torch.nn.Linear(48, 1))
    _load_into_torch(tnet, net)
    tx = torch.from_numpy(x).requires_grad_(True)
    (tg,) = torch.autograd.grad(tnet(tx).sum(), [tx], create_graph=True)
    tpen = (tg ** 2).sum()
    params = list(tnet.parameters())
    tgrads = torch.autograd.grad(tpen, params, allow_unused=True)   # the last bias does not reach g
    np.testing.assert_allclose(pen, tpen.item(), rtol=1e-4)
    for g, tg_, tp in zip(grads, tgrads, params):
        ref = np.zeros(tuple(tp.shape), np.float32) if tg_ is None else tg_.numpy()
        np.testing.assert_allclose(g, ref, rtol=1e-3, atol=1e-5)


# ---- initialisation bounds ---------------------------------------------------------------

def test_conv_init_bounds_match_torch():
    # torch: kaiming_uniform(a=sqrt(5)) -> U(+-1/sqrt(fan_in)), fan_in = weight.shape[1] * kh * kw;
    # the bias uses the same bound
    cases = [(gl.nn.Conv2d(6, 40, 3, seed=0), torch.nn.Conv2d(6, 40, 3), 6 * 9),
             (gl.nn.ConvTranspose2d(6, 40, 3, seed=0), torch.nn.ConvTranspose2d(6, 40, 3), 40 * 9),
             (gl.nn.ConvTranspose2d(40, 2, 4, seed=0), torch.nn.ConvTranspose2d(40, 2, 4), 2 * 16)]
    for m, tm, fan_in in cases:
        tfan, _ = torch.nn.init._calculate_fan_in_and_fan_out(tm.weight)
        assert tfan == fan_in
        bound = 1 / math.sqrt(fan_in)
        for name in ("weight", "bias"):
            w, tw = m.param(name), getattr(tm, name).detach().numpy()
            assert w.shape == tw.shape
            assert np.abs(w).max() <= bound * (1 + 1e-6)
            assert np.abs(tw).max() <= bound * (1 + 1e-6)
        w = m.param("weight")
        assert np.abs(w).max() > 0.9 * bound and abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_conv_normal_init_and_seeds():
    a = gl.nn.Conv2d(8, 16, 4, init="normal", seed=3)
    assert abs(a.param("weight").std() - 0.02) < 0.002 and np.all(a.param("bias") == 0)
    b = gl.nn.Conv2d(8, 16, 4, init="normal", seed=3)
    np.testing.assert_array_equal(a.param("weight"), b.param("weight"))


# ---- virtual batch norm --------------------------------------------------------------------

def _vbn_numpy(x, ref, gamma, beta, eps=1e-5):
    x, ref = x.astype(np.float64), ref.astype(np.float64)
    B = ref.shape[0]
    if x.ndim == 2:
        mu_ref, sq_ref = ref.mean(0), (ref ** 2).mean(0)
        xm, xsq, shape = x, x ** 2, (1, -1)
    else:
        mu_ref, sq_ref = ref.mean((0, 2, 3))[None, :, None, None], (ref ** 2).mean((0, 2, 3))[None, :, None, None]
        xm, xsq, shape = x.mean((2, 3), keepdims=True), (x ** 2).mean((2, 3), keepdims=True), (1, -1, 1, 1)
    mu = xm / (B + 1) + mu_ref * B / (B + 1)
    ex2 = xsq / (B + 1) + sq_ref * B / (B + 1)
    sigma = np.sqrt(eps + ex2 - mu ** 2)
    return (x - mu) / sigma * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape", [(7, 5), (4, 3, 6, 6)])
def test_virtual_batch_norm_matches_numpy_formula(rng, shape):
    c = shape[1]
    vbn = gl.nn.VirtualBatchNorm(c)
    with pytest.raises(ValueError, match="set_reference"):
        vbn(_randn(rng, *shape))
    vbn.param("weight")[...] = rng.uniform(0.5, 1.5, c)
    vbn.param("bias")[...] = rng.standard_normal(c)
    ref = _randn(rng, 32, *shape[1:]) * 2 + 0.5
    vbn.set_reference(ref)
    x = _randn(rng, *shape)
    want = _vbn_numpy(x, ref, vbn.param("weight"), vbn.param("bias"))
    np.testing.assert_allclose(vbn(x), want, rtol=1e-4, atol=1e-5)
    # examples do not interact: each row's output depends only on itself and the reference
    np.testing.assert_allclose(vbn(x[:1]), want[:1], rtol=1e-4, atol=1e-5)
    # a new reference takes effect in the already compiled program (B read at run time too)
    ref2 = _randn(rng, 5, *shape[1:])
    vbn.set_reference(ref2)
    np.testing.assert_allclose(vbn(x), _vbn_numpy(x, ref2, vbn.param("weight"), vbn.param("bias")),
                               rtol=1e-4, atol=1e-5)


def test_virtual_batch_norm_is_twice_differentiable(rng):
    """Gradient penalty through VBN: d/dgamma of sum(d out / d x)^2 vs central differences."""
    vbn = gl.nn.VirtualBatchNorm(3)
    vbn.set_reference(_randn(rng, 16, 3))
    vbn.param("weight")[...] = [0.7, 1.2, 0.9]
    x = _randn(rng, 4, 3)

    def penalty(xin):
        (g,) = gl.grad(ops.sum(ops.tanh(vbn(xin))), [xin])
        return ops.sum(ops.square(g))

    f = gl.function(lambda xin: (penalty(xin), gl.grad(penalty(xin), vbn)[0]))
    val, dgamma = f(x)
    h = 1e-2
    for j in range(3):
        w = vbn.param("weight")
        w[j] += h
        up = float(f(x)[0])
        w[j] -= 2 * h
        down = float(f(x)[0])
        w[j] += h
        assert abs((up - down) / (2 * h) - dgamma[j]) < 2e-2 * max(1.0, abs(dgamma[j]))


# ---- buffers in state dicts, specs --------------------------------------------------------

def test_state_dict_round_trip_includes_batchnorm_running_stats(rng):
    net = gl.nn.Sequential(gl.nn.Conv2d(2, 4, 3, seed=0), gl.nn.BatchNorm(4), gl.nn.ReLU())
    net(_randn(rng, 8, 2, 6, 6))          # training mode: moves the running statistics
    sd = net.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"]
    assert "1.running_mean" not in net.parameters()
    assert not np.allclose(sd["1.running_mean"], 0)
    twin = gl.nn.from_spec(net.spec())
    x = _randn(rng, 3, 2, 6, 6)
    twin.eval()
    twin(x)                               # compile before loading: buffers are updated in place
    twin.load_state_dict(sd)
    for k in sd:
        np.testing.assert_array_equal(twin.state_dict()[k], sd[k])
    net.eval()
    np.testing.assert_allclose(twin(x), net(x), rtol=1e-6, atol=1e-6)
    # a state dict is a copy; parameters-only dicts (old checkpoints) still load
    sd["1.running_var"][...] = 7.0
    assert not np.any(net[1].get_buffer("running_var") == 7.0)
    twin.load_state_dict(dict(net.parameters()))
    with pytest.raises(ValueError, match="shape"):
        twin.load_state_dict({**net.state_dict(), "1.running_mean": np.zeros(5, np.float32)})
    with pytest.raises(ValueError, match="unexpected keys"):
        twin.load_state_dict({**net.state_dict(), "1.num_batches_tracked": np.zeros(1)})


def test_clone_copies_buffers(rng):
    bn = gl.nn.BatchNorm(3)
    bn(_randn(rng, 10, 3))
    twin = bn.clone()
    np.testing.assert_array_equal(twin.get_buffer("running_mean"), bn.get_buffer("running_mean"))
    assert not np.shares_memory(twin.get_buffer("running_mean"), bn.get_buffer("running_mean"))


def test_vbn_reference_travels_in_the_state_dict(rng):
    vbn = gl.nn.VirtualBatchNorm(4)
    vbn.set_reference(_randn(rng, 20, 4))
    twin = gl.nn.from_spec(vbn.spec())
    assert not twin.has_reference
    twin.load_state_dict(vbn.state_dict())
    x = _randn(rng, 3, 4)
    np.testing.assert_allclose(twin(x), vbn(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("image_shape,norm", [((1, 28, 28), "batch"), ((3, 32, 32), "layer"), ((2, 28, 28), None)])
def test_dcgan_spec_round_trip(rng, image_shape, norm):
    G = gl.nn.dcgan_generator(16, image_shape, width=8, seed=0)
    D = gl.nn.dcgan_discriminator(image_shape, width=8, norm=norm, seed=1)
    z = _randn(rng, 4, 16)
    x = G(z)
    for m, inp in ((G, z), (D, x)):
        twin = gl.nn.from_spec(m.spec())
        assert twin.spec() == m.spec()
        twin.load_state_dict(m.state_dict())
        np.testing.assert_allclose(twin(inp), m(inp), rtol=1e-5, atol=1e-6)


def test_other_layers_spec_round_trip():
    layers = [gl.nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, bias=False),
              gl.nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=(1, 0)),
              gl.nn.MaxPool2d(3, 2, 1), gl.nn.AvgPool2d(2), gl.nn.Upsample(2), gl.nn.Flatten(),
              gl.nn.Reshape(4, -1), gl.nn.BatchNorm(5, eps=1e-3, momentum=0.3), gl.nn.LayerNorm((2, 3)),
              gl.nn.VirtualBatchNorm(6, eps=1e-4)]
    for m in layers:
        assert gl.nn.from_spec(m.spec()).spec() == m.spec()


# ---- presets ----------------------------------------------------------------------------

def test_dcgan_shapes_and_init(rng):
    G = gl.nn.dcgan_generator(100, (1, 28, 28), seed=0)
    assert G(_randn(rng, 5, 100)).shape == (5, 1, 28, 28)
    G3 = gl.nn.dcgan_generator(100, (3, 32, 32), width=16, seed=0)
    out = G3(_randn(rng, 5, 100))
    assert out.shape == (5, 3, 32, 32) and np.abs(out).max() <= 1.0
    for shape in ((1, 28, 28), (3, 32, 32)):
        for norm in ("batch", "layer", None):
            D = gl.nn.dcgan_discriminator(shape, width=16, norm=norm, seed=0)
            assert D(_randn(rng, 5, *shape)).shape == (5, 1)
    p = G.parameters()
    assert abs(p["4.weight"].std() - 0.02) < 0.002            # ConvTranspose2d ~ N(0, 0.02)
    assert abs(p["2.weight"].mean() - 1.0) < 0.01 and 0.01 < p["2.weight"].std() < 0.03   # BN gamma ~ N(1, 0.02)
    assert G(np.zeros((1, 100), np.float32)).shape == (1, 1, 28, 28)   # one sample is fine in train mode
    a = gl.nn.dcgan_discriminator(seed=4).state_dict()
    b = gl.nn.dcgan_discriminator(seed=4).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_dcgan_errors_and_shape_messages():
    with pytest.raises(ValueError, match=r"supported image shapes: \(C, 28, 28\), \(C, 32, 32\)"):
        gl.nn.dcgan_generator(image_shape=(1, 30, 30))
    with pytest.raises(ValueError, match="supported"):
        gl.nn.dcgan_discriminator(image_shape=(3, 32, 28))
    with pytest.raises(ValueError, match="norm"):
        gl.nn.dcgan_discriminator(norm="instance")
    with pytest.raises(ValueError, match=r"Conv2d\(3, 64, 4\): expected input \(N, 3, H, W\), got \(2, 1, 28, 28\)"):
        gl.nn.Conv2d(3, 64, 4)(np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm\(4\): expected input \(N, 4\) or \(N, 4, H, W\)"):
        gl.nn.BatchNorm(4)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(8, 4, 4\): expected input \(N, 8, H, W\)"):
        gl.nn.ConvTranspose2d(8, 4, 4)(np.zeros((2, 8), np.float32))
    with pytest.raises(ValueError, match="output_padding"):
        gl.nn.ConvTranspose2d(8, 4, 4, stride=2, output_padding=2)


# ---- GAN training with the presets ------------------------------------------------------

def _images(n=256, shape=(1, 28, 28), seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, *shape)).astype(np.float32)


def test_gan_with_dcgan_presets_fits():
    G = gl.nn.dcgan_generator(32, (1, 28, 28), width=8, seed=0)
    D = gl.nn.dcgan_discriminator((1, 28, 28), width=8, seed=1)
    gan = gl.GAN(G, D, seed=0)
    assert gan.latent.dim == 32
    before = G[2].get_buffer("running_mean").copy()
    hist = gan.fit(_images(), steps=3, batch_size=32, progress=False)
    assert len(hist["d_loss"]) == 3
    for k in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm"):
        assert np.all(np.isfinite(hist[k])), k
    assert not np.array_equal(G[2].get_buffer("running_mean"), before)   # BN stats move during fit
    assert gan.sample(4).shape == (4, 1, 28, 28)


def test_wgan_gp_through_layer_norm_critic_trains():
    G = gl.nn.dcgan_generator(16, (1, 28, 28), width=8, seed=0)
    D = gl.nn.dcgan_discriminator((1, 28, 28), width=8, norm="layer", seed=1)
    gan = gl.GAN(G, D, loss="wgan-gp", seed=0)
    d0 = D.buffer.data.copy()
    hist = gan.fit(_images(128), steps=1, batch_size=16, progress=False)
    assert np.isfinite(hist["penalty"]).all() and hist["penalty"][0] > 0
    assert np.isfinite(hist["d_loss"]).all() and np.isfinite(hist["g_loss"]).all()
    assert not np.array_equal(D.buffer.data, d0)


def test_wgan_gp_through_batch_norm_critic_raises_first_order_error():
    G = gl.nn.dcgan_generator(16, (1, 28, 28), width=8, seed=0)
    D = gl.nn.dcgan_discriminator((1, 28, 28), width=8, norm="batch", seed=1)
    with pytest.raises(ValueError, match="first-order only"):  # refused before any work
        gl.GAN(G, D, loss="wgan-gp", seed=0)


def test_gan_checkpoint_keeps_batch_norm_statistics(tmp_path):
    G = gl.nn.dcgan_generator(16, (1, 28, 28), width=8, seed=0)
    D = gl.nn.dcgan_discriminator((1, 28, 28), width=8, norm="batch", seed=1)
    gan = gl.GAN(G, D, loss="nonsaturating", seed=0)
    gan.fit(_images(64), steps=2, batch_size=16, progress=False)
    path = str(tmp_path / "bn.safetensors")
    gan.save(path)
    back = gl.load(path)
    for name in ("G", "D"):
        want, got = getattr(gan, name).state_dict(), getattr(back, name).state_dict()
        stats = [k for k in want if k.endswith("running_var")]
        assert stats and all(np.array_equal(want[k], got[k]) for k in want)
        assert not all(np.all(want[k] == 1) for k in stats)  # the statistics did move
