"""notebooks/06_flows_and_evaluation.ipynb: its code is the builder's, it runs in smoke mode (GANLIB_SMOKE=1)
and leaves the committed results alone.

Skipped while the notebook does not exist: it is committed only after its full run (about forty
minutes on two cores).
"""
from __future__ import annotations

import os

import pytest

from notebook_checks import assert_notebook_is_builders, headline_numbers, paths, smoke_outputs

NAME = "06_flows_and_evaluation"
NOTEBOOK = paths(NAME)[0]
# the keys issue 18 asks for
KEYS = ("realnvp_mle_test_bpd", "realnvp_wgan_test_bpd", "realnvp_mle_fid", "realnvp_wgan_fid", "dcnn_train_set",
        "dcnn_dcgan", "dcnn_noise", "dcnn_test_halves", "minutes_total")

pytestmark = pytest.mark.skipif(not os.path.exists(NOTEBOOK), reason=f"notebooks/{NAME}.ipynb is not committed yet")


def test_committed_notebook_is_the_builders():
    assert_notebook_is_builders(NAME)


def test_committed_results_hold_the_headline_numbers():
    res = headline_numbers(NAME, KEYS)
    assert 0.5 < res["realnvp_mle_test_bpd"] < 8 and res["realnvp_wgan_test_bpd"] > 0
    assert res["realnvp_mle_fid"] >= 0 and res["realnvp_wgan_fid"] >= 0 and 0 < res["minutes_total"] < 120


def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    outs = smoke_outputs(run_notebook_smoke, NAME)
    assert "bits/dim" in outs and "MemorisationTable" in outs
