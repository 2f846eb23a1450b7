"""The configurations of a sweep: grid expansion, normalisation and keys.

A configuration is a dict of keyword arguments of the trial. Its *key* is the
first 16 hex digits of the SHA-256 of its canonical JSON (sorted keys, no
spaces), so the same configuration gets the same record file in every run.

Examples
--------
>>> expand_grid({"loss": ["ns", "hinge"], "seed": [0, 1]})
[{'loss': 'ns', 'seed': 0}, {'loss': 'ns', 'seed': 1}, {'loss': 'hinge', 'seed': 0}, {'loss': 'hinge', 'seed': 1}]
>>> config_key({"seed": 0, "loss": "ns"}) == config_key({"loss": "ns", "seed": 0})
True
"""
from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import numbers
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["expand_grid", "normalise_config", "plain_result", "config_key", "canonical_json", "check_signature"]


def _plain(value: Any, where: str, finite: bool = True) -> Any:
    """``value`` as plain JSON data (numpy scalars and arrays become Python numbers and lists)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if finite and not math.isfinite(v):
            raise ValueError(f"{where}: {v} is not a finite number (a configuration must be plain JSON data)")
        return v
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where, finite)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", finite) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict keys must be str, got {type(k).__name__} {k!r}")
            out[k] = _plain(v, f"{where}[{k!r}]", finite)
        return out
    raise TypeError(f"{where}: {type(value).__name__} {value!r} is not plain data; it must hold numbers, "
                    "strings, bools, None and lists/dicts of them (build ganlib objects inside the trial)")


def normalise_config(config: Any, where: str = "config") -> dict:
    """A configuration as a dict of plain JSON data with str keys (TypeError / ValueError otherwise).

    Examples
    --------
    >>> normalise_config({"seed": np.int64(3), "widths": (64, 64)})
    {'seed': 3, 'widths': [64, 64]}
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"{where} must be a dict of keyword arguments of the trial, got {type(config).__name__}")
    for k in config:
        if not isinstance(k, str) or not k.isidentifier():
            raise TypeError(f"{where}: every key must be a keyword-argument name (str), got {k!r}")
    return _plain(dict(config), where)


def plain_result(result: Any) -> dict:
    """A trial's result as a dict of plain data (NaN and inf allowed), else TypeError.

    Examples
    --------
    >>> plain_result({"modes": np.int64(8), "kl": float("nan")})
    {'modes': 8, 'kl': nan}
    """
    if not isinstance(result, Mapping):
        raise TypeError(f"the trial must return a dict of results, got {type(result).__name__}")
    return _plain(dict(result), "the trial's result", finite=False)


def canonical_json(config: Mapping[str, Any]) -> str:
    """The canonical JSON text of a normalised configuration (sorted keys, no spaces)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def config_key(config: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 of the canonical JSON: the name of the configuration's record.

    Examples
    --------
    >>> len(config_key({"seed": 0}))
    16
    """
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def expand_grid(grid: Any) -> list[dict]:
    """The configurations of ``grid``: a dict of lists (their Cartesian product, in order) or a list of dicts.

    Raises
    ------
    TypeError
        ``grid`` is neither; a grid value is not a list; a value is not plain data.
    ValueError
        The grid is empty (no configuration at all, or an empty list of values), or
        an explicit list holds the same configuration twice.
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("sweep: the grid is empty; give a dict of lists such as {'seed': [0, 1, 2]} "
                             "or a list of configurations")
        names, axes = [], []
        for name, values in grid.items():
            if isinstance(values, np.ndarray):
                values = values.tolist()
            if isinstance(values, range):
                values = list(values)
            if not isinstance(values, (list, tuple)):
                raise TypeError(f"sweep: grid[{name!r}] must be a list of values, got {type(values).__name__} "
                                f"{values!r} (wrap a single value: [{values!r}])")
            if not values:
                raise ValueError(f"sweep: the grid is empty: grid[{name!r}] has no values")
            names.append(name)
            axes.append(list(values))
        configs = [dict(zip(names, combo)) for combo in itertools.product(*axes)]
        where = "grid"
    elif isinstance(grid, (list, tuple)):
        if not grid:
            raise ValueError("sweep: the grid is empty (an empty list of configurations)")
        configs = list(grid)
        where = "grid"
    else:
        raise TypeError(f"sweep: grid must be a dict of lists or a list of configuration dicts, "
                        f"got {type(grid).__name__}")
    out, seen = [], {}
    for i, c in enumerate(configs):
        c = normalise_config(c, f"{where} configuration {i}")
        k = config_key(c)
        if k in seen:
            raise ValueError(f"sweep: configuration {i} {c} repeats configuration {seen[k]}; every configuration "
                             "of a sweep is run (and recorded) once: make them differ, e.g. by a 'seed' key")
        seen[k] = i
        out.append(c)
    return out


def check_signature(trial: Callable, configs: Sequence[Mapping[str, Any]]) -> None:
    """TypeError before any work when a configuration does not fit the trial's parameters."""
    try:
        sig = inspect.signature(trial)
    except (TypeError, ValueError):
        return
    for c in configs:
        try:
            sig.bind(**c)
        except TypeError as e:
            raise TypeError(f"sweep: the configuration {c} does not fit {trial.__qualname__}{sig}: {e}") from None
