"""notebooks/05_labels_and_domains.ipynb: its code is the builder's, it runs in smoke mode (GANLIB_SMOKE=1)
and leaves the committed results alone.

Skipped while the notebook does not exist: it is committed only after its full run (about half an
hour on two cores).
"""
from __future__ import annotations

import os

import pytest

from notebook_checks import assert_notebook_is_builders, headline_numbers, paths, smoke_outputs

NAME = "05_labels_and_domains"
NOTEBOOK = paths(NAME)[0]
# the keys issue 17 asks for
KEYS = ("semisup_100_test_error", "semisup_seeds", "cgan_label_agreement", "acgan_label_agreement",
        "cyclegan_agreement_a2b", "cyclegan_agreement_b2a", "cyclegan_pixel_error_a2b", "minutes_total")

pytestmark = pytest.mark.skipif(not os.path.exists(NOTEBOOK), reason=f"notebooks/{NAME}.ipynb is not committed yet")


def test_committed_notebook_is_the_builders():
    assert_notebook_is_builders(NAME)


def test_committed_results_hold_the_headline_numbers():
    res = headline_numbers(NAME, KEYS)
    for k in ("semisup_100_test_error", "cgan_label_agreement", "acgan_label_agreement", "cyclegan_agreement_a2b",
              "cyclegan_agreement_b2a", "cyclegan_pixel_error_a2b"):
        assert 0.0 <= res[k] <= 1.0, k
    assert res["semisup_seeds"] >= 1 and 0 < res["minutes_total"] < 120


def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    outs = smoke_outputs(run_notebook_smoke, NAME)
    assert "agreement" in outs and "test agreement A->B" in outs
    assert "FAILED" not in outs                        # every sweep trial ran
