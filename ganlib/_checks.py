"""Argument checks shared by the pure-Python modules: one policy, errors that name the argument.

The policy, applied by every public constructor and ``fit``:

* an integer argument takes a Python or NumPy integer; a bool, a float (even
  ``2.0``), a string or anything else is a wrong kind;
* a real argument (a weight, a rate, a decay) takes a Python or NumPy real
  number that is finite and in its range; a bool or a string is a wrong kind;
* a wrong kind raises :class:`ArgumentTypeError`, a :class:`TypeError`; a
  value of the right kind out of its range (or NaN / inf) raises
  :class:`ValueError`.

:class:`ArgumentTypeError` also derives from :class:`ValueError`: several of
these arguments raised ``ValueError`` for a bool or a float before the policy
was shared, and code that catches ``ValueError`` around them keeps working.

Examples
--------
>>> check_int("d_steps", np.int64(5), 1)
5
>>> check_int("d_steps", 2.0, 1)
Traceback (most recent call last):
    ...
ganlib._checks.ArgumentTypeError: d_steps must be an int, got float 2.0
>>> check_range("label_smoothing", 0.1, 0.0, 1.0, high_open=True)
0.1
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

__all__ = ["ArgumentTypeError", "check_int", "check_real", "check_range", "check_bool", "check_choice",
           "check_optimizer", "check_seed", "finite_float32"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong kind (a bool or float where an int is needed, a str where a
    number is needed). A TypeError; also a ValueError for code written before the shared
    policy, when several of these were ValueErrors."""


def _kind(value: Any) -> str:
    """``"float 2.5"``: the type and a short repr of a refused value."""
    r = repr(value)
    return f"{type(value).__name__} {r if len(r) <= 60 else r[:57] + '...'}"


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``int(value)`` for an integer in ``[minimum, maximum]`` (bools refused).

    Parameters
    ----------
    name : str
        Names the argument in the message (e.g. ``"GAN: d_steps"``).
    value : Any
        A Python int or a NumPy integer.
    minimum, maximum : int, optional
        Inclusive bounds.

    Returns
    -------
    int

    Raises
    ------
    ArgumentTypeError
        ``value`` is a bool, a float, a string or anything else that is not an integer.
    ValueError
        ``value`` is outside ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int("seed", np.uint8(3), 0)
    3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an int, got {_kind(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_real(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> float:
    """A finite real (``> 0`` if ``positive``, ``>= 0`` if ``nonnegative``) as a float.

    Raises
    ------
    ArgumentTypeError
        ``value`` is a bool, a string or not a real number.
    ValueError
        ``value`` is NaN, infinite or out of its range.

    Examples
    --------
    >>> check_real("penalty_weight", np.float32(10), nonnegative=True)
    10.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number, got {_kind(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_range(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                high_open: bool = False) -> float:
    """A finite real in the interval from ``low`` to ``high`` (each end closed unless ``*_open``).

    Raises
    ------
    ArgumentTypeError
        Not a real number (a bool, a string, ...).
    ValueError
        NaN, infinite or outside the interval; the message writes the interval, e.g.
        ``"g_ema must be in (0, 1), got 1.5"``.

    Examples
    --------
    >>> check_range("Dropout: p", 0.5, 0.0, 1.0, high_open=True)
    0.5
    """
    v = check_real(name, value)
    if (v < low or (low_open and v == low)) or (v > high or (high_open and v == high)):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {v}")
    return v


def check_bool(name: str, value: Any) -> bool:
    """A flag: a bool or NumPy bool (also the ints 0 and 1), else :class:`ArgumentTypeError`.

    Examples
    --------
    >>> check_bool("bias", np.True_)
    True
    """
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be a bool, got {_kind(value)}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` (compared with ``==``, strings exactly), else ValueError.

    Examples
    --------
    >>> check_choice("update", "alternating", ("alternating", "simultaneous"))
    'alternating'
    """
    choices = tuple(choices)
    if isinstance(value, (list, dict, set, np.ndarray)) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_optimizer(name: str, value: Any, example: str = "gl.optim.Adam(1e-3)") -> Any:
    """A ``ganlib.optim`` optimizer object, else a TypeError that says what to pass.

    A string such as ``"adam"`` is refused with a message naming the class to build.

    Examples
    --------
    >>> check_optimizer("g_opt", "adam")
    Traceback (most recent call last):
        ...
    ganlib._checks.ArgumentTypeError: g_opt must be a ganlib.optim optimizer object such as gl.optim.Adam(1e-3), got the str 'adam' (optimizers are configured objects, not names: pass gl.optim.Adam(...))
    """
    from .optim import Optimizer   # the optimizers import this module

    if isinstance(value, Optimizer):
        return value
    if isinstance(value, str):
        names = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSProp"}
        cls = names.get(value.strip().lower(), "Adam")
        raise ArgumentTypeError(f"{name} must be a ganlib.optim optimizer object such as {example}, got the str "
                                f"{value!r} (optimizers are configured objects, not names: pass "
                                f"gl.optim.{cls}(...))")
    raise ArgumentTypeError(f"{name} must be a ganlib.optim optimizer object such as {example}, got "
                            f"{type(value).__name__} {value!r}")


def check_seed(name: str, value: Any) -> Any:
    """A seed for ``numpy.random.default_rng``: None, an int >= 0 (Python or NumPy) or a
    ``numpy.random.SeedSequence``; a bool, a float or a string is refused.

    Examples
    --------
    >>> check_seed("seed", np.int64(7))
    7
    """
    if value is None or isinstance(value, np.random.SeedSequence):
        return value
    return check_int(name, value, 0)


def finite_float32(name: str, value: Any) -> np.ndarray:
    """``value`` as float32, checked finite *after* the cast (1e300 is finite as a float64 but
    inf as a float32), else ValueError naming it.

    Examples
    --------
    >>> finite_float32("centers", [[1e300, 0.0]])
    Traceback (most recent call last):
        ...
    ValueError: centers must be finite as float32 (|x| <= 3.403e+38): 1 of 2 values are NaN or inf after the cast
    """
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.asarray(value, dtype=np.float32)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} must be finite as float32 (|x| <= {float(np.finfo(np.float32).max):.4g}): "
                         f"{int(bad.sum())} of {a.size} values are NaN or inf after the cast")
    return a
