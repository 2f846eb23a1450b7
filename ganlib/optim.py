"""Optimizers over flat float32 parameter buffers, matching ``torch.optim``.

An optimizer here is first a *configuration* (``Adam(1e-3)``); calling
:meth:`Optimizer.bind` with a flat parameter buffer and the gradient buffer of
the same size creates the C optimizer that updates the parameters in place.
This lets a trainer take an unbound optimizer and bind it to the buffers it
owns::

    gan = gl.GAN(..., g_opt=gl.optim.Adam(1e-3, betas=(0.5, 0.999)))

The updates follow ``torch.optim`` (single-tensor, ``foreach=False``) operation
by operation in float32, so a run matches PyTorch to float32 rounding.

Examples
--------
>>> import numpy as np
>>> from ganlib import optim
>>> params = np.ones(4, dtype=np.float32)
>>> grads = np.zeros(4, dtype=np.float32)
>>> opt = optim.SGD(lr=0.1).bind(params, grads)
>>> grads[:] = 1.0
>>> opt.step()
>>> params
array([0.9, 0.9, 0.9, 0.9], dtype=float32)
"""
from __future__ import annotations

import numbers
import weakref
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from . import _C
from ._checks import ArgumentTypeError

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSProp", "EMA", "clip_weights", "MAX_T"]


def _real(name: str, value: Any) -> float:
    """``float(value)`` for a real number, else ``TypeError`` naming ``name``.

    Ranges (finite, ``>= 0``, betas in [0, 1), ...) are checked by the C core
    when the configuration is validated, with the optimizer's name in the message.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number, got {type(value).__name__} {value!r:.40}")
    return float(value)


def _flag(name: str, value: Any) -> bool:
    """``bool(value)`` for a bool (or 0/1 int), else ``TypeError`` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be a bool, got {type(value).__name__} {value!r:.40}")


