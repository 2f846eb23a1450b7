"""gl.sweep: run a trial over seeds and settings on local processes or a cluster, resumable, nothing lost.

A *trial* is a plain top-level function ``trial(**config) -> dict`` that builds
its ganlib objects inside the worker (nothing of the C core is pickled); the
*grid* is a dict of lists (their Cartesian product) or a list of configuration
dicts, and seeds are just another key.

>>> def ring_trial(loss, seed):
...     X = gl.datasets.ring(20_000, seed=seed)
...     gan = gl.GAN(gl.nn.mlp(2, [128, 128], 2, seed=seed), gl.nn.mlp(2, [128, 128], 1, seed=seed + 1),
...                  loss=loss, seed=seed)
...     gan.fit(X, steps=2000, batch_size=100, progress=False)
...     r = gl.metrics.mode_coverage(gan.sample(2500), gl.datasets.ring_centers(), std=0.01)
...     return {"modes": r.modes, "hq": r.high_quality, "rkl": r.reverse_kl}
>>> res = gl.sweep(ring_trial, {"loss": ["nonsaturating", "hinge"], "seed": range(10)},
...                out="runs/ring")                                          # doctest: +SKIP
>>> print(res.summary(by=["loss"]).to_markdown(["modes", "rkl"]))          # doctest: +SKIP

The same call runs on a Dask cluster (``distributed.Client(...).get_executor(pure=False)``
as ``executor=``), e.g. on SLURM through dask-jobqueue. With ``out=``, each
finished trial is written at once, atomically, as ``out/trials/<key>.json``
(``key`` = a hash of its configuration), and a rerun of the same sweep runs only
the configurations that have no record yet: after Ctrl-C, a killed worker or a
killed driver, run the same call again.
"""
from __future__ import annotations

import datetime
import sys
import time
from concurrent.futures import (FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor, Future,
                                ThreadPoolExecutor, wait)
from typing import Any, Callable

from .._checks import check_int
from ._config import check_signature, config_key, expand_grid
from ._pool import LocalPool, WorkerDied, usable_cores
from ._results import SweepResults, Summary
from ._store import RECORD_FORMAT, open_store
from ._trial import check_trial, describe, serialise
from ._worker import run_trial

__all__ = ["sweep", "SweepResults", "Summary", "LocalPool", "WorkerDied", "SweepError", "expand_grid",
           "config_key", "usable_cores"]


class SweepError(RuntimeError):
    """The executor itself broke (not a trial): the sweep stops; finished trials are recorded."""


def _is_worker_death(exc: BaseException) -> bool:
    # distributed.scheduler.KilledWorker: Dask gave up on a task whose workers kept dying
    return isinstance(exc, WorkerDied) or type(exc).__name__ == "KilledWorker"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


