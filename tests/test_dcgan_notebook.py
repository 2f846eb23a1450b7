"""DCGAN on MNIST: a short training run of the presets with gl.GAN, and a smoke run of
notebooks/02_dcgan_mnist.ipynb (GANLIB_SMOKE=1)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ganlib as gl
from notebook_checks import MNIST_DIR, assert_notebook_is_builders, headline_numbers, smoke_outputs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "02_dcgan_mnist"
KEYS = ("fid", "fid_best", "fid_test_halves", "classes_present", "collision_samples", "H2", "classifier_score",
        "steps", "minutes_total")


def _mnist(limit: int) -> np.ndarray:
    try:
        X, _ = gl.datasets.mnist(MNIST_DIR, "train", limit=limit)
    except FileNotFoundError as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"MNIST files not found (set GANLIB_TEST_MNIST): {e}")
    return X


def test_dcgan_presets_train_on_mnist():
    X = _mnist(512)
    assert X.shape == (512, 1, 28, 28)
    G = gl.nn.dcgan_generator(latent=100, image_shape=(1, 28, 28), width=16, seed=0)
    D = gl.nn.dcgan_discriminator(image_shape=(1, 28, 28), width=16, seed=1)
    adam = lambda: gl.optim.Adam(2e-4, betas=(0.5, 0.999))  # noqa: E731
    gan = gl.GAN(G, D, latent=gl.latent.normal(100), loss="nonsaturating", g_opt=adam(), d_opt=adam(), seed=0)
    seen = []
    hist = gan.fit(X, steps=30, batch_size=64, log_every=10, callbacks=[lambda g, s, logs: seen.append(s)],
                   progress=False)
    assert seen == [10, 20, 30] and gan.step == 30
    np.testing.assert_array_equal(hist["step"], np.arange(1, 31))
    for k in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm"):
        assert hist[k].shape == (30,) and np.isfinite(hist[k]).all(), k
    S = gan.sample(20)
    assert S.shape == (20, 1, 28, 28) and S.dtype == np.float32
    assert np.isfinite(S).all() and S.min() >= -1.0 and S.max() <= 1.0
    assert S.std() > 0  # not a constant image


def test_committed_notebook_is_the_builders():
    assert_notebook_is_builders(NAME)


def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    png = os.path.join(ROOT, "notebooks", "dcgan_mnist_samples.png")
    before = os.path.getmtime(png) if os.path.exists(png) else None
    outs = smoke_outputs(run_notebook_smoke, NAME, timeout=300)        # also: the results file is left alone
    assert "FID" in outs and "classifier score" in outs
    assert (os.path.getmtime(png) if os.path.exists(png) else None) == before   # and so is the sample grid


def test_committed_results_hold_the_headline_numbers():
    res = headline_numbers(NAME, KEYS)
    assert 0 < res["fid_test_halves"] < res["fid"] and res["fid_best"] > 0
    assert 1 <= res["classes_present"] <= 10 and 0.1 <= res["collision_samples"] <= 1
    assert 1 <= res["classifier_score"] <= 10 and res["steps"] > 0 and res["minutes_total"] > 0
