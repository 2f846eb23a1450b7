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

import contextlib
import math
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import _C, ops, optim as _optim
from ._checks import check_bool, check_int, check_real
from .checkpoint import (_make_optimizer, _spec_or_none, apply_state, load, register_trainer,  # noqa: F401
                         restore_trainer, save_trainer)
from .nn.layers import from_spec
from .nn.module import Module
from .streams import Data, _Batch, _check_name, _Stream, stream_key

__all__ = ["Trainer", "Phase", "Step", "Data", "load", "register_trainer", "progress_bar"]

_RESERVED = {"optimizer", "ema", "running_average", "kept", "sampler"}
# steps per C call at most, whatever log_every is: bounds the history block filled per call
_MAX_BLOCK = 1 << 16


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
        modules without one are used but not trained. A key ``"module@phase"``
        gives that module its own optimizer, with its own state, in that phase
        only (the adversarial autoencoder's separate optimizer for the
        regularisation phase); in other phases the module's plain key applies.
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
        if not isinstance(optimizers, Mapping):
            raise TypeError("Trainer: optimizers must be a dict of module name -> optimizer")
        self.optimizers: "OrderedDict[str, _optim.Optimizer]" = OrderedDict()
        self._module_of: dict[str, str] = {}      # optimizer key -> the module it updates
        for key, opt in optimizers.items():
            self._module_of[key] = self._optimizer_module(key, names)
            if not isinstance(opt, _optim.Optimizer):
                raise TypeError(f"Trainer: the optimizer of '{key}' must be a ganlib.optim optimizer such as "
                                f"gl.optim.Adam(1e-3), got {type(opt).__name__} {opt!r}")
            self.optimizers[key] = opt
        if len({id(o) for o in self.optimizers.values()}) != len(self.optimizers):
            raise ValueError("Trainer: one optimizer object is given to two modules; give each its own")
        self._check_disjoint()
        self._clip_of = self._per_module("clip", clip, lambda n, v: check_real(n, v, positive=True))
        self._ema_of = self._per_module("ema", ema, self._check_decay)
        if isinstance(running_average, (str, bytes)) or not isinstance(running_average, Iterable):
            raise TypeError(f"Trainer: running_average must be a list of module names, got {running_average!r}")
        running_average = list(running_average)
        for name in running_average:
            self._need_module("running_average", name)
        self.grad_norms = check_bool("Trainer: grad_norms", grad_norms)
        self.seed = check_int("Trainer: seed", seed, 0)
        self.step = 0

        self._ranges: dict[str, tuple[Any, int, int]] = {}   # trained module -> (buffer, offset, size)
        for key, opt in self.optimizers.items():
            name = self._module_of[key]
            m = self.modules[name]
            off, size = m.param_range()
            if size == 0:
                raise ValueError(f"Trainer: module '{name}' has no parameters to train")
            self._ranges[name] = (m.buffer, off, size)
            opt._claim(self, f"module '{key}' of a {type(self).__name__}")
            opt.bind(m.buffer.data[off:off + size], m.buffer.grad[off:off + size])
        self._averaged: dict[str, Module] = {name: self.modules[name].clone() for name in self._ema_of}
        self._running: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in running_average:
            buf, off, size = self._param_view(name)
            self._running[name] = (buf.data[off:off + size].copy(), np.zeros(1, np.int64))
        self._kept: dict[str, np.ndarray] = {}
        self._setup: dict | None = None          # the C fit for the current streams and batch sizes
        self._pending: dict | None = None        # sampler / RNG state from a checkpoint, applied on the next fit
        self._fitting = 0                        # the thread id of a running fit
        self._fit_lock = threading.Lock()

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

    def _optimizer_module(self, key: Any, phases: list[str]) -> str:
        """The module an optimizer key names: ``"module"`` or ``"module@phase"``."""
        if not isinstance(key, str):
            raise TypeError(f"Trainer: optimizer keys must be module names (str), got {key!r}")
        name, at, phase = key.partition("@")
        if name not in self.modules:
            raise ValueError(f"Trainer: optimizer for '{key}', but '{name}' is not a module ({list(self.modules)})")
        if at and phase not in phases:
            raise ValueError(f"Trainer: optimizer for '{key}', but '{phase}' is not a phase ({phases})")
        return name

    def _optimizer_key(self, module: str, phase: str) -> str | None:
        """The key of the optimizer that updates ``module`` in ``phase`` (None: not trained there)."""
        own = f"{module}@{phase}"
        if own in self.optimizers:
            return own
        return module if module in self.optimizers else None

    def _check_disjoint(self) -> None:
        """No two optimizers that can act in one phase may update the same parameters."""
        for phase in self.phases:
            seen: list[tuple[str, Any, int, int]] = []
            for name in dict.fromkeys(self._module_of.values()):
                key = self._optimizer_key(name, phase.name)
                if key is None:
                    continue
                m = self.modules[name]
                off, size = m.param_range()
                for other, buf, o2, s2 in seen:
                    if buf is m.buffer and off < o2 + s2 and o2 < off + size:
                        raise ValueError(f"Trainer: modules '{other}' and '{key}' share parameters, so they would "
                                         "be trained by two optimizers; give the optimizer to one of them")
                seen.append((key, m.buffer, off, size))

    def _param_view(self, name: str) -> tuple[Any, int, int]:
        m = self.modules[name]
        off, size = m.param_range()
        return m.buffer, off, size

    @property
    def _sample_rng(self) -> np.random.Generator:
        """The generator of a model's ``sample(seed=None)`` draws: seeded from ``seed``, then running on."""
        rng = getattr(self, "_rng_", None)
        if rng is None:
            rng = self._rng_ = np.random.default_rng(self.seed * 64 + 63)
        return rng

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

    def clear_cache(self) -> None:
        """Drop the compiled forward programs of every module and moving-average copy (their C
        arenas are freed); ``fit``'s own programs are kept. Model classes drop their sampling
        programs too.

        Examples
        --------
        >>> trainer.clear_cache()                   # doctest: +SKIP
        """
        for m in list(self.modules.values()) + list(self._averaged.values()):
            m.clear_cache()

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
    def _stream_specs(self, data: Any, batch_size: int) -> list[tuple[str, Data, int]]:
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
            out.append((name, d, d.batch_size or batch_size))
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
                if self._optimizer_key(m, phase.name) is None:
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
            optimizers.append(self.optimizers[self._optimizer_key(m, phase.name)]._c)
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
        specs = self._stream_specs(data, batch_size)
        key = tuple(stream_key(*spec) for spec in specs)
        cur = self._setup
        if cur is not None and cur["key"] == key:
            return cur    # the same arrays: nothing converted or traced again
        streams = [_Stream(*spec) for spec in specs]
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
        elif cur is not None:
            self._carry_over(cur, fit, streams, phases)
        self._setup = {"key": key, "fit": fit, "streams": streams, "phases": phases, "columns": columns}
        return self._setup

    @staticmethod
    def _carry_over(old: dict, fit: Any, streams: list[_Stream], phases: list[dict]) -> None:
        """A new setup (other arrays, other batch sizes) continues the old random streams instead of
        replaying them from their seeds: each phase's RNG, and the batch order of each stream whose
        rows and batch size are unchanged."""
        for ph, old_ph in zip(phases, old["phases"]):
            ph["program"].rng_state = old_ph["program"].rng_state
        before = {s.name: (k, s) for k, s in enumerate(old["streams"])}
        for k, s in enumerate(streams):
            if s.name in before and (before[s.name][1].n, before[s.name][1].batch) == (s.n, s.batch):
                fit.set_sampler(k, old["fit"].get_sampler(before[s.name][0]))

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
        progress = check_bool("fit: progress", progress)
        if isinstance(callbacks, (str, bytes)) or callable(callbacks):
            raise TypeError(f"fit: callbacks must be an iterable of callables (e.g. [cb]), got "
                            f"{type(callbacks).__name__}")
        callbacks = list(callbacks)
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"fit: callbacks must be callables, got {type(cb).__name__}")
        with self._fit_lock:   # one fit at a time: the check and the claim must not interleave
            if self._fitting == threading.get_ident():
                raise RuntimeError(f"{type(self).__name__}.fit was called while this trainer is already fitting "
                                   "(from a callback?); fit again after the running fit returns")
            if self._fitting:
                raise ops._busy_error(f"{type(self).__name__}.fit")
            self._fitting = threading.get_ident()
        try:
            return self._fit(data, steps, batch_size, log_every, callbacks, progress)
        finally:
            self._fitting = 0

    @contextlib.contextmanager
    def _hold_modules(self) -> Iterator[None]:
        """While C trains, a call of any of the trainer's networks from another thread gets GanlibError
        (callbacks, between the C chunks, may use them)."""
        held = []
        try:
            for name, m in list(self.modules.items()) + list(self._averaged.items()):
                lock = m.buffer._running
                if any(lock is h for h in held):
                    continue
                if not lock.acquire(blocking=False):
                    raise ops._busy_error(f"module '{name}'")
                held.append(lock)
            yield
        finally:
            for lock in held:
                lock.release()

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
                # up to the next log_every boundary, in history blocks of bounded size
                n = min(log_every - done % log_every, steps - done, _MAX_BLOCK)
                block = np.full((n, ncol), np.nan, np.float32)
                try:
                    with self._hold_modules():
                        fit.run(n, block)
                finally:
                    moved = int(fit.step) - first - done
                    done += moved
                    self.step = int(fit.step)
                    parts.append(block[:moved])
                    if bar is not None:
                        bar.update(moved)
                if moved and (done % log_every == 0 or done == steps) and (callbacks or bar is not None):
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

    # ---- checkpoints (ganlib/checkpoint.py) ------------------------------------------------------
    def _config(self) -> dict:
        """What ``gl.load`` needs to rebuild this trainer (model classes extend it)."""
        return {"modules": {n: _spec_or_none(m) for n, m in self.modules.items()},
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()},
                "phases": [p.spec() for p in self.phases], "clip": self._clip_of, "ema": self._ema_of,
                "running_average": list(self._running), "grad_norms": self.grad_norms, "seed": self.seed}

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
        save_trainer(self, path)

    def load_state(self, path: str) -> None:
        """Restore everything :meth:`save` wrote into this trainer (same modules and settings).

        All or nothing: the whole file is checked before anything is written, and
        a file that does not fit raises ValueError naming the file and the problem,
        leaving the trainer as it was.
        """
        restore_trainer(self, path)

    def _apply_state(self, path: str, tensors: dict[str, np.ndarray], state: dict) -> None:
        apply_state(self, path, tensors, state)

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
