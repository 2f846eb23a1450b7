"""Symbolic tensors: write a computation in Python, run it in C.

A Python function over :class:`Tensor` objects is traced once into C graph
nodes; the compiled graph then runs on NumPy arrays with no Python in the loop.
:func:`grad` appends gradient nodes to the same graph, so the gradient of an
expression that already contains a gradient works (gradient penalties).

Examples
--------
>>> import numpy as np, ganlib as gl
>>> @gl.function
... def f(x):
...     y = gl.ops.sum(gl.ops.tanh(x) ** 2)
...     (dx,) = gl.grad(y, [x])
...     return y, dx
>>> y, dx = f(np.ones((2, 3), np.float32))
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np

from . import _C
from ._checks import check_bool, check_int, check_range

__all__ = [
    "Tensor", "Trace", "function", "grad", "current_trace",
    "add", "sub", "mul", "div", "neg", "scale", "exp", "log", "sqrt", "square", "abs",
    "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "log_sigmoid", "clip", "sign",
    "logsumexp", "sumsq_rows", "sum", "mean", "matmul", "concat", "slice", "reshape", "flatten",
    "broadcast_to", "sum_to", "stop_gradient", "dropout", "constant", "zeros", "ones", "full",
    "rand", "randn", "rand_onehot", "bernoulli", "softmax_cross_entropy",
    "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "upsample_nearest", "batch_norm", "instance_norm",
    "one_hot", "argmax", "argmin", "roll", "CACHE_SIZE", "LRUCache",
]

#: Compiled programs kept by each :class:`Function` (and so by each module called on
#: arrays): one per input-shape signature, the least recently used dropped first with
#: its C arena. ``gl.function(cache_size=...)`` sets it per function.
CACHE_SIZE = 4

Shape = tuple


class Trace:
    """One C graph being built. Parameter nodes are memoised per buffer slice."""

    def __init__(self) -> None:
        self.graph = _C.Graph()
        self._params: dict[tuple[int, int, tuple], Tensor] = {}
        self._buffers: list[np.ndarray] = []   # keep param buffers alive and identifiable
        self._subst: dict[tuple[int, int, tuple], Tensor] = {}
        self.training = True
        # False: ops that keep running state (batch norm in training mode) leave it unchanged
        self.update_state = True

    def input(self, shape: Sequence[int]) -> "Tensor":
        return Tensor(self, self.graph.input(tuple(int(d) for d in shape)))

    def param(self, buffer: np.ndarray, offset: int, shape: Sequence[int]) -> "Tensor":
        key = (id(buffer), int(offset), tuple(shape))
        if key in self._subst:  # a module called with substituted parameters (unrolled steps)
            return self._subst[key]
        t = self._params.get(key)
        if t is None:
            t = Tensor(self, self.graph.param(buffer, int(offset), tuple(shape)))
            self._params[key] = t
            self._buffers.append(buffer)
        return t


_local = threading.local()


def current_trace() -> Trace:
    """The trace being built in this thread (inside :func:`function` or :class:`tracing`)."""
    tr = getattr(_local, "trace", None)
    if tr is None:
        raise RuntimeError("no graph is being traced: call this inside a function decorated "
                           "with @ganlib.function, or pass Tensors")
    return tr


class tracing:
    """Context manager making ``trace`` the current trace (nestable)."""

    def __init__(self, trace: Trace) -> None:
        self.trace, self.prev = trace, None

    def __enter__(self) -> Trace:
        self.prev = getattr(_local, "trace", None)
        _local.trace = self.trace
        return self.trace

    def __exit__(self, *exc: Any) -> None:
        _local.trace = self.prev


class Tensor:
    """A symbolic float32 tensor: a node of a graph being traced.

    Supports ``+ - * / **``, unary minus and ``@`` with Tensors and Python
    numbers; NumPy-style broadcasting of a row, column or scalar.
    """

    __slots__ = ("trace", "id")
    __array_priority__ = 1000  # make ndarray op Tensor defer to Tensor

    def __init__(self, trace: Trace, node: int) -> None:
        self.trace, self.id = trace, node

    @property
    def shape(self) -> Shape:
        return self.trace.graph.shape(self.id)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def op(self) -> str:
        return self.trace.graph.op(self.id)

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, op={self.op!r}, node={self.id})"

    def __add__(self, o): return add(self, o)
    def __radd__(self, o): return add(o, self)
    def __sub__(self, o): return sub(self, o)
    def __rsub__(self, o): return sub(o, self)
    def __mul__(self, o): return mul(self, o)
    def __rmul__(self, o): return mul(o, self)
    def __truediv__(self, o): return div(self, o)
    def __rtruediv__(self, o): return div(o, self)
    def __neg__(self): return neg(self)
    def __matmul__(self, o): return matmul(self, o)
    def __rmatmul__(self, o): return matmul(o, self)

    def __pow__(self, p):
        if p == 2:
            return square(self)
        if p == 0.5:
            return sqrt(self)
        if p == 1:
            return self
        if p == -1:
            return div(1.0, self)
        raise ValueError(f"Tensor ** {p!r}: only the powers -1, 0.5, 1 and 2 are supported; "
                         "use exp(p * log(x)) for others")

    def __bool__(self):
        raise TypeError("a symbolic Tensor has no truth value while tracing")

    @property
    def T(self) -> "Tensor":
        raise TypeError("use matmul(a, b, trans_a=..., trans_b=...) instead of .T")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.floating, np.integer)) and not isinstance(x, bool)


def _trace_of(*xs: Any) -> Trace:
    tr = None
    for x in xs:
        if isinstance(x, Tensor):
            if tr is not None and x.trace is not tr:
                raise ValueError("Tensors from two different traced functions cannot be combined")
            tr = x.trace
    return tr if tr is not None else current_trace()


def _as_tensor(x: Any, tr: Trace) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if _is_number(x):
        return Tensor(tr, tr.graph.fill((), float(x)))
    if isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        return Tensor(tr, tr.graph.const(arr))
    raise TypeError(f"cannot use {type(x).__name__} as a tensor")


def _un(op: str, x: Tensor, f0: float = 0.0, f1: float = 0.0) -> Tensor:
    tr = _trace_of(x)
    x = _as_tensor(x, tr)
    return Tensor(tr, tr.graph.unary(op, x.id, float(f0), float(f1)))


def _bin(op: str, a: Any, b: Any) -> Tensor:
    tr = _trace_of(a, b)
    a, b = _as_tensor(a, tr), _as_tensor(b, tr)
    return Tensor(tr, tr.graph.binary(op, a.id, b.id))


# ---- elementwise -------------------------------------------------------------

def add(a: Any, b: Any) -> Tensor:
    """a + b with broadcasting. A Python number folds into one scale node."""
    if _is_number(b) and isinstance(a, Tensor):
        return _un("scale", a, 1.0, float(b))
    if _is_number(a) and isinstance(b, Tensor):
        return _un("scale", b, 1.0, float(a))
    return _bin("add", a, b)


def sub(a: Any, b: Any) -> Tensor:
    """a - b with broadcasting."""
    if _is_number(b) and isinstance(a, Tensor):
        return _un("scale", a, 1.0, -float(b))
    if _is_number(a) and isinstance(b, Tensor):
        return _un("scale", b, -1.0, float(a))
    return _bin("sub", a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a * b with broadcasting."""
    if _is_number(b) and isinstance(a, Tensor):
        return _un("scale", a, float(b))
    if _is_number(a) and isinstance(b, Tensor):
        return _un("scale", b, float(a))
    return _bin("mul", a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b with broadcasting."""
    if _is_number(b) and isinstance(a, Tensor):
        return _un("scale", a, 1.0 / float(b))
    return _bin("div", a, b)


def neg(x: Tensor) -> Tensor: return _un("neg", x)
def scale(x: Tensor, s: float, shift: float = 0.0) -> Tensor:
    """s * x + shift."""
    return _un("scale", x, s, shift)
def exp(x: Tensor) -> Tensor: return _un("exp", x)
def log(x: Tensor) -> Tensor: return _un("log", x)
def sqrt(x: Tensor) -> Tensor: return _un("sqrt", x)
def square(x: Tensor) -> Tensor: return _un("square", x)
def abs(x: Tensor) -> Tensor: return _un("abs", x)  # noqa: A001 - mirrors numpy
def relu(x: Tensor) -> Tensor: return _un("relu", x)
def leaky_relu(x: Tensor, slope: float = 0.01) -> Tensor:
    """x if x > 0 else slope * x."""
    return _un("leaky_relu", x, slope)
def tanh(x: Tensor) -> Tensor: return _un("tanh", x)
def sigmoid(x: Tensor) -> Tensor: return _un("sigmoid", x)
def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)), computed stably."""
    return _un("softplus", x)
def log_sigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), computed stably."""
    return _un("log_sigmoid", x)
def clip(x: Tensor, low: float, high: float) -> Tensor:
    """min(max(x, low), high); gradient 1 inside [low, high], 0 outside."""
    return _un("clip", x, low, high)
def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1; zero derivative."""
    return _un("sign", x)


