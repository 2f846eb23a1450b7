"""Issue #20 item 4: sampling and scoring read the model and never change it."""
import numpy as np
import pytest

import ganlib as gl


def bn_gan(seed=0):
    """G and D with batch norm, in training mode (their mode during fit)."""
    G = gl.nn.Sequential(gl.nn.Linear(2, 16, seed=seed), gl.nn.BatchNorm(16), gl.nn.ReLU(), gl.nn.Linear(16, 2, seed=seed + 1))
    D = gl.nn.Sequential(gl.nn.Linear(2, 16, seed=seed + 2), gl.nn.BatchNorm(16), gl.nn.LeakyReLU(0.2),
                         gl.nn.Linear(16, 1, seed=seed + 3))
    return gl.GAN(G, D, latent=gl.latent.normal(2), seed=seed)


def state(gan):
    return {f"{n}.{k}": v.copy() for n, m in (("G", gan.G), ("D", gan.D)) for k, v in m.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k


def test_sample_generate_discriminate_leave_the_state_and_the_checkpoint_unchanged(tmp_path):
    X = gl.datasets.ring(512, seed=0)
    gan = bn_gan()
    gan.fit(X, steps=3, batch_size=64, progress=False)
    assert gan.G.training and gan.D.training
    before = state(gan)
    p1, p2 = str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")
    gan.save(p1)
    for n in (5, 64, 300):
        S = gan.sample(n)
        gan.discriminate(S)
        gan.generate(np.random.default_rng(n).standard_normal((n, 2)))
    gan.discriminate(X[:100])
    assert_same(before, state(gan))
    gan.save(p2)
    assert open(p1, "rb").read() == open(p2, "rb").read()
    # and training afterwards is exactly what it would have been without the reads
    twin = bn_gan()
    twin.fit(X, steps=3, batch_size=64, progress=False)
    h1 = gan.fit(X, steps=3, batch_size=64, progress=False)
    h2 = twin.fit(X, steps=3, batch_size=64, progress=False)
    np.testing.assert_array_equal(h1["d_loss"], h2["d_loss"])
    assert_same(state(gan), state(twin))


def test_reads_use_batch_statistics_in_training_mode_and_running_ones_in_eval_mode():
    gan = bn_gan()
    bn = gan.D[1]
    bn.get_buffer("running_mean")[...] = 3.0
    bn.get_buffer("running_var")[...] = 4.0
    x = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    # training mode: the batch's statistics (what D(x) computes), running statistics untouched
    scored = gan.discriminate(x)
    f = gl.function(lambda t: gan.D(t), update_state=False)
    np.testing.assert_array_equal(scored, f(x))
    ref = gan.D.clone()
    np.testing.assert_allclose(scored, ref(x), rtol=1e-5, atol=1e-6)   # a write-through call on a copy
    np.testing.assert_array_equal(bn.get_buffer("running_mean"), np.full(16, 3.0, np.float32))
    # eval mode: the running statistics, as PyTorch's eval()
    gan.D.eval()
    ev = gan.discriminate(x)
    assert not np.allclose(ev, scored)
    np.testing.assert_allclose(ev, gan.D(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(bn.get_buffer("running_var"), np.full(16, 4.0, np.float32))


def test_sample_follows_the_generator_mode():
    gan = bn_gan()
    gan.sample(10)
    gan.G.eval()
    assert gan.sample(10).shape == (10, 2)     # a new program for the new mode
    assert len(gan._samplers) == 2
    gan.G.train()
    gan.sample(10)
    assert len(gan._samplers) == 2              # the training-mode sampler is reused


def test_module_call_in_training_mode_still_updates_running_statistics():
    """Only the GAN's reads are read-only: net(x) keeps PyTorch's train() behaviour."""
    bn = gl.nn.BatchNorm(3)
    bn(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) + 5.0)
    assert np.all(bn.get_buffer("running_mean") > 0.1)


def test_update_state_false_in_a_function_leaves_batch_norm_buffers():
    bn = gl.nn.BatchNorm(4)
    x = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32) * 3 + 2
    y = gl.function(lambda t: bn(t), update_state=False)(x)
    np.testing.assert_array_equal(bn.get_buffer("running_mean"), np.zeros(4, np.float32))
    np.testing.assert_array_equal(bn.get_buffer("running_var"), np.ones(4, np.float32))
    np.testing.assert_allclose(y, bn(x), rtol=1e-5, atol=1e-5)   # same values as the writing call
    assert np.any(bn.get_buffer("running_mean") != 0)
    with pytest.raises(TypeError, match="update_state"):
        gl.function(lambda t: t, update_state="no")


def test_dcgan_sampling_leaves_the_checkpoint_unchanged(tmp_path):
    G = gl.nn.dcgan_generator(8, (1, 28, 28), width=4, seed=0)
    D = gl.nn.dcgan_discriminator((1, 28, 28), width=4, norm="batch", seed=1)
    gan = gl.GAN(G, D, seed=0)
    p1, p2 = str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")
    gan.save(p1)
    gan.discriminate(gan.sample(3))
    gan.save(p2)
    assert open(p1, "rb").read() == open(p2, "rb").read()
