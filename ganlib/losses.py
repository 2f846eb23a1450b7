"""GAN objectives, gradient penalties, MMD and feature matching, written with :mod:`ganlib.ops`.

Everything here builds graph nodes, so a loss traces into the same C program as the
networks that produce its inputs (and can be differentiated, twice where needed).

Conventions
-----------
* The discriminator / critic returns raw outputs ``l`` of shape ``(B, 1)``: logits for the
  objectives that read ``D(x) = sigmoid(l)`` as a probability, critic values otherwise.
  Probability losses are written with ``softplus`` / ``log_sigmoid`` / ``sigmoid(-l)``
  forms of the logits, never ``log(sigmoid(l))`` nor ``1 - sigmoid(l)``, so they stay
  finite with exact gradients for any logit.
* ``E`` below is the mean over the batch (and over every other element of ``l``).
* ``1 - D`` is always computed as ``sigmoid(-l)``.

Examples
--------
>>> import numpy as np, ganlib as gl
>>> from ganlib import losses
>>> obj = losses.get_objective("ns")
>>> D = gl.nn.mlp(2, [16], 1, seed=0)
>>> @gl.function
... def d_step(x_real, x_fake):
...     loss = obj.d_loss(D(x_real), D(x_fake), real_target=0.9)
...     return loss, gl.grad(loss, D)
>>> obj.d_loss(np.zeros((4, 1)), np.zeros((4, 1)))   # NumPy in: evaluated at once
1.3862943649291992
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import ops
from .ops import Tensor

__all__ = [
    "Objective", "get_objective", "objective_names", "OBJECTIVES",
    "FDivergence", "F_DIVERGENCES", "SCORING_RULES",
    "misclassification",
    "interpolates", "perturbed", "gradient_penalty", "Penalty", "get_penalty", "penalty_names",
    "mmd2", "DEFAULT_BANDWIDTHS", "feature_matching", "penultimate",
]

LOG2 = math.log(2.0)
ArrayOrTensor = Union[Tensor, np.ndarray]


# ---- helpers ------------------------------------------------------------------------------

def _tracing() -> bool:
    try:
        ops.current_trace()
    except RuntimeError:
        return False
    return True


def _eager(fn: Callable[..., Tensor], *args: Any) -> Any:
    """Run ``fn`` on NumPy arrays through a one-off compiled function.

    Returns a Python float for a scalar result, else a float32 ndarray.
    """
    present = [a for a in args if a is not None]
    pos = [i for i, a in enumerate(args) if a is not None]

    def traced(*ts: Tensor) -> Tensor:
        full: list = [None] * len(args)
        for i, t in zip(pos, ts):
            full[i] = t
        return fn(*full)

    out = ops.function(traced)(*[np.asarray(a, dtype=np.float32) for a in present])
    out = np.asarray(out)
    return float(out) if out.ndim == 0 else out


def _needs_eager(*args: Any) -> bool:
    return not any(isinstance(a, Tensor) for a in args) and not _tracing()


def _t(x: Any) -> Tensor:
    """A Tensor, or a constant in the current trace for an array / number."""
    if isinstance(x, Tensor):
        return x
    return ops.constant(np.asarray(x, dtype=np.float32))


def _flat2d(x: Tensor) -> Tensor:
    """(B, ...) -> (B, F); 1-D (B,) -> (B, 1)."""
    if x.ndim == 2:
        return x
    if x.ndim == 1:
        return ops.reshape(x, (x.shape[0], 1))
    if x.ndim == 0:
        raise ValueError("expected a batch, got a scalar tensor")
    return ops.flatten(x)


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {v}")
    return v


# ---- per-element loss forms on logits ------------------------------------------------------
# Each pair (S1, S0) is a proper scoring rule S(D, y) written in the logit l, D = sigmoid(l).

def _sp(x: Tensor) -> Tensor:
    return ops.softplus(x)


SCORING_RULES: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor], str]] = {
    # name: (S(D, 1), S(D, 0), formula)
    "bernoulli": (lambda l: _sp(-l), lambda l: _sp(l),
                  "S(D,1) = -log D = softplus(-l);  S(D,0) = -log(1-D) = softplus(l)"),
    # written as exp(-2 softplus(.)) rather than sigmoid(.)^2: the sigmoid node's backward uses
    # y (1 - y), which cancels in float32 once |l| > ~10, while softplus' backward is sigmoid(x)
    "brier": (lambda l: ops.exp(ops.scale(_sp(l), -2.0)), lambda l: ops.exp(ops.scale(_sp(-l), -2.0)),
              "S(D,1) = (1-D)^2 = sigmoid(-l)^2 = exp(-2 softplus(l));  "
              "S(D,0) = D^2 = sigmoid(l)^2 = exp(-2 softplus(-l))"),
    "exponential": (lambda l: ops.exp(ops.scale(l, -0.5)), lambda l: ops.exp(ops.scale(l, 0.5)),
                    "S(D,1) = ((1-D)/D)^(1/2) = exp(-l/2);  S(D,0) = (D/(1-D))^(1/2) = exp(l/2)"),
    "hinge": (lambda l: ops.relu(ops.scale(l, -1.0, 1.0)), lambda l: ops.relu(ops.scale(l, 1.0, 1.0)),
              "S(D,1) = max(0, 1 - log(D/(1-D))) = max(0, 1-l);  S(D,0) = max(0, 1+l)"),
    "spherical": (lambda l: -ops.exp(ops.scale(_sp(ops.scale(l, -2.0)), -0.5)),
                  lambda l: -ops.exp(ops.scale(_sp(ops.scale(l, 2.0)), -0.5)),
                  "S(D,1) = -a D, S(D,0) = -a (1-D), a = (1-2D+2D^2)^(-1/2) = (D^2+(1-D)^2)^(-1/2); "
                  "in logits -a D = -(1+exp(-2l))^(-1/2) = -exp(-softplus(-2l)/2), "
                  "-a (1-D) = -exp(-softplus(2l)/2)"),
}


def _scored(rule: str, real: Tensor, fake: Tensor, t: float, w_real: float, w_fake: float) -> Tensor:
    """w_real E_p[t S(D,1) + (1-t) S(D,0)] + w_fake E_q[S(D,0)]."""
    s1, s0, _ = SCORING_RULES[rule]
    real_term = s1(real) if t == 1.0 else ops.scale(s1(real), t) + ops.scale(s0(real), 1.0 - t)
    return ops.scale(ops.mean(real_term), w_real) + ops.scale(ops.mean(s0(fake)), w_fake)


# ---- f-divergences ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class FDivergence:
    """One f-GAN divergence: output activation g_f, conjugate f* and the closed form of f*(g_f(v)).

    ``conjugate`` is the textbook f* (finite only on its domain); ``conjugate_of_activation`` is
    f*(g_f(v)) simplified so that it is finite for every real v (up to float32 overflow of the
    true value, for the KL and Hellinger exponentials).
    """

    name: str
    activation: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    conjugate_of_activation: Callable[[Tensor], Tensor]
    formula: str


F_DIVERGENCES: dict[str, FDivergence] = {d.name: d for d in [
    FDivergence("kl", lambda v: v, lambda t: ops.exp(ops.scale(t, 1.0, -1.0)),
                lambda v: ops.exp(ops.scale(v, 1.0, -1.0)),
                "g(v) = v; f*(t) = exp(t-1); f*(g(v)) = exp(v-1)"),
    FDivergence("reverse-kl", lambda v: -ops.exp(-v), lambda t: ops.scale(ops.log(-t), -1.0, -1.0),
                lambda v: ops.scale(v, 1.0, -1.0),
                "g(v) = -exp(-v); f*(t) = -1-log(-t); f*(g(v)) = v-1"),
    FDivergence("pearson", lambda v: v, lambda t: ops.scale(ops.square(t), 0.25) + t,
                lambda v: ops.scale(ops.square(v), 0.25) + v,
                "g(v) = v; f*(t) = t^2/4 + t; f*(g(v)) = v^2/4 + v"),
    FDivergence("hellinger", lambda v: ops.scale(ops.exp(-v), -1.0, 1.0),
                lambda t: t / ops.scale(t, -1.0, 1.0),
                lambda v: ops.scale(ops.exp(v), 1.0, -1.0),
                "g(v) = 1-exp(-v); f*(t) = t/(1-t); f*(g(v)) = exp(v)-1"),
    FDivergence("js", lambda v: ops.scale(_sp(-v), -1.0, LOG2),
                lambda t: -ops.log(ops.scale(ops.exp(t), -1.0, 2.0)),
                lambda v: ops.scale(_sp(v), 1.0, -LOG2),
                "g(v) = log 2 - softplus(-v); f*(t) = -log(2-exp(t)); f*(g(v)) = softplus(v) - log 2"),
    FDivergence("gan", lambda v: -_sp(-v), lambda t: -ops.log(ops.scale(ops.exp(t), -1.0, 1.0)),
                lambda v: _sp(v),
                "g(v) = -softplus(-v) = log sigmoid(v); f*(t) = -log(1-exp(t)); f*(g(v)) = softplus(v)"),
]}


# ---- the Objective ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class Objective:
    """A GAN objective: the discriminator's and the generator's loss on D's raw outputs.

    Attributes
    ----------
    name : str
        Canonical name (see :func:`objective_names`).
    d_fn : callable
        ``d_fn(real, fake, real_target) -> scalar Tensor`` (use :meth:`d_loss`).
    g_fn : callable
        ``g_fn(fake, real) -> scalar Tensor`` (use :meth:`g_loss`).
    needs_real_for_g : bool
        Whether :meth:`g_loss` reads D's outputs on real data (user callables do).
    clip : float or None
        Clip the critic's weights to [-clip, clip] after each D step (WGAN: 0.01).
    default_penalty : str or None
        Gradient penalty the trainer should add to the D loss (``get_penalty`` name).
    default_penalty_weight : float
        Its weight lambda.
    label_smoothing : bool
        Whether ``real_target < 1`` (one-sided label smoothing) is defined for this objective.
    options : dict
        The options the objective was built with (``pi``, ``a``, ``b``, ``c``, ``saturating``).
    formula : str
        Human-readable definition.
    """

    name: str
    d_fn: Callable[[Tensor, Tensor, float], Tensor] = dataclasses.field(repr=False)
    g_fn: Callable[[Tensor, Optional[Tensor]], Tensor] = dataclasses.field(repr=False)
    needs_real_for_g: bool = False
    clip: Optional[float] = None
    default_penalty: Optional[str] = None
    default_penalty_weight: float = 0.0
    label_smoothing: bool = False
    options: dict = dataclasses.field(default_factory=dict)
    formula: str = dataclasses.field(default="", repr=False)

    def d_loss(self, real: ArrayOrTensor, fake: ArrayOrTensor, real_target: float = 1.0) -> Any:
        """The discriminator's (critic's) loss, a scalar Tensor.

        Parameters
        ----------
        real, fake : Tensor
            D's raw outputs on real and generated samples, shape (B, 1).
        real_target : float
            Target of the real samples; below 1 is one-sided label smoothing (Salimans et al.):
            each real term becomes ``t S(D,1) + (1-t) S(D,0)``, i.e. BCE against target t for the
            log loss. Only for objectives whose D loss is a BCE / proper scoring rule on
            probabilities; others raise ValueError unless it is 1.

        Returns
        -------
        Tensor
            Scalar (a Python float when called on NumPy arrays outside a trace).

        Examples
        --------
        >>> get_objective("hinge").d_loss(np.array([[2.0]]), np.array([[-2.0]]))
        0.0
        """
        t = _number(real_target, "real_target")
        if t != 1.0:
            if not self.label_smoothing:
                raise ValueError(f"objective {self.name!r} does not support label smoothing "
                                 f"(real_target={t}); only BCE / scoring-rule objectives do")
            if not 0.0 < t < 1.0:
                raise ValueError(f"real_target must be in (0, 1], got {t}")
        if _needs_eager(real, fake):
            return _eager(lambda r, f: self.d_fn(r, f, t), real, fake)
        return self.d_fn(_t(real), _t(fake), t)

    def g_loss(self, fake: ArrayOrTensor, real: Optional[ArrayOrTensor] = None) -> Any:
        """The generator's loss, a scalar Tensor.

        Parameters
        ----------
        fake : Tensor
            D's raw outputs on generated samples, shape (B, 1).
        real : Tensor, optional
            D's outputs on real samples; required when ``needs_real_for_g``.

        Examples
        --------
        >>> round(get_objective("ns").g_loss(np.zeros((4, 1))), 6)
        0.693147
        """
        if self.needs_real_for_g and real is None:
            raise ValueError(f"objective {self.name!r} needs D's outputs on real data for the "
                             "generator loss: call g_loss(fake, real)")
        if _needs_eager(fake, real):
            return _eager(lambda f, r: self.g_fn(f, r), fake, real)
        return self.g_fn(_t(fake), None if real is None else _t(real))

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.options.items())
        pen = (f", default_penalty={self.default_penalty!r}, weight={self.default_penalty_weight}"
               if self.default_penalty else "")
        clip = f", clip={self.clip}" if self.clip is not None else ""
        return f"Objective({self.name!r}{extra}{clip}{pen})"


# ---- builders (one per canonical name) -----------------------------------------------------

def _take(opts: dict, name: str, allowed: dict) -> dict:
    bad = sorted(set(opts) - set(allowed))
    if bad:
        acc = ", ".join(sorted(allowed)) or "none"
        raise TypeError(f"objective {name!r} got unexpected option(s) {bad}; it accepts: {acc}")
    out = dict(allowed)
    out.update(opts)
    return out


def _bce_builder(name: str, saturating: bool, penalty: Optional[str] = None, weight: float = 0.0,
                 formula: str = "") -> Callable[..., Objective]:
    def build(**opts: Any) -> Objective:
        _take(opts, name, {})

        def d(r: Tensor, f: Tensor, t: float) -> Tensor:
            return _scored("bernoulli", r, f, t, 1.0, 1.0)

        if saturating:
            def g(f: Tensor, r: Any) -> Tensor:
                return -ops.mean(_sp(f))
        else:
            def g(f: Tensor, r: Any) -> Tensor:
                return ops.mean(_sp(-f))
        return Objective(name, d, g, default_penalty=penalty, default_penalty_weight=weight,
                         label_smoothing=True, formula=formula)
    return build


def _least_squares(**opts: Any) -> Objective:
    o = _take(opts, "least_squares", {"a": 0.0, "b": 1.0, "c": 1.0})
    a, b, c = (_number(o[k], k) for k in "abc")

    def d(r: Tensor, f: Tensor, t: float) -> Tensor:
        return ops.scale(ops.mean(ops.square(ops.scale(r, 1.0, -b))), 0.5) + \
            ops.scale(ops.mean(ops.square(ops.scale(f, 1.0, -a))), 0.5)

    def g(f: Tensor, r: Any) -> Tensor:
        return ops.scale(ops.mean(ops.square(ops.scale(f, 1.0, -c))), 0.5)
    return Objective("least_squares", d, g, options={"a": a, "b": b, "c": c},
                     formula="D: 1/2 E_p[(l-b)^2] + 1/2 E_q[(l-a)^2];  G: 1/2 E_q[(l-c)^2]")


def _brier(**opts: Any) -> Objective:
    _take(opts, "brier", {})

    def d(r: Tensor, f: Tensor, t: float) -> Tensor:
        return _scored("brier", r, f, t, 1.0, 1.0)

    s1 = SCORING_RULES["brier"][0]

    def g(f: Tensor, r: Any) -> Tensor:
        return ops.mean(s1(f))
    return Objective("brier", d, g, label_smoothing=True,
                     formula="D: E_p[(1-D)^2] + E_q[D^2];  G: E_q[(1-D)^2];  D = sigmoid(l)")


def _hinge(**opts: Any) -> Objective:
    _take(opts, "hinge", {})

    def d(r: Tensor, f: Tensor, t: float) -> Tensor:
        return ops.mean(ops.relu(ops.scale(r, -1.0, 1.0))) + ops.mean(ops.relu(ops.scale(f, 1.0, 1.0)))

    def g(f: Tensor, r: Any) -> Tensor:
        return -ops.mean(f)
    return Objective("hinge", d, g, formula="D: E_p[max(0, 1-l)] + E_q[max(0, 1+l)];  G: -E_q[l]")


def _wasserstein_builder(name: str, clip: Optional[float], penalty: Optional[str],
                         weight: float) -> Callable[..., Objective]:
    def build(**opts: Any) -> Objective:
        _take(opts, name, {})

        def d(r: Tensor, f: Tensor, t: float) -> Tensor:
            return ops.mean(f) - ops.mean(r)

        def g(f: Tensor, r: Any) -> Tensor:
            return -ops.mean(f)
        return Objective(name, d, g, clip=clip, default_penalty=penalty, default_penalty_weight=weight,
                         formula="D: E_q[l] - E_p[l];  G: -E_q[l]")
    return build


def _scoring_builder(rule: str) -> Callable[..., Objective]:
    name = "scoring-" + rule

    def build(**opts: Any) -> Objective:
        o = _take(opts, name, {"pi": 0.5})
        pi = _number(o["pi"], "pi")
        if not 0.0 < pi < 1.0:
            raise ValueError(f"{name}: pi must be in (0, 1), got {pi}")
        s1 = SCORING_RULES[rule][0]

        def d(r: Tensor, f: Tensor, t: float) -> Tensor:
            return _scored(rule, r, f, t, pi, 1.0 - pi)

        def g(f: Tensor, r: Any) -> Tensor:
            return ops.mean(s1(f))
        return Objective(name, d, g, label_smoothing=True, options={"pi": pi},
                         formula=f"D: pi E_p[S(D,1)] + (1-pi) E_q[S(D,0)];  G: E_q[S(D,1)];  "
                                 f"{SCORING_RULES[rule][2]}")
    return build


def _fgan_builder(div: str) -> Callable[..., Objective]:
    name = "fgan-" + div

    def build(**opts: Any) -> Objective:
        o = _take(opts, name, {"saturating": False})
        sat = o["saturating"]
        if not isinstance(sat, (bool, np.bool_)):
            raise TypeError(f"{name}: saturating must be a bool, got {type(sat).__name__}")
        fd = F_DIVERGENCES[div]

        def d(r: Tensor, f: Tensor, t: float) -> Tensor:
            return ops.mean(fd.conjugate_of_activation(f)) - ops.mean(fd.activation(r))

        if sat:
            def g(f: Tensor, r: Any) -> Tensor:
                return -ops.mean(fd.conjugate_of_activation(f))
        else:
            def g(f: Tensor, r: Any) -> Tensor:
                return -ops.mean(fd.activation(f))
        return Objective(name, d, g, options={"saturating": bool(sat)},
                         formula=f"D: -(E_p[g(V)] - E_q[f*(g(V))]);  G: "
                                 f"{'-E_q[f*(g(V))]' if sat else '-E_q[g(V)]'};  {fd.formula}")
    return build


_BUILDERS: dict[str, Callable[..., Objective]] = {
    "minimax": _bce_builder("minimax", True, formula="D: E_p[softplus(-l)] + E_q[softplus(l)];  "
                                                     "G: E_q[log(1-D)] = -E_q[softplus(l)]"),
    "nonsaturating": _bce_builder("nonsaturating", False,
                                  formula="D: E_p[softplus(-l)] + E_q[softplus(l)];  "
                                          "G: -E_q[log D] = E_q[softplus(-l)]"),
    "least_squares": _least_squares,
    "brier": _brier,
    "hinge": _hinge,
    "wasserstein": _wasserstein_builder("wasserstein", 0.01, None, 0.0),
    "wgan-gp": _wasserstein_builder("wgan-gp", None, "wgan-gp", 10.0),
    "dragan": _bce_builder("dragan", False, "dragan", 10.0,
                           formula="non-saturating + 10 E[(||grad D(x + noise)|| - 1)^2]"),
    "ns-gp": _bce_builder("ns-gp", False, "wgan-gp", 10.0,
                          formula="non-saturating + 10 E[(||grad D(x_hat)|| - 1)^2], x_hat interpolated"),
    **{"scoring-" + r: _scoring_builder(r) for r in SCORING_RULES},
    **{"fgan-" + d: _fgan_builder(d) for d in F_DIVERGENCES},
}

_ALIASES: dict[str, str] = {
    "saturating": "minimax", "mm": "minimax", "mm-gan": "minimax",
    "ns": "nonsaturating", "gan": "nonsaturating", "non-saturating": "nonsaturating", "ns-gan": "nonsaturating",
    "lsgan": "least_squares", "least-squares": "least_squares", "ls": "least_squares",
    "wgan": "wasserstein",
    "wgangp": "wgan-gp",
    "nsgan-gp": "ns-gp", "ns-gan-gp": "ns-gp",
    "fgan-rkl": "fgan-reverse-kl", "fgan-chi2": "fgan-pearson", "fgan-squared-hellinger": "fgan-hellinger",
    "fgan-jensen-shannon": "fgan-js",
}


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "-").replace("_", "-")


_LOOKUP: dict[str, str] = {_key(k): k for k in _BUILDERS}
_LOOKUP.update({_key(a): c for a, c in _ALIASES.items()})
_OVERRIDES = ("clip", "default_penalty", "default_penalty_weight")


def objective_names(aliases: bool = False) -> list[str]:
    """Canonical objective names (and, with ``aliases=True``, every accepted alias)."""
    names = list(_BUILDERS)
    return names + sorted(_ALIASES) if aliases else names


OBJECTIVES: tuple[str, ...] = tuple(_BUILDERS)


def _apply_overrides(obj: Objective, over: dict) -> Objective:
    if not over:
        return obj
    if "clip" in over and over["clip"] is not None:
        c = _number(over["clip"], "clip")
        if c <= 0:
            raise ValueError(f"clip must be positive, got {c}")
        over["clip"] = c
    if "default_penalty" in over and over["default_penalty"] is not None:
        over["default_penalty"] = get_penalty(over["default_penalty"]).name
    if "default_penalty_weight" in over:
        w = _number(over["default_penalty_weight"], "default_penalty_weight")
        if w < 0:
            raise ValueError(f"default_penalty_weight must be >= 0, got {w}")
        over["default_penalty_weight"] = w
    return dataclasses.replace(obj, **over)


def _pair(out: Any, name: str) -> tuple[Tensor, Tensor]:
    if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(v, Tensor) for v in out)):
        raise TypeError(f"objective callable {name!r} must return (d_loss, g_loss) Tensors, "
                        f"got {type(out).__name__}")
    for v in out:
        if v.shape != ():
            raise ValueError(f"objective callable {name!r} must return scalar losses, got shape {v.shape}")
    return out[0], out[1]


def get_objective(spec: Union[str, Objective, Callable[..., Any]], **options: Any) -> Objective:
    """Look an objective up by name, pass an Objective through, or wrap a callable.

    Parameters
    ----------
    spec : str, Objective or callable
        * a name (case-insensitive; ``_``, ``-`` and spaces are interchangeable), one of
          :func:`objective_names` or an alias ("ns", "gan", "lsgan", "wgan", ...);
        * an :class:`Objective` (returned as is, or with the overrides below applied);
        * ``fn(real, fake) -> (d_loss, g_loss)`` written with :mod:`ganlib.ops` on D's raw outputs
          (wrapped; its generator loss reads the real outputs, so ``needs_real_for_g`` is True).
    **options
        Objective options: ``pi`` (scoring rules, prior weight of the real class, default 0.5),
        ``a``, ``b``, ``c`` (least_squares: fake target, real target, generator target; defaults
        0, 1, 1), ``saturating`` (f-GAN generator loss, default False). Any spec also takes the
        overrides ``clip``, ``default_penalty``, ``default_penalty_weight``; a callable also
        ``name`` and ``needs_real_for_g``.

    Returns
    -------
    Objective

    Raises
    ------
    ValueError
        Unknown name (the message lists every known name and alias).
    TypeError
        An option the objective does not take.

    Examples
    --------
    >>> get_objective("LSGAN", a=-1, b=1, c=0).name
    'least_squares'
    >>> get_objective("wgan").clip
    0.01
    >>> get_objective(lambda r, f: (gl.ops.mean(f - r), -gl.ops.mean(f)), name="mine").name
    'mine'
    """
    over = {k: options.pop(k) for k in _OVERRIDES if k in options}
    if isinstance(spec, Objective):
        if options:
            raise TypeError(f"get_objective: an Objective takes only the overrides {list(_OVERRIDES)}, "
                            f"got {sorted(options)}")
        return _apply_overrides(spec, over)
    if isinstance(spec, str):
        canon = _LOOKUP.get(_key(spec))
        if canon is None:
            raise ValueError(f"unknown objective {spec!r}; known names: {', '.join(objective_names())}; "
                             f"aliases: {', '.join(f'{a} ({c})' for a, c in sorted(_ALIASES.items()))}")
        return _apply_overrides(_BUILDERS[canon](**options), over)
    if callable(spec):
        name = options.pop("name", getattr(spec, "__name__", "custom"))
        needs_real = bool(options.pop("needs_real_for_g", True))
        if options:
            raise TypeError(f"get_objective: a callable takes only name, needs_real_for_g and "
                            f"{list(_OVERRIDES)}, got {sorted(options)}")
        fn = spec

        def d(r: Tensor, f: Tensor, t: float) -> Tensor:
            return _pair(fn(r, f), name)[0]

        def g(f: Tensor, r: Optional[Tensor]) -> Tensor:
            return _pair(fn(r, f), name)[1]
        return _apply_overrides(Objective(str(name), d, g, needs_real_for_g=needs_real,
                                          formula="user callable"), over)
    raise TypeError(f"get_objective: expected a name, an Objective or a callable, got {type(spec).__name__}")


# ---- evaluation ---------------------------------------------------------------------------

def misclassification(real_logits: np.ndarray, fake_logits: np.ndarray, pi: float = 0.5) -> float:
    """0-1 loss of the discriminator as a classifier (evaluation only, not differentiable).

    ``pi E_p[1[D <= 0.5]] + (1-pi) E_q[1[D > 0.5]]`` with D = sigmoid(l), i.e.
    ``1[l <= 0]`` on reals and ``1[l > 0]`` on fakes; with pi = 0.5 the mean of the two error rates.

    Examples
    --------
    >>> misclassification(np.array([1.0, -1.0]), np.array([-2.0, -3.0]))
    0.25
    """
    r = np.asarray(real_logits, dtype=np.float64)
    f = np.asarray(fake_logits, dtype=np.float64)
    if r.size == 0 or f.size == 0:
        raise ValueError("misclassification: empty logits")
    pi = _number(pi, "pi")
    if not 0.0 <= pi <= 1.0:
        raise ValueError(f"misclassification: pi must be in [0, 1], got {pi}")
    return float(pi * np.mean(r <= 0.0) + (1.0 - pi) * np.mean(f > 0.0))


# ---- gradient penalties ----------------------------------------------------------------------

def _batch_shape(x: Tensor) -> tuple[int, ...]:
    if x.ndim < 1:
        raise ValueError("expected a batch (B, ...), got a scalar")
    return (x.shape[0],) + (1,) * (x.ndim - 1)


def interpolates(x_real: Tensor, x_fake: Tensor) -> Tensor:
    """Random points on the segments between paired real and generated samples (WGAN-GP).

    ``x_hat = alpha x_real + (1 - alpha) x_fake`` with one ``alpha ~ U(0, 1)`` **per sample**:
    shape (B, 1) for 2-D inputs, (B, 1, 1, 1) for 4-D images, broadcast over the rest.
    Fresh draws each run, from the program's seeded RNG (:func:`ganlib.ops.rand`).

    Examples
    --------
    >>> f = gl.function(lambda a, b: interpolates(a, b))
    >>> f(np.zeros((3, 2)), np.ones((3, 2))).shape
    (3, 2)
    """
    if x_real.shape != x_fake.shape:
        raise ValueError(f"interpolates: real {x_real.shape} and fake {x_fake.shape} shapes differ")
    alpha = ops.rand(_batch_shape(x_real))
    return x_fake + alpha * (x_real - x_fake)


def _batch_std(x: Tensor) -> Tensor:
    m = ops.mean(x)
    return ops.sqrt(ops.mean(ops.square(x - m)))


def perturbed(x_real: Tensor, scale: float = 0.5, data_std: Union[float, Tensor, None] = 1.0,
              noise: str = "normal", interpolate: bool = True) -> Tensor:
    """Real samples pushed off the data manifold (DRAGAN's penalty points).

    The lectures (Fedus et al., "Many paths to equilibrium") define DRAGAN's points as
    ``x_tilde = x + x_noise`` followed by the same per-sample interpolation as WGAN-GP,
    ``x_hat = alpha x + (1 - alpha) x_tilde``, ``alpha ~ U(0, 1)``, i.e.
    ``x_hat = x + u delta`` with ``u = 1 - alpha ~ U(0, 1)`` per sample. The noise scale is not
    fixed by the notes; we use Kodali et al.'s ``delta = scale * data_std * eps`` with
    ``scale = 0.5`` and ``eps ~ N(0, I)`` (``noise="normal"``) or, as in the DRAGAN reference code,
    ``eps ~ U(0, 1)`` elementwise (``noise="uniform"``).

    Parameters
    ----------
    x_real : Tensor
        Real batch (B, ...).
    scale : float
        Noise scale relative to the data's standard deviation (0.5 in DRAGAN).
    data_std : float, Tensor or None
        Standard deviation of the data; None computes the batch's (a scalar over all elements,
        as ``X.std()`` in the DRAGAN code).
    noise : {"normal", "uniform"}
    interpolate : bool
        Apply the per-sample ``u ~ U(0, 1)`` factor (default); False gives ``x + delta``.

    Examples
    --------
    >>> f = gl.function(lambda x: perturbed(x, 0.5, 1.0))
    >>> f(np.zeros((4, 2))).shape
    (4, 2)
    """
    scale = _number(scale, "scale")
    if noise == "normal":
        eps = ops.randn(x_real.shape)
    elif noise == "uniform":
        eps = ops.rand(x_real.shape)
    else:
        raise ValueError(f"perturbed: noise must be 'normal' or 'uniform', got {noise!r}")
    std = _batch_std(x_real) if data_std is None else data_std
    if isinstance(std, Tensor):
        delta = ops.scale(eps, scale) * std
    else:
        delta = ops.scale(eps, scale * _number(std, "data_std"))
    if interpolate:
        delta = ops.rand(_batch_shape(x_real)) * delta
    return x_real + delta


def gradient_penalty(D: Callable[[Tensor], Tensor], x_hat: Tensor, target: float = 1.0,
                     eps: float = 1e-12) -> Tensor:
    """``E[(||grad_{x_hat} D(x_hat)||_2 - target)^2]``, the norm over all non-batch dims.

    The gradient is that of ``sum D(x_hat)`` with respect to ``x_hat``, i.e. per-sample input
    gradients for a D that treats samples independently (no batch statistics). The norm is
    ``sqrt(sum g^2 + eps)`` so that its own gradient is finite where g = 0. The result is a
    scalar Tensor whose gradient with respect to D's parameters is exact (double backward).
    The caller multiplies by the weight lambda.

    Parameters
    ----------
    D : callable
        Module or function mapping (B, ...) to (B, 1).
    x_hat : Tensor
        Points where the penalty is taken (a graph input or an expression).
    target : float
        1 for the WGAN-GP / DRAGAN penalty, 0 for a zero-centred one.
    eps : float

    Examples
    --------
    >>> D = gl.nn.mlp(2, [8], 1, act="tanh", seed=0)
    >>> @gl.function
    ... def f(x):
    ...     gp = gradient_penalty(D, x)
    ...     return gp, gl.grad(gp, D)
    >>> gp, grads = f(np.random.randn(16, 2))
    """
    target = _number(target, "target")
    out = D(x_hat)
    (g,) = ops.grad(ops.sum(out), [x_hat])
    sq = ops.sum(ops.square(_flat2d(g)), axis=1)
    norm = ops.sqrt(ops.scale(sq, 1.0, float(eps)))
    return ops.mean(ops.square(ops.scale(norm, 1.0, -target)))


class Penalty:
    """A gradient penalty ``penalty(D, x_real, x_fake) -> scalar Tensor`` (unweighted).

    Attributes
    ----------
    name : str
        "wgan-gp", "dragan", "none" or the user callable's name.
    options : dict
    """

    def __init__(self, name: str, fn: Callable[[Any, Tensor, Tensor], Tensor], options: dict | None = None):
        self.name, self.fn, self.options = name, fn, dict(options or {})

    def __call__(self, D: Callable[[Tensor], Tensor], x_real: Tensor, x_fake: Tensor) -> Tensor:
        return self.fn(D, x_real, x_fake)

    @property
    def is_zero(self) -> bool:
        return self.name == "none"

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"Penalty({self.name!r}{extra})"


_PENALTY_ALIASES = {"wgan-gp": "wgan-gp", "wgangp": "wgan-gp", "gp": "wgan-gp", "dragan": "dragan",
                    "none": "none"}


def penalty_names() -> list[str]:
    """Canonical penalty names: "wgan-gp", "dragan", "none"."""
    return ["wgan-gp", "dragan", "none"]


def get_penalty(spec: Union[str, None, Penalty, Callable[..., Any]], **options: Any) -> Penalty:
    """A gradient penalty by name, or a wrapped user callable.

    Parameters
    ----------
    spec : {"wgan-gp", "dragan", None, "none"}, Penalty or callable
        * "wgan-gp": ``gradient_penalty(D, interpolates(x_real, x_fake), target)``;
        * "dragan": ``gradient_penalty(D, perturbed(x_real, scale, data_std, noise), target)``
          (x_fake unused);
        * None / "none": a zero scalar (``penalty.is_zero`` is True);
        * ``fn(D, x_real, x_fake) -> Tensor``: wrapped as is.
    **options
        ``target`` (both, default 1.0); DRAGAN: ``scale`` (0.5), ``data_std`` (None: the real
        batch's standard deviation), ``noise`` ("normal").

    Examples
    --------
    >>> pen = get_penalty("wgan-gp")
    >>> D = gl.nn.mlp(2, [8], 1, act="tanh", seed=0)
    >>> f = gl.function(lambda xr, xf: 10.0 * pen(D, xr, xf))
    """
    if isinstance(spec, Penalty):
        if options:
            raise TypeError("get_penalty: a Penalty takes no options")
        return spec
    if spec is None or isinstance(spec, str):
        key = "none" if spec is None else _key(spec)
        canon = _PENALTY_ALIASES.get(key)
        if canon is None:
            raise ValueError(f"unknown penalty {spec!r}; known: {', '.join(penalty_names())} (or None)")
        if canon == "none":
            if options:
                raise TypeError(f"penalty 'none' takes no options, got {sorted(options)}")
            return Penalty("none", lambda D, xr, xf: ops.zeros(()))
        if canon == "wgan-gp":
            o = _take(options, "wgan-gp", {"target": 1.0})
            target = _number(o["target"], "target")
            return Penalty("wgan-gp", lambda D, xr, xf: gradient_penalty(D, interpolates(xr, xf), target),
                           {"target": target})
        o = _take(options, "dragan", {"target": 1.0, "scale": 0.5, "data_std": None, "noise": "normal"})
        target, scale = _number(o["target"], "target"), _number(o["scale"], "scale")
        data_std, noise = o["data_std"], o["noise"]
        if noise not in ("normal", "uniform"):
            raise ValueError(f"dragan: noise must be 'normal' or 'uniform', got {noise!r}")
        return Penalty("dragan",
                       lambda D, xr, xf: gradient_penalty(D, perturbed(xr, scale, data_std, noise), target),
                       {"target": target, "scale": scale, "data_std": data_std, "noise": noise})
    if callable(spec):
        if options:
            raise TypeError("get_penalty: a callable takes no options")
        return Penalty(getattr(spec, "__name__", "custom"), spec)
    raise TypeError(f"get_penalty: expected a name, None or a callable, got {type(spec).__name__}")


# ---- moment matching ------------------------------------------------------------------------

DEFAULT_BANDWIDTHS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
"""Gaussian-kernel bandwidths sigma for 2-D toy data of unit scale (rings / grids of Gaussians
with component std ~0.02-0.1 and spread ~1-2): the small ones resolve individual modes,
the large ones the global layout. Rescale for other data."""


def _sqdist(a: Tensor, b: Tensor) -> Tensor:
    """(n, m) squared distances ||a_i||^2 + ||b_j||^2 - 2 a_i.b_j."""
    aa = ops.sum(ops.square(a), axis=1, keepdims=True)                     # (n, 1)
    bb = ops.reshape(ops.sum(ops.square(b), axis=1, keepdims=True), (1, b.shape[0]))  # (1, m)
    return aa + bb - ops.scale(ops.matmul(a, b, trans_b=True), 2.0)


def _kernel_mean(d2: Tensor, bandwidths: Sequence[float]) -> Tensor:
    total = None
    for s in bandwidths:
        k = ops.mean(ops.exp(ops.scale(d2, -1.0 / (2.0 * s * s))))
        total = k if total is None else total + k
    return total


def mmd2(x: ArrayOrTensor, y: ArrayOrTensor, bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS) -> Any:
    """Biased squared MMD between two batches with a sum of Gaussian kernels (GMMN).

    ``MMD^2 = mean_ij k(x_i, x_j) + mean_ij k(y_i, y_j) - 2 mean_ij k(x_i, y_j)`` with
    ``k(a, b) = sum_sigma exp(-||a - b||^2 / (2 sigma^2))``; the squared distances come from
    matmuls (``||a||^2 + ||b||^2 - 2 a.b``). Samples are flattened to rows; batch sizes may
    differ. Non-negative up to rounding, 0 for identical batches. See
    :data:`DEFAULT_BANDWIDTHS` for the default sigmas (2-D toy data).

    Examples
    --------
    >>> x = np.random.randn(64, 2)
    >>> abs(mmd2(x, x)) < 1e-6
    True
    """
    if _needs_eager(x, y):
        return _eager(lambda a, b: mmd2(a, b, bandwidths), x, y)
    bws = [_number(s, "bandwidth") for s in bandwidths]
    if not bws or any(s <= 0 for s in bws):
        raise ValueError(f"mmd2: bandwidths must be a non-empty list of positive numbers, got {bandwidths!r}")
    a, b = _flat2d(_t(x)), _flat2d(_t(y))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"mmd2: feature sizes differ: {a.shape} vs {b.shape}")
    kxx = _kernel_mean(_sqdist(a, a), bws)
    kyy = _kernel_mean(_sqdist(b, b), bws)
    kxy = _kernel_mean(_sqdist(a, b), bws)
    return kxx + kyy - ops.scale(kxy, 2.0)


# ---- feature matching -------------------------------------------------------------------------

def feature_matching(f_real: ArrayOrTensor, f_fake: ArrayOrTensor) -> Any:
    """``||mean_i f(x_i) - mean_j f(G(z_j))||_2^2`` (Salimans et al.'s generator loss).

    Features are flattened per sample; batch sizes may differ.

    Examples
    --------
    >>> feature_matching(np.ones((4, 3)), np.zeros((2, 3)))
    3.0
    """
    if _needs_eager(f_real, f_fake):
        return _eager(feature_matching, f_real, f_fake)
    a, b = _flat2d(_t(f_real)), _flat2d(_t(f_fake))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature_matching: feature sizes differ: {a.shape} vs {b.shape}")
    return ops.sum(ops.square(ops.mean(a, axis=0) - ops.mean(b, axis=0)))


def penultimate(D: Any, x: ArrayOrTensor) -> Any:
    """The features of a ``gl.nn.Sequential`` D: every layer before its last Linear.

    For ``gl.nn.mlp(2, [128, 128], 1)`` that is the second hidden layer's activations
    (B, 128); anything after the last Linear (an output activation) is dropped as well.

    Examples
    --------
    >>> D = gl.nn.mlp(2, [16, 8], 1, seed=0)
    >>> penultimate(D, np.zeros((4, 2), np.float32)).shape
    (4, 8)
    """
    from .nn.layers import Linear, Sequential

    if not isinstance(D, Sequential):
        raise TypeError(f"penultimate: D must be a gl.nn.Sequential, got {type(D).__name__}")
    layers = [D[i] for i in range(len(D))]
    last = max((i for i, m in enumerate(layers) if isinstance(m, Linear)), default=None)
    if last is None:
        raise ValueError("penultimate: D has no Linear layer")

    def run(t: Tensor) -> Tensor:
        for m in layers[:last]:
            t = m(t)
        return t
    if _needs_eager(x):
        return _eager(run, x)
    return run(_t(x))