# ---- reductions ----------------------------------------------------------------

def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(check_int("axis", a) for a in axis)
    else:
        axes = (check_int("axis (an int or a tuple of ints)", axis),)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a {ndim}-D tensor")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (None: all; int or tuple of ints)."""
    shape = x.shape
    axes = _axes(axis, len(shape))
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    tr = x.trace
    if axis is None and not keepdims:
        return Tensor(tr, tr.graph.sum_to(x.id, ()))
    y = Tensor(tr, tr.graph.sum_to(x.id, kept))
    if not keepdims:
        y = reshape(y, tuple(d for i, d in enumerate(shape) if i not in axes))
    return y


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (None: all)."""
    shape = x.shape
    count = 1
    for a in _axes(axis, len(shape)):
        count *= shape[a]
    if count == 0:
        raise ValueError(f"mean over an empty axis of shape {shape}")
    return scale(sum(x, axis, keepdims), 1.0 / count)


def logsumexp(x: Tensor, axis: int = 1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over the features of a 2-D (batch, features) tensor."""
    axis = check_int("logsumexp: axis", axis)
    if x.ndim != 2 or axis not in (1, -1):
        raise ValueError(f"logsumexp runs over axis 1 of a 2-D tensor, got shape {x.shape}, axis {axis}")
    y = Tensor(x.trace, x.trace.graph.logsumexp(x.id))
    return y if keepdims else reshape(y, (x.shape[0],))


def sumsq_rows(x: Tensor, keepdims: bool = False) -> Tensor:
    """The sum of squares of each row of a 2-D tensor, shape ``(rows,)`` (``(rows, 1)`` with ``keepdims``).

    ``sum(square(x), axis=1)`` in one read of ``x`` (no squared copy): the squared
    norms of a weight matrix's rows, as weight normalisation needs at every step.
    Its gradient ``2 x G`` is one broadcast product; differentiable to any order.

    Examples
    --------
    >>> f = gl.function(lambda x: gl.ops.sumsq_rows(x))
    >>> f(np.array([[3.0, 4.0], [1.0, 2.0]], np.float32))
    array([25.,  5.], dtype=float32)
    """
    tr = _trace_of(x)
    x = _as_tensor(x, tr)
    y = Tensor(tr, tr.graph.sumsq_rows(x.id))                # the core checks that x is 2-D
    return y if check_bool("sumsq_rows: keepdims", keepdims) else reshape(y, (x.shape[0],))


