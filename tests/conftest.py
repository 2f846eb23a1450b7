"""Shared test helpers."""
import os

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MNIST_DIR = os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def run_notebook_smoke(monkeypatch):
    """Runs a committed notebook with GANLIB_SMOKE=1 and returns its text outputs.

    Skips when the Jupyter stack (nbformat, nbclient, ipykernel) or matplotlib is
    missing; fails if the notebook's first cell does not read GANLIB_SMOKE (the run
    would not be a smoke run) or if any cell raises.  The kernel imports the same
    ganlib as the tests (installed, or an in-place build).  ``env`` adds variables.
    """
    def run(path: str, make_script: str, timeout: int, env: dict | None = None) -> str:
        nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
        nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install nbclient)")
        pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install ipykernel)")
        pytest.importorskip("matplotlib", reason="matplotlib is not installed")
        import ganlib as gl

        assert os.path.exists(path), f"run notebooks/{make_script} --execute"
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "code" and 'SMOKE = os.environ.get("GANLIB_SMOKE") == "1"' in first.source
        monkeypatch.setenv("GANLIB_SMOKE", "1")
        monkeypatch.setenv("MPLBACKEND", "Agg")
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        pp = os.environ.get("PYTHONPATH", "")
        here = os.path.dirname(os.path.dirname(gl.__file__))
        monkeypatch.setenv("PYTHONPATH", here + (os.pathsep + pp if pp else ""))
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": os.path.dirname(path)}})
        client.execute()
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not any(o.output_type == "error" for o in outputs)
        return "".join(o.get("text", "") for o in outputs)

    return run


@pytest.fixture
def sigint_raises():
    """SIGINT raises KeyboardInterrupt during the test, however pytest was started.

    A process started in the background by a non-interactive shell (``cmd &``, as CI
    scripts and nohup runs do) inherits SIGINT as *ignored*, and Python then installs
    no handler: a test that sends itself SIGINT would see nothing and train on.
    """
    import signal

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)
