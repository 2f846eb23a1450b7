"""DCGAN on MNIST: a short training run of the presets with gl.GAN, and a smoke run of
notebooks/02_dcgan_mnist.ipynb (GANLIB_SMOKE=1)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ganlib as gl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "02_dcgan_mnist.ipynb")


def _mnist_dir() -> str:
    return os.environ.get("GANLIB_TEST_MNIST") or os.path.join(ROOT, "..", "shared", "data", "mnist")


def _mnist(limit: int) -> np.ndarray:
    try:
        X, _ = gl.datasets.mnist(_mnist_dir(), "train", limit=limit)
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


def test_notebook_runs_in_smoke_mode(monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install nbclient)")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install ipykernel)")
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    assert os.path.exists(NOTEBOOK), "run notebooks/make_02_dcgan_mnist.py --execute"
    data = _mnist_dir()
    _mnist(1)  # skips when the files are missing
    nb = nbformat.read(NOTEBOOK, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code" and 'SMOKE = os.environ.get("GANLIB_SMOKE") == "1"' in first.source
    monkeypatch.setenv("GANLIB_SMOKE", "1")
    monkeypatch.setenv("GANLIB_DATA", os.path.abspath(data))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    pp = os.environ.get("PYTHONPATH", "")
    # the kernel must import the same ganlib as this test (installed, or an in-place build)
    here = os.path.dirname(os.path.dirname(gl.__file__))
    monkeypatch.setenv("PYTHONPATH", here + (os.pathsep + pp if pp else ""))
    png = os.path.join(ROOT, "notebooks", "dcgan_mnist_samples.png")
    before = os.path.getmtime(png) if os.path.exists(png) else None
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}})
    client.execute()
    outs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "SMOKE" in outs and "FID" in outs and "classifier score" in outs
    assert not any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    # the smoke run must not overwrite the committed sample grid
    assert (os.path.getmtime(png) if os.path.exists(png) else None) == before