def sum_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Sum the broadcast dimensions of x away, down to ``shape``."""
    return Tensor(x.trace, x.trace.graph.sum_to(x.id, tuple(shape)))


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Repeat x up to ``shape`` (NumPy broadcasting rules)."""
    return Tensor(x.trace, x.trace.graph.broadcast_to(x.id, tuple(shape)))


# ---- linear algebra and layout -------------------------------------------------------

def matmul(a: Tensor, b: Tensor, trans_a: bool = False, trans_b: bool = False) -> Tensor:
    """op(a) @ op(b) for 2-D tensors; op transposes when the flag is set."""
    tr = _trace_of(a, b)
    a, b = _as_tensor(a, tr), _as_tensor(b, tr)
    return Tensor(tr, tr.graph.matmul(a.id, b.id, bool(trans_a), bool(trans_b)))


def concat(xs: Sequence[Tensor], axis: int = 1) -> Tensor:
    """Concatenate along axis 1 (features / channels) or axis 0 (rows: batches of the same row shape)."""
    if axis not in (0, 1):
        raise ValueError("concat joins along axis 1 (features or channels) or axis 0 (rows) only")
    xs = list(xs)
    if not xs:
        raise ValueError("concat of an empty list")
    tr = _trace_of(*xs)
    if axis == 0:   # rows are contiguous: each batch as one long row, joined along axis 1
        xs = [_as_tensor(x, tr) for x in xs]
        rest = xs[0].shape[1:]
        if any(x.ndim == 0 or x.shape[1:] != rest for x in xs):
            raise ValueError(f"concat(axis=0): every tensor must have rows of the same shape, got "
                             f"{[x.shape for x in xs]}")
        joined = concat([reshape(x, (1, -1)) for x in xs], axis=1)
        return reshape(joined, (int(np.sum([x.shape[0] for x in xs])),) + tuple(rest))
    while len(xs) > 8:  # the C op takes up to 8 inputs
        xs = [concat(xs[:8])] + xs[8:]
    return Tensor(tr, tr.graph.concat([_as_tensor(x, tr).id for x in xs]))


def slice(x: Tensor, start: int, stop: int, axis: int = 1) -> Tensor:  # noqa: A001
    """x[:, start:stop] (along axis 1), or x[start:stop] (axis 0: rows)."""
    if axis not in (0, 1):
        raise ValueError("slice cuts along axis 1 (features or channels) or axis 0 (rows) only")
    start, stop = int(start), int(stop)
    if axis == 0:   # rows are contiguous: the batch as one long row, cut along axis 1
        if x.ndim == 0 or not 0 <= start < stop <= x.shape[0]:
            raise ValueError(f"slice(axis=0): rows [{start}, {stop}) of a tensor of shape {x.shape}")
        width = int(np.prod(x.shape[1:]))
        cut = slice(reshape(x, (1, -1)), start * width, stop * width, axis=1)
        return reshape(cut, (stop - start,) + tuple(x.shape[1:]))
    return Tensor(x.trace, x.trace.graph.slice(x.id, start, stop - start))


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Same elements, new shape; one dimension may be -1."""
    shape = list(shape)
    if shape.count(-1) > 1:
        raise ValueError("reshape: only one dimension may be -1")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        total = int(np.prod(x.shape))
        if known == 0 or total % known:
            raise ValueError(f"reshape: cannot reshape {x.shape} to {tuple(shape)}")
        shape[shape.index(-1)] = total // known
    return Tensor(x.trace, x.trace.graph.reshape(x.id, tuple(shape)))


def stop_gradient(x: Tensor) -> Tensor:
    """A copy of x that gradients do not flow through (treated as a constant by grad)."""
    return Tensor(x.trace, x.trace.graph.stop_gradient(x.id))


def flatten(x: Tensor) -> Tensor:
    """(N, ...) -> (N, prod(...))."""
    return reshape(x, (x.shape[0], -1))


# ---- constants and randomness ------------------------------------------------------------

def constant(value: Any) -> Tensor:
    """A constant tensor (a copy of ``value``) in the current trace."""
    return _as_tensor(value if isinstance(value, np.ndarray) else np.asarray(value, np.float32), current_trace())


def full(shape: Sequence[int], value: float) -> Tensor:
    tr = current_trace()
    return Tensor(tr, tr.graph.fill(tuple(shape), float(value)))


def zeros(shape: Sequence[int]) -> Tensor: return full(shape, 0.0)
def ones(shape: Sequence[int]) -> Tensor: return full(shape, 1.0)


def rand(shape: Sequence[int], low: float = 0.0, high: float = 1.0) -> Tensor:
    """Fresh U(low, high) draws every run, from the program's seeded RNG."""
    tr = current_trace()
    return Tensor(tr, tr.graph.random("uniform", tuple(shape), float(low), float(high)))


