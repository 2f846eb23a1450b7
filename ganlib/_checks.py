"""Argument checks shared by the pure-Python modules: errors name the argument."""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int) -> int:
    """``int(value)`` for an integer ``>= minimum`` (bools refused), else TypeError/ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_real(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> float:
    """A finite real (``> 0`` if ``positive``, ``>= 0`` if ``nonnegative``), else an error naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value
