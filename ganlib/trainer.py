"""gl.Trainer: any number of networks, phases and data streams trained by one C loop.

A trainer holds named modules and one optimizer per trained module. Each
:class:`Phase` is a Python function over a batch that returns a :class:`Step`:
what each module minimises, values to log, values to keep for later phases.
The phase is traced once per batch size into a C program; :meth:`Trainer.fit`
then runs every step's phases in C (with repeats, e.g. n_critic) over named
data streams, calling back into Python only every ``log_every`` steps.

Examples
--------
An adversarial autoencoder on 2-D points: reconstruction, a discriminator on
codes, and the encoder as the codes' generator.

>>> import numpy as np, ganlib as gl
>>> from ganlib import ops
>>> X = gl.datasets.ring(n=4000, seed=0)
>>> E, Dec = gl.nn.mlp(2, [64], 2, seed=0), gl.nn.mlp(2, [64], 2, seed=1)
>>> Dz = gl.nn.mlp(2, [64], 1, seed=2)
>>> ns = gl.losses.get_objective("nonsaturating")
>>> def recon(b):
...     l = ops.mean(ops.square(Dec(E(b.data.x)) - b.data.x))
...     return gl.Step(minimize={"E": l, "Dec": l}, log={"recon": l})
>>> def disc(b):
...     z = ops.randn((b.data.x.shape[0], 2))
...     l = ns.d_loss(Dz(z), Dz(ops.stop_gradient(E(b.data.x))))
...     return gl.Step(minimize={"Dz": l}, log={"d_loss": l})
>>> def gen(b):
...     l = ns.g_loss(Dz(E(b.data.x)))
...     return gl.Step(minimize={"E": l}, log={"g_loss": l})
>>> aae = gl.Trainer(dict(E=E, Dec=Dec, Dz=Dz),
...                  dict(E=gl.optim.Adam(1e-3), Dec=gl.optim.Adam(1e-3), Dz=gl.optim.Adam(1e-3)),
...                  [gl.Phase("recon", recon), gl.Phase("disc", disc), gl.Phase("gen", gen)], seed=0)
>>> hist = aae.fit({"data": gl.Data(x=X)}, steps=200, batch_size=100, progress=False)
>>> sorted(hist)[:3]
['Dec_grad_norm', 'Dz_grad_norm', 'd_loss']

CycleGAN's two unpaired domains are two streams; the generator phase keeps its
fakes for the critic phase (``keep=`` / ``b.kept``)::

    def gen(b):
        fb, fa = GA(b.A.x), GB(b.B.x)
        cyc = ops.mean(ops.abs(GB(fb) - b.A.x)) + ops.mean(ops.abs(GA(fa) - b.B.x))
        tot = ls.g_loss(DB(fb)) + ls.g_loss(DA(fa)) + 10 * cyc
        return gl.Step(minimize={"GA": tot, "GB": tot}, log={"cycle": cyc}, keep={"fa": fa, "fb": fb})
    def disc(b):
        la, lb = ls.d_loss(DA(b.A.x), DA(b.kept.fa)), ls.d_loss(DB(b.B.x), DB(b.kept.fb))
        return gl.Step(minimize={"DA": la, "DB": lb}, log={"d_a": la, "d_b": lb})
    cyc = gl.Trainer(dict(GA=GA, GB=GB, DA=DA, DB=DB), {k: gl.optim.Adam(2e-4, betas=(0.5, 0.999))
                     for k in ("GA", "GB", "DA", "DB")}, [gl.Phase("gen", gen), gl.Phase("disc", disc)])
    cyc.fit({"A": gl.Data(x=XA), "B": gl.Data(x=XB)}, steps=10_000, batch_size=1)
"""
from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from . import _C, ops, optim as _optim
from ._checks import check_int, check_real
from .io.safetensors import load_safetensors, save_safetensors
from .nn.layers import from_spec
from .nn.module import Module

__all__ = ["Trainer", "Phase", "Step", "Data", "load", "register_trainer", "progress_bar"]

FORMAT = "ganlib.Trainer/1"
_RESERVED = {"optimizer", "ema", "running_average", "kept", "sampler"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# steps beyond this would overflow an optimizer's int64 counter arithmetic long before C's int64
_MAX_T = 2 ** 53


def _check_name(what: str, name: Any, reserved: frozenset | set = frozenset()) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} must be a Python identifier (letters, digits, _), got {name!r}")
    if name in reserved:
        raise ValueError(f"{what} {name!r} is reserved (reserved: {sorted(reserved)})")
    return name


# ----------------------------------------------------------------------------- user-facing records
class Step:
    """What one phase does with a batch: returned by the phase function.

    Parameters
    ----------
    minimize : mapping str -> Tensor
        Module name -> the scalar loss that module's optimizer minimises. Several
        modules may minimise the same loss (one gradient pass serves them).
    log : mapping str -> Tensor, optional
        Scalars recorded each step in the history under these names, and checked
        finite before any update of the phase.
    keep : mapping str -> Tensor, optional
        Values written into buffers the trainer owns, read by later phases as
        ``b.kept.<name>`` (e.g. CycleGAN's fakes for its critics).

    Examples
    --------
    >>> def recon(b):
    ...     l = ops.mean(ops.square(Dec(E(b.data.x)) - b.data.x))
    ...     return gl.Step(minimize={"E": l, "Dec": l}, log={"recon": l})
    """

    def __init__(self, minimize: Mapping[str, ops.Tensor], log: Mapping[str, ops.Tensor] | None = None,
                 keep: Mapping[str, ops.Tensor] | None = None) -> None:
        for what, m in (("minimize", minimize), ("log", log or {}), ("keep", keep or {})):
            if not isinstance(m, Mapping):
                raise TypeError(f"Step: {what} must be a dict of name -> Tensor, got {type(m).__name__}")
            for k, v in m.items():
                if not isinstance(v, ops.Tensor):
                    raise TypeError(f"Step: {what}[{k!r}] must be a symbolic Tensor, got {type(v).__name__}")
        self.minimize = dict(minimize)
        self.log = dict(log or {})
        self.keep = dict(keep or {})


