"""notebooks/03_autoencoders.ipynb: its code is the builder's, it runs in smoke mode (GANLIB_SMOKE=1) and
leaves the committed results alone."""
from __future__ import annotations

import pytest

from notebook_checks import assert_notebook_is_builders, headline_numbers, smoke_outputs

NAME = "03_autoencoders"
KEYS = ("vae_test_nll_nats", "aae_cluster16_error", "aae_cluster16_error_std", "aae_cluster16_seeds",
        "probe_acc_vae", "probe_acc_aae", "probe_acc_ae", "class_radius_vae", "collision_prob_vae", "minutes_total")


def test_committed_notebook_is_the_builders():
    assert_notebook_is_builders(NAME)


def test_committed_results_hold_the_headline_numbers():
    res = headline_numbers(NAME, KEYS)
    assert 0 < res["vae_test_nll_nats"] < 784 * 0.7 and 0 <= res["aae_cluster16_error"] <= 1
    assert res["aae_cluster16_seeds"] >= 3                  # the clustering error is a mean over seeds


def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    pytest.importorskip("cloudpickle", reason="cloudpickle is not installed (part (d) ships its trial by value)")
    outs = smoke_outputs(run_notebook_smoke, NAME, timeout=600)
    assert "test NLL" in outs and "class radius" in outs and "seeds on gl.sweep's workers" in outs
    assert "FAILED" not in outs                        # every sweep trial ran
