"""Data streams of a gl.Trainer: gl.Data, the arrays the C loop reads, and the batch a phase sees.

A stream is a set of aligned arrays (one row per sample, images beside their
labels) drawn with one permutation; integer label arrays become one-hot rows
once, here, never per step. While a phase function is traced, ``b.<stream>.<array>``
is that array's current batch as a symbolic Tensor, ``b.kept.<name>`` a value an
earlier phase kept, and ``b.modules.<name>`` a module of the trainer.

Examples
--------
>>> data = {"mnist": gl.Data(x=X, y=labels, num_classes=10)}      # doctest: +SKIP
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from . import ops
from ._checks import check_int
from .nn.module import Module

if TYPE_CHECKING:  # the trainer imports this module
    from .trainer import Phase, Trainer

__all__ = ["Data"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_name(what: str, name: Any, reserved: frozenset | set = frozenset()) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} must be a Python identifier (letters, digits, _), got {name!r}")
    if name in reserved:
        raise ValueError(f"{what} {name!r} is reserved (reserved: {sorted(reserved)})")
    return name


class Data:
    """One data stream: aligned arrays (one row per sample) drawn with one permutation.

    Parameters
    ----------
    batch_size : int, optional
        Rows per draw of this stream (default: ``fit``'s ``batch_size``).
    num_classes : int or dict, optional
        Classes of the integer label columns (one int for all, or per column);
        default: the largest label + 1. Labels outside ``[0, num_classes)`` are refused.
    **columns : array_like
        ``(n, ...)`` arrays with the same n. Float arrays are used as float32;
        1-D integer arrays are class labels, converted once to one-hot rows.

    Examples
    --------
    >>> X, y = gl.datasets.mnist(split="train")                       # doctest: +SKIP
    >>> trainer.fit({"mnist": gl.Data(x=X, y=y, num_classes=10)}, steps=1000)   # doctest: +SKIP
    """

    def __init__(self, *, batch_size: int | None = None, num_classes: int | Mapping[str, int] | None = None,
                 **columns: Any) -> None:
        if not columns:
            raise ValueError("Data needs at least one array, e.g. gl.Data(x=X)")
        if len(columns) > 8:
            raise ValueError(f"Data holds at most 8 arrays, got {len(columns)}")
        self.columns = {_check_name("a Data column name", k): v for k, v in columns.items()}
        self.batch_size = None if batch_size is None else check_int("Data batch_size", batch_size, 1)
        self.default_classes: int | None = None   # for every integer column without its own count
        if num_classes is None or isinstance(num_classes, Mapping):
            self.num_classes = dict(num_classes or {})
        else:
            self.num_classes = {}
            self.default_classes = check_int("Data num_classes", num_classes, 1)
        for k, v in self.num_classes.items():
            if k not in self.columns:
                raise ValueError(f"Data: num_classes names {k!r}, which is not one of its arrays {list(self.columns)}")
            check_int(f"Data num_classes[{k!r}]", v, 1)


def _as_column(stream: str, name: str, value: Any, num_classes: int | None) -> tuple[np.ndarray, tuple, Any]:
    """(float32 (n, width) rows, row shape, number of classes or None) of one stream column."""
    where = f"stream '{stream}': array '{name}'"
    a = value if isinstance(value, np.ndarray) else np.asarray(value)
    if a.dtype.kind == "b" or a.dtype.kind not in "fiu":
        raise TypeError(f"{where} must be numeric (float data or integer labels), got dtype {a.dtype}")
    if a.ndim < 1 or a.shape[0] == 0:
        raise ValueError(f"{where} must have shape (n, ...) with n >= 1 rows, got {a.shape}")
    if a.dtype.kind in "iu":
        if a.ndim != 1:
            raise ValueError(f"{where}: integer arrays are class labels and must be 1-D, got shape {a.shape} "
                             "(cast other integer data to float)")
        y = a.astype(np.int64)
        k = int(num_classes) if num_classes is not None else int(max(y.max(), 0)) + 1
        bad = (y < 0) | (y >= k)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{where}: labels must be in [0, {k}), got {int(y[i])} at index {i} "
                             f"({int(bad.sum())} out of range)")
        if k < 1:
            raise ValueError(f"{where}: needs at least one class")
        onehot = np.zeros((y.shape[0], k), np.float32)
        onehot[np.arange(y.shape[0]), y] = 1.0
        return onehot, (k,), k
    if num_classes is not None:
        raise ValueError(f"{where}: num_classes is given, but the array holds floats, not integer labels")
    if a.ndim > 4:
        raise ValueError(f"{where}: rows have at most 3 dimensions (C, H, W), got shape {a.shape}")
    rows = np.ascontiguousarray(a.reshape(a.shape[0], -1) if a.ndim != 2 else a, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows.reshape(-1, 1)
    return rows, tuple(int(d) for d in a.shape[1:]), None


def stream_key(name: str, data: Data, batch: int) -> tuple:
    """What decides a stream's setup, known before any array is converted: a fit over the same
    arrays (by identity) and batch sizes reuses the converted columns and the compiled phases."""
    return (name, batch, tuple((c, id(a)) for c, a in data.columns.items()),
            tuple(sorted(data.num_classes.items())), data.default_classes)


class _Stream:
    """A stream as the C loop gets it, with what tracing needs to know."""

    def __init__(self, name: str, data: Data, batch: int) -> None:
        self.name, self.batch = name, batch
        self.key = stream_key(name, data, batch)
        self.cols: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self.row_shape: dict[str, tuple] = {}
        self.classes: dict[str, int] = {}
        self.sources: list[Any] = []
        for cname, arr in data.columns.items():
            k = data.num_classes.get(cname)
            if k is None and np.asarray(arr).dtype.kind in "iu":
                k = data.default_classes
            rows, shape, k = _as_column(name, cname, arr, k)
            self.cols[cname], self.row_shape[cname] = rows, shape
            self.sources.append(arr)
            if k is not None:
                self.classes[cname] = k
        self.n = int(next(iter(self.cols.values())).shape[0])


# ----------------------------------------------------------------------------- the batch seen by a phase
class _StreamView:
    def __init__(self, batch: "_Batch", k: int) -> None:
        self._b, self._k = batch, k

    @property
    def batch_size(self) -> int:
        """Rows per draw of this stream (reading it feeds nothing)."""
        return self._b._streams[self._k].batch

    def __getattr__(self, col: str) -> ops.Tensor:
        return self._b._column(self._k, col)

    def __getitem__(self, col: str) -> ops.Tensor:
        return self._b._column(self._k, col)


class _Kept:
    def __init__(self, batch: "_Batch") -> None:
        self._b = batch

    def __getattr__(self, name: str) -> ops.Tensor:
        return self._b._kept_tensor(name)

    def __getitem__(self, name: str) -> ops.Tensor:
        return self._b._kept_tensor(name)


class _Modules:
    def __init__(self, modules: Mapping[str, Module]) -> None:
        self._m = modules

    def __getattr__(self, name: str) -> Module:
        if name.startswith("_") or name not in self._m:
            raise AttributeError(f"the trainer has no module '{name}' (modules: {list(self._m)})")
        return self._m[name]

    __getitem__ = __getattr__


class _Batch:
    """``b`` in a phase function: ``b.<stream>.<column>`` and ``b.kept.<name>``."""

    def __init__(self, trainer: "Trainer", phase: Phase, trace: ops.Trace, streams: list[_Stream]) -> None:
        self._t, self._phase, self._trace, self._streams = trainer, phase, trace, streams
        self._feeds: dict[tuple[int, str], ops.Tensor] = {}

    @property
    def kept(self) -> _Kept:
        return _Kept(self)

    @property
    def modules(self) -> Any:
        """The trainer's modules by name (``b.modules.E``): phase functions written this
        way work unchanged on a trainer rebuilt by ``gl.load``."""
        return _Modules(self._t.modules)

    def __getattr__(self, name: str) -> _StreamView:
        if name.startswith("_") or name in ("kept", "modules"):
            raise AttributeError(name)
        for k, s in enumerate(self._streams):
            if s.name == name:
                return _StreamView(self, k)
        raise ValueError(f"phase '{self._phase.name}' reads stream '{name}', but fit got the streams "
                         f"{[s.name for s in self._streams]}")

    __getitem__ = __getattr__

    def _column(self, k: int, col: str) -> ops.Tensor:
        s = self._streams[k]
        if col not in s.cols:
            raise ValueError(f"phase '{self._phase.name}' reads '{s.name}.{col}', but stream '{s.name}' has the "
                             f"arrays {list(s.cols)}")
        hit = self._feeds.get((k, col))
        if hit is None:
            # the C loop fills (batch, width) rows; a reshape to the rows' own shape is a view
            rows = self._trace.input((s.batch, s.cols[col].shape[1]))
            shaped = rows if s.row_shape[col] == (rows.shape[1],) else ops.reshape(rows, (s.batch, *s.row_shape[col]))
            hit = self._feeds[(k, col)] = (rows, shaped)
        return hit[1]

    def _kept_tensor(self, name: str) -> ops.Tensor:
        buf = self._t._kept.get(name)
        if buf is None or name not in self._t._kept_now:
            raise ValueError(f"phase '{self._phase.name}' reads kept value '{name}', but no earlier phase keeps it "
                             f"(kept so far: {sorted(self._t._kept)})")
        return self._trace.param(buf.reshape(-1), 0, buf.shape)

    def state(self, name: str, shape: tuple = (), value: float = 0.0) -> ops.Tensor:
        """A value that lives across steps: what a phase last kept under ``name`` (``Step(keep=...)``),
        ``value`` everywhere before anything kept it. A phase that reads and keeps the same name
        carries a counter or a schedule from step to step (a KL warm-up), saved in checkpoints.

        Examples
        --------
        >>> def vae_step(b):                                          # doctest: +SKIP
        ...     t = b.state("t")
        ...     beta = ops.clip(t / 1000.0, 0.0, 1.0)
        ...     return gl.Step(minimize={"VAE": rec + beta * kl}, keep={"t": t + 1.0})
        """
        _check_name("a state name", name)
        if not isinstance(shape, (tuple, list)) or any(not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
            raise ValueError(f"state '{name}': shape must be a tuple of positive ints, got {shape!r}")
        shape = tuple(int(d) for d in shape)
        kept = self._t._kept
        buf = kept.get(name)
        if buf is None or buf.shape != shape:
            buf = kept[name] = np.full(shape, float(value), np.float32)
        self._t._kept_now.add(name)
        return self._trace.param(buf.reshape(-1), 0, shape)

    def feeds(self) -> list[tuple[int, int, int]]:
        out = []
        for (k, col), (rows, _) in self._feeds.items():
            out.append((rows.id, k, list(self._streams[k].cols).index(col)))
        return out
