"""LocalPool: a process pool in which a dying worker costs only its own task.

``concurrent.futures.ProcessPoolExecutor`` marks the whole pool broken when one
worker dies (a segfault, ``kill -9``, the OOM killer): every task in flight
fails and the pool takes no more work. A sweep needs the opposite, so
:class:`LocalPool` keeps one pipe per worker and knows which task each worker
runs: when a worker process dies, that task's future gets :class:`WorkerDied`,
a fresh worker replaces it, and the other workers carry on undisturbed.

Workers are started with ``spawn`` (no inherited threads or locks), ignore
Ctrl-C (the driver decides what to do with it), and exit by themselves when the
driver process disappears, so a killed driver leaves no stray work behind.

Examples
--------
>>> import math
>>> with LocalPool(2) as pool:
...     print(list(pool.map(math.factorial, [3, 4, 5])))
[6, 24, 120]
"""
from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import time
import traceback
from concurrent.futures import Executor, Future
from typing import Any, Callable

from .._checks import check_int

__all__ = ["LocalPool", "WorkerDied", "usable_cores"]


class WorkerDied(RuntimeError):
    """The worker process running a task died before returning (signal, ``os._exit``, out of memory).

    Attributes
    ----------
    pid : int
        The dead worker's process id.
    exitcode : int or None
        Its exit code (``-signal`` when a signal killed it).
    """

    def __init__(self, message: str, pid: int, exitcode: int | None) -> None:
        super().__init__(message)
        self.pid, self.exitcode = pid, exitcode

    def __reduce__(self) -> tuple:
        return (WorkerDied, (str(self), self.pid, self.exitcode))


class _RemoteTraceback(Exception):
    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _exit_description(code: int | None) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# ----------------------------------------------------------------------------- worker side
