"""gl.sweep: grids, records, resume, failures, worker deaths, a killed or interrupted driver, Dask, plots,
and a smoke run of notebooks/07_sweeps.ipynb.

The trials are top-level functions of this module, so worker processes import them by name (pytest puts
this directory on sys.path, which spawned workers inherit).
"""
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import ganlib as gl
from ganlib.sweep import LocalPool, SweepError, WorkerDied, config_key, expand_grid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOTEBOOK = os.path.join(ROOT, "notebooks", "07_sweeps.ipynb")


# ---- trials (top level: workers import them) -----------------------------------------------------------------------

def square(x, seed=0):
    return {"y": x * x + seed, "threads": gl.get_num_threads(), "pid": os.getpid()}


def square_other(x, seed=0):
    return {"y": x * x}


def _mark(marks, name):
    """Append one line to marks/name: how many times a configuration was executed."""
    with open(os.path.join(marks, name), "a") as f:
        f.write("x\n")
    with open(os.path.join(marks, name)) as f:
        return len(f.readlines())


def behave(kind, i, marks, sleep=0.0):
    """kind: ok | raise | bad_result | die_once (SIGKILL on its first run) | die (SIGKILL every run)."""
    n = _mark(marks, f"{kind}-{i}")
    time.sleep(sleep)
    if kind == "raise":
        raise ValueError(f"trial {i} refuses")
    if kind == "bad_result":
        return [1, 2, 3]
    if kind == "die" or (kind == "die_once" and n == 1):
        os.kill(os.getpid(), signal.SIGKILL)
    return {"i": i, "runs": n}


def tiny_gan(loss, seed):
    X = gl.datasets.ring(512, seed=seed)
    gan = gl.GAN(gl.nn.mlp(2, [16], 2, seed=seed), gl.nn.mlp(2, [16], 1, seed=seed + 1), loss=loss, seed=seed)
    gan.fit(X, steps=20, batch_size=32, progress=False)
    r = gl.metrics.mode_coverage(gan.sample(500), gl.datasets.ring_centers(), 0.01)
    return {"modes": r.modes, "hq": r.high_quality, "threads": gl.get_num_threads()}


def _runs(marks, name):
    path = os.path.join(marks, name)
    return len(open(path).readlines()) if os.path.exists(path) else 0


def _records(out):
    d = os.path.join(out, "trials")
    return {e[:-5]: json.load(open(os.path.join(d, e))) for e in os.listdir(d)
            if e.endswith(".json") and not e.startswith(".")}


# ---- grids and keys ---------------------------------------------------------------------------------------------------

def test_grid_is_the_cartesian_product_in_order():
    cfgs = expand_grid({"a": ["p", "q"], "seed": range(3), "w": np.array([1.5])})
    assert cfgs == [{"a": a, "seed": s, "w": 1.5} for a in "pq" for s in range(3)]
    assert type(cfgs[0]["seed"]) is int
    explicit = expand_grid([{"x": 1, "t": (2, 3)}, {"x": np.int64(2)}])
    assert explicit == [{"x": 1, "t": [2, 3]}, {"x": 2}]


def test_config_key_is_stable_and_order_free():
    assert config_key({"a": 1, "b": "x"}) == config_key({"b": "x", "a": 1})
    assert config_key({"a": 1}) != config_key({"a": 1.0}) != config_key({"a": True})
    assert config_key({"seed": 0, "loss": "ns"}) == hashlib.sha256(b'{"loss":"ns","seed":0}').hexdigest()[:16]


# ---- bad input: clear errors before any work ----------------------------------------------------------------------

def test_bad_input_is_refused_before_any_work(tmp_path):
    out = str(tmp_path / "never")
    cases = [
        (ValueError, "the grid is empty", dict(trial=square, grid={})),
        (ValueError, "the grid is empty", dict(trial=square, grid=[])),
        (ValueError, r"grid\['x'\] has no values", dict(trial=square, grid={"x": [], "seed": [0]})),
        (TypeError, "lambda", dict(trial=lambda x: {"y": x}, grid={"x": [1]})),
        (TypeError, "a plain function", dict(trial=print, grid={"x": [1]})),
        (TypeError, "does not fit", dict(trial=square, grid={"x": [1], "nope": [2]})),
        (TypeError, "does not fit", dict(trial=square, grid={"seed": [1]})),
        (TypeError, "must be a list", dict(trial=square, grid={"x": 3})),
        (TypeError, "not plain data", dict(trial=square, grid={"x": [object()]})),
        (ValueError, "repeats configuration 0", dict(trial=square, grid=[{"x": 1}, {"x": 1}])),
        (TypeError, "concurrent.futures.Executor", dict(trial=square, grid={"x": [1]}, executor="dask")),
        (TypeError, "process-based executor", dict(trial=square, grid={"x": [1]}, executor=ThreadPoolExecutor(2))),
        (ValueError, "threads_per_trial must be >= 1", dict(trial=square, grid={"x": [1]}, threads_per_trial=0)),
        (ValueError, "retries must be >= 0", dict(trial=square, grid={"x": [1]}, retries=-1)),
    ]
    for exc, msg, kw in cases:
        with pytest.raises(exc, match=msg):
            gl.sweep(kw.pop("trial"), kw.pop("grid"), out=out, progress=False, **kw)
    assert not os.path.exists(out)           # nothing was started, not even the records directory

    def nested(x):
        return {"y": x}
    with pytest.raises(TypeError, match="inside another function"):
        gl.sweep(nested, {"x": [1]}, out=out, progress=False)


