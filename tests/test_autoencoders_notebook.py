"""notebooks/03_autoencoders.ipynb runs in smoke mode (GANLIB_SMOKE=1) and leaves the committed results alone."""
from __future__ import annotations

import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "03_autoencoders.ipynb")
RESULTS = os.path.join(ROOT, "notebooks", "results", "03_autoencoders.json")
MNIST_DIR = os.environ.get("GANLIB_TEST_MNIST") or os.path.join(ROOT, "..", "shared", "data", "mnist")
KEYS = ("vae_test_nll_nats", "aae_cluster16_error", "probe_acc_vae", "probe_acc_aae", "probe_acc_ae",
        "class_radius_vae", "collision_prob_vae", "minutes_total")


def test_committed_results_hold_the_headline_numbers():
    with open(RESULTS) as f:
        res = json.load(f)
    for k in KEYS:
        assert isinstance(res[k], float), k
    assert 0 < res["vae_test_nll_nats"] < 784 * 0.7 and 0 <= res["aae_cluster16_error"] <= 1


def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    if not any(os.path.exists(os.path.join(MNIST_DIR, f"train-images-idx3-ubyte{z}")) for z in ("", ".gz")):
        pytest.skip("MNIST files not found (set GANLIB_TEST_MNIST)")
    before = open(RESULTS).read()
    outs = run_notebook_smoke(NOTEBOOK, "make_03_autoencoders.py", timeout=600,
                              env={"GANLIB_DATA": os.path.abspath(MNIST_DIR)})
    assert "SMOKE" in outs and "test NLL" in outs and "class radius" in outs
    assert open(RESULTS).read() == before     # a smoke run never writes the results