def _watch_parent(ppid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:          # the driver is gone: nobody will read our results
            os._exit(70)


def _worker_main(conn: Any, ppid: int, threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()
    if threads:
        from ._worker import pin_threads
        pin_threads(threads)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        try:
            fn, args, kwargs = pickle.loads(data)
            msg: tuple = ("ok", fn(*args, **kwargs))
        except BaseException as e:  # noqa: B036 - everything goes back to the driver
            msg = ("err", e, traceback.format_exc())
        try:
            conn.send(msg)
        except Exception as e:  # an unpicklable result or exception
            conn.send(("err", RuntimeError(f"the task's outcome could not be sent back to the driver: {e!r}"),
                       msg[2] if msg[0] == "err" else ""))


# ----------------------------------------------------------------------------- driver side
class _Worker:
    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc, self.conn = proc, conn
        self.task: tuple | None = None           # (future, payload) while busy


class LocalPool(Executor):
    """A ``concurrent.futures.Executor`` of worker processes, one task at a time each.

    Parameters
    ----------
    max_workers : int, optional
        Worker processes (started on demand). Default: the usable cores.
    threads_per_worker : int
        Threads each worker gives ganlib's pool and OpenBLAS (and the OpenMP/BLAS
        environment variables); 0 leaves them alone.
    mp_context : {"spawn", "forkserver", "fork"}
        How workers are started; ``spawn`` (the default) inherits no threads or locks.

    Notes
    -----
    A worker that dies fails only the future of the task it was running, with
    :class:`WorkerDied`; it is replaced for the next task. Workers are daemonic
    (a task cannot start a multiprocessing pool of its own) and exit when the
    process that created the pool dies. With ``spawn``, a script using the pool
    must guard its entry point with ``if __name__ == "__main__":``.

    Examples
    --------
    >>> pool = LocalPool(2, threads_per_worker=1)
    >>> fut = pool.submit(pow, 2, 10)
    >>> fut.result()
    1024
    >>> pool.shutdown()
    """

    def __init__(self, max_workers: int | None = None, *, threads_per_worker: int = 1,
                 mp_context: str = "spawn") -> None:
        self.max_workers = usable_cores() if max_workers is None else check_int("LocalPool: max_workers",
                                                                                  max_workers, 1)
        self.threads_per_worker = check_int("LocalPool: threads_per_worker", threads_per_worker, 0)
        if mp_context not in ("spawn", "forkserver", "fork"):
            raise ValueError(f"LocalPool: mp_context must be 'spawn', 'forkserver' or 'fork', got {mp_context!r}")
        self._ctx = multiprocessing.get_context(mp_context)
        self._lock = threading.Lock()
        self._queue: "collections.deque[tuple[Future, bytes]]" = collections.deque()
        self._workers: list[_Worker] = []
        self._shutdown = False
        self._manager: threading.Thread | None = None
        self._pipe_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    # ---- the Executor interface ------------------------------------------------------------------------------
    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)`` in a worker; ``fn`` and its arguments must pickle."""
        payload = pickle.dumps((fn, args, kwargs))
        fut: Future = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("LocalPool: cannot schedule new tasks after shutdown")
            self._queue.append((fut, payload))
            if self._manager is None:
                self._manager = threading.Thread(target=self._manage, name="ganlib-LocalPool", daemon=True)
                self._manager.start()
        self._wake()
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; finish the queued ones (unless ``cancel_futures``), then stop the workers."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
            manager = self._manager
        self._wake()
        if wait and manager is not None:
            manager.join()
        if manager is None:
            self._close_pipe()

    def terminate(self) -> None:
        """Stop now: cancel queued tasks and kill the workers (their futures get :class:`WorkerDied`)."""
        with self._lock:
            self._shutdown = True
            while self._queue:
                self._queue.popleft()[0].cancel()
            procs = [w.proc for w in self._workers]
            manager = self._manager
        for p in procs:
            if p.is_alive():
                p.kill()
        self._wake()
        if manager is not None:
            manager.join()
        else:
            self._close_pipe()

    # ---- internals ----------------------------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._pipe_lock:
            if self._wake_w < 0:
                return                            # closed: the manager has finished
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass                              # a wake-up is already pending

    def _close_pipe(self) -> None:
        with self._pipe_lock:
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, os.getpid(), self.threads_per_worker),
                                 daemon=True, name="ganlib-worker")
        proc.start()
        child.close()
        w = _Worker(proc, parent)
        self._workers.append(w)
        return w

    def _assign(self) -> None:
        """Hand queued tasks to idle workers, starting workers up to ``max_workers`` (lock held)."""
        while self._queue:
            idle = next((w for w in self._workers if w.task is None), None)
            if idle is None and len(self._workers) >= self.max_workers:
                return
            fut, payload = self._queue[0]
            if not fut.running() and not fut.set_running_or_notify_cancel():
                self._queue.popleft()             # cancelled while queued
                continue
            if idle is None:
                idle = self._start_worker()
            try:
                idle.conn.send_bytes(payload)
            except OSError:                       # the idle worker died: retire it, the task stays queued
                self._retire(idle)
                continue
            self._queue.popleft()
            idle.task = (fut, payload)

    def _retire(self, w: _Worker) -> None:
        w.proc.join(timeout=5)
        w.conn.close()
        self._workers.remove(w)

    def _deliver(self, w: _Worker) -> bool:
        """Read a finished task's outcome; False if the worker died instead."""
        try:
            msg = w.conn.recv()
        except (EOFError, OSError):
            return False
        fut = w.task[0]
        w.task = None
        if msg[0] == "ok":
            fut.set_result(msg[1])
        else:
            exc = msg[1]
            exc.__cause__ = _RemoteTraceback(msg[2])
            fut.set_exception(exc)
        return True

    def _died(self, w: _Worker) -> None:
        w.proc.join(timeout=5)
        if w.task is not None:
            how = _exit_description(w.proc.exitcode)
            w.task[0].set_exception(WorkerDied(f"worker process {w.proc.pid} died ({how}) while running the task",
                                               w.proc.pid, w.proc.exitcode))
            w.task = None
        w.conn.close()
        self._workers.remove(w)

    def _manage(self) -> None:
        try:
            while True:
                with self._lock:
                    self._assign()
                    busy = [w for w in self._workers if w.task is not None]
                    if self._shutdown and not self._queue and not busy:
                        break
                    watch = ([self._wake_r] + [w.conn for w in busy] + [w.proc.sentinel for w in self._workers])
                ready = set(multiprocessing.connection.wait(watch))
                if self._wake_r in ready:
                    try:
                        os.read(self._wake_r, 4096)
                    except OSError:
                        pass
                with self._lock:
                    for w in list(self._workers):
                        if w.task is not None and w.conn in ready and self._deliver(w):
                            continue
                        if w.proc.sentinel in ready or (w.task is not None and w.conn in ready):
                            self._died(w)
        finally:
            with self._lock:
                workers, self._workers = list(self._workers), []
                while self._queue:
                    self._queue.popleft()[0].cancel()
            for w in workers:
                try:
                    w.conn.send_bytes(b"")
                except OSError:
                    pass
            for w in workers:
                w.proc.join(timeout=5)
                if w.proc.is_alive():
                    w.proc.kill()
                    w.proc.join()
                if w.task is not None and not w.task[0].done():
                    w.task[0].set_exception(WorkerDied("the pool stopped while the task ran", w.proc.pid,
                                                       w.proc.exitcode))
                w.conn.close()
            self._close_pipe()
