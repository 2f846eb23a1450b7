"""notebooks/04_interpolation.ipynb: its code is the builder's, it runs in smoke mode (GANLIB_SMOKE=1) and
leaves the committed results alone."""
from __future__ import annotations

import pytest

from notebook_checks import assert_notebook_is_builders, headline_numbers, smoke_outputs

NAME = "04_interpolation"
MODELS = ("ae", "dropout_ae", "denoising_ae", "vae", "aae", "vqvae", "acai")
# a model's lines Smoothness is left out of the results when no seed has a defined one (the model
# decodes one image along every path); lines_smoothness_seeds_<model> says on how many it is defined
KEYS = tuple(f"{k}_{m}" for m in MODELS for k in ("lines_mean_distance", "lines_smoothness_seeds", "probe32")) + (
    "alphagan_fid", "vqvae_codebook_usage", "minutes_total", "minutes_lines", "minutes_probe",
    "minutes_alphagan_lipschitz") + tuple(f"lipschitz_{c}_seeds" for c in ("closer", "less", "similar")) + tuple(
    f"{v}_{k}" for v in ("vae", "lipschitz_vae") for k in ("class_radius", "centroid_distance", "coverage", "fid"))


def test_committed_notebook_is_the_builders():
    assert_notebook_is_builders(NAME)


def test_committed_results_hold_the_headline_numbers():
    res = headline_numbers(NAME, KEYS)
    for m in MODELS:
        assert 0 <= res[f"lines_mean_distance_{m}"] < 1000          # x 1e-3: a cosine distance is at most 2
        seeds = res[f"lines_smoothness_seeds_{m}"]
        assert seeds in (0, 1, 2, 3) and (f"lines_smoothness_{m}" in res) == (seeds > 0)
        if seeds:
            assert 0 <= res[f"lines_smoothness_{m}"] < 1
        assert 0 <= res[f"probe32_{m}"] <= 1
    assert 0 < res["vqvae_codebook_usage"] <= 1 and res["alphagan_fid"] > 0 and res["minutes_total"] > 0
    # (d): on how many of the 3 seeds each of the lecture's conclusions about the Lipschitz VAE holds
    assert all(res[f"lipschitz_{c}_seeds"] in (0, 1, 2, 3) for c in ("closer", "less", "similar"))
    assert all(0 <= res[f"{v}_coverage"] <= 1 and res[f"{v}_fid"] > 0 for v in ("vae", "lipschitz_vae"))


def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    pytest.importorskip("cloudpickle", reason="cloudpickle is not installed (the sweeps ship notebook trials by value)")
    outs = smoke_outputs(run_notebook_smoke, NAME)
    assert "steps per model" in outs and "codebook usage" in outs
    assert "FAILED" not in outs                     # every sweep trial finished
