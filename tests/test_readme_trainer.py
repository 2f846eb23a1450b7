"""The README's gl.Trainer examples (an AAE on MNIST, a CycleGAN on two toy domains) run as written,
with fewer steps."""
import os
import re

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get("GANLIB_DATA", os.path.join(ROOT, "..", "shared", "data", "mnist"))


def readme_blocks():
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text[text.index("### Any model: `gl.Trainer`"):]
    return re.findall(r"```python\n(.*?)```", section, re.S)[:2]   # the AAE, then the CycleGAN


def test_the_readme_shows_an_aae_and_a_cyclegan():
    aae, cyc = readme_blocks()
    assert "gl.Trainer(nets, opts, phases" in aae and "keep={" in cyc and "b.kept.fa" in cyc


@pytest.mark.skipif(not os.path.exists(os.path.join(MNIST_DIR, "train-images-idx3-ubyte")) and
                    not os.path.exists(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")),
                    reason="MNIST not found")
def test_readme_trainer_examples_run(tmp_path, monkeypatch):
    aae, cyc = readme_blocks()
    aae = aae.replace('"../shared/data/mnist"', repr(MNIST_DIR)).replace("steps=5000", "steps=30")
    cyc = cyc.replace("steps=2000", "steps=30")
    monkeypatch.chdir(tmp_path)       # aae.safetensors is written here
    env: dict = {}
    exec(compile(aae, "README-aae", "exec"), env)
    assert len(env["hist"]["recon"]) == 30 and np.all(np.isfinite(env["hist"]["recon"]))
    assert env["again"].step == 30
    exec(compile(cyc, "README-cyclegan", "exec"), env)
    h = env["cyc"].fit({"A": env["gl"].Data(x=env["gl"].datasets.ring(n=400, seed=0)),
                        "B": env["gl"].Data(x=env["gl"].datasets.grid(n=300, seed=1))},
                       steps=200, batch_size=64, progress=False)
    assert h["cycle"][-20:].mean() < h["cycle"][:5].mean()   # the cycle-consistency term falls