class Phase:
    """One part of every training step, traced once into a C program.

    Parameters
    ----------
    name : str
        Names the phase in messages, history columns and checkpoints.
    fn : callable
        ``fn(b) -> Step``. ``b.<stream>.<column>`` is the current batch of a data
        stream's column as a symbolic Tensor (images ``(batch, C, H, W)``, integer
        labels as one-hot ``(batch, num_classes)``); ``b.kept.<name>`` is a value
        an earlier phase kept.
    repeats : int
        Times the phase runs per step (a critic's n_critic).
    redraw : bool, str or list of str
        Streams drawn afresh before every repeat (True: every stream the phase
        reads). A stream the phase reads but does not redraw gives it the batch
        this step already drew, so by default all phases of a step see the same
        batch of each stream.

    Examples
    --------
    >>> critic = gl.Phase("critic", critic_fn, repeats=5, redraw=True)
    """

    def __init__(self, name: str, fn: Callable[[Any], Step], repeats: int = 1,
                 redraw: bool | str | Sequence[str] = False) -> None:
        self.name = _check_name("Phase name", name)
        if not callable(fn):
            raise TypeError(f"Phase {name!r}: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.repeats = check_int(f"Phase {name!r}: repeats", repeats, 1)
        if isinstance(redraw, (bool, np.bool_)):
            self.redraw: bool | tuple = bool(redraw)
        elif isinstance(redraw, str):
            self.redraw = (redraw,)
        elif isinstance(redraw, (list, tuple)) and all(isinstance(s, str) for s in redraw):
            self.redraw = tuple(redraw)
        else:
            raise TypeError(f"Phase {name!r}: redraw must be a bool, a stream name or a list of names, got {redraw!r}")

    def spec(self) -> dict:
        return {"name": self.name, "repeats": self.repeats,
                "redraw": self.redraw if isinstance(self.redraw, bool) else list(self.redraw)}


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


class _Stream:
    """A stream as the C loop gets it, with what tracing needs to know."""

    def __init__(self, name: str, data: Data, batch: int) -> None:
        self.name, self.batch = name, batch
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

    def key(self) -> tuple:
        return (self.name, self.batch, tuple((c, id(s)) for c, s in zip(self.cols, self.sources)),
                tuple(sorted(self.classes.items())))


# ----------------------------------------------------------------------------- the batch seen by a phase
class _StreamView:
    def __init__(self, batch: "_Batch", k: int) -> None:
        self._b, self._k = batch, k

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
        t = self._feeds.get((k, col))
        if t is None:
            t = self._trace.input((s.batch, *s.row_shape[col]))
            self._feeds[(k, col)] = t
        return t

    def _kept_tensor(self, name: str) -> ops.Tensor:
        buf = self._t._kept.get(name)
        if buf is None or name not in self._t._kept_now:
            raise ValueError(f"phase '{self._phase.name}' reads kept value '{name}', but no earlier phase keeps it "
                             f"(kept so far: {sorted(self._t._kept)})")
        return self._trace.param(buf.reshape(-1), 0, buf.shape)

    def feeds(self) -> list[tuple[int, int, int]]:
        out = []
        for (k, col), t in self._feeds.items():
            out.append((t.id, k, list(self._streams[k].cols).index(col)))
        return out


# ----------------------------------------------------------------------------- helpers
def _global_norm(grads: list[ops.Tensor]) -> ops.Tensor:
    total = None
    for g in grads:
        s = ops.sum(ops.square(g))
        total = s if total is None else total + s
    return ops.sqrt(total)


def progress_bar(total: int) -> Any:
    """A tqdm bar when tqdm is installed, else None."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="step", leave=False)


_TRAINER_CLASSES: dict[str, type] = {}


def register_trainer(name: str) -> Callable[[type], type]:
    """Class decorator: ``gl.load`` rebuilds checkpoints of this class through its ``_from_config``."""
    def deco(cls: type) -> type:
        cls._class_name = name
        _TRAINER_CLASSES[name] = cls
        return cls
    return deco


def _spec_or_none(m: Module) -> Any:
    try:
        return m.spec()
    except NotImplementedError:
        return None


def _make_optimizer(o: Mapping[str, Any]) -> _optim.Optimizer:
    classes = {"sgd": _optim.SGD, "adam": _optim.Adam, "adamw": _optim.AdamW, "rmsprop": _optim.RMSProp}
    if not isinstance(o, Mapping) or o.get("kind") not in classes or not isinstance(o.get("config"), Mapping):
        raise ValueError(f"not an optimizer description: {o!r}")
    return classes[o["kind"]](**o["config"])


# ----------------------------------------------------------------------------- the trainer
@register_trainer("ganlib.Trainer")
class Trainer:
    """Named modules trained in phases over named data streams, the whole loop in C.

    Parameters
    ----------
    modules : mapping str -> Module
        The networks, by name. A module may sit inside another listed one (an
        encoder inside an autoencoder): an optimizer binds to its own parameters.
    optimizers : mapping str -> Optimizer
        One optimizer object per trained module (``gl.optim.Adam(1e-3)``, ...);
        modules without one are used but not trained.
    phases : list of Phase
        Run in order every step.
    clip : mapping str -> float, optional
        Clamp these modules' weights to ``[-c, c]`` after each of their updates.
    ema : mapping str -> float, optional
        Keep an exponential moving average of these modules' weights with this
        decay (``averaged(name)`` is the averaged copy).
    running_average : list of str
        Keep the mean of all past weights of these modules (historical averaging).
    grad_norms : bool
        Record each trained module's gradient norm per phase in the history.
    seed : int
        Seeds every random stream: batches, and ``ops.rand*`` / dropout in phases.

    Notes
    -----
    Every logged value, every loss and every gradient norm is checked finite
    before any update of its phase: a non-finite value raises FloatingPointError
    naming the step and the value, and leaves the parameters as they were before
    that phase.
    """

    _class_name = "ganlib.Trainer"

    def __init__(self, modules: Mapping[str, Module], optimizers: Mapping[str, Any], phases: Sequence[Phase], *,
                 clip: Mapping[str, float] | None = None, ema: Mapping[str, float] | None = None,
                 running_average: Iterable[str] = (), grad_norms: bool = True, seed: int = 0) -> None:
        if not isinstance(modules, Mapping) or not modules:
            raise TypeError("Trainer: modules must be a non-empty dict of name -> Module")
        self.modules: "OrderedDict[str, Module]" = OrderedDict()
        for name, m in modules.items():
            _check_name("a module name", name, _RESERVED)
            if not isinstance(m, Module):
                raise TypeError(f"Trainer: module '{name}' must be a ganlib Module, got {type(m).__name__}")
            self.modules[name] = m
        if not isinstance(optimizers, Mapping):
            raise TypeError("Trainer: optimizers must be a dict of module name -> optimizer")
        self.optimizers: "OrderedDict[str, _optim.Optimizer]" = OrderedDict()
        for name, opt in optimizers.items():
            if name not in self.modules:
                raise ValueError(f"Trainer: optimizer for '{name}', which is not a module ({list(self.modules)})")
            if not isinstance(opt, _optim.Optimizer):
                raise TypeError(f"Trainer: the optimizer of '{name}' must be a ganlib.optim optimizer such as "
                                f"gl.optim.Adam(1e-3), got {type(opt).__name__} {opt!r}")
            self.optimizers[name] = opt
        if len({id(o) for o in self.optimizers.values()}) != len(self.optimizers):
            raise ValueError("Trainer: one optimizer object is given to two modules; give each its own")
        self._check_disjoint()
        if isinstance(phases, Phase) or not isinstance(phases, (list, tuple)) or not phases:
            raise TypeError("Trainer: phases must be a non-empty list of gl.Phase")
        for p in phases:
            if not isinstance(p, Phase):
                raise TypeError(f"Trainer: phases must be gl.Phase objects, got {type(p).__name__}")
        names = [p.name for p in phases]
        if len(set(names)) != len(names):
            raise ValueError(f"Trainer: phase names must differ, got {names}")
        if len(phases) > 8:
            raise ValueError(f"Trainer: at most 8 phases, got {len(phases)}")
        self.phases = list(phases)
        self._clip_of = self._per_module("clip", clip, lambda n, v: check_real(n, v, positive=True))
        self._ema_of = self._per_module("ema", ema, self._check_decay)
        running_average = list(running_average)
        for name in running_average:
            self._need_module("running_average", name)
        self.grad_norms = bool(grad_norms)
        self.seed = check_int("Trainer: seed", seed, 0)
        self.step = 0

        self._ranges: dict[str, tuple[Any, int, int]] = {}   # trained module -> (buffer, offset, size)
        for name, opt in self.optimizers.items():
            m = self.modules[name]
            off, size = m.param_range()
            if size == 0:
                raise ValueError(f"Trainer: module '{name}' has no parameters to train")
            self._ranges[name] = (m.buffer, off, size)
            if hasattr(opt, "_claim"):
                opt._claim(self, f"module '{name}' of a {type(self).__name__}")
            opt.bind(m.buffer.data[off:off + size], m.buffer.grad[off:off + size])
        self._averaged: dict[str, Module] = {name: self.modules[name].clone() for name in self._ema_of}
        self._running: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in running_average:
            buf, off, size = self._param_view(name)
            self._running[name] = (buf.data[off:off + size].copy(), np.zeros(1, np.int64))
        self._kept: dict[str, np.ndarray] = {}
        self._setup: dict | None = None          # the C fit for the current streams and batch sizes
        self._pending: dict | None = None        # sampler / RNG state from a checkpoint, applied on the next fit
        self._fitting = False

    # ---- construction helpers --------------------------------------------------------------------
    def _need_module(self, what: str, name: str) -> Module:
        if name not in self.modules:
            raise ValueError(f"Trainer: {what} names '{name}', which is not a module ({list(self.modules)})")
        return self.modules[name]

    @staticmethod
    def _check_decay(what: str, v: Any) -> float:
        v = check_real(what, v)
        if not 0.0 < v < 1.0:
            raise ValueError(f"{what} (a decay) must be in (0, 1), got {v}")
        return v

    def _per_module(self, what: str, given: Mapping[str, float] | None, check: Callable) -> dict[str, float]:
        if given is None:
            return {}
        if not isinstance(given, Mapping):
            raise TypeError(f"Trainer: {what} must be a dict of module name -> number")
        out = {}
        for name, v in given.items():
            self._need_module(what, name)
            out[name] = check(f"Trainer: {what}[{name!r}]", v)
        return out

    def _check_disjoint(self) -> None:
        seen: list[tuple[str, Any, int, int]] = []
        for name in self.optimizers:
            m = self.modules[name]
            off, size = m.param_range()
            for other, buf, o2, s2 in seen:
                if buf is m.buffer and off < o2 + s2 and o2 < off + size:
                    raise ValueError(f"Trainer: modules '{other}' and '{name}' share parameters, so they would be "
                                     "trained by two optimizers; give the optimizer to one of them")
            seen.append((name, m.buffer, off, size))

    def _param_view(self, name: str) -> tuple[Any, int, int]:
        m = self.modules[name]
        off, size = m.param_range()
        return m.buffer, off, size

    def averaged(self, name: str) -> Module:
        """The exponential-moving-average copy of module ``name`` (``ema=`` in the constructor)."""
        if name not in self._averaged:
            raise ValueError(f"Trainer: module '{name}' keeps no moving average (pass ema={{'{name}': decay}})")
        return self._averaged[name]

    def running_average(self, name: str) -> np.ndarray:
        """The mean of all past parameter values of module ``name`` (a flat float32 array)."""
        if name not in self._running:
            raise ValueError(f"Trainer: module '{name}' keeps no running average (pass running_average=['{name}'])")
        return self._running[name][0]

    # ---- hooks for model classes ------------------------------------------------------------------
    def _phase_seed(self, k: int) -> int:
        return self.seed * 64 + 1 + k

    def _stream_seed(self, k: int) -> int:
        return self.seed * 64 + 16 + k

    def _check_label(self, phase: str, value: str) -> str:
        return f"{value} (phase '{phase}')"

    def _trace(self, phase: Phase, batch: _Batch) -> Step:
        """Run the phase function (model classes may wrap it)."""
        return phase.fn(batch)

    # ---- building the C fit ----------------------------------------------------------------------------
    def _streams(self, data: Any, batch_size: int) -> list[_Stream]:
        if isinstance(data, Data):
            data = {"data": data}
        elif isinstance(data, np.ndarray):
            data = {"data": Data(x=data)}
        if not isinstance(data, Mapping) or not data:
            raise TypeError("fit: data must be a dict of stream name -> gl.Data (or one gl.Data, or one array)")
        if len(data) > 8:
            raise ValueError(f"fit: at most 8 data streams, got {len(data)}")
        out = []
        for name, d in data.items():
            _check_name("a stream name", name, {"kept", "modules"})
            if not isinstance(d, Data):
                d = Data(x=d) if isinstance(d, np.ndarray) else None
                if d is None:
                    raise TypeError(f"fit: stream '{name}' must be a gl.Data (or an array)")
            out.append(_Stream(name, d, d.batch_size or batch_size))
        return out

    def _build_phase(self, k: int, phase: Phase, streams: list[_Stream], columns: list[str]) -> dict:
        tr = ops.Trace()
        batch = _Batch(self, phase, tr, streams)
        with ops.tracing(tr):
            step = self._trace(phase, batch)
            if not isinstance(step, Step):
                raise TypeError(f"phase '{phase.name}' must return a gl.Step, got {type(step).__name__}")
            for m in step.minimize:
                if m not in self.modules:
                    raise ValueError(f"phase '{phase.name}' minimises '{m}', which is not a module "
                                     f"({list(self.modules)})")
                if m not in self.optimizers:
                    raise ValueError(f"phase '{phase.name}' minimises module '{m}', which has no optimizer "
                                     f"(optimizers: {list(self.optimizers)})")
            for what, vals in (("minimize", step.minimize), ("log", step.log), ("keep", step.keep)):
                for name, t in vals.items():
                    if t.trace is not tr:
                        raise ValueError(f"phase '{phase.name}': {what}[{name!r}] is not a Tensor of this phase")
                    if what != "keep" and t.shape != ():
                        raise ValueError(f"phase '{phase.name}': {what}[{name!r}] must be a scalar, got shape "
                                         f"{t.shape}")
            # one gradient pass per distinct loss, over every module minimising it
            by_loss: "OrderedDict[int, list[str]]" = OrderedDict()
            for m, loss in step.minimize.items():
                by_loss.setdefault(loss.id, []).append(m)
            grads: dict[str, list[ops.Tensor]] = {}
            for lid, mods in by_loss.items():
                loss = step.minimize[mods[0]]
                wrt = [t for m in mods for t in self.modules[m].param_tensors(tr)]
                g = ops.grad(loss, wrt)
                pos = 0
                for m in mods:
                    n = len(list(self.modules[m]._slots()))
                    grads[m], pos = g[pos:pos + n], pos + n
            norms = {m: _global_norm(g) for m, g in grads.items()}
        outs: list[ops.Tensor] = []
        sinks: list[Any] = []
        check, record = [], []
        for name, t in step.log.items():
            check.append((len(outs), self._check_label(phase.name, name)))
            record.append((len(outs), self._column(columns, name, phase.name)))
            outs.append(t), sinks.append(None)
        logged = {t.id for t in step.log.values()}
        for m, loss in step.minimize.items():
            if loss.id not in logged:
                check.append((len(outs), self._check_label(phase.name, f"{m} loss")))
                outs.append(loss), sinks.append(None)
                logged.add(loss.id)
        for m, t in norms.items():
            check.append((len(outs), self._check_label(phase.name, f"{m} gradient norm")))
            if self.grad_norms:   # renamed to "<module>_grad_norm" in _ensure_setup when unambiguous
                record.append((len(outs), self._column(columns, f"{m}_grad_norm.{phase.name}", phase.name)))
            outs.append(t), sinks.append(None)
        for name, t in step.keep.items():
            buf = self._kept.get(name)
            if buf is None or buf.shape != t.shape:
                buf = np.zeros(t.shape, np.float32)
            self._kept[name] = buf
            self._kept_now.add(name)
            outs.append(t), sinks.append(buf.reshape(-1))
        for m, g in grads.items():
            outs += g
            sinks += list(self.modules[m].named_grads().values())
        prog = _C.Program(tr.graph, [o.id for o in outs], sinks, self._phase_seed(k))
        optimizers, post = [], []
        for m in step.minimize:
            optimizers.append(self.optimizers[m]._c)
            post += self._post(m)
        read = set(prog.inputs)   # a column the outputs do not depend on is neither fed nor drawn
        feeds = [f for f in batch.feeds() if f[0] in read]
        redraw = phase.redraw
        names = [s.name for s in streams]
        if redraw is True:
            mask = sorted({f[1] for f in feeds})
        elif redraw is False:
            mask = []
        else:
            for s in redraw:
                if s not in names:
                    raise ValueError(f"phase '{phase.name}' redraws stream '{s}', but fit got the streams {names}")
            mask = [names.index(s) for s in redraw]
        return {"program": prog, "repeats": phase.repeats, "redraw": mask, "feeds": feeds,
                "optimizers": optimizers, "post": post, "check": check, "record": record, "_trace": tr}

    @staticmethod
    def _column(columns: list[str], name: str, phase: str) -> int:
        if name in columns:
            raise ValueError(f"history column '{name}' is logged twice (again by phase '{phase}'); "
                             "give the values different names")
        columns.append(name)
        return len(columns) - 1

    def _post(self, name: str) -> list:
        buf, off, size = self._ranges[name]
        param = buf.data[off:off + size]
        post = []
        if name in self._clip_of:
            post.append(("clip", param, self._clip_of[name]))
        if name in self._averaged:
            avg = self._averaged[name]   # a clone: its range sits at the same offset of its own buffer
            post.append(("ema", param, avg.buffer.data[off:off + size], self._ema_of[name]))
        if name in self._running:
            avg, count = self._running[name]
            post.append(("running_mean", param, avg, count))
        return post

    def _check_buffers(self) -> None:
        for name, (buf, off, size) in self._ranges.items():
            if self.modules[name].buffer is not buf or self.modules[name].param_range() != (off, size):
                raise ValueError(f"Trainer: module '{name}' was rebuilt after the Trainer was made (composed into "
                                 "a container?); make the Trainer from the final modules")

    def _ensure_setup(self, data: Any, batch_size: int) -> dict:
        self._check_buffers()
        streams = self._streams(data, batch_size)
        key = tuple(s.key() for s in streams)
        cur = self._setup
        if cur is not None and cur["key"] == key:
            return cur
        columns: list[str] = []
        self._kept_now: set[str] = set()
        phases = [self._build_phase(k, p, streams, columns) for k, p in enumerate(self.phases)]
        # a module trained in one phase only has its gradient norm under "<module>_grad_norm"
        for k, c in enumerate(columns):
            m, dot, _ = c.partition("_grad_norm.")
            if dot and sum(x.startswith(m + "_grad_norm.") for x in columns) == 1 and m + "_grad_norm" not in columns:
                columns[k] = m + "_grad_norm"
        fit = _C.Fit([{"name": s.name, "columns": dict(s.cols), "batch": s.batch, "seed": self._stream_seed(k)}
                      for k, s in enumerate(streams)])
        fit.set_phases([{k: v for k, v in ph.items() if not k.startswith("_")} for ph in phases])
        fit.step = self.step
        if self._pending is not None:
            self._restore_pending(fit, streams, phases)
        self._setup = {"key": key, "fit": fit, "streams": streams, "phases": phases, "columns": columns,
                       "sources": [s.sources for s in streams]}
        return self._setup

    def _restore_pending(self, fit: Any, streams: list[_Stream], phases: list[dict]) -> None:
        pend = self._pending
        saved = {s["name"]: s for s in pend["streams"]}
        if set(saved) != {s.name for s in streams}:
            raise ValueError(f"fit: the checkpoint's samplers are for the streams {sorted(saved)}, but fit got "
                             f"{sorted(s.name for s in streams)}; call forget_samplers() to start new batches")
        for k, s in enumerate(streams):
            st = saved[s.name]
            if st["rows"] != s.n or st["batch"] != s.batch:
                raise ValueError(f"fit: the checkpoint's sampler of stream '{s.name}' is for {st['rows']} rows in "
                                 f"batches of {st['batch']}, but fit got {s.n} rows in batches of {s.batch}; call "
                                 "forget_samplers() to start new batches on other data")
        for k, s in enumerate(streams):
            st = saved[s.name]
            fit.set_sampler(k, (st["pos"], st["epoch"], st["rng"][0], st["rng"][1], st["perm"]))
        for ph, p in zip(phases, self.phases):
            if p.name in pend["programs"]:
                ph["program"].rng_state = tuple(pend["programs"][p.name])
        self._pending = None

    def forget_samplers(self) -> None:
        """Drop the batch order restored from a checkpoint, so the next ``fit`` may use other data."""
        self._pending = None

    # ---- training -------------------------------------------------------------------------------------
    def fit(self, data: Any, steps: int, batch_size: int = 64, log_every: int = 100,
            callbacks: Iterable[Callable] = (), progress: bool = True) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps; the loop runs in C.

        Parameters
        ----------
        data : dict of str -> Data
            The streams, e.g. ``{"mnist": gl.Data(x=X, y=labels)}``; one ``gl.Data``
            or one array is the stream ``"data"``.
        steps : int
        batch_size : int
            Rows per draw of each stream that does not set its own.
        log_every : int
            Python is called back (progress bar, callbacks, Ctrl-C) every this many steps.
        callbacks : iterable of callables
            ``cb(trainer, step, logs)`` with ``logs`` the last history row as a dict.
        progress : bool
            Show a tqdm progress bar when tqdm is installed.

        Returns
        -------
        dict of ndarray
            ``step`` and one array per logged value, a row per step done (fewer than
            ``steps`` if interrupted with Ctrl-C, which stops at a step boundary).

        Raises
        ------
        FloatingPointError
            A logged value, loss or gradient norm became NaN/inf; the message names
            the step and the value, and the parameters are those before that phase.
        """
        steps = check_int("fit: steps", steps, 0)
        batch_size = check_int("fit: batch_size", batch_size, 1)
        log_every = check_int("fit: log_every", log_every, 1)
        callbacks = list(callbacks)
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"fit: callbacks must be callables, got {type(cb).__name__}")
        if self._fitting:
            raise RuntimeError(f"{type(self).__name__}.fit was called while this trainer is already fitting "
                               "(from a callback?); fit again after the running fit returns")
        self._fitting = True
        try:
            return self._fit(data, steps, batch_size, log_every, callbacks, progress)
        finally:
            self._fitting = False

    def _fit(self, data: Any, steps: int, batch_size: int, log_every: int, callbacks: list,
             progress: bool) -> dict[str, np.ndarray]:
        setup = self._ensure_setup(data, batch_size)
        fit, columns = setup["fit"], setup["columns"]
        ncol = len(columns)
        first = self.step
        parts: list[np.ndarray] = []
        bar = progress_bar(steps) if progress else None
        done = 0
        try:
            while done < steps:
                n = min(log_every, steps - done)
                block = np.full((n, ncol), np.nan, np.float32)
                try:
                    fit.run(n, block)
                finally:
                    moved = int(fit.step) - first - done
                    done += moved
                    self.step = int(fit.step)
                    parts.append(block[:moved])
                    if bar is not None:
                        bar.update(moved)
                if moved and (callbacks or bar is not None):
                    logs = {c: float(block[moved - 1, k]) for k, c in enumerate(columns)}
                    if bar is not None:
                        bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if not math.isnan(v)})
                    for cb in callbacks:
                        cb(self, self.step, logs)
        except KeyboardInterrupt:
            pass  # stopped at a step boundary: the model and the history so far are valid
        finally:
            if bar is not None:
                bar.close()
        hist = np.concatenate(parts, axis=0) if parts else np.zeros((0, ncol), np.float32)
        out = {"step": np.arange(first + 1, first + done + 1, dtype=np.int64)}
        for k, c in enumerate(columns):
            out[c] = hist[:, k].copy()
        return out

    def last_batch(self, stream: str, column: str) -> np.ndarray:
        """A copy of the batch of ``stream``'s ``column`` that the last step drew (one-hot rows for labels)."""
        if self._setup is None:
            raise ValueError("last_batch: nothing was drawn yet (call fit first)")
        streams = self._setup["streams"]
        names = [s.name for s in streams]
        if stream not in names:
            raise ValueError(f"last_batch: no stream '{stream}' (streams: {names})")
        s = streams[names.index(stream)]
        if column not in s.cols:
            raise ValueError(f"last_batch: stream '{stream}' has no array '{column}' (arrays: {list(s.cols)})")
        rows = self._setup["fit"].batch(names.index(stream), list(s.cols).index(column))
        return rows.reshape((s.batch, *s.row_shape[column]))

    @property
    def history_columns(self) -> list[str]:
        """Names of the values ``fit`` records (known after the first ``fit``)."""
        return list(self._setup["columns"]) if self._setup else []

    # ---- checkpoints -------------------------------------------------------------------------------
    def _config(self) -> dict:
        """What ``gl.load`` needs to rebuild this trainer (model classes extend it)."""
        return {"modules": {n: _spec_or_none(m) for n, m in self.modules.items()},
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()},
                "phases": [p.spec() for p in self.phases], "clip": self._clip_of, "ema": self._ema_of,
                "running_average": list(self._running), "grad_norms": self.grad_norms, "seed": self.seed}

    @staticmethod
    def _sampler_key(name: str, nstreams: int) -> str:
        return "sampler/perm" if nstreams == 1 else f"sampler/{name}/perm"

    def _state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Every tensor and every number a bit-exact resume needs."""
        tensors: dict[str, np.ndarray] = {}
        for name, m in self.modules.items():
            for k, v in m.state_dict().items():
                tensors[f"{name}/{k}"] = v
        for name, m in self._averaged.items():
            for k, v in m.state_dict().items():
                tensors[f"ema/{name}/{k}"] = v
        state: dict[str, Any] = {"step": self.step, "optimizers": {}, "running_average": {}, "streams": [],
                                 "programs": {}}
        for name, opt in self.optimizers.items():
            sd = opt.state_dict()
            tensors[f"optimizer/{name}/state"] = sd["state"]
            state["optimizers"][name] = {"t": int(sd["t"]), "lr": float(opt.lr)}
        for name, (avg, count) in self._running.items():
            tensors[f"running_average/{name}"] = avg.copy()
            state["running_average"][name] = int(count[0])
        for name, buf in self._kept.items():
            tensors[f"kept/{name}"] = buf.copy()
        if self._setup is not None:
            fit, streams = self._setup["fit"], self._setup["streams"]
            for k, s in enumerate(streams):
                pos, epoch, rseed, rcount, perm = fit.get_sampler(k)
                tensors[self._sampler_key(s.name, len(streams))] = perm
                state["streams"].append({"name": s.name, "pos": int(pos), "epoch": int(epoch),
                                         "rng": [int(rseed), int(rcount)], "rows": s.n, "batch": s.batch})
            for ph, p in zip(self._setup["phases"], self.phases):
                state["programs"][p.name] = [int(v) for v in ph["program"].rng_state]
        elif self._pending is not None:
            pend = self._pending
            for st in pend["streams"]:
                tensors[self._sampler_key(st["name"], len(pend["streams"]))] = st["perm"]
                state["streams"].append({k: v for k, v in st.items() if k != "perm"})
            state["programs"] = dict(pend["programs"])
        return tensors, state

    def save(self, path: str) -> None:
        """Write a resumable checkpoint (safetensors, format ``ganlib.Trainer/1``, atomic).

        It holds every module's parameters and buffers, every optimizer's state, the
        moving and running averages, kept values, every stream's sampler state and
        every phase program's RNG state: ``gl.load`` and ``fit`` continue bit for bit.
        A non-finite value is refused (ValueError naming it), since it could not be
        loaded back.

        Examples
        --------
        >>> trainer.save("aae.safetensors"); again = gl.load("aae.safetensors", phases=phases)  # doctest: +SKIP
        """
        tensors, state = self._state()
        for k, v in tensors.items():
            if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
                raise ValueError(f"{type(self).__name__}.save: '{k}' holds NaN or inf values; a checkpoint must be "
                                 "loadable, so nothing was written")
        meta = {"format": FORMAT, "class": self._class_name, "config": json.dumps(self._config()),
                "state": json.dumps(state)}
        save_safetensors(path, tensors, meta)

    def _snapshot(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of everything load_state writes, to roll a failed load back."""
        arrays: list[np.ndarray] = []
        for m in list(self.modules.values()) + list(self._averaged.values()):
            arrays += [m.buffer.data] + [v for _, v in m.named_buffers()]
        for avg, count in self._running.values():
            arrays += [avg, count]
        arrays += list(self._kept.values())
        snap = [(a, a.copy()) for a in {id(a): a for a in arrays}.values()]
        return snap

    def load_state(self, path: str) -> None:
        """Restore everything :meth:`save` wrote into this trainer (same modules and settings).

        All or nothing: the whole file is checked before anything is written, and
        a file that does not fit raises ValueError naming the file and the problem,
        leaving the trainer as it was.
        """
        tensors, meta = load_safetensors(path)
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} checkpoint (format {meta.get('format')!r})")
        try:
            state = json.loads(meta["state"])
            self._apply_state(path, tensors, state)
        except (KeyError, TypeError, AttributeError, IndexError, RecursionError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: damaged {FORMAT} checkpoint ({type(e).__name__}: {e})") from None

    def _apply_state(self, path: str, tensors: dict[str, np.ndarray], state: dict) -> None:
        def fail(msg: str) -> None:
            raise ValueError(f"{path}: {msg}")

        if not isinstance(state, dict):
            fail("its state is not a JSON object")
        step = state["step"]
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= _MAX_T:
            fail(f"step must be an int in [0, 2**53], got {step!r}")
        # 1. check everything
        subs: dict[str, tuple[Module, dict]] = {}
        for prefix, group in (("", self.modules), ("ema/", self._averaged)):
            for name, m in group.items():
                sub = {k[len(prefix) + len(name) + 1:]: v for k, v in tensors.items()
                       if k.startswith(f"{prefix}{name}/")}
                own = {k: v for k, v, _ in m._named_state()}
                missing = sorted(set(own) - set(sub))
                extra = sorted(set(sub) - set(own))
                if missing or extra:
                    fail(f"module '{prefix}{name}' does not match: missing {missing[:5]}, unexpected {extra[:5]}")
                for k, v in sub.items():
                    if v.shape != own[k].shape:
                        fail(f"'{prefix}{name}/{k}' has shape {v.shape}, the module has {own[k].shape}")
                    if v.dtype.kind != "f" or not np.all(np.isfinite(v)):
                        fail(f"'{prefix}{name}/{k}' must hold finite floats")
                subs[prefix + name] = (m, sub)
        opts = state["optimizers"]
        if set(opts) != set(self.optimizers):
            fail(f"optimizers {sorted(opts)} do not match this trainer's {sorted(self.optimizers)}")
        for name, opt in self.optimizers.items():
            st, o = tensors.get(f"optimizer/{name}/state"), opts[name]
            if st is None or st.shape != opt._c.state.shape or st.dtype.kind != "f" or not np.all(np.isfinite(st)):
                fail(f"the state of optimizer '{name}' is missing, of another size, or not finite")
            t = o["t"]
            if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= _MAX_T:
                fail(f"optimizer '{name}': step count must be an int in [0, 2**53], got {t!r}")
            if not isinstance(o["lr"], (int, float)) or not math.isfinite(o["lr"]) or o["lr"] < 0:
                fail(f"optimizer '{name}': bad learning rate {o['lr']!r}")
        runs = state["running_average"]
        if set(runs) != set(self._running):
            fail(f"running averages {sorted(runs)} do not match this trainer's {sorted(self._running)}")
        for name, (avg, _) in self._running.items():
            v = tensors.get(f"running_average/{name}")
            c = runs[name]
            if v is None or v.shape != avg.shape or not np.all(np.isfinite(v)):
                fail(f"running average of '{name}' is missing, of another size, or not finite")
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= _MAX_T:
                fail(f"running average count of '{name}' must be an int in [0, 2**53], got {c!r}")
        kept = {k[5:]: v for k, v in tensors.items() if k.startswith("kept/")}
        for name, v in kept.items():
            if v.dtype.kind != "f" or not np.all(np.isfinite(v)):
                fail(f"kept value '{name}' must hold finite floats")
        streams = state["streams"]
        pend_streams = []
        for st in streams:
            name = st["name"]
            perm = tensors.get(self._sampler_key(name, len(streams)))
            ok = perm is not None and perm.dtype.kind in "iu" and perm.shape == (st["rows"],)
            ints = [st[k] for k in ("pos", "epoch", "rows", "batch")] + list(st["rng"])
            ok = ok and len(st["rng"]) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                   for v in ints)
            ok = ok and st["rng"][0] < 2 ** 64 and st["rng"][1] < 2 ** 64 and st["pos"] <= st["rows"]
            ok = ok and np.array_equal(np.sort(perm.astype(np.int64)), np.arange(st["rows"]))
            if not ok:
                fail(f"the sampler state of stream '{name}' is damaged")
            pend_streams.append({**st, "perm": perm.astype(np.int64)})
        programs = state["programs"]
        for pname, rs in programs.items():
            if (not isinstance(rs, list) or len(rs) != 2 or
                    not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 64 for v in rs)):
                fail(f"the RNG state of phase '{pname}' is damaged")
        # 2. write everything (rolled back if anything still fails)
        snap = self._snapshot()
        opt_before = [(o, o.state_dict()) for o in self.optimizers.values()]
        try:
            for m, sub in subs.values():
                m.load_state_dict(sub)
            for name, opt in self.optimizers.items():
                sd = opt.state_dict()
                sd.update(t=opts[name]["t"], state=tensors[f"optimizer/{name}/state"])
                sd["config"] = dict(sd["config"], lr=float(opts[name]["lr"]))
                opt.load_state_dict(sd)
            for name, (avg, count) in self._running.items():
                avg[...] = tensors[f"running_average/{name}"]
                count[0] = runs[name]
            for name, v in kept.items():
                self._kept[name] = np.array(v, np.float32)
        except Exception:
            for a, copy in snap:
                a[...] = copy
            for o, sd in opt_before:
                o.load_state_dict(sd)
            raise
        self.step = step
        self._setup = None
        self._pending = {"streams": pend_streams, "programs": programs} if pend_streams or programs else None
        self._after_load()

    def _after_load(self) -> None:
        """Model classes drop caches that depend on the parameters here."""

    @classmethod
    def _from_config(cls, path: str, config: dict, **overrides: Any) -> "Trainer":
        """Rebuild an untrained trainer of this class from ``_config()`` (``gl.load``)."""
        phases = overrides.pop("phases", None)
        if phases is None:
            raise ValueError(f"gl.load: {path} holds a plain gl.Trainer, whose phase functions cannot be stored; "
                             "pass phases=[gl.Phase(...), ...] with the same names (phase functions that reach "
                             "the networks as b.modules.<name> use the rebuilt ones; functions that close over "
                             "module objects need those modules too: modules={name: module})")
        names = [p["name"] for p in config["phases"]]
        if [getattr(p, "name", None) for p in phases] != names:
            raise ValueError(f"gl.load: the checkpoint's phases are {names}, got "
                             f"{[getattr(p, 'name', p) for p in phases]}")
        modules = dict(overrides.pop("modules", None) or {})
        for name, spec in config["modules"].items():
            if name not in modules:
                if spec is None:
                    raise ValueError(f"gl.load: module '{name}' was custom and cannot be rebuilt from {path}; "
                                     f"pass modules={{'{name}': ...}}")
                modules[name] = from_spec(spec)
        optimizers = dict(overrides.pop("optimizers", None) or {})
        for name, o in config["optimizers"].items():
            optimizers.setdefault(name, _make_optimizer(o))
        if overrides:
            raise TypeError(f"gl.load: unexpected arguments {sorted(overrides)} for a gl.Trainer")
        return cls(modules, optimizers, phases, clip=config["clip"], ema=config["ema"],
                   running_average=config["running_average"], grad_norms=config["grad_norms"], seed=config["seed"])


