"""Checks shared by the notebook tests: a committed notebook is its builder's, its smoke run passes
and leaves the committed results alone."""
from __future__ import annotations

import importlib.util
import json
import math
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
MNIST_DIR = os.environ.get("GANLIB_TEST_MNIST") or os.path.join(ROOT, "..", "shared", "data", "mnist")


def paths(name: str) -> tuple[str, str, str]:
    """``(notebook, builder, results)`` of ``notebooks/<name>.ipynb``."""
    return (os.path.join(NOTEBOOKS, f"{name}.ipynb"), os.path.join(NOTEBOOKS, f"make_{name}.py"),
            os.path.join(NOTEBOOKS, "results", f"{name}.json"))


def builder_cells(builder: str) -> list[tuple[str, str]]:
    sys.path.insert(0, os.path.dirname(builder))     # a builder imports nbbuild from beside itself
    try:
        spec = importlib.util.spec_from_file_location(os.path.basename(builder)[:-3], builder)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.pop(0)
    return list(mod.CELLS)


def assert_notebook_is_builders(name: str) -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    notebook, builder, _ = paths(name)
    got = [("code" if c.cell_type == "code" else "md", c.source) for c in nbformat.read(notebook, as_version=4).cells]
    assert got == builder_cells(builder), f"rebuild: python notebooks/make_{name}.py --execute"


def headline_numbers(name: str, keys: tuple[str, ...]) -> dict[str, float]:
    """The committed ``notebooks/results/<name>.json``, after checking that each of ``keys`` is a finite float."""
    with open(paths(name)[2]) as f:
        res = json.load(f)
    for k in keys:
        assert isinstance(res[k], float) and math.isfinite(res[k]), k
    return res


def smoke_outputs(run_notebook_smoke, name: str, timeout: int = 900) -> str:
    """Text outputs of the notebook's smoke run, after checking that it left the results file alone."""
    if not any(os.path.exists(os.path.join(MNIST_DIR, f"train-images-idx3-ubyte{z}")) for z in ("", ".gz")):
        pytest.skip("MNIST files not found (set GANLIB_TEST_MNIST)")
    notebook, _, results = paths(name)

    def read() -> str | None:
        return open(results).read() if os.path.exists(results) else None

    before = read()
    outs = run_notebook_smoke(notebook, f"make_{name}.py", timeout=timeout,
                              env={"GANLIB_DATA": os.path.abspath(MNIST_DIR)})
    assert "SMOKE" in outs
    assert read() == before                            # a smoke run never writes the results
    return outs
