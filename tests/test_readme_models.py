"""The README's gl.models example (a VAE's likelihood, AAE clustering, a linear probe) runs as written,
with fewer steps."""
import os
import re

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get("GANLIB_DATA", os.path.join(ROOT, "..", "shared", "data", "mnist"))


needs_mnist = pytest.mark.skipif(
    not any(os.path.exists(os.path.join(MNIST_DIR, f"train-images-idx3-ubyte{z}")) for z in ("", ".gz")),
    reason="MNIST not found")


def readme_block(after: str) -> str:
    """The README's first python block after the text ``after``."""
    text = open(os.path.join(ROOT, "README.md")).read()
    return re.findall(r"```python\n(.*?)```", text[text.index(after):], re.S)[0]


@needs_mnist
def test_readme_models_example_runs(capsys):
    code = readme_block("### Model families: `gl.models`")
    assert "gl.models.VAE(" in code and "gl.models.AAE(" in code and "linear_probe" in code
    code = (code.replace('"../shared/data/mnist"', repr(MNIST_DIR)).replace("steps=2000", "steps=20")
            .replace("k=500", "k=20").replace("batch_size=100)", "batch_size=100, progress=False)"))
    env: dict = {}
    exec(compile("import ganlib as gl\n" + code, "README-models", "exec"), env)
    out = capsys.readouterr().out
    assert "test NLL" in out and "clustering accuracy" in out and "probe accuracy" in out
    assert np.isfinite(env["ll"].nll) and env["vae"].step == 20 and env["aae"].step == 20


@needs_mnist
def test_readme_labels_and_domains_example_runs(capsys):
    code = readme_block("Labels and unpaired domains: `gl.models.ConditionalGAN`")
    for name in ("ConditionalGAN(", "SemiSupervisedGAN(", "CycleGAN(", "balanced_subset(", "translation_agreement("):
        assert name in code, name
    code = (code.replace('"../shared/data/mnist"', repr(MNIST_DIR)).replace("steps=2000", "steps=5")
            .replace("batch_size=64)", "batch_size=64, progress=False)").replace("batch_size=16)", "batch_size=16, progress=False)")
            .replace("steps=5)", "steps=5, progress=False)"))
    env: dict = {}
    exec(compile("import numpy as np\nimport ganlib as gl\n" + code, "README-labels", "exec"), env)
    out = capsys.readouterr().out
    assert "semi-supervised accuracy" in out and "A->B agreement" in out
    assert env["digits"].shape == (20, 1, 28, 28)
    assert env["cgan"].step == 5 and env["ssgan"].step == 5 and env["cyc"].step == 5