def load(path: str, **overrides: Any) -> Any:
    """Rebuild a trainer (``gl.Trainer``, ``gl.GAN``, ...) saved with ``save`` and restore its state.

    Parameters
    ----------
    path : str
        A ``ganlib.Trainer/1`` checkpoint (or a ``ganlib.GAN/1`` file of earlier versions).
    **overrides
        Parts that cannot be stored: a plain Trainer needs ``phases=[...]`` (the same
        names); modules without a ``spec`` are passed as ``modules={name: module}``;
        model classes take their constructor's custom parts (e.g. ``G=``, ``loss=``).

    Examples
    --------
    >>> gan.save("ring.safetensors"); gan2 = gl.load("ring.safetensors")   # doctest: +SKIP
    """
    tensors, meta = load_safetensors(path)
    fmt = meta.get("format")
    if fmt == "ganlib.GAN/1":
        from .gan import _load_gan_v1
        return _load_gan_v1(path, tensors, meta, **overrides)
    if fmt != FORMAT:
        raise ValueError(f"{path}: not a ganlib checkpoint (format {fmt!r})")
    cls = _TRAINER_CLASSES.get(meta.get("class", ""))
    if cls is None:
        raise ValueError(f"{path}: unknown trainer class {meta.get('class')!r} (known: {sorted(_TRAINER_CLASSES)})")
    try:
        config = json.loads(meta["config"])
        if not isinstance(config, dict):
            raise TypeError("config is not a JSON object")
        obj = cls._from_config(path, config, **overrides)
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError, json.JSONDecodeError) as e:
        if isinstance(e, TypeError) and str(e).startswith("gl.load"):
            raise
        raise ValueError(f"{path}: damaged {FORMAT} checkpoint config ({type(e).__name__}: {e})") from None
    obj.load_state(path)
    return obj
