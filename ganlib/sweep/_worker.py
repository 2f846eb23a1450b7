"""What runs inside a worker process: pin threads, run one trial, report.

:func:`run_trial` is the function a sweep submits to any executor. It never
raises for the trial's own errors: an exception in the trial, or a result that
is not a dict of plain data, comes back as ``status="failed"`` with the
traceback, so an exception out of the future always means the *worker* failed
(it died, or the executor could not run it).

Examples
--------
>>> import pickle
>>> out = run_trial(pickle.dumps(divmod_trial), {"a": 7, "b": 2}, threads=1)   # doctest: +SKIP
>>> out["status"], out["result"]                                              # doctest: +SKIP
('done', {'q': 3, 'r': 1})
"""
from __future__ import annotations

import datetime
import os
import pickle
import platform
import socket
import time
import traceback

from ._config import plain_result

__all__ = ["pin_threads", "run_trial", "THREAD_VARIABLES"]

# read by BLAS / OpenMP libraries that a trial may load after this point (torch, numpy's own BLAS in a
# fresh interpreter, ...); ganlib's own pool and its OpenBLAS are set directly
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


def pin_threads(n: int) -> None:
    """Use ``n`` threads in this process: ganlib's pool and OpenBLAS, OpenMP/BLAS variables, threadpoolctl."""
    for var in THREAD_VARIABLES:
        os.environ[var] = str(n)
    import ganlib
    if ganlib.get_num_threads() != n:
        ganlib.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def run_trial(payload: bytes, config: dict, threads: int) -> dict:
    """Run ``trial(**config)`` with ``threads`` threads; return its outcome as plain data.

    Returns
    -------
    dict
        ``status`` ("done" or "failed"), ``result`` (the trial's dict) or ``error``
        (the traceback), ``started`` / ``finished`` (UTC ISO times), ``seconds``,
        ``host``, ``pid``, ``threads``, ``ganlib_version``, ``python``.
    """
    import ganlib
    started, t0 = _now(), time.perf_counter()
    status, result, error = "failed", None, None
    try:
        pin_threads(threads)
        trial = pickle.loads(payload)
        result = plain_result(trial(**config))
        status = "done"
    except (Exception, SystemExit):
        error = traceback.format_exc()
    return {"status": status, "result": result, "error": error, "started": started, "finished": _now(),
            "seconds": time.perf_counter() - t0, "host": socket.gethostname(), "pid": os.getpid(),
            "threads": threads, "ganlib_version": ganlib.__version__, "python": platform.python_version()}