def test_out_of_another_sweep_is_refused_not_mixed(tmp_path):
    out = str(tmp_path / "runs")
    gl.sweep(square, {"x": [1, 2]}, out=out, executor=LocalPool(1), progress=False)
    before = sorted(os.listdir(os.path.join(out, "trials")))
    with pytest.raises(ValueError, match="another sweep"):
        gl.sweep(square_other, {"x": [1, 2, 3]}, out=out, progress=False)
    assert sorted(os.listdir(os.path.join(out, "trials"))) == before
    # the same name with different code: the manifest's fingerprint differs
    manifest = os.path.join(out, "sweep.json")
    m = json.load(open(manifest))
    m["code"] = "0" * 16
    json.dump(m, open(manifest, "w"))
    with pytest.raises(ValueError, match="different code"):
        gl.sweep(square, {"x": [1, 2]}, out=out, progress=False)
    # a directory that is not a sweep's
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.png").write_bytes(b"")
    with pytest.raises(ValueError, match="not a ganlib sweep directory"):
        gl.sweep(square, {"x": [1]}, out=str(other), progress=False)


# ---- the local pool ---------------------------------------------------------------------------------------------------

def test_sweep_records_pins_threads_and_resumes(tmp_path):
    out = str(tmp_path / "sq")
    res = gl.sweep(square, {"x": [1, 2, 3], "seed": [0, 10]}, out=out, threads_per_trial=1, progress=False)
    assert [r["config"] for r in res] == expand_grid({"x": [1, 2, 3], "seed": [0, 10]})
    assert all(r["status"] == "done" for r in res) and res.ran == 6 and res.loaded == 0
    assert [r["result"]["y"] for r in res] == [1, 11, 4, 14, 9, 19]
    assert {r["result"]["threads"] for r in res} == {1}              # pinned inside each worker
    assert all(r["result"]["pid"] != os.getpid() for r in res)       # run in worker processes
    on_disk = _records(out)
    assert set(on_disk) == {r["key"] for r in res}
    rec = on_disk[res[0]["key"]]
    for k in ("config", "result", "started", "finished", "seconds", "host", "pid", "ganlib_version", "attempts"):
        assert rec[k] is not None, k
    assert rec["ganlib_version"] == gl.__version__ and rec["trial"] == "test_sweep.square"
    # a rerun runs nothing; a larger grid runs only the new configurations
    again = gl.sweep(square, {"x": [1, 2, 3], "seed": [0, 10]}, out=out, progress=False)
    assert again.ran == 0 and again.loaded == 6 and list(again) == list(res)
    more = gl.sweep(square, {"x": [1, 2, 3], "seed": [0, 10, 20]}, out=out, progress=False)
    assert more.ran == 3 and more.loaded == 6 and len(_records(out)) == 9


def test_a_raising_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    marks = str(tmp_path)
    grid = [{"kind": k, "i": i, "marks": marks} for i, k in enumerate(["ok", "raise", "bad_result", "ok"])]
    res = gl.sweep(behave, grid, executor=LocalPool(2), retries=3, progress=False)
    assert [r["status"] for r in res] == ["done", "failed", "failed", "done"]
    assert "ValueError: trial 1 refuses" in res[1]["error"] and res[1]["cause"] == "exception"
    assert "must return a dict" in res[2]["error"]
    assert res[1]["attempts"] == 1 and _runs(marks, "raise-1") == 1   # a Python error is not retried
    assert len(res.done) == 2 and len(res.failed) == 2