def randn(shape: Sequence[int], mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fresh N(mean, std^2) draws every run, from the program's seeded RNG."""
    tr = current_trace()
    return Tensor(tr, tr.graph.random("normal", tuple(shape), float(mean), float(std)))


def rand_onehot(batch: int, n: int) -> Tensor:
    """(batch, n): each row one-hot at an index drawn uniformly from [0, n), fresh each run."""
    tr = current_trace()
    return Tensor(tr, tr.graph.random("onehot", (int(batch), int(n)), 0.0, 0.0))


def dropout(x: Tensor, p: float, training: bool | None = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p).

    Draws a fresh seeded mask each run; the identity when not training.
    """
    p = check_range("dropout probability", p, 0.0, 1.0, high_open=True)
    training = x.trace.training if training is None else training
    if not training or p == 0.0:
        return x
    mask = Tensor(x.trace, x.trace.graph.random("dropout", x.shape, float(p), 0.0))
    return mul(x, mask)


def bernoulli(p: Tensor) -> Tensor:
    """Bernoulli samples: each element 1 with probability ``p``, else 0, drawn afresh every run.

    The draws come from the program's seeded RNG (like :func:`rand` and
    :func:`dropout`): the same seed gives the same samples, each run new ones.
    Dynamically binarised MNIST for a VAE is ``x = ops.bernoulli(b.data.x)``
    inside a phase: every step sees a new binarisation, drawn in C.

    Parameters
    ----------
    p : Tensor
        Probabilities, any shape (0-D to 4-D). Values below 0 act as 0, values
        above 1 as 1; a NaN gives a NaN sample (so a finiteness check on a loss
        that reads it reports it).

    Returns
    -------
    Tensor
        Same shape as ``p``, float32, every element 0.0 or 1.0 (NaN where ``p``
        is NaN). ``P(1) = p`` up to 2**-24 (one uniform float on a 2**-24 grid
        per element, compared with ``p``).

    Notes
    -----
    Not differentiable: :func:`grad` raises ``GanlibError`` ("bernoulli is not
    differentiable ... wrap its input in ops.stop_gradient ...") when a gradient
    would have to pass into ``p``, exactly as for :func:`argmax`. A ``p`` that
    does not depend on what is differentiated (a data batch, or a value behind
    :func:`stop_gradient`) is fine.

    Examples
    --------
    >>> f = gl.function(lambda p: gl.ops.bernoulli(p), seed=0)
    >>> f(np.array([[0.0, 1.0, 2.0, -1.0]], np.float32))
    array([[0., 1., 1., 0.]], dtype=float32)
    >>> round(float(f(np.full((1, 100_000), 0.3, np.float32)).mean()), 2)
    0.3
    """
    tr = _trace_of(p)
    p = _as_tensor(p, tr)
    return Tensor(tr, tr.graph.bernoulli(p.id))


def softmax_cross_entropy(logits: Tensor, onehot: Tensor) -> Tensor:
    """Mean over the batch of -sum(onehot * log_softmax(logits))."""
    lse = logsumexp(logits, keepdims=True)
    return mean(sum(mul(onehot, sub(lse, logits)), axis=1))


# ---- labels and batch layout ----------------------------------------------------------

_MAX_CLASSES = 1 << 24  # every class index below this is exact as a float32


def _int_arg(v: Any, name: str) -> int:
    return check_int(name, v)


def one_hot(indices: Tensor, num_classes: int) -> Tensor:
    """One-hot rows of integer class indices (like ``torch.nn.functional.one_hot``).

    Parameters
    ----------
    indices : Tensor
        Shape (B,) or (B, 1): class indices stored as floats, e.g. a label
        column of a data batch.
    num_classes : int
        Number of classes K, 1 <= K <= 2**24.

    Returns
    -------
    Tensor
        (B, K) float32 rows with a single 1 at column ``indices[b]``.

    Notes
    -----
    Every index must be an integer in [0, K): a run that meets another value
    (NaN, inf, 2.5, -1, K) fails with a ValueError naming the first such row,
    e.g. ``"one_hot: row 3 holds 2.5, which is not an integer class index in
    [0, 10)"``; nothing is rounded or clamped, and no all-zero row is made.
    The indices are discrete, so ``one_hot`` has zero derivative (like
    :func:`sign`): no gradient flows back into ``indices``.

    Examples
    --------
    >>> f = gl.function(lambda y: gl.ops.one_hot(y, 3))
    >>> f(np.array([2.0, 0.0], np.float32))
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    tr = _trace_of(indices)
    indices = _as_tensor(indices, tr)
    k = _int_arg(num_classes, "one_hot: num_classes")
    if not 1 <= k <= _MAX_CLASSES:
        raise ValueError(f"one_hot: num_classes must be in [1, {_MAX_CLASSES}], got {k}")
    s = indices.shape
    if not (len(s) == 1 or (len(s) == 2 and s[1] == 1)):
        raise ValueError(f"one_hot: indices must have shape (batch,) or (batch, 1), got {s}")
    return Tensor(tr, tr.graph.one_hot(indices.id, k))


def _arg_extreme(kind: str, x: Tensor, axis: int) -> Tensor:
    tr = _trace_of(x)
    x = _as_tensor(x, tr)
    axis = check_int(f"{kind}: axis", axis)
    if x.ndim != 2 or axis not in (1, -1):
        raise ValueError(f"{kind} works along axis 1 of a 2-D (batch, K) tensor, got shape {x.shape}, "
                         f"axis {axis}")
    if x.shape[1] < 1:
        raise ValueError(f"{kind}: needs K >= 1 values per row, got shape {x.shape}")
    return Tensor(tr, getattr(tr.graph, kind)(x.id))


def argmax(x: Tensor, axis: int = 1) -> Tensor:
    """One-hot rows marking the largest value of each row of a 2-D (B, K) tensor.

    Parameters
    ----------
    x : Tensor
        Shape (B, K), K >= 1.
    axis : int
        1 (or -1): the op works along the rows only.

    Returns
    -------
    Tensor
        (B, K) float32 with one 1 per row, at ``numpy.argmax(x, axis=1)``:
        ties go to the first index, and a NaN counts as the largest value (the
        first NaN of the row wins).  ``one_hot @ table`` looks rows up
        (cluster centres, a codebook); ``sum(argmax(logits) * labels)``
        counts correct predictions.

    Notes
    -----
    Not differentiable: :func:`grad` raises ``GanlibError`` ("argmax is not
    differentiable: wrap its input in ops.stop_gradient ...") when a gradient
    would have to pass into ``x``.  Put the input behind :func:`stop_gradient`;
    gradients with respect to tensors that are not upstream of ``x`` (e.g. the
    table a one-hot row selects from) work as usual.

    Examples
    --------
    >>> f = gl.function(lambda x: gl.ops.argmax(x))
    >>> f(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], np.float32))
    array([[0., 1., 0.],
           [1., 0., 0.]], dtype=float32)
    """
    return _arg_extreme("argmax", x, axis)


def argmin(x: Tensor, axis: int = 1) -> Tensor:
    """One-hot rows marking the smallest value of each row of a 2-D (B, K) tensor.

    The mirror of :func:`argmax` (ties: first index; a NaN wins, the first
    one, as ``numpy.argmin``), with the same refusal to differentiate through
    its input.  A VQ-VAE's codebook look-up is
    ``matmul(argmin(stop_gradient(distances)), codebook)``: its gradient
    reaches the codebook, never the distances.

    Parameters
    ----------
    x : Tensor
        Shape (B, K), K >= 1.
    axis : int
        1 (or -1).

    Returns
    -------
    Tensor
        (B, K) float32 one-hot rows at ``numpy.argmin(x, axis=1)``.

    Examples
    --------
    >>> f = gl.function(lambda d, c: gl.ops.matmul(gl.ops.argmin(gl.ops.stop_gradient(d)), c))
    >>> d = np.array([[0.5, 0.1], [0.2, 0.9]], np.float32)
    >>> f(d, np.array([[1.0, 1.0], [2.0, 2.0]], np.float32))
    array([[2., 2.],
           [1., 1.]], dtype=float32)
    """
    return _arg_extreme("argmin", x, axis)


def roll(x: Tensor, shift: int, axis: int = 0) -> Tensor:
    """Roll ``x`` by ``shift`` along ``axis``, like ``torch.roll`` / ``numpy.roll``.

    Element j of the axis moves to (j + shift) mod n, so ``roll(x, 1)`` pairs
    each row of a batch with the one before it (interpolation regularisers
    such as ACAI mix ``x`` with ``roll(x, 1)``).

    Parameters
    ----------
    x : Tensor
        1-D to 4-D.
    shift : int
        Any integer: negative and larger than the axis length are taken
        modulo the length.
    axis : int
        The axis to roll along, in [-ndim, ndim); default 0 (the batch).

    Returns
    -------
    Tensor
        Same shape as ``x``.  Its gradient is the roll by ``-shift``, so it is
        differentiable to any order.

    Examples
    --------
    >>> f = gl.function(lambda x: gl.ops.roll(x, 1))
    >>> f(np.array([[1.0], [2.0], [3.0]], np.float32)).ravel()
    array([3., 1., 2.], dtype=float32)
    """
    tr = _trace_of(x)
    x = _as_tensor(x, tr)
    shift, axis = _int_arg(shift, "roll: shift"), _int_arg(axis, "roll: axis")
    nd = x.ndim
    if nd < 1:
        raise ValueError("roll: x must be 1-D to 4-D, got a scalar (shape ())")
    if not -nd <= axis < nd:
        raise ValueError(f"roll: axis {axis} is out of range for a {nd}-D tensor of shape {x.shape}")
    axis %= nd
    n = x.shape[axis]
    return Tensor(tr, tr.graph.roll(x.id, shift % n if n else 0, axis))


# ---- convolution, pooling, normalisation (NCHW) ---------------------------------------

def _int_param(v: Any, name: str, low: int) -> int:
    return check_int(name, v, low)


def _need_4d(x: Tensor, what: str, layout: str = "(N, C, H, W)") -> tuple:
    if x.ndim != 4:
        raise ValueError(f"{what} must be 4-D {layout}, got shape {x.shape}")
    return x.shape


def conv2d(x: Tensor, w: Tensor, stride: int = 1, padding: int = 0) -> Tensor:
    """2-D convolution (cross-correlation, like ``torch.nn.functional.conv2d``), NCHW.

    x: (N, C, H, W); w: (O, C, kh, kw) -> (N, O, Ho, Wo) with
    Ho = (H + 2 padding - kh) // stride + 1 (likewise Wo).  No bias: add a
    (1, O, 1, 1) tensor.  Differentiable to any order (gradient penalties).
    """
    tr = _trace_of(x, w)
    x, w = _as_tensor(x, tr), _as_tensor(w, tr)
    stride, padding = _int_param(stride, "stride", 1), _int_param(padding, "padding", 0)
    xs, ws = _need_4d(x, "conv2d: x"), _need_4d(w, "conv2d: w", "(O, C, kh, kw)")
    if xs[1] != ws[1]:
        raise ValueError(f"conv2d: x {xs} has {xs[1]} channels but w {ws} expects {ws[1]}")
    if ws[2] > xs[2] + 2 * padding or ws[3] > xs[3] + 2 * padding:
        raise ValueError(f"conv2d: kernel of w {ws} is larger than x {xs} padded by {padding}")
    return Tensor(tr, tr.graph.conv2d(x.id, w.id, stride, padding))


def conv_transpose2d(x: Tensor, w: Tensor, stride: int = 1, padding: int = 0,
                     output_padding: Any = 0) -> Tensor:
    """Transposed 2-D convolution (like ``torch.nn.functional.conv_transpose2d``), NCHW.

    x: (N, C, H, W); w: (C, O, kh, kw) (torch's layout) -> (N, O, Ho, Wo) with
    Ho = (H - 1) stride - 2 padding + kh + output_padding.  ``output_padding``
    is an int or a (height, width) pair, each smaller than ``stride``.
    Differentiable to any order.
    """
    tr = _trace_of(x, w)
    x, w = _as_tensor(x, tr), _as_tensor(w, tr)
    stride, padding = _int_param(stride, "stride", 1), _int_param(padding, "padding", 0)
    op = tuple(output_padding) if isinstance(output_padding, (tuple, list)) else (output_padding,) * 2
    if len(op) != 2:
        raise ValueError(f"output_padding must be an int or a pair, got {output_padding!r}")
    op = tuple(_int_param(v, "output_padding", 0) for v in op)
    if max(op) >= stride:
        raise ValueError(f"conv_transpose2d: output_padding {op} must be smaller than the stride {stride}")
    xs, ws = _need_4d(x, "conv_transpose2d: x"), _need_4d(w, "conv_transpose2d: w", "(C, O, kh, kw)")
    if xs[1] != ws[0]:
        raise ValueError(f"conv_transpose2d: x {xs} has {xs[1]} channels but w {ws} expects {ws[0]}")
    ho = (xs[2] - 1) * stride - 2 * padding + ws[2] + op[0]
    wo = (xs[3] - 1) * stride - 2 * padding + ws[3] + op[1]
    if ho < 1 or wo < 1:
        raise ValueError(f"conv_transpose2d: x {xs}, w {ws}, stride {stride}, padding {padding} "
                         f"give an empty output ({ho} x {wo})")
    return Tensor(tr, tr.graph.conv_transpose2d(x.id, w.id, stride, padding, op))


def _pool_check(x: Tensor, what: str, kernel_size: Any, stride: Any, padding: Any) -> tuple[int, int, int]:
    k = _int_param(kernel_size, "kernel_size", 1)
    s = k if stride is None else _int_param(stride, "stride", 1)
    p = _int_param(padding, "padding", 0)
    if 2 * p > k:
        raise ValueError(f"{what}: padding {p} must be at most kernel_size // 2 (kernel_size {k})")
    xs = _need_4d(x, f"{what}: x")
    if k > xs[2] + 2 * p or k > xs[3] + 2 * p:
        raise ValueError(f"{what}: kernel_size {k} is larger than x {xs} padded by {p}")
    return k, s, p


def max_pool2d(x: Tensor, kernel_size: int, stride: int | None = None, padding: int = 0) -> Tensor:
    """Max pooling over kernel_size x kernel_size windows (stride defaults to kernel_size).

    Padding never wins; ties go to the first element of the window.  The
    gradient routes to the argmax and is itself differentiable.
    """
    k, s, p = _pool_check(x, "max_pool2d", kernel_size, stride, padding)
    return Tensor(x.trace, x.trace.graph.max_pool2d(x.id, k, s, p))


def avg_pool2d(x: Tensor, kernel_size: int, stride: int | None = None, padding: int = 0) -> Tensor:
    """Average pooling; the divisor is always kernel_size**2 (torch's count_include_pad=True)."""
    k, s, p = _pool_check(x, "avg_pool2d", kernel_size, stride, padding)
    return Tensor(x.trace, x.trace.graph.avg_pool2d(x.id, k, s, p))


def upsample_nearest(x: Tensor, scale: int) -> Tensor:
    """Nearest-neighbour upsampling of (N, C, H, W) by an integer ``scale`` -> (N, C, H*scale, W*scale)."""
    scale = _int_param(scale, "scale", 1)
    _need_4d(x, "upsample_nearest: x")
    return Tensor(x.trace, x.trace.graph.upsample_nearest(x.id, scale))


def instance_norm(x: Tensor, eps: float = 1e-5) -> Tensor:
    """Normalise each (n, c) plane of ``x`` (N, C, H, W) by its own mean and variance.

    ``(x - mean) / sqrt(var + eps)`` with the biased variance over the plane's H*W
    values, like ``torch.nn.functional.instance_norm`` without running statistics
    or affine parameters.  One fused kernel forward and one backward (reading each
    plane while it is in cache); differentiable to any order.

    Parameters
    ----------
    x : Tensor
        (N, C, H, W) with H, W >= 1.
    eps : float
        Added to the variance, > 0.

    Returns
    -------
    Tensor
        Same shape as ``x``.

    Examples
    --------
    >>> f = gl.function(lambda x: gl.ops.instance_norm(x))
    >>> y = f(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2))
    >>> np.round(y[0, 1].ravel(), 3)
    array([-1.342, -0.447,  0.447,  1.342], dtype=float32)
    """
    tr = _trace_of(x)
    x = _as_tensor(x, tr)
    return Tensor(tr, tr.graph.instance_norm(x.id, eps))   # the core checks x's shape and eps


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: np.ndarray | None,
               running_var: np.ndarray | None, eps: float = 1e-5, momentum: float = 0.1,
               training: bool | None = None) -> Tensor:
    """Batch normalisation per channel of x (N, C, H, W) or (N, C), like torch's.

    gamma, beta: Tensors of shape (C,).  running_mean / running_var: float32
    C-contiguous ndarrays of shape (C,), updated in place by every run of the
    compiled function in training mode (running_var from the unbiased batch
    variance, ``new = (1 - momentum) old + momentum batch``); the graph keeps
    them alive.  A trace whose ``update_state`` is False (``gl.function(...,
    update_state=False)``, used by ``GAN.sample`` and ``GAN.discriminate``)
    normalises with the batch's statistics in training mode and leaves the
    running statistics unchanged.  ``training`` defaults to the trace's mode.  In training mode
    the gradient is first-order only (a gradient penalty through it raises
    GanlibError); eval mode normalises with the running statistics and is an
    ordinary differentiable expression.
    """
    tr = _trace_of(x, gamma, beta)
    x, gamma, beta = _as_tensor(x, tr), _as_tensor(gamma, tr), _as_tensor(beta, tr)
    training = tr.training if training is None else bool(training)
    if x.ndim not in (2, 4):
        raise ValueError(f"batch_norm: x must be (N, C, H, W) or (N, C), got shape {x.shape}")
    c = x.shape[1]
    for name, t in (("gamma", gamma), ("beta", beta)):
        if t.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for x {x.shape}, got {t.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if running_mean is None and not training:
        raise ValueError("batch_norm: eval mode (training=False) needs running_mean and running_var")
    for name, a in (("running_mean", running_mean), ("running_var", running_var)):
        if a is None:
            continue
        if not isinstance(a, np.ndarray) or a.dtype != np.float32:
            raise TypeError(f"batch_norm: {name} must be a float32 numpy array")
        if a.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for x {x.shape}, got {a.shape}")
    if training and int(np.prod(x.shape)) // max(c, 1) < 2:
        raise ValueError(f"batch_norm (training mode) needs more than one value per channel, got x {x.shape}")
    if training and not tr.update_state:   # a read: batch statistics, running ones untouched
        running_mean = running_var = None
    return Tensor(tr, tr.graph.batch_norm(x.id, gamma.id, beta.id, running_mean, running_var,
                                          float(eps), float(momentum), training))


# ---- autodiff --------------------------------------------------------------------

def grad(y: Tensor, wrt: Any, seed: Tensor | None = None) -> list[Tensor]:
    """Gradient nodes d(sum y)/d(w) for each w in ``wrt``.

    ``wrt`` is a Tensor, a list of Tensors, or a Module (its parameters in this
    trace, in ``named_parameters`` order). The result is symbolic, so it can be
    used in a loss and differentiated again.
    """
    from .nn.module import Module  # local: nn imports ops

    if isinstance(wrt, Module):
        wrt = wrt.param_tensors(y.trace)
    elif isinstance(wrt, Tensor):
        wrt = [wrt]
    wrt = list(wrt)
    for w in wrt:
        if not isinstance(w, Tensor) or w.trace is not y.trace:
            raise ValueError("grad: every wrt must be a Tensor of the same trace as y")
    s = -1 if seed is None else seed.id
    ids = y.trace.graph.grad(y.id, [w.id for w in wrt], s)
    return [Tensor(y.trace, i) for i in ids]


# ---- compiled functions ---------------------------------------------------------------

def _flatten_out(out: Any) -> tuple[list[Tensor], Callable[[list], Any]]:
    """Flatten nested tuples / lists / dicts of Tensors; return a rebuilder."""
    if isinstance(out, Tensor):
        return [out], lambda v: v[0]
    if isinstance(out, (tuple, list, dict)):
        keys = list(out) if isinstance(out, dict) else list(range(len(out)))
        parts = [_flatten_out(out[k]) for k in keys]
        flat = [t for p, _ in parts for t in p]
        sizes = [len(p) for p, _ in parts]
        kind = type(out)

        def rebuild(v: list) -> Any:
            items, pos = [], 0
            for (_, rb), n in zip(parts, sizes):
                items.append(rb(v[pos:pos + n]))
                pos += n
            return dict(zip(keys, items)) if kind is dict else kind(items)
        return flat, rebuild
    raise TypeError(f"a traced function must return Tensors (or tuples/lists/dicts of them), "
                    f"got {type(out).__name__}")


def _as_input(a: Any, k: int) -> np.ndarray:
    if isinstance(a, np.ndarray):
        arr = a
    else:
        arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"input {k}: expected a numeric array, got dtype {arr.dtype}")
    return arr


