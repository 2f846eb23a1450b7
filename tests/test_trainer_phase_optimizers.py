"""gl.Trainer optimizer keys "module@phase": a module's own optimizer, with its own state, in one phase."""
import numpy as np
import pytest

import ganlib as gl
from test_trainer import aae_phases as phases  # recon, disc, gen: the AAE of the trainer tests


def make(own_gen: bool, seed: int = 0) -> gl.Trainer:
    mods = dict(E=gl.nn.mlp(2, [32], 2, seed=seed), Dec=gl.nn.mlp(2, [32], 2, seed=seed + 1),
                Dz=gl.nn.mlp(2, [32], 1, seed=seed + 2))
    opts = dict(E=gl.optim.Adam(1e-3), Dec=gl.optim.Adam(1e-3), Dz=gl.optim.Adam(1e-3))
    if own_gen:
        opts["E@gen"] = gl.optim.Adam(1e-3)
    return gl.Trainer(mods, opts, phases(), seed=seed)


X = gl.datasets.ring(n=512, seed=0)


def test_each_optimizer_steps_only_in_its_phases():
    tr = make(True)
    tr.fit(X, steps=7, batch_size=64, progress=False)
    assert tr.optimizers["E"].t == 7 and tr.optimizers["E@gen"].t == 7 and tr.optimizers["Dz"].t == 7
    shared = make(False)
    shared.fit(X, steps=7, batch_size=64, progress=False)
    assert shared.optimizers["E"].t == 14


def test_the_gen_phase_uses_moments_of_its_own():
    """One step from the same start: recon and disc run identically with or without "E@gen", and the
    gen gradient is taken at the same weights. With one shared Adam its first moment holds both
    gradients, m = b1 (1 - b1) g_recon + (1 - b1) g_gen; with "E@gen" they sit apart."""
    own, shared = make(True), make(False)
    for tr in (own, shared):
        tr.fit(X, steps=1, batch_size=64, progress=False)
    n = own.modules["E"].num_parameters()
    m_recon, m_gen = own.optimizers["E"]._c.state[:n], own.optimizers["E@gen"]._c.state[:n]
    m_shared = shared.optimizers["E"]._c.state[:n]
    assert np.abs(m_recon).max() > 0 and np.abs(m_gen).max() > 0
    np.testing.assert_allclose(m_shared, 0.9 * m_recon + m_gen, rtol=1e-4, atol=1e-9)
    assert not np.array_equal(own.modules["E"].buffer.data, shared.modules["E"].buffer.data)


def test_phase_optimizers_are_saved_and_resume_bit_for_bit(tmp_path):
    a = make(True)
    a.fit(X, steps=10, batch_size=64, progress=False)
    path = str(tmp_path / "t.safetensors")
    a.save(path)
    b = gl.load(path, phases=phases())
    assert set(b.optimizers) == {"E", "Dec", "Dz", "E@gen"}
    ha = a.fit(X, steps=5, batch_size=64, progress=False)
    hb = b.fit(X, steps=5, batch_size=64, progress=False)
    np.testing.assert_array_equal(ha["g_loss"], hb["g_loss"])
    for k in a.optimizers:
        np.testing.assert_array_equal(a.optimizers[k]._c.state, b.optimizers[k]._c.state, err_msg=k)


def test_bad_phase_optimizer_keys_are_refused():
    mods = dict(E=gl.nn.mlp(2, [8], 2, seed=0), Dec=gl.nn.mlp(2, [8], 2, seed=1), Dz=gl.nn.mlp(2, [8], 1, seed=2))
    with pytest.raises(ValueError, match="'gne' is not a phase"):
        gl.Trainer(mods, {"E@gne": gl.optim.Adam(1e-3)}, phases())
    with pytest.raises(ValueError, match="'Enc' is not a module"):
        gl.Trainer(mods, {"Enc@gen": gl.optim.Adam(1e-3)}, phases())
    with pytest.raises(TypeError, match="optimizer keys must be module names"):
        gl.Trainer(mods, {3: gl.optim.Adam(1e-3)}, phases())
    ae = gl.nn.Sequential(mods["E"], mods["Dec"])
    with pytest.raises(ValueError, match="share parameters"):
        gl.Trainer({"ae": ae, **mods}, {"ae": gl.optim.Adam(1e-3), "E@gen": gl.optim.Adam(1e-3)}, phases())
    # a module trained only in one phase by its own optimizer: other phases may not minimise it
    tr = gl.Trainer(mods, {"E@gen": gl.optim.Adam(1e-3), "Dec": gl.optim.Adam(1e-3), "Dz": gl.optim.Adam(1e-3)},
                    phases())
    with pytest.raises(ValueError, match="phase 'recon' minimises module 'E', which has no optimizer"):
        tr.fit(X, steps=1, batch_size=64, progress=False)