def test_a_dying_worker_costs_only_its_trial(tmp_path):
    marks = str(tmp_path)
    kinds = ["ok", "die_once", "ok", "die", "ok", "ok"]
    grid = [{"kind": k, "i": i, "marks": marks, "sleep": 0.2} for i, k in enumerate(kinds)]
    res = gl.sweep(behave, grid, out=str(tmp_path / "out"), retries=2, progress=False,
                   executor=LocalPool(2))
    by_kind = {(r["config"]["kind"], r["config"]["i"]): r for r in res}
    assert by_kind[("die_once", 1)]["status"] == "done" and by_kind[("die_once", 1)]["attempts"] == 2
    dead = by_kind[("die", 3)]
    assert dead["status"] == "failed" and dead["cause"] == "worker died" and dead["attempts"] == 3
    assert "SIGKILL" in dead["error"] and _runs(marks, "die-3") == 3
    for i, k in enumerate(kinds):                        # the other trials ran exactly once
        if k == "ok":
            assert by_kind[(k, i)]["status"] == "done" and _runs(marks, f"ok-{i}") == 1
    assert len(_records(str(tmp_path / "out"))) == len(kinds)


def test_local_pool_executor_interface():
    with LocalPool(2) as pool:
        assert list(pool.map(math.factorial, [3, 4, 5])) == [6, 24, 120]
        f = pool.submit(math.sqrt, -1.0)
        with pytest.raises(ValueError, match="math domain error"):
            f.result()
        h = pool.submit(os._exit, 3)
        with pytest.raises(WorkerDied, match="exit code 3"):
            h.result()
        assert pool.submit(math.factorial, 6).result() == 720     # a fresh worker took over
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(math.factorial, 3)


def test_a_broken_process_pool_stops_the_sweep_with_what_finished_recorded(tmp_path):
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    marks, out = str(tmp_path), str(tmp_path / "out")
    grid = [{"kind": "ok", "i": 0, "marks": marks}, {"kind": "die", "i": 1, "marks": marks, "sleep": 0.5}]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
        with pytest.raises(SweepError, match="the executor broke"):
            gl.sweep(behave, grid, out=out, executor=ex, progress=False)
    assert [r["config"]["i"] for r in _records(out).values()] == [0]
    res = gl.sweep(behave, grid[:1], out=out, progress=False)
    assert res.ran == 0


# ---- interruptions of the driver ------------------------------------------------------------------------------------

DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {here!r})
    import ganlib as gl
    from test_sweep import behave
    if __name__ == "__main__":
        grid = [{{"kind": "ok", "i": i, "marks": {marks!r}, "sleep": 0.4}} for i in range(8)]
        gl.sweep(behave, grid, out={out!r}, progress=False)
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_or_killed_driver_loses_nothing(tmp_path, sig):
    marks, out = str(tmp_path / "marks"), str(tmp_path / "out")
    os.makedirs(marks)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(here=HERE, marks=marks, out=out))
    # SIG_DFL in the child: a pytest started in the background inherits SIGINT ignored, and so would the driver
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(gl.__file__))),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and len(_records(out) if os.path.isdir(os.path.join(out, "trials")) else {}) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert "sweep interrupted" in err and "KeyboardInterrupt" in err
    before = _records(out)                               # whole records only
    assert 2 <= len(before) < 8
    time.sleep(0.8)                                      # orphaned workers notice the driver is gone and exit
    grid = [{"kind": "ok", "i": i, "marks": marks, "sleep": 0.4} for i in range(8)]
    res = gl.sweep(behave, grid, out=out, progress=False)
    assert res.loaded == len(before) and res.ran == 8 - len(before)
    after = _records(out)
    assert len(after) == 8 and all(r["status"] == "done" for r in after.values())
    for key, rec in before.items():                      # finished trials were kept, not run again
        assert after[key] == rec and _runs(marks, f"ok-{rec['config']['i']}") == 1


# ---- Dask -------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_executor():
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    # one task per single-threaded worker at a time, and no Dask-level retry of a task whose worker died, so a
    # death is charged to the trial that caused it alone and gl.sweep's `retries` decide what happens next
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
            cluster.close()


def test_sweep_on_a_dask_local_cluster(dask_executor, tmp_path):
    res = gl.sweep(tiny_gan, {"loss": ["nonsaturating", "hinge"], "seed": [0, 1]}, executor=dask_executor,
                   out=str(tmp_path / "dask"), progress=False)
    assert all(r["status"] == "done" for r in res) and res.ran == 4
    assert {r["result"]["threads"] for r in res} == {1}
    s = res.summary(by=["loss"])
    assert [r["loss"] for r in s] == ["nonsaturating", "hinge"] and all(r["count"] == 2 for r in s)
    assert all(0 <= r["modes_mean"] <= 8 for r in s)