class LRUCache:
    """A small least-recently-used map: at most ``size`` entries, the oldest dropped first.

    Used for compiled programs: dropping an entry drops the last reference to its
    C program, which frees the program's arena. Safe to use from several threads
    (a lock around the updates; a look-up is one atomic move and read).

    Parameters
    ----------
    size : int
        The most entries kept, ``>= 1``.

    Examples
    --------
    >>> c = gl.ops.LRUCache(2)
    >>> c.put("a", 1); c.put("b", 2); c.get("a"); c.put("c", 3)
    1
    >>> list(c.keys())
    ['a', 'c']
    """

    def __init__(self, size: int) -> None:
        self.size = check_int("LRUCache: size", size, 1)
        self._d: "OrderedDict[Any, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of ``key`` (now the most recently used), or ``default``."""
        try:   # each OrderedDict operation is atomic: no lock on the hot path
            self._d.move_to_end(key)
            return self._d[key]
        except KeyError:
            return default

    def put(self, key: Any, value: Any) -> None:
        """Store ``value`` under ``key``; drop the least recently used entries beyond ``size``."""
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            dropped = [self._d.popitem(last=False) for _ in range(len(self._d) - self.size)]
        del dropped   # released outside the lock (freeing a program may take a moment)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            dropped = list(self._d.items())
            self._d.clear()
        del dropped

    def keys(self) -> list:
        """The keys, least recently used first (a copy)."""
        with self._lock:
            return list(self._d.keys())

    def values(self) -> list:
        """The values, least recently used first (a copy)."""
        with self._lock:
            return list(self._d.values())

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: Any) -> bool:
        return key in self._d

    def __repr__(self) -> str:
        return f"LRUCache(size={self.size}, entries={len(self._d)})"


