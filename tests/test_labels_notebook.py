"""notebooks/05_labels_and_domains.ipynb: its code is the builder's, it runs in smoke mode (GANLIB_SMOKE=1)
and leaves the committed results alone.

Every test here is **skipped while notebooks/05_labels_and_domains.ipynb does not exist**: the notebook is
committed only after its full run (about half an hour on two cores), and from then on these tests hold it
to its builder (``notebooks/make_05_labels_and_domains.py``) and its results file.
"""
from __future__ import annotations

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "05_labels_and_domains.ipynb")
BUILDER = os.path.join(ROOT, "notebooks", "make_05_labels_and_domains.py")
RESULTS = os.path.join(ROOT, "notebooks", "results", "05_labels_and_domains.json")
MNIST_DIR = os.environ.get("GANLIB_TEST_MNIST") or os.path.join(ROOT, "..", "shared", "data", "mnist")
# the keys issue 17 asks for
KEYS = ("semisup_100_test_error", "semisup_seeds", "cgan_label_agreement", "acgan_label_agreement",
        "cyclegan_agreement_a2b", "cyclegan_agreement_b2a", "cyclegan_pixel_error_a2b", "minutes_total")

pytestmark = pytest.mark.skipif(not os.path.exists(NOTEBOOK),
                                reason="notebooks/05_labels_and_domains.ipynb is not committed yet (full run pending)")


def builder_cells() -> list[tuple[str, str]]:
    import sys
    sys.path.insert(0, os.path.dirname(BUILDER))     # the builder imports nbbuild from beside itself
    try:
        spec = importlib.util.spec_from_file_location("make_05_labels_and_domains", BUILDER)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.pop(0)
    return mod.CELLS


def test_committed_notebook_is_the_builders():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    want = list(builder_cells())
    got = [("code" if c.cell_type == "code" else "md", c.source) for c in nb.cells]
    assert got == want, "rebuild: python notebooks/make_05_labels_and_domains.py --execute"


def test_committed_results_hold_the_headline_numbers():
    with open(RESULTS) as f:
        res = json.load(f)
    for k in KEYS:
        assert isinstance(res[k], float), k
    for k in ("semisup_100_test_error", "cgan_label_agreement", "acgan_label_agreement", "cyclegan_agreement_a2b",
              "cyclegan_agreement_b2a", "cyclegan_pixel_error_a2b"):
        assert 0.0 <= res[k] <= 1.0, k
    assert res["semisup_seeds"] >= 1 and 0 < res["minutes_total"] < 120


def test_notebook_runs_in_smoke_mode(run_notebook_smoke):
    if not any(os.path.exists(os.path.join(MNIST_DIR, f"train-images-idx3-ubyte{z}")) for z in ("", ".gz")):
        pytest.skip("MNIST files not found (set GANLIB_TEST_MNIST)")
    before = open(RESULTS).read() if os.path.exists(RESULTS) else None
    outs = run_notebook_smoke(NOTEBOOK, "make_05_labels_and_domains.py", timeout=900,
                              env={"GANLIB_DATA": os.path.abspath(MNIST_DIR)})
    assert "SMOKE" in outs and "agreement" in outs and "test agreement A->B" in outs
    assert "FAILED" not in outs                        # every sweep trial ran
    after = open(RESULTS).read() if os.path.exists(RESULTS) else None
    assert after == before                             # a smoke run never writes the results