def test_a_killed_dask_worker_is_retried_and_every_trial_recorded_once(dask_executor, tmp_path):
    marks, out = str(tmp_path), str(tmp_path / "out")
    kinds = ["ok", "die_once", "ok", "die", "ok"]
    grid = [{"kind": k, "i": i, "marks": marks, "sleep": 0.1} for i, k in enumerate(kinds)]
    res = gl.sweep(behave, grid, executor=dask_executor, out=out, retries=1, progress=False)
    recs = _records(out)
    assert len(recs) == len(kinds) and {r["key"] for r in res} == set(recs)       # one record each
    st = {r["config"]["i"]: r for r in res}
    assert st[1]["status"] == "done" and st[1]["attempts"] == 2                   # died once, retried, done
    assert st[3]["status"] == "failed" and st[3]["cause"] == "worker died" and st[3]["attempts"] == 2
    assert all(st[i]["status"] == "done" for i in (0, 2, 4))
    # the rerun of a grown sweep runs only what has no record yet, and keeps the records it has
    # (execution counts are not checked here: Dask computes a result again when the worker holding it dies
    # before the client has released it; the sweep still records it once)
    grid += [{"kind": "ok", "i": i, "marks": marks} for i in (5, 6)]
    again = gl.sweep(behave, grid, executor=dask_executor, out=out, progress=False)
    assert again.ran == 2 and again.loaded == 5
    after = _records(out)
    assert len(after) == 7 and all(after[k] == rec for k, rec in recs.items())


# ---- results, summary, plot ----------------------------------------------------------------------------------------

def test_summary_statistics():
    from ganlib.sweep import SweepResults
    vals = {"a": [1.0, 2.0, 4.0], "b": [3.0]}
    recs = [{"config": {"m": m, "seed": s}, "status": "done", "result": {"v": v, "name": "x"}}
            for m, vs in vals.items() for s, v in enumerate(vs)]
    recs.append({"config": {"m": "b", "seed": 9}, "status": "failed", "result": None})
    s = SweepResults(recs).summary(by=["m"])
    assert s.metrics == ["v"]                              # numeric results only
    a, b = s.row(m="a"), s.row(m="b")
    assert a["count"] == 3 and a["failed"] == 0 and b["count"] == 1 and b["failed"] == 1
    assert a["v_mean"] == pytest.approx(np.mean(vals["a"]))
    assert a["v_std"] == pytest.approx(np.std(vals["a"], ddof=1))
    assert a["v_sem"] == pytest.approx(np.std(vals["a"], ddof=1) / math.sqrt(3))
    assert math.isnan(b["v_std"])
    table = s.to_markdown()
    assert "| a | 3 | 2.333 ± 1.528 |" in table and "1 failed" in table
    assert SweepResults(recs).summary()[0]["count"] == 4
    with pytest.raises(KeyError, match="not a configuration key"):
        SweepResults(recs).summary(by=["v"])
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            SweepResults(recs).to_pandas()
    else:
        df = SweepResults(recs).to_pandas()
        assert list(df["m"]) == ["a", "a", "a", "b", "b"] and "status" in df


def test_plot_sweep_draws_means_with_error_bars():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import ganlib.plot
    from ganlib.sweep import SweepResults
    recs = [{"config": {"method": m, "data": d, "seed": s}, "status": "done",
             "result": {"modes": float(k + s)}}
            for k, m in enumerate(["gan", "pac2"]) for d in ("ring", "grid") for s in range(3)]
    ax = ganlib.plot.sweep(SweepResults(recs), x="method", y="modes", hue="data")
    bars = [p for c in ax.containers for p in getattr(c, "patches", [])]
    assert len(bars) == 4 and sorted(b.get_height() for b in bars) == [1.0, 1.0, 2.0, 2.0]
    assert ax.get_ylabel() == "modes (mean ± std)" and len(ax.get_legend().get_texts()) == 2
    recs = [{"config": {"steps": n, "seed": s}, "status": "done", "result": {"modes": n / 100 + s}}
            for n in (100, 300, 200) for s in range(2)]
    ax = ganlib.plot.sweep(SweepResults(recs), x="steps", y="modes", err="sem")
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [100, 200, 300]
    with pytest.raises(ValueError, match="not a numeric result"):
        ganlib.plot.sweep(SweepResults(recs), x="steps", y="nope")
    plt.close("all")


# ---- the notebook --------------------------------------------------------------------------------------------------

def test_notebook_runs_in_smoke_mode(run_notebook_smoke, tmp_path):
    results = os.path.join(ROOT, "notebooks", "results", "07_sweeps.json")
    before = os.path.getmtime(results) if os.path.exists(results) else None
    # the notebook keeps its sweep records under tempfile.gettempdir(): here, pytest's own temporary directory
    outs = run_notebook_smoke(NOTEBOOK, "make_07_sweeps.py", timeout=300, env={"TMPDIR": str(tmp_path)})
    assert "SMOKE" in outs and "rerun of the same sweep: 0 trials run" in outs and "speed-up" in outs
    assert "0 failed" in outs
    # the smoke run never writes the headline numbers
    assert (os.path.getmtime(results) if os.path.exists(results) else None) == before
    assert any(p.name.startswith("ganlib-07-sweeps-smoke-") for p in tmp_path.iterdir())