def _busy_error(what: str) -> Exception:
    return _C.GanlibError(f"{what} is already running in another thread: a model (or gl.function) runs one call "
                          "at a time; use one model per thread, or hold a lock around its calls")


class Function:
    """A Python function traced once per input-shape signature and run in C.

    Created by :func:`function`. Calling it with NumPy arrays returns NumPy arrays
    (the same structure the traced function returned).

    The compiled programs (one per input shapes, each with its C arena) are kept
    in a least-recently-used cache of ``cache_size`` entries; a shape dropped
    from it is traced and compiled again when it comes back. Random draws
    (``rand``, ``randn``, dropout) come from one seeded stream per function,
    shared by all its shapes, so dropping and rebuilding a program never repeats
    draws. A function runs one call at a time: a call while another thread's
    call is running raises ``GanlibError``.
    """

    def __init__(self, fn: Callable[..., Any], seed: int = 0, training: bool = True, *,
                 cache_size: int | None = None, update_state: bool = True) -> None:
        if not callable(fn):
            raise TypeError(f"function: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.seed = check_int("function: seed", seed, 0, 2**64 - 1)
        self.training = check_bool("function: training", training)
        self.update_state = check_bool("function: update_state", update_state)
        self.cache_size = CACHE_SIZE if cache_size is None else check_int("function: cache_size", cache_size, 1)
        self._cache = LRUCache(self.cache_size)
        self._last: Any = None                 # the program that ran last
        self._rng_state: tuple | None = None   # where the stream stands after clear_cache
        self._running = threading.Lock()
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", "function")

    def trace(self, *shapes: Sequence[int]) -> tuple[Trace, list[Tensor], list[Tensor], Callable]:
        """Trace the function for inputs of these shapes: (trace, inputs, outputs, rebuilder)."""
        tr = Trace()
        tr.training = self.training
        tr.update_state = self.update_state
        with tracing(tr):
            inputs = [tr.input(s) for s in shapes]
            out = self.fn(*inputs)
        outs, rebuild = _flatten_out(out)
        return tr, inputs, outs, rebuild

    def _program(self, args: tuple) -> tuple[Any, list[int], Callable]:
        key = tuple([a.shape for a in args])
        hit = self._cache.get(key)
        if hit is None:
            tr, inputs, outs, rebuild = self.trace(*key)
            prog = _C.Program(tr.graph, [o.id for o in outs], None, self.seed)
            hit = (tr, prog, used_inputs(prog, inputs), rebuild)
            self._cache.put(key, hit)
        return hit[1], hit[2], hit[3]

    def _continue_stream(self, prog: Any) -> None:
        """Start ``prog``'s random stream where the last program's stopped (one stream per function)."""
        last = self._last
        if last is prog:
            return
        state = last.rng_state if last is not None else self._rng_state
        if state is not None:
            prog.rng_state = state
        self._last = prog

    def clear_cache(self) -> None:
        """Drop every compiled program (their arenas are freed); the next call traces again.

        The random stream goes on where it stood.

        Examples
        --------
        >>> f = gl.function(lambda x: x * 2)
        >>> _ = f(np.ones(3, np.float32)); f.clear_cache(); f.cache_info()["programs"]
        0
        """
        if not self._running.acquire(blocking=False):
            raise _busy_error(f"{self.__name__}")
        try:
            if self._last is not None:
                self._rng_state = self._last.rng_state
            self._last = None
            self._cache.clear()
        finally:
            self._running.release()

    def cache_info(self) -> dict:
        """``{"programs": compiled programs held, "size": the most kept, "arena_bytes": their arenas}``.

        Examples
        --------
        >>> f = gl.function(lambda x: x + 1, cache_size=2)
        >>> for n in (1, 2, 3):
        ...     _ = f(np.zeros(n, np.float32))
        >>> f.cache_info()["programs"], f.cache_info()["size"]
        (2, 2)
        """
        progs = [hit[1] for hit in self._cache.values()]
        return {"programs": len(progs), "size": self.cache_size,
                "arena_bytes": int(np.sum([p.arena_bytes for p in progs], dtype=np.int64))}

    def __call__(self, *args: Any) -> Any:
        arrs = tuple(_as_input(a, k) for k, a in enumerate(args))
        for k, a in enumerate(arrs):
            if a.ndim > 4:
                raise ValueError(f"input {k}: tensors have at most 4 dimensions, got shape {a.shape}")
            if a.size == 0:
                raise ValueError(f"input {k} is empty (shape {a.shape})")
        if not self._running.acquire(blocking=False):
            raise _busy_error(f"{self.__name__}")
        try:
            prog, used, rebuild = self._program(arrs)
            self._continue_stream(prog)
            return rebuild(prog.run([arrs[k] for k in used]))
        finally:
            self._running.release()


def used_inputs(prog: Any, inputs: list[Tensor]) -> list[int]:
    """Positions (in ``inputs``) of the inputs a compiled program reads, in its order.

    A program reads only the inputs its outputs depend on.
    """
    pos = {t.id: k for k, t in enumerate(inputs)}
    return [pos[i] for i in prog.inputs]


def function(fn: Callable[..., Any] | None = None, *, seed: int = 0, training: bool = True,
             cache_size: int | None = None, update_state: bool = True) -> Any:
    """Decorator: trace ``fn`` into a C graph once per input shapes, then run it in C.

    Parameters
    ----------
    fn : callable
        Takes symbolic Tensors (one per array argument) and returns a Tensor or a
        tuple / list / dict of Tensors.
    seed : int
        Seed of the function's random stream (used by rand, randn, dropout, bernoulli), shared
        by the programs of all input shapes.
    training : bool
        Whether dropout is active.
    cache_size : int, optional
        Compiled programs kept, one per input shapes, least recently used dropped
        first (default :data:`CACHE_SIZE`, 4). Each holds a C arena sized for its
        shapes, so a loop over many shapes keeps at most this many.
    update_state : bool
        Whether runs update running statistics (batch norm in training mode).
        False makes the function a pure read: batch norm in training mode then
        normalises with the batch's statistics and leaves the running ones as
        they were.

    Examples
    --------
    >>> f = gl.function(lambda x: gl.ops.mean(gl.ops.square(x)))
    >>> float(f(np.arange(3.0)))
    1.6666666
    """
    if fn is None:
        return lambda f: Function(f, seed=seed, training=training, cache_size=cache_size,
                                  update_state=update_state)
    return Function(fn, seed=seed, training=training, cache_size=cache_size, update_state=update_state)
