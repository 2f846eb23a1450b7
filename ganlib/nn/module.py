"""Module: a layer or model whose parameters live in one flat float32 buffer.

Every parameter is a view into ``module.buffer.data`` and its gradient a view
into ``module.buffer.grad``: zeroing is one fill, an optimizer update is one
C loop, and the NumPy views share memory with what the C graph reads.
Composing modules (Sequential) moves the children's parameters into the
container's buffer, so views taken from a child before composition go stale.
"""
from __future__ import annotations

import contextlib
import copy
import threading
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np

from .. import ops
from .._checks import check_bool

__all__ = ["Module", "ParamBuffer"]


class ParamBuffer:
    """Flat parameter and gradient storage (64-byte aligned float32).

    Every module of a composed tree shares its root's buffer, so the buffer also
    marks the tree as in use while one of its modules runs on arrays: a call from
    a second thread meanwhile raises ``GanlibError`` (see :meth:`in_use`).
    """

    def __init__(self, size: int) -> None:
        self.data = _aligned_zeros(size)
        self.grad = _aligned_zeros(size)
        self._running = threading.Lock()

    @property
    def size(self) -> int:
        return int(self.data.size)

    @contextlib.contextmanager
    def in_use(self, what: str) -> Iterator[None]:
        """Hold the model for one call; ``GanlibError`` if another thread's call holds it."""
        if not self._running.acquire(blocking=False):
            raise ops._busy_error(what)
        try:
            yield
        finally:
            self._running.release()

    def __getstate__(self) -> dict:   # deepcopy / pickle: a lock is not copied, the copy gets its own
        state = dict(self.__dict__)
        state.pop("_running", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._running = threading.Lock()


def _aligned_zeros(n: int) -> np.ndarray:
    raw = np.zeros(n + 16, np.float32)
    off = (-raw.ctypes.data % 64) // 4
    return raw[off:off + n]


class Module:
    """Base class. Subclasses declare parameters with ``add_param`` and
    implement ``forward(x: Tensor) -> Tensor``.

    Calling a module on a :class:`ganlib.ops.Tensor` appends its forward pass
    to the graph being traced; calling it on a NumPy array runs the forward
    pass in C (compiled once per input shape) and returns a NumPy array.
    """

    def __init__(self) -> None:
        self._specs: "OrderedDict[str, tuple[int, tuple]]" = OrderedDict()  # own params: offset, shape
        self._children: "OrderedDict[str, Module]" = OrderedDict()
        self._buffers: "OrderedDict[str, np.ndarray]" = OrderedDict()  # own non-parameter state
        self.buffer = ParamBuffer(0)
        self.training = True
        self._forward_cache: dict = {}

    # ---- parameters ----
    def add_param(self, name: str, shape: tuple, init: Any, rng: np.random.Generator, **kw: Any) -> None:
        """Append a parameter of ``shape`` to this module's buffer, initialised by ``init``."""
        offset = self.buffer.size
        old = self.buffer
        size = int(np.prod(shape)) if len(shape) else 1
        self.buffer = ParamBuffer(offset + size)
        self.buffer.data[:offset] = old.data
        self._specs[name] = (offset, tuple(int(d) for d in shape))
        init(self.param(name), rng, **kw)

    # ---- buffers (state that is not a parameter: running statistics, references) ----
    def add_buffer(self, name: str, array: Any) -> np.ndarray:
        """Register a non-parameter state array (e.g. batch norm running statistics).

        The module keeps its own float32 C-contiguous copy of ``array``; it is
        not in the parameter buffer (no gradient, no optimizer update), but it is
        part of :meth:`state_dict` (under ``prefix + name``, like a PyTorch
        buffer) and is restored *in place* by :meth:`load_state_dict`, so compiled
        graphs that read it by address see loaded values.

        Parameters
        ----------
        name : str
            Name in the state dict; must not clash with a parameter of this module.
        array : array_like
            Initial value.

        Returns
        -------
        ndarray
            The module-owned array (the same object as ``get_buffer(name)``).

        Examples
        --------
        >>> m = gl.nn.Module()
        >>> m.add_buffer("count", np.zeros(1)).dtype
        dtype('float32')
        """
        if name in self._specs:
            raise ValueError(f"add_buffer: {name!r} is already a parameter of {type(self).__name__}")
        arr = np.array(array, dtype=np.float32, order="C", copy=True)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        self._buffers[name] = arr
        return arr

    def get_buffer(self, name: str) -> np.ndarray:
        """The module-owned array of one of this module's own buffers (see :meth:`add_buffer`)."""
        if name not in self._buffers:
            raise KeyError(f"{type(self).__name__} has no buffer {name!r}; buffers: {list(self._buffers)}")
        return self._buffers[name]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) pairs of every buffer in the tree; names like ``"1.running_mean"``."""
        for name, arr in self._buffers.items():
            yield prefix + name, arr
        for cname, child in self._children.items():
            yield from child.named_buffers(prefix + cname + ".")

    def buffers(self) -> "OrderedDict[str, np.ndarray]":
        """Named buffers (the module-owned arrays, not copies)."""
        return OrderedDict(self.named_buffers())

    def buffer_tensor(self, name: str) -> "ops.Tensor":
        """A buffer as a node of the current trace that reads the array at every run.

        Used inside ``forward`` for state that changes between runs without a
        retrace (e.g. a reference batch's statistics). It is not a parameter:
        ``gl.grad(loss, module)`` never differentiates with respect to it.
        """
        arr = self.get_buffer(name)
        return ops.current_trace().param(arr.reshape(-1), 0, arr.shape) if arr.ndim != 1 else \
            ops.current_trace().param(arr, 0, arr.shape)

    def _named_state(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, bool]]:
        """(name, array, is_buffer) in PyTorch's state_dict order: own parameters,
        own buffers, then each child."""
        for name in self._specs:
            yield prefix + name, self.param(name), False
        for name, arr in self._buffers.items():
            yield prefix + name, arr, True
        for cname, child in self._children.items():
            yield from child._named_state(prefix + cname + ".")

    def add_child(self, name: str, child: "Module") -> None:
        if not isinstance(child, Module):
            raise TypeError(f"child {name!r} must be a ganlib Module, got {type(child).__name__}")
        self._children[name] = child

    def param(self, name: str) -> np.ndarray:
        """The NumPy view of one of this module's own parameters."""
        off, shape = self._specs[name]
        size = int(np.prod(shape)) if len(shape) else 1
        return self.buffer.data[off:off + size].reshape(shape)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(name, view) pairs; names like ``"0.weight"`` as in PyTorch."""
        for name in self._specs:
            yield prefix + name, self.param(name)
        for cname, child in self._children.items():
            yield from child.named_parameters(prefix + cname + ".")

    def parameters(self) -> "OrderedDict[str, np.ndarray]":
        """Named NumPy views sharing memory with the C parameter buffer."""
        return OrderedDict(self.named_parameters())

    def named_grads(self) -> "OrderedDict[str, np.ndarray]":
        """Named views of the gradient buffer (filled by compiled training steps)."""
        out = OrderedDict()
        for m, name, off, shape in self._slots():
            size = int(np.prod(shape)) if len(shape) else 1
            out[name] = m.buffer.grad[off:off + size].reshape(shape)
        return out

    def param_range(self) -> tuple[int, int]:
        """(offset, size) of this module's parameters inside ``self.buffer``.

        A module's parameters are one contiguous run of its buffer even when the
        module sits inside a container that shares the buffer (the container lays
        each subtree out in one piece), so an optimizer or an average can own
        exactly this module's range.

        Examples
        --------
        >>> E, Dec = gl.nn.mlp(4, [8], 2, seed=0), gl.nn.mlp(2, [8], 4, seed=1)
        >>> ae = gl.nn.Sequential(E, Dec)
        >>> E.param_range(), Dec.param_range()
        ((0, 58), (58, 60))
        """
        slots = [(off, int(np.prod(shape)) if len(shape) else 1) for _, _, off, shape in self._slots()]
        if not slots:
            return 0, 0
        start, pos = slots[0][0], slots[0][0]
        for off, size in slots:
            if off != pos:   # cannot happen for trees built by _adopt_children
                raise ValueError(f"{type(self).__name__}: parameters are not one contiguous range of its buffer")
            pos += size
        return start, pos - start

    def num_parameters(self) -> int:
        return int(sum(p.size for _, p in self.named_parameters()))

    def _slots(self, prefix: str = "") -> Iterator[tuple["Module", str, int, tuple]]:
        for name, (off, shape) in self._specs.items():
            yield self, prefix + name, off, shape
        for cname, child in self._children.items():
            yield from child._slots(prefix + cname + ".")

    def _adopt_children(self) -> None:
        """Move every descendant's parameters into one buffer owned by self.

        _slots and _modules walk the tree in the same order, so the copy and
        the rebinding agree on each parameter's new offset.
        """
        slots = list(self._slots())
        sizes = [int(np.prod(s)) if len(s) else 1 for _, _, _, s in slots]
        buf = ParamBuffer(sum(sizes))
        pos = 0
        for (m, _, off, _), size in zip(slots, sizes):
            buf.data[pos:pos + size] = m.buffer.data[off:off + size]
            pos += size
        pos = 0
        for m in self._modules():
            for name, (_, shape) in list(m._specs.items()):
                m._specs[name] = (pos, shape)
                pos += int(np.prod(shape)) if len(shape) else 1
            m.buffer = buf
            m._forward_cache = {}

    def _modules(self) -> Iterator["Module"]:
        yield self
        for child in self._children.values():
            yield from child._modules()

    def _couples_rows(self) -> bool:
        """Whether this module alone makes an output row depend on other rows of its batch."""
        return False

    def mixes_rows(self) -> bool:
        """Whether an output row depends on the other rows of its batch (batch norm in training mode,
        minibatch discrimination): two batches through such a module are not one batch of both.

        Examples
        --------
        >>> gl.nn.Sequential(gl.nn.Linear(2, 2, seed=0), gl.nn.BatchNorm(2)).mixes_rows()
        True
        """
        return any(m._couples_rows() for m in self._modules())

    def on_batches(self, *batches: "ops.Tensor") -> tuple["ops.Tensor", ...]:
        """``(self(b) for b in batches)`` inside a traced step, computed as **one** batch of all their rows
        when no output row depends on the others (:meth:`mixes_rows`): larger matrix products, the
        weights read once and their gradients summed inside one product; batch by batch otherwise.

        Examples
        --------
        >>> D = gl.nn.mlp(4, [8], 1, seed=0)
        >>> f = gl.ops.Function(lambda a, b: D.on_batches(a, b))
        >>> [o.shape for o in f(np.ones((2, 4), np.float32), np.zeros((3, 4), np.float32))]
        [(2, 1), (3, 1)]
        """
        if len(batches) < 2 or self.mixes_rows():
            return tuple(self(b) for b in batches)
        out = self(ops.concat(list(batches), axis=0))
        starts = np.cumsum([0] + [b.shape[0] for b in batches])
        return tuple(ops.slice(out, int(a), int(e), axis=0) for a, e in zip(starts[:-1], starts[1:]))

    def param_tensors(self, trace: "ops.Trace") -> list["ops.Tensor"]:
        """This module's parameters as PARAM nodes of ``trace`` (named_parameters order)."""
        return [trace.param(m.buffer.data, off, shape) for m, _, off, shape in self._slots()]

    def call_with(self, params: list["ops.Tensor"], x: "ops.Tensor") -> "ops.Tensor":
        """Run forward on x with ``params`` (Tensors, named_parameters order) in place
        of this module's own parameters, e.g. a discriminator advanced k steps."""
        tr = x.trace
        slots = list(self._slots())
        if len(params) != len(slots):
            raise ValueError(f"call_with: expected {len(slots)} parameter tensors, got {len(params)}")
        saved = dict(tr._subst)
        for (m, name, off, shape), t in zip(slots, params):
            if tuple(t.shape) != tuple(shape):
                raise ValueError(f"call_with: {name} needs shape {shape}, got {t.shape}")
            tr._subst[(id(m.buffer.data), off, tuple(shape))] = t
        try:
            return self.forward(x)
        finally:
            tr._subst = saved

    def p(self, name: str) -> "ops.Tensor":
        """A parameter as a node of the current trace (for use inside ``forward``)."""
        off, shape = self._specs[name]
        return ops.current_trace().param(self.buffer.data, off, shape)

    def clone(self) -> "Module":
        """A deep copy with its own parameter buffer (same values)."""
        caches = [(m, m._forward_cache) for m in self._modules()]
        for m, _ in caches:
            m._forward_cache = {}  # compiled programs are not copyable; the clone rebuilds its own
        try:
            return copy.deepcopy(self)
        finally:
            for m, cache in caches:
                m._forward_cache = cache

    # ---- state ----
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer (e.g. ``running_mean``), by name.

        The order is PyTorch's: each module's parameters, then its buffers, then
        its children.

        Examples
        --------
        >>> net = gl.nn.Sequential(gl.nn.Linear(2, 3), gl.nn.BatchNorm(3))
        >>> list(net.state_dict())
        ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var']
        """
        return OrderedDict((k, v.copy()) for k, v, _ in self._named_state())

    def load_state_dict(self, state: dict) -> None:
        """Copy values in; names and shapes must match exactly (checked before any copy).

        Every parameter must be present. Buffers (running statistics, references)
        are restored when present; a buffer missing from ``state`` keeps its
        current value, so a parameters-only dict (e.g. ``module.parameters()``)
        still loads. Buffers are written in place, so compiled graphs that read
        them see the loaded values.
        """
        own = OrderedDict((k, (v, is_buf)) for k, v, is_buf in self._named_state())
        missing = [k for k, (_, is_buf) in own.items() if k not in state and not is_buf]
        extra = [k for k in state if k not in own]
        if missing or extra:
            raise ValueError(f"load_state_dict: missing keys {missing}, unexpected keys {extra}")
        arrays = {}
        for k, (v, _) in own.items():
            if k not in state:
                continue
            a = np.asarray(state[k])
            if a.shape != v.shape:
                raise ValueError(f"load_state_dict: {k!r} has shape {a.shape}, expected {v.shape}")
            if a.dtype.kind not in "fiu":
                raise TypeError(f"load_state_dict: {k!r} has dtype {a.dtype}, expected a float array")
            with np.errstate(over="ignore", invalid="ignore"):   # what float32 cannot hold becomes inf
                a = a.astype(np.float32)
            bad = ~np.isfinite(a)
            if bad.any():
                raise ValueError(f"load_state_dict: {k!r} contains NaN or inf as float32 ({int(bad.sum())} values; "
                                 f"float32 holds magnitudes up to {float(np.finfo(np.float32).max):.4g})")
            arrays[k] = a
        for k, (v, _) in own.items():
            if k in arrays:
                v[...] = arrays[k]

    # ---- modes ----
    def train(self, mode: bool = True) -> "Module":
        """Training mode (``mode=True``, the default of a new module) or eval mode, for every submodule.

        Batch norm in training mode normalises with each batch's statistics and
        updates its running statistics at every run on arrays; in eval mode it
        normalises with the running statistics. Dropout is active in training mode only.
        """
        mode = check_bool("train: mode", mode)
        for m in self._modules():
            m.training = mode
            m._forward_cache = {}
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ---- calling ----
    def spec(self) -> dict:
        """A JSON-able description of the architecture (see ``gl.nn.from_spec``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot describe itself; "
                                  "pass the module explicitly when loading")

    def forward(self, *inputs: "ops.Tensor") -> "ops.Tensor":
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def __call__(self, *inputs: Any) -> Any:
        """Symbolic Tensors in: append the forward pass to their graph. Arrays in: run
        it in C and return an array.

        Several inputs go to ``forward`` in order, e.g. a conditional generator
        ``G(z, y)``; symbolic and array inputs are not mixed.

        On arrays, the forward pass is compiled once per input shapes; the
        ``gl.ops.CACHE_SIZE`` (4) most recently used shapes keep their compiled
        program (and its C arena), older ones are dropped and compiled again if
        they come back (:meth:`clear_cache` drops them all). In training mode a
        run updates batch norm's running statistics, as in PyTorch. A model runs
        one call at a time: calling it (or any module of the same composed model)
        while another thread's call runs raises ``GanlibError``; use one model per
        thread, or a lock.
        """
        if not inputs:
            raise TypeError(f"{type(self).__name__} needs at least one input")
        tensors = [isinstance(x, ops.Tensor) for x in inputs]
        if all(tensors):
            return self.forward(*inputs)
        if any(tensors):
            raise TypeError(f"{type(self).__name__}: inputs mix symbolic Tensors and arrays")
        return self._run_arrays("fn", inputs)

    def _run_arrays(self, kind: str, inputs: tuple) -> Any:
        """Run the forward pass on arrays: ``kind`` "fn" as a call, "read" leaving running statistics as they are."""
        fn = self._forward_cache.get(kind)
        if fn is None:
            fn = ops.Function(self.forward, training=self.training, update_state=kind != "read")
            fn.__name__ = type(self).__name__
            self._forward_cache[kind] = fn
        running = self.buffer._running   # ParamBuffer.in_use, without a generator per call
        if not running.acquire(blocking=False):
            raise ops._busy_error(type(self).__name__)
        try:
            return fn(*inputs)
        finally:
            running.release()

    def _read(self, *inputs: Any) -> Any:
        """The forward pass on arrays without updating any running statistics (batch norm in
        training mode uses the batch's statistics): what ``GAN.generate`` / ``discriminate`` use."""
        return self._run_arrays("read", inputs)

    def clear_cache(self) -> "Module":
        """Drop the compiled forward programs of this module and every submodule (their C arenas
        are freed); the next call on arrays compiles again.

        Returns
        -------
        Module
            ``self``.

        Examples
        --------
        >>> net = gl.nn.mlp(2, [8], 1, seed=0)
        >>> _ = net(np.zeros((5, 2), np.float32))
        >>> _ = net.clear_cache()
        """
        for m in self._modules():
            for fn in list(m._forward_cache.values()):
                fn.clear_cache()
        return self

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._children.items())
        return f"{type(self).__name__}({inner})"
