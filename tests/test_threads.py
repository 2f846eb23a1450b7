"""Issue #20 item 8: a model used from two threads at once gets a clear GanlibError."""
import threading
import time

import numpy as np
import pytest

import ganlib as gl

BUSY = "already running in another thread.*one model per thread"


class Gate(gl.nn.Module):
    """Identity whose tracing waits at a gate: holds its model's call open deterministically."""

    def __init__(self, armed=True):
        super().__init__()
        self.inside, self.release = threading.Event(), threading.Event()
        self.armed = armed

    def forward(self, x):
        if self.armed:
            self.inside.set()
            assert self.release.wait(10)
        return x


def hold(call):
    """Start ``call`` in a thread; return (thread, results) once it is inside the model."""
    out = {}

    def run():
        try:
            out["value"] = call()
        except BaseException as e:  # noqa: BLE001 - reported to the test
            out["error"] = e
    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_a_module_called_while_another_thread_runs_it_raises_ganlib_error():
    gate = Gate()
    net = gl.nn.Sequential(gl.nn.Linear(3, 3, seed=0), gate)
    x = np.ones((4, 3), np.float32)
    t, out = hold(lambda: net(x))
    assert gate.inside.wait(10)
    with pytest.raises(gl.GanlibError, match=BUSY):
        net(x)
    with pytest.raises(gl.GanlibError, match=BUSY):
        net[0](x)                      # any module of the same composed model
    with pytest.raises(gl.GanlibError, match=BUSY):
        net.clear_cache()
    gate.release.set()
    t.join(10)
    assert "error" not in out and out["value"].shape == (4, 3)
    assert net(x).shape == (4, 3)      # usable again once the other call returned


def test_gan_sample_and_a_function_refuse_concurrent_use():
    gate = Gate(armed=False)    # open while the GAN traces G to learn its output shape
    G = gl.nn.Sequential(gl.nn.Linear(2, 2, seed=0), gate)
    gan = gl.GAN(G, gl.nn.mlp(2, [4], 1, seed=1), latent=gl.latent.normal(2), seed=0)
    gate.armed = True
    t, out = hold(lambda: gan.sample(5))
    assert gate.inside.wait(10)
    with pytest.raises(gl.GanlibError, match=BUSY):
        gan.sample(5)
    with pytest.raises(gl.GanlibError, match=BUSY):
        gan.generate(np.zeros((3, 2)))
    gate.release.set()
    t.join(10)
    assert "error" not in out and out["value"].shape == (5, 2)

    inside, release = threading.Event(), threading.Event()

    def slow(x):
        inside.set()
        assert release.wait(10)
        return x * 2.0
    f = gl.function(slow)
    t, out = hold(lambda: f(np.ones(3, np.float32)))
    assert inside.wait(10)
    with pytest.raises(gl.GanlibError, match=BUSY):
        f(np.ones(3, np.float32))
    release.set()
    t.join(10)
    np.testing.assert_array_equal(out["value"], np.full(3, 2.0, np.float32))


def test_two_threads_hammering_one_model_get_results_or_ganlib_errors_never_a_crash():
    net = gl.nn.mlp(256, [512, 512], 256, seed=0)
    x = np.random.default_rng(0).standard_normal((512, 256)).astype(np.float32)
    ref = net(x)
    outcomes = {"ok": 0, "busy": 0, "other": []}
    lock = threading.Lock()

    def worker():
        for _ in range(20):
            try:
                y = net(x)
                with lock:
                    if np.array_equal(y, ref):
                        outcomes["ok"] += 1
                    else:
                        outcomes["other"].append("wrong values")
            except gl.GanlibError as e:
                assert "already running in another thread" in str(e)
                with lock:
                    outcomes["busy"] += 1
            except Exception as e:  # noqa: BLE001
                with lock:
                    outcomes["other"].append(repr(e))
    ts = [threading.Thread(target=worker) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert outcomes["other"] == []
    assert outcomes["ok"] + outcomes["busy"] == 40 and outcomes["ok"] >= 20


def test_one_model_per_thread_runs_concurrently():
    """The documented way: each thread its own model (e.g. a clone) runs without errors."""
    net = gl.nn.mlp(64, [128], 8, seed=0)
    nets = [net, net.clone()]
    x = np.random.default_rng(1).standard_normal((256, 64)).astype(np.float32)
    ref = net(x)
    errors = []

    def worker(m):
        for _ in range(10):
            try:
                np.testing.assert_array_equal(m(x), ref)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
    ts = [threading.Thread(target=worker, args=(m,)) for m in nets]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert errors == []


def test_a_trainer_running_in_one_thread_refuses_its_networks_and_fit_to_another(sigint_raises):
    import os
    import signal
    from ganlib import ops
    net = gl.nn.mlp(2, [64, 64], 1, seed=0)
    tr = gl.Trainer({"net": net}, {"net": gl.optim.SGD(1e-4)},
                    [gl.Phase("p", lambda b: gl.Step(minimize={"net": ops.mean(ops.square(b.modules.net(b.data.x)))}))])
    X = gl.datasets.ring(n=512, seed=0)
    tr.fit(X, steps=1, batch_size=64, progress=False)        # compiled: the other thread finds it training
    seen = {}

    def other():
        time.sleep(0.3)
        for what, call in (("call", lambda: net(X[:4])), ("fit", lambda: tr.fit(X, steps=1, progress=False))):
            try:
                call()
            except gl.GanlibError as e:
                seen[what] = str(e)
        os.kill(os.getpid(), signal.SIGINT)                  # Ctrl-C: the fit stops at a step boundary
    t = threading.Thread(target=other)
    t.start()
    h = tr.fit(X, steps=10**8, batch_size=64, log_every=10**8, progress=False)
    t.join()
    assert "already running in another thread" in seen["call"] and "another thread" in seen["fit"], seen
    assert 0 < len(h["step"]) < 10**8 and np.all(np.isfinite(net.buffer.data))
    assert net(X[:4]).shape == (4, 1)                         # usable again afterwards
