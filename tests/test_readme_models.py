"""The README's gl.models example (a VAE's likelihood, AAE clustering, a linear probe) runs as written,
with fewer steps."""
import os
import re

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get("GANLIB_DATA", os.path.join(ROOT, "..", "shared", "data", "mnist"))


def readme_block() -> str:
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text[text.index("### Model families: `gl.models`"):]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


@pytest.mark.skipif(not any(os.path.exists(os.path.join(MNIST_DIR, f"train-images-idx3-ubyte{z}")) for z in ("", ".gz")),
                    reason="MNIST not found")
def test_readme_models_example_runs(capsys):
    code = readme_block()
    assert "gl.models.VAE(" in code and "gl.models.AAE(" in code and "linear_probe" in code
    code = (code.replace('"../shared/data/mnist"', repr(MNIST_DIR)).replace("steps=2000", "steps=20")
            .replace("k=500", "k=20").replace("batch_size=100)", "batch_size=100, progress=False)"))
    env: dict = {}
    exec(compile("import ganlib as gl\n" + code, "README-models", "exec"), env)
    out = capsys.readouterr().out
    assert "test NLL" in out and "clustering accuracy" in out and "probe accuracy" in out
    assert np.isfinite(env["ll"].nll) and env["vae"].step == 20 and env["aae"].step == 20