def _pair(name: str, value: Any) -> Tuple[float, float]:
    """A pair of real numbers as a tuple of floats."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ArgumentTypeError(f"{name} must be a pair of floats, got {type(value).__name__}")
    if len(value) != 2:
        raise ValueError(f"{name} must have 2 elements, got {len(value)}")
    return (_real(f"{name}[0]", value[0]), _real(f"{name}[1]", value[1]))


def _empty() -> np.ndarray:
    return np.empty(0, dtype=np.float32)


#: The largest step count ``t`` an optimizer holds (2**53, set by the C core):
#: ``t`` is an int64 incremented every step and Adam's bias corrections take
#: ``beta ** t`` with ``t`` as a double, exact only up to 2**53.  Setting or
#: loading a larger ``t`` is a ``ValueError``; a step at the limit is refused.
MAX_T: int = int(_C.OPTIMIZER_MAX_T)


class Optimizer:
    """Base class: an optimizer configuration that can be bound to buffers.

    Subclasses (:class:`SGD`, :class:`Adam`, :class:`AdamW`, :class:`RMSProp`)
    set :attr:`kind` and normalise their keyword arguments into
    :attr:`config`.  The configuration is validated as soon as it is made
    (``ValueError`` naming the offending field), before any binding.

    Attributes
    ----------
    kind : str
        ``"sgd"``, ``"adam"``, ``"adamw"`` or ``"rmsprop"``.
    """

    kind: str = ""

    def __init__(self, **config: Any) -> None:
        self._config: Dict[str, Any] = dict(config)
        self._check_config(self._config)
        self._c: Optional[_C.Optimizer] = None
        self._params: Optional[np.ndarray] = None
        self._grads: Optional[np.ndarray] = None
        self._pending: Optional[Tuple[int, np.ndarray]] = None  # state loaded before bind
        self._owner: Optional[Tuple["weakref.ref[Any]", str]] = None  # see _claim

    # -- configuration -------------------------------------------------------

    def _check_config(self, config: Mapping[str, Any]) -> None:
        """Validate ``config`` with the C rules by building an empty optimizer."""
        _C.Optimizer(self.kind, _empty(), _empty(), **config)

    @property
    def config(self) -> Dict[str, Any]:
        """A copy of the hyperparameters (the constructor's keyword arguments)."""
        return dict(self._config)

    @property
    def lr(self) -> float:
        """Learning rate; may be changed between steps (e.g. by a schedule)."""
        return float(self._config["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        value = _real("lr", value)
        if self._c is not None:
            self._c.lr = value  # validates
        else:
            self._check_config(dict(self._config, lr=value))
        self._config["lr"] = value

    # -- ownership -----------------------------------------------------------

    def _claim(self, owner: object, what: str) -> None:
        """Record that ``owner`` (described by ``what``) trains with this optimizer.

        An optimizer holds the step count and moment estimates of *one*
        parameter buffer; two trainers sharing it would silently rebind it back
        and forth and mix their states.  A trainer therefore claims its
        optimizer when it is built.  Claiming again by the same owner does
        nothing; the claim ends when the owner is garbage-collected (it is kept
        through a weak reference), after which another owner may claim.

        Parameters
        ----------
        owner : object
            The trainer (must support weak references).
        what : str
            What the owner is, for the error message of a later claimant, e.g.
            ``"a compile_step of MLP"`` or ``"module 'D' of a Trainer"``.

        Raises
        ------
        ValueError
            If another owner that is still alive has claimed this optimizer.
        TypeError
            If ``owner`` cannot be weakly referenced or ``what`` is not a str.
        """
        if not isinstance(what, str):
            raise TypeError(f"_claim: what must be a str, got {type(what).__name__}")
        if self._owner is not None:
            ref, other = self._owner
            current = ref()
            if current is owner:
                return
            if current is not None:
                raise ValueError(f"this {type(self).__name__} already trains {other}; "
                                 "give each model its own optimizer object")
        try:
            ref = weakref.ref(owner)
        except TypeError:
            raise TypeError(f"_claim: the owner ({type(owner).__name__}) must support weak references") from None
        self._owner = (ref, what)

    # -- binding and stepping ------------------------------------------------

    @property
    def bound(self) -> bool:
        """Whether :meth:`bind` has been called."""
        return self._c is not None

    def bind(self, params: np.ndarray, grads: np.ndarray) -> "Optimizer":
        """Create the C optimizer over ``params`` (updated in place) and ``grads``.

        Parameters
        ----------
        params : numpy.ndarray
            1-D float32 C-contiguous writeable buffer of all parameters.
        grads : numpy.ndarray
            Gradient buffer of the same size and kind, read by :meth:`step`.

        Returns
        -------
        Optimizer
            ``self``, so ``opt = Adam(1e-3).bind(p, g)`` works.

        Notes
        -----
        Binding again to the same two arrays does nothing.  Binding to other
        arrays (e.g. a model's buffer that grew) starts from a fresh state
        (``t = 0``), and any object holding the old ``_c`` keeps updating the
        old arrays: use one optimizer per parameter buffer.

        Raises
        ------
        TypeError, ValueError
            If the arrays are not float32 / 1-D / C-contiguous / writeable /
            of equal size.

        Examples
        --------
        >>> p = np.zeros(3, np.float32); g = np.ones(3, np.float32)
        >>> opt = Adam(1e-3).bind(p, g)
        >>> opt.step(); opt.t
        1
        """
        if self._c is not None and params is self._params and grads is self._grads:
            return self
        c = _C.Optimizer(self.kind, params, grads, **self._config)
        if self._pending is not None:
            t, state = self._pending
            if state.size != c.state.size:
                raise ValueError(
                    f"loaded state has {state.size} floats but binding needs {c.state.size} "
                    f"({c.slots} slots x {c.n} parameters)"
                )
            c.state[...] = state
            c.t = t
            self._pending = None
        self._c, self._params, self._grads = c, params, grads
        return self

    def _bound(self) -> _C.Optimizer:
        if self._c is None:
            raise RuntimeError(f"{type(self).__name__} is not bound: call bind(params, grads) first")
        return self._c

    def step(self) -> None:
        """Apply one update to the bound parameters from the bound gradients."""
        self._bound().step()

    @property
    def t(self) -> int:
        """Number of steps taken (0 when unbound)."""
        if self._c is None:
            return 0 if self._pending is None else self._pending[0]
        return self._c.t

    # -- checkpoints ---------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to resume: ``{"kind", "config", "t", "state"}``.

        ``state`` is a copy of the float32 state buffer (``slots * n`` floats,
        slot blocks one after another, e.g. Adam: ``[m | v]``).

        Examples
        --------
        >>> p = np.zeros(3, np.float32); g = np.ones(3, np.float32)
        >>> opt = Adam(1e-3).bind(p, g); opt.step()
        >>> sd = opt.state_dict(); sd["kind"], sd["t"], sd["state"].shape
        ('adam', 1, (6,))
        """
        c = self._bound()
        return {"kind": self.kind, "config": self.config, "t": int(c.t), "state": np.array(c.state, copy=True)}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the step count, state buffer and learning rate.

        The other hyperparameters must equal this optimizer's (they decide the
        update and the state layout); the C optimizer object is kept, so a
        trainer holding ``opt._c`` keeps working.  Loading into an unbound
        optimizer is allowed: the state is applied (and its size checked) by
        :meth:`bind`.

        Everything is validated before anything is written: a failed load
        leaves the state, ``t`` and ``lr`` exactly as they were.

        Raises
        ------
        ValueError
            On a different kind or hyperparameters, a missing key, ``t``
            outside ``[0, MAX_T]``, a state of the wrong size, or NaN / inf in
            the state.
        TypeError
            If ``state_dict`` is not a mapping, ``t`` is not an int or the
            state is not a numeric array.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
        for key in ("kind", "config", "t", "state"):
            if key not in state_dict:
                raise ValueError(f"state_dict is missing {key!r}")
        if state_dict["kind"] != self.kind:
            raise ValueError(f"state_dict is for kind {state_dict['kind']!r}, this optimizer is {self.kind!r}")
        if not isinstance(state_dict["config"], Mapping):
            raise ValueError(f"state_dict 'config' must be a mapping, got {type(state_dict['config']).__name__}")
        config = dict(state_dict["config"])
        if set(config) != set(self._config):
            raise ValueError(f"state_dict config has keys {sorted(config)}, expected {sorted(self._config)}")
        if "betas" in config:
            config["betas"] = _pair("betas", config["betas"])
        for key, value in config.items():
            if key != "lr" and value != self._config[key]:
                raise ValueError(
                    f"state_dict config has {key}={value!r} but this optimizer has {key}={self._config[key]!r}"
                )
        lr = _real("lr", config["lr"])
        self._check_config(dict(self._config, lr=lr))
        t = state_dict["t"]
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
            raise TypeError(f"state_dict 't' must be an int, got {type(t).__name__}")
        t = int(t)
        if not 0 <= t <= MAX_T:
            raise ValueError(f"state_dict 't' must be in [0, 2**53], got {t}")
        state = np.asarray(state_dict["state"])
        if state.dtype.kind not in "fiu":
            raise TypeError(f"state_dict 'state' must be a float array, got dtype {state.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values become inf: refused below
            state = np.array(state, dtype=np.float32, copy=True, order="C").reshape(-1)
        if self._c is not None and state.size != self._c.state.size:
            raise ValueError(
                f"state_dict 'state' has {state.size} floats, expected {self._c.state.size} "
                f"({self._c.slots} slots x {self._c.n} parameters)"
            )
        finite = np.isfinite(state)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise ValueError(f"state_dict 'state' has {int(state.size - finite.sum())} NaN or inf values "
                             f"(first at index {bad}: {state[bad]})")
        if self._c is None:
            self._config["lr"] = lr
            self._pending = (t, state)
            return
        c = self._c
        old_lr = c.lr
        c.lr = lr  # validated above: fails only while the optimizer is busy, before writing
        try:
            c.t = t
        except BaseException:
            try:
                c.lr = old_lr
            except Exception:  # best effort: only another thread's step can get in between
                pass
            raise
        c.state[...] = state  # sizes and dtype checked: cannot fail
        self._config["lr"] = lr

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        where = f", bound to {self._c.n} parameters, t={self._c.t}" if self._c is not None else ""
        return f"{type(self).__name__}({args}){where}"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (``torch.optim.SGD``).

    ``g = grad + weight_decay * p``; with momentum ``buf = g`` on the first step,
    then ``buf = momentum * buf + (1 - dampening) * g``; ``g = g + momentum * buf``
    (Nesterov) or ``g = buf``; ``p -= lr * g``.

    Parameters
    ----------
    lr : float
        Learning rate (>= 0).
    momentum : float
        Momentum factor (>= 0).
    dampening : float
        Dampening of the momentum.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    weight_decay : float
        L2 penalty added to the gradient (>= 0).

    Examples
    --------
    >>> p = np.ones(2, np.float32); g = np.ones(2, np.float32)
    >>> opt = SGD(lr=0.1, momentum=0.9).bind(p, g)
    >>> opt.step(); opt.step(); p
    array([0.71, 0.71], dtype=float32)
    """

    kind = "sgd"

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(lr=_real("lr", lr), momentum=_real("momentum", momentum),
                         dampening=_real("dampening", dampening), nesterov=_flag("nesterov", nesterov),
                         weight_decay=_real("weight_decay", weight_decay))


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``), optionally AMSGrad.

    ``g = grad + weight_decay * p``; ``m = b1*m + (1-b1)*g``; ``v = b2*v + (1-b2)*g*g``;
    ``p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``
    (AMSGrad uses the running maximum of ``v``).

    Parameters
    ----------
    lr : float
        Learning rate (>= 0).
    betas : tuple of float
        Decay rates ``(b1, b2)`` of the moment estimates, each in [0, 1).
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        L2 penalty added to the gradient (>= 0).
    amsgrad : bool
        Use the maximum of past second moments.

    Examples
    --------
    >>> p = np.zeros(2, np.float32); g = np.ones(2, np.float32)
    >>> opt = Adam(1e-2, betas=(0.5, 0.999)).bind(p, g)
    >>> opt.step(); p
    array([-0.01, -0.01], dtype=float32)
    """

    kind = "adam"

    def __init__(self, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(lr=_real("lr", lr), betas=_pair("betas", betas), eps=_real("eps", eps),
                         weight_decay=_real("weight_decay", weight_decay), amsgrad=_flag("amsgrad", amsgrad))


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``).

    ``p *= 1 - lr * weight_decay`` first, then the Adam update without the L2
    term.  Parameters as :class:`Adam`; ``weight_decay`` defaults to ``1e-2``.

    Examples
    --------
    >>> p = np.ones(2, np.float32); g = np.zeros(2, np.float32)
    >>> opt = AdamW(0.1, weight_decay=0.5).bind(p, g)
    >>> opt.step(); p
    array([0.95, 0.95], dtype=float32)
    """

    kind = "adamw"

    def __init__(self, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class RMSProp(Optimizer):
    """RMSprop (``torch.optim.RMSprop``), optionally centered and with momentum.

    ``g = grad + weight_decay * p``; ``sq = alpha*sq + (1-alpha)*g*g``;
    ``avg = sqrt(sq) + eps`` (centered: ``sqrt(sq - ga*ga) + eps`` with
    ``ga = alpha*ga + (1-alpha)*g``); with momentum ``buf = momentum*buf + g/avg``,
    ``p -= lr * buf``, else ``p -= lr * g / avg``.

    Parameters
    ----------
    lr : float
        Learning rate (>= 0).
    alpha : float
        Smoothing constant in [0, 1].
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        L2 penalty added to the gradient (>= 0).
    momentum : float
        Momentum factor (>= 0).
    centered : bool
        Normalise by the estimated variance instead of the second moment.

    Examples
    --------
    >>> p = np.zeros(2, np.float32); g = np.ones(2, np.float32)
    >>> opt = RMSProp(1e-2, alpha=0.75).bind(p, g)
    >>> opt.step(); p
    array([-0.02, -0.02], dtype=float32)
    """

    kind = "rmsprop"

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(lr=_real("lr", lr), alpha=_real("alpha", alpha), eps=_real("eps", eps),
                         weight_decay=_real("weight_decay", weight_decay), momentum=_real("momentum", momentum),
                         centered=_flag("centered", centered))


def clip_weights(array: np.ndarray, c: float) -> None:
    """Clamp every element of ``array`` to ``[-c, c]`` in place (WGAN weight clipping).

    Parameters
    ----------
    array : numpy.ndarray
        float32, C-contiguous, writeable (e.g. a critic's flat parameter buffer).
    c : float
        Clipping bound, finite and >= 0.

    Examples
    --------
    >>> w = np.array([-1.0, 0.005, 2.0], np.float32)
    >>> clip_weights(w, 0.01); w
    array([-0.01 ,  0.005,  0.01 ], dtype=float32)
    """
    _C.clip_weights(array, _real("c", c))


def _check_f32(name: str, a: Any) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of float32, got {type(a).__name__}")
    if a.dtype != np.float32:
        raise TypeError(f"{name} must have dtype float32, got {a.dtype}")
    return a


class EMA:
    """Exponential moving average of a flat parameter buffer.

    ``average = decay * average + (1 - decay) * params`` on each :meth:`update`
    (in float32); the first update copies ``params``.  Typical use: evaluate a
    GAN generator with averaged weights.

    Parameters
    ----------
    decay : float
        In [0, 1]; closer to 1 averages over more steps.

    Examples
    --------
    >>> p = np.zeros(2, np.float32)
    >>> ema = EMA(0.5)
    >>> ema.update(p); p += 1.0; ema.update(p)
    >>> ema.average
    array([0.5, 0.5], dtype=float32)
    >>> ema.copy_to(p); p
    array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, decay: float = 0.999) -> None:
        decay = _real("decay", decay)
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {decay}")
        self._decay = decay
        self._avg: Optional[np.ndarray] = None
        self.num_updates = 0

    @property
    def decay(self) -> float:
        """The decay factor."""
        return self._decay

    @property
    def average(self) -> Optional[np.ndarray]:
        """The averaged buffer (``None`` before the first :meth:`update`)."""
        return self._avg

    def update(self, params: np.ndarray) -> None:
        """Fold ``params`` (float32, C-contiguous, same size every time) into the average."""
        params = _check_f32("params", params)
        if self._avg is None:
            if not params.flags.c_contiguous:
                raise ValueError("params must be C-contiguous")
            self._avg = np.array(params, dtype=np.float32, copy=True, order="C")
        else:
            _C.ema_update(self._avg, params, self._decay)
        self.num_updates += 1

    def copy_to(self, params: np.ndarray) -> None:
        """Write the average into ``params`` (float32, same size) in place."""
        if self._avg is None:
            raise RuntimeError("EMA has no average yet: call update(params) first")
        params = _check_f32("params", params)
        if params.size != self._avg.size:
            raise ValueError(f"params has {params.size} elements, the average has {self._avg.size}")
        if not params.flags.c_contiguous or not params.flags.writeable:
            raise ValueError("params must be C-contiguous and writeable")
        np.copyto(params.reshape(-1), self._avg.reshape(-1))

    def state_dict(self) -> Dict[str, Any]:
        """``{"decay", "num_updates", "average"}`` (average copied, or ``None``)."""
        return {"decay": self._decay, "num_updates": self.num_updates,
                "average": None if self._avg is None else self._avg.copy()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        decay = _real("decay", state_dict["decay"])
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {decay}")
        avg = state_dict["average"]
        self._avg = None if avg is None else np.array(avg, dtype=np.float32, copy=True, order="C")
        self._decay = decay
        self.num_updates = int(state_dict["num_updates"])
