"""Tests of ganlib.demos (small budgets) and a smoke run of notebooks/01_gan_objectives.ipynb."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from ganlib import demos
from ganlib.demos import bilinear_game, radius

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "01_gan_objectives.ipynb")


# ---- 1. mode covering vs mode seeking --------------------------------------------------------

def test_mle_covers_both_modes():
    r = demos.gaussian_fit("mle", seed=0)
    assert abs(r["mean"]) < 0.5 and r["std"] > 1.5
    assert r["data"].shape == (20_000,) and r["samples"].ndim == 1
    # closed form: mean and (1/n) std of the data
    assert r["mean"] == pytest.approx(float(r["data"].mean()))
    assert r["std"] == pytest.approx(float(r["data"].std()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reverse_kl_gan_seeks_one_mode(seed):
    r = demos.gaussian_fit("reverse_kl", steps=1500, seed=seed)
    assert abs(r["mean"]) > 1.2 and r["std"] < 1.0, (r["mean"], r["std"])
    # the samples are G(z) of the affine generator: their moments match (mean, std)
    assert float(np.mean(r["samples"])) == pytest.approx(r["mean"], abs=0.05)
    assert float(np.std(r["samples"])) == pytest.approx(r["std"], rel=0.05)
    assert np.isfinite(r["history"]["d_loss"]).all()


def test_gaussian_fit_deterministic_and_validates():
    a = demos.gaussian_fit("reverse_kl", steps=100, seed=3)
    b = demos.gaussian_fit("reverse_kl", steps=100, seed=3)
    assert a["mean"] == b["mean"] and a["std"] == b["std"]
    np.testing.assert_array_equal(a["samples"], b["samples"])
    with pytest.raises(ValueError, match="method"):
        demos.gaussian_fit("forward_kl")


# ---- 2. bilinear game ----------------------------------------------------------------------

def test_bilinear_shapes_and_start():
    for m in demos.BILINEAR_METHODS:
        t = bilinear_game(m, steps=100, lr=0.1, x0=1.0, y0=1.0)
        assert t.shape == (101, 2) and t.dtype == np.float64
        np.testing.assert_array_equal(t[0], [1.0, 1.0])


def test_bilinear_simultaneous_spirals_out():
    lr, steps = 0.1, 100
    r = radius(bilinear_game("simultaneous", steps=steps, lr=lr))
    assert np.all(np.diff(r) > 0)
    # exact growth factor sqrt(1 + lr^2) per step
    np.testing.assert_allclose(r[-1] / r[0], (1 + lr * lr) ** (steps / 2), rtol=1e-9)


def test_bilinear_alternating_orbits():
    lr = 0.1
    t = bilinear_game("alternating", steps=5000, lr=lr)
    r = radius(t)
    assert r.max() < 1.1 * r[0] and r.min() > 0.9 * r[0]
    # the conserved quantity of the alternating (symplectic) update
    q = t[:, 0] ** 2 + t[:, 1] ** 2 - lr * t[:, 0] * t[:, 1]
    np.testing.assert_allclose(q, q[0], rtol=1e-9)


def test_bilinear_unrolled_and_averaged_shrink():
    r_unrolled = radius(bilinear_game("unrolled", steps=200, lr=0.1, unroll=5))
    assert r_unrolled[-1] < 1e-2 * r_unrolled[0]
    assert radius(bilinear_game("unrolled", steps=100, lr=0.1, unroll=1))[-1] < radius(
        bilinear_game("unrolled", steps=100, lr=0.1, unroll=1))[0]
    r_avg = radius(bilinear_game("averaged", steps=200, lr=0.1))
    assert r_avg[-1] < 0.2 * r_avg[0]
    # averaged = running mean of the simultaneous iterates
    sim = bilinear_game("simultaneous", steps=200, lr=0.1)
    np.testing.assert_allclose(bilinear_game("averaged", steps=200, lr=0.1)[-1], sim.mean(axis=0))


def test_bilinear_rejects_bad_arguments():
    with pytest.raises(ValueError):
        bilinear_game("extragradient")
    with pytest.raises(ValueError):
        bilinear_game("simultaneous", lr=0.0)
    with pytest.raises(ValueError):
        bilinear_game("unrolled", unroll=0)
    with pytest.raises(ValueError):
        bilinear_game("simultaneous", steps=-1)


# ---- 3. mode-collapse table ----------------------------------------------------------------

def test_mode_collapse_table_rows_well_formed():
    rows = demos.mode_collapse_table(["nonsaturating", "wgan-gp"], datasets=("ring", "grid"), unroll=(0, 2),
                                     steps=20, num_samples=500)
    assert len(rows) == 2 * 2 * 2
    seen = set()
    for r in rows:
        assert set(demos.mode_collapse.ROW_KEYS) <= set(r)
        assert r["objective"] in ("nonsaturating", "wgan-gp") and r["dataset"] in ("ring", "grid")
        assert r["unroll"] in (0, 2)
        assert r["num_modes"] == (8 if r["dataset"] == "ring" else 25)
        assert 0 <= r["modes"] <= r["num_modes"] and isinstance(r["modes"], int)
        assert 0.0 <= r["high_quality"] <= 1.0
        assert 0.0 <= r["reverse_kl"] <= math.log(r["num_modes"]) + 1e-9
        assert r["seconds"] >= 0 and r["status"] == "ok"
        seen.add((r["objective"], r["dataset"], r["unroll"]))
    assert len(seen) == 8
    md = demos.format_table(rows)
    assert md.count("\n") == 3 and "ring, unroll 2" in md


def test_mode_collapse_table_default_objectives_and_mmd():
    names = demos.default_objectives()
    assert "fgan-reverse-kl" in names and "nonsaturating" in names and "ns" not in names
    rows = demos.mode_collapse_table(["mmd"], datasets=("ring",), unroll=(0, 1), steps=5, num_samples=100)
    assert rows[0]["status"] == "ok" and rows[1]["status"].startswith("n/a")
    with pytest.raises(ValueError, match="data set"):
        demos.mode_collapse_table(["hinge"], datasets=("spiral",), steps=1)


# ---- 4. memorisation -----------------------------------------------------------------------

def test_memorisation_fresh_fraction_grows_with_n():
    # The lecture's claim: with more fixed latents, more of latent space maps onto training points,
    # so the fraction of FRESH samples (new z ~ N(0, I)) on a training point grows with n.
    rows = demos.memorisation_curve(ns=(1, 2, 64), steps=1500, seed=0)
    f = {r["n"]: r["fraction"] for r in rows}
    assert f[64] > max(f[1], f[2]) + 0.1, f
    for r in rows:
        assert 0.0 <= r["fraction"] <= 1.0 and 0.0 <= r["train_fraction"] <= 1.0
        assert 0 <= r["points_hit"] <= 7


def test_memorisation_samples_and_determinism():
    a = demos.memorisation_curve(ns=(3,), steps=30, seed=1, num_fresh=100, return_samples=True)[0]
    b = demos.memorisation_curve(ns=(3,), steps=30, seed=1, num_fresh=100, return_samples=True)[0]
    assert a["samples"].shape == (100, 2) and a["train_samples"].shape == (3, 2)
    np.testing.assert_array_equal(a["samples"], b["samples"])
    with pytest.raises(ValueError):
        demos.memorisation_curve(ns=(0,), steps=1)


# ---- the notebook --------------------------------------------------------------------------

def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    outs = run_notebook_smoke(NOTEBOOK, "make_01_gan_objectives.py", timeout=120)
    assert "SMOKE" in outs