class _Progress:
    """A tqdm bar when tqdm is installed, else one line per finished trial on stderr."""

    def __init__(self, enabled: bool, total: int, initial: int) -> None:
        self.total, self.n, self.bar = total, initial, None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, initial=initial, unit="trial", desc="sweep")

    def update(self, rec: dict) -> None:
        self.n += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            return
        secs = rec.get("seconds")
        print(f"sweep {self.n}/{self.total}: {rec['status']} {rec['config']}"
              + (f" ({secs:.1f} s)" if isinstance(secs, float) else ""), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _record(key: str, config: dict, trial: dict, attempts: int, outcome: dict | None = None,
            error: str | None = None, cause: str | None = None, pid: int | None = None) -> dict:
    rec = {"format": RECORD_FORMAT, "key": key, "trial": trial["name"], "config": config}
    if outcome is not None:
        rec.update(status=outcome["status"], result=outcome["result"], error=outcome["error"],
                   cause=None if outcome["status"] == "done" else "exception", attempts=attempts)
        for k in ("started", "finished", "seconds", "host", "pid", "threads", "ganlib_version", "python"):
            rec[k] = outcome[k]
    else:
        from .. import __version__
        rec.update(status="failed", result=None, error=error, cause=cause, attempts=attempts, started=None,
                   finished=_now(), seconds=None, host=None, pid=pid, threads=None, ganlib_version=__version__,
                   python=None)
    return rec


def sweep(trial: Callable[..., dict], grid: Any, *, executor: Executor | None = None, out: Any = None,
          threads_per_trial: int = 1, retries: int = 1, progress: bool = True) -> SweepResults:
    """Run ``trial(**config)`` for every configuration of ``grid``, in parallel, recording each result.

    Parameters
    ----------
    trial : function
        ``trial(**config) -> dict`` of results (numbers, strings, lists...), defined with
        ``def`` at the top level of a module, script or notebook cell (a lambda or a nested
        function is refused before any work starts). It builds its ganlib objects itself.
    grid : dict of lists, or list of dicts
        ``{"loss": [...], "seed": range(10)}`` runs the Cartesian product (in order); a list
        runs exactly those configurations. Values are plain data (numbers, strings, bools,
        None, lists); every configuration must fit the trial's parameters.
    executor : concurrent.futures.Executor, optional
        Where trials run. Default: a :class:`LocalPool` of ``cores // threads_per_trial``
        worker processes (capped by the number of trials to run), shut down at the end.
        A Dask cluster: ``distributed.Client(cluster).get_executor(pure=False)``.
    out : str or path, optional
        A directory. Each finished trial is written there at once, atomically, as its own
        record ``trials/<key>.json`` (configuration, result or traceback, timing, attempts,
        ganlib version, host). A rerun with the same trial skips configurations that have a
        record (done *or* failed; delete a record file to run it again) and runs the rest.
        A directory holding another trial's records (another name, or changed code) is
        refused. None: records are kept in memory only.
    threads_per_trial : int
        Threads each trial gives ganlib's pool and OpenBLAS (and the OpenMP/BLAS
        environment variables of its process), pinned inside the worker, so trials never
        oversubscribe the cores.
    retries : int
        How many times a trial whose *worker* died (segfault, ``kill -9``, out of memory; or
        the executor could not run it) is run again before it is recorded as failed. A
        trial that raises is recorded at once with its traceback (a Python error is
        deterministic) and does not stop the sweep.
    progress : bool
        A progress bar (tqdm when installed, else one line per trial on stderr).

    Returns
    -------
    SweepResults
        One record per configuration, in grid order; ``.summary(by=[...])`` gives mean, std,
        standard error and count per group; ``.to_pandas()`` a DataFrame.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, found before any trial runs: an empty grid, a trial that is not a
        top-level function, a configuration the trial does not take, an ``out`` directory
        of another sweep.
    SweepError
        The executor broke as a whole (e.g. a ``ProcessPoolExecutor`` after one of its
        workers died); what finished is recorded, and a rerun continues.
    KeyboardInterrupt
        Ctrl-C: running trials are stopped (on the default pool) and what finished is
        recorded; a rerun continues.

    Examples
    --------
    >>> res = gl.sweep(ring_trial, {"loss": ["nonsaturating", "wgan-gp"], "seed": [0, 1, 2]},
    ...                out="runs/ring", progress=False)                      # doctest: +SKIP
    >>> res.summary(by=["loss"]).row(loss="wgan-gp")["modes_mean"]            # doctest: +SKIP
    7.67
    """
    t_start = time.perf_counter()
    check_trial(trial)
    configs = expand_grid(grid)
    check_signature(trial, configs)
    threads = check_int("sweep: threads_per_trial", threads_per_trial, 1)
    retries = check_int("sweep: retries", retries, 0)
    if not isinstance(progress, bool):
        raise TypeError(f"sweep: progress must be a bool, got {type(progress).__name__}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"sweep: executor must be a concurrent.futures.Executor (or None for a local process "
                        f"pool), got {type(executor).__name__}; for Dask pass client.get_executor(pure=False)")
    if isinstance(executor, ThreadPoolExecutor):
        raise TypeError("sweep: a ThreadPoolExecutor runs trials as threads of one process, but each trial pins "
                        "the process's threads (ganlib's pool, OpenBLAS); use a process-based executor "
                        "(executor=None, a ProcessPoolExecutor, or Dask)")
    info = describe(trial)
    payload = serialise(trial)
    store = open_store(out, info)
    keys = [config_key(c) for c in configs]
    recorded = store.keys()
    for k in keys:
        if k in recorded:
            store.get(k)                        # validates the record now, not after an hour of work
    todo = {k: c for k, c in zip(keys, configs) if k not in recorded}
    loaded = len(keys) - len(todo)
    if todo:
        _run(todo, payload, info, store, executor, threads, retries,
             _Progress(progress, len(keys), loaded))
    records = [store.get(k) for k in keys]
    return SweepResults(records, ran=len(todo), loaded=loaded, wall_seconds=time.perf_counter() - t_start)


def _run(todo: dict, payload: bytes, info: dict, store: Any, executor: Executor | None, threads: int,
         retries: int, bar: _Progress) -> None:
    own = None
    if executor is None:
        own = executor = LocalPool(min(len(todo), max(1, usable_cores() // threads)), threads_per_worker=threads)
    attempts = {k: 0 for k in todo}
    futures: dict[Future, str] = {}

    def submit(k: str) -> None:
        futures[executor.submit(run_trial, payload, todo[k], threads)] = k

    def settle(f: Future) -> None:
        """Record a finished future's trial, or submit it again."""
        k = futures.pop(f)
        attempts[k] += 1
        exc = CancelledError() if f.cancelled() else f.exception()
        if exc is None:
            rec = _record(k, todo[k], info, attempts[k], outcome=f.result())
        elif isinstance(exc, BrokenExecutor):
            raise SweepError(f"sweep: the executor broke ({type(exc).__name__}: {exc}), e.g. a worker of a "
                             "ProcessPoolExecutor died, which fails every task it holds; the finished trials are "
                             "recorded and a rerun continues; the default executor (executor=None) or a Dask "
                             "executor lose only the dead worker's trial") from exc
        elif attempts[k] <= retries:
            submit(k)
            return
        else:
            death = _is_worker_death(exc)
            what = "its worker died" if death else f"the executor could not run it ({type(exc).__name__})"
            rec = _record(k, todo[k], info, attempts[k], error=f"{what} on each of {attempts[k]} attempts; last: "
                          f"{type(exc).__name__}: {exc}", cause="worker died" if death else "executor error",
                          pid=getattr(exc, "pid", None))
        store.write(rec)
        bar.update(rec)

    try:
        for k in todo:
            submit(k)
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for f in done:
                settle(f)
    except BaseException as e:
        # keep whatever finished meanwhile, then stop the rest
        for f in [f for f in futures if f.done() and not f.cancelled() and f.exception() is None]:
            try:
                settle(f)
            except Exception:
                pass
        for f in futures:
            f.cancel()
        if own is not None:
            own.terminate()
        if isinstance(e, KeyboardInterrupt):
            path = store.path or "memory (out=None)"
            n = len(store.keys())
            print(f"sweep interrupted: {n} records in {path}; run the same sweep again to finish it",
                  file=sys.stderr, flush=True)
        raise
    finally:
        bar.close()
        if own is not None:
            own.shutdown(wait=True)
